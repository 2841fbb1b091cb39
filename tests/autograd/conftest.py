import numpy as np
import pytest

import hpnn


def _numeric_grad(fn, inputs, index, weights, eps):
    data = inputs[index].data
    grad = np.zeros(data.shape, np.float64)
    flat, out = data.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        values = []
        for shifted in (original + eps, original - eps):
            flat[i] = shifted
            values.append(np.sum(fn(*inputs).data.astype(np.float64) * weights))
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
            np.testing.assert_allclose(tensor.grad.data, expected, rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {i}")
            checked += 1
    assert checked, "nothing was checked"
    return out


@pytest.fixture
def gradcheck():
    return check_gradients
