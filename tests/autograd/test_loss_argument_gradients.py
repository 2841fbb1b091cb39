"""Gradients of the losses with respect to every float argument: target, and the elementwise
weight / pos_weight of the binary losses (broadcast ones summed back to their shapes), checked
against float64 finite differences of hpnn.reference's forward and against torch. PyTorch
refuses a weight or pos_weight that requires grad in the binary losses; there torch checks the
same formula written out with autograd-able ops."""
import numpy as np
import pytest

import hpnn
import hpnn.nn.functional as F
from hpnn import reference as ref
from reference.gradcheck import numeric_grad

RNG = np.random.default_rng(7)
SHAPES = [  # input, weight, pos_weight
    ((5, 4), (5, 4), (4,)), ((3, 2, 6), (2, 1), (6,)), ((7,), (), (1,)), ((2, 3, 4), (3, 4), ())]


def _rand(shape, low=-3.0, high=3.0):
    return RNG.uniform(low, high, shape)


def _case(shape, weight_shape, pos_weight_shape, probabilities):
    x = _rand(shape, 0.05, 0.95) if probabilities else _rand(shape)
    return dict(x=x, t=_rand(shape, 0, 1), w=_rand(weight_shape, 0.2, 2),
                pw=_rand(pos_weight_shape, 0.2, 3))


def _hpnn_grads(loss_fn, arrays, upstream):
    tensors = {k: hpnn.tensor(v.astype(np.float32), requires_grad=True)
               for k, v in arrays.items()}
    loss = loss_fn(**tensors)
    loss.backward(upstream.astype(np.float32))
    return loss, {k: t.grad for k, t in tensors.items()}


@pytest.mark.parametrize("backend", hpnn.backend.BACKENDS)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("with_logits", [True, False], ids=["logits", "probs"])
def test_every_argument_gradient_matches_float64_differences(with_logits, shapes, reduction,
                                                             backend):
    arrays = _case(*shapes, probabilities=not with_logits)
    if not with_logits:
        del arrays["pw"]
    # the float32 points hpnn sees, in float64 for the differences
    arrays = {k: v.astype(np.float32).astype(np.float64) for k, v in arrays.items()}
    if with_logits:
        def ours(x, t, w, pw):
            return F.binary_cross_entropy_with_logits(x, t, w, reduction=reduction,
                                                      pos_weight=pw)

        def forward64():
            return ref.bce_with_logits_forward(arrays["x"], arrays["t"], reduction,
                                                     arrays["pw"], arrays["w"])
    else:
        def ours(x, t, w):
            return F.binary_cross_entropy(x, t, w, reduction=reduction)

        def forward64():
            return ref.bce_forward(arrays["x"], arrays["t"], reduction, arrays["w"])
    upstream = RNG.standard_normal(np.shape(forward64()))
    with hpnn.use_backend(backend):
        loss, grads = _hpnn_grads(ours, arrays, upstream)
    np.testing.assert_allclose(loss.numpy(), forward64(), rtol=1e-5, atol=1e-6)
    for name, array in arrays.items():
        expected = numeric_grad(lambda: np.sum(forward64() * upstream), array)
        assert grads[name].shape == array.shape, name
        np.testing.assert_allclose(grads[name].numpy(), expected, rtol=2e-4, atol=2e-5,
                                   err_msg=f"gradient of {name}")


def test_pos_weight_gradient_stays_finite_for_large_logits():
    x = hpnn.tensor([[-200.0, 200.0, -30.0], [60.0, -90.0, 0.0]])
    t = hpnn.tensor([[1.0, 1.0, 0.5], [0.0, 0.25, 1.0]])
    pos_weight = hpnn.tensor([2.0, 0.5, 1.0], requires_grad=True)
    F.binary_cross_entropy_with_logits(x, t, pos_weight=pos_weight, reduction="sum").backward()
    # d/d pw_c = sum_i t * softplus(-x): softplus(200) = 200, softplus(-200) = exp(-200) ~ 0
    expected = [200.0 + 0.0, np.exp(-200.0) + 0.25 * 90.0, 0.5 * (30.0 + np.exp(-30.0))
                + np.log(2.0)]
    np.testing.assert_allclose(pos_weight.grad.numpy(), expected, rtol=1e-6)


def test_rescaling_tensors_without_grad_get_none_and_modules_pass_them_on():
    x = hpnn.tensor(RNG.standard_normal((4, 3), np.float32), requires_grad=True)
    t = hpnn.tensor(RNG.random((4, 3), np.float32))
    w = hpnn.tensor(RNG.random((4, 1), np.float32))
    pw = hpnn.tensor(RNG.random(3, np.float32), requires_grad=True)
    hpnn.nn.BCEWithLogitsLoss(w, pos_weight=pw)(x, t).backward()
    assert x.grad is not None and t.grad is None and w.grad is None
    assert pw.grad is not None and pw.grad.shape == (3,)
    w.requires_grad_()
    hpnn.nn.BCELoss(w)(hpnn.tensor(RNG.random((4, 3), np.float32)), t).backward()
    assert w.grad is not None and w.grad.shape == (4, 1)


