import numpy as np
import pytest

import hpnn


def _numeric_grad(fn, inputs, index, weights, eps):
    data = inputs[index].numpy()
    grad = np.zeros(data.shape, np.float64)
    flat, out = data.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        values = []
        for shifted in (original + eps, original - eps):
            flat[i] = shifted
            values.append(np.sum(fn(*inputs).numpy().astype(np.float64) * weights))
        flat[i] = original
        out[i] = (values[0] - values[1]) / (2 * eps)
    return grad


def check_gradients(fn, *arrays, eps=1e-3, rtol=2e-2, atol=2e-3, constant=()):
    """Run ``fn`` on tensors made from ``arrays`` and compare each input's backward gradient of
    sum(out * w), w random, with central finite differences (on the numpy backend).
    Indices in ``constant`` are passed as tensors that don't require grad."""
    rng = np.random.default_rng(0)
    with hpnn.use_backend("numpy"):
        inputs = [hpnn.tensor(np.array(a, dtype=np.float32 if np.asarray(a).dtype.kind == "f"
                                       else np.asarray(a).dtype),
                              requires_grad=i not in constant)
                  for i, a in enumerate(arrays)]
        out = fn(*inputs)
        weights = rng.standard_normal(out.shape)
        out.backward(weights.astype(np.float32))
        checked = 0
        for i, tensor in enumerate(inputs):
            if i in constant:
                continue
            assert tensor.grad is not None, f"input {i} got no gradient"
            assert tensor.grad.shape == tensor.shape
            expected = _numeric_grad(fn, inputs, i, weights, eps)
            np.testing.assert_allclose(tensor.grad.numpy(), expected, rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {i}")
            checked += 1
    assert checked, "nothing was checked"
    return out


@pytest.fixture
def gradcheck():
    return check_gradients


def compare_with_torch(torch, hpnn_fn, torch_fn, *arrays, rtol=1e-4, atol=1e-5, grad_atol=1e-4,
                       seed=0):
    """Run both functions on tensors made from ``arrays`` (float ones require grad), compare
    outputs, then backpropagate the same random weights and compare every input gradient.
    A tuple output is compared entry by entry; its first entry is backpropagated."""
    ours = [hpnn.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    out, expected = hpnn_fn(*ours), torch_fn(*theirs)
    outs = out if isinstance(out, tuple) else (out,)
    expecteds = expected if isinstance(expected, tuple) else (expected,)
    assert len(outs) == len(expecteds)
    for o, e in zip(outs, expecteds):
        assert tuple(o.shape) == tuple(e.shape)
        np.testing.assert_allclose(o.numpy(), e.detach().numpy(), rtol=rtol, atol=atol)
    if not expecteds[0].requires_grad:
        return
    weights = np.random.default_rng(seed).standard_normal(tuple(expecteds[0].shape))
    outs[0].backward(weights.astype(np.float32))
    expecteds[0].backward(torch.tensor(weights, dtype=expecteds[0].dtype))
    for i, (o, e) in enumerate(zip(ours, theirs)):
        if e.grad is None:
            assert o.grad is None, f"input {i} got a gradient torch does not give"
            continue
        assert o.grad is not None, f"input {i} got no gradient"
        np.testing.assert_allclose(o.grad.numpy(), e.grad.numpy(), rtol=1e-3, atol=grad_atol,
                                   err_msg=f"gradient of input {i}")


@pytest.fixture
def vs_torch():
    torch = pytest.importorskip("torch")
    return lambda *args, **kwargs: compare_with_torch(torch, *args, **kwargs)