# ---- against torch ----------------------------------------------------------------------------
def _torch_bce_with_logits(torch, x, t, w, pw, reduction):
    """PyTorch's own formula (aten binary_cross_entropy_with_logits), in differentiable ops."""
    loss = (1 - t) * x - (1 + (pw - 1) * t) * torch.nn.functional.logsigmoid(x)
    loss = loss * w
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_bce_with_logits_gradients_match_torch(shapes, reduction):
    torch = pytest.importorskip("torch")
    arrays = {k: v.astype(np.float32) for k, v in _case(*shapes, False).items()}
    arrays["x"] *= 5  # saturated logits too
    upstream = RNG.standard_normal(shapes[0] if reduction == "none" else ())
    loss, grads = _hpnn_grads(
        lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, w, reduction=reduction,
                                                               pos_weight=pw), arrays, upstream)
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}
    expected = _torch_bce_with_logits(torch, *theirs.values(), reduction)
    with torch.no_grad():  # and torch's kernel, given the same arrays, agrees on the value
        kernel_value = torch.nn.functional.binary_cross_entropy_with_logits(
            *(theirs[k] for k in "xtw"), reduction=reduction, pos_weight=theirs["pw"])
    np.testing.assert_allclose(expected.detach().numpy(), kernel_value.numpy(), rtol=1e-5,
                               atol=1e-5)
    expected.backward(torch.tensor(upstream, dtype=torch.float32))
    np.testing.assert_allclose(loss.numpy(), kernel_value.numpy(), rtol=1e-5, atol=1e-5)
    for name, tensor in theirs.items():
        np.testing.assert_allclose(grads[name].numpy(), tensor.grad.numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=f"gradient of {name}")


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_bce_gradients_match_torch(reduction):
    torch = pytest.importorskip("torch")
    arrays = {k: v.astype(np.float32) for k, v in _case((6, 5), (5,), (), True).items()}
    del arrays["pw"]
    upstream = RNG.standard_normal((6, 5) if reduction == "none" else ())
    loss, grads = _hpnn_grads(lambda x, t, w: F.binary_cross_entropy(x, t, w,
                                                                     reduction=reduction),
                              arrays, upstream)
    x, t = (torch.tensor(arrays[k], requires_grad=True) for k in "xt")
    w = torch.tensor(arrays["w"])
    expected = torch.nn.functional.binary_cross_entropy(x, t, w, reduction=reduction)
    expected.backward(torch.tensor(upstream, dtype=torch.float32))
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    for name, tensor in (("x", x), ("t", t)):
        np.testing.assert_allclose(grads[name].numpy(), tensor.grad.numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=f"gradient of {name}")
    # torch's weight is not differentiable: d loss / d w is the unweighted loss
    unweighted = torch.nn.functional.binary_cross_entropy(x, t, reduction="none").detach()
    scale = {"none": 1.0, "mean": 1.0 / unweighted.numel(), "sum": 1.0}[reduction]
    expected_w = (unweighted.numpy() * upstream * scale).sum(axis=0)
    np.testing.assert_allclose(grads["w"].numpy(), expected_w, rtol=1e-4, atol=1e-6)


def test_class_weights_are_refused_when_they_require_grad_as_in_torch():
    logits, labels = RNG.standard_normal((4, 3)).astype(np.float32), np.array([0, 2, 1, 2])
    weight = np.array([0.5, 1.0, 2.0], np.float32)
    for ours in (F.cross_entropy, F.nll_loss):
        with pytest.raises(RuntimeError, match="'weight' is not differentiable"):
            ours(hpnn.tensor(logits), labels, hpnn.tensor(weight, requires_grad=True))
        with hpnn.no_grad():
            ours(hpnn.tensor(logits), labels, hpnn.tensor(weight, requires_grad=True))
        ours(hpnn.tensor(logits), labels, hpnn.tensor(weight, requires_grad=True).detach())
    torch = pytest.importorskip("torch")
    for theirs in (torch.nn.functional.cross_entropy, torch.nn.functional.nll_loss):
        with pytest.raises(RuntimeError, match="not differentiable"):
            theirs(torch.tensor(logits), torch.tensor(labels),
                   torch.tensor(weight, requires_grad=True))


def test_probability_target_cross_entropy_differentiates_its_weight_as_torch(vs_torch):
    logits = RNG.standard_normal((4, 3, 2)).astype(np.float32)
    probs = RNG.dirichlet(np.ones(3), (4, 2)).transpose(0, 2, 1).astype(np.float32)
    weight = np.array([0.5, 1.0, 2.0], np.float32)
    torch = pytest.importorskip("torch")  # vs_torch needs it too
    for reduction in ("mean", "sum", "none"):
        vs_torch(lambda x, p, w: F.cross_entropy(x, p, w, reduction=reduction,
                                                 label_smoothing=0.1),
                 lambda x, p, w: torch.nn.functional.cross_entropy(
                     x, p, w, reduction=reduction, label_smoothing=0.1), logits, probs, weight)
