"""The extra losses (modules and F.*) against PyTorch for every reduction: values and the
gradients of input and target; CrossEntropyLoss's ignore_index, label_smoothing, weights and
probability targets; NLLLoss's ignore_index; finite differences in float64 of the
hand-written derivatives."""
import warnings

import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
import hpnn.nn.functional as F
from hpnn.functional import loss_extra as L
from reference.gradcheck import check_vjp

torch = pytest.importorskip("torch", reason="the parity tests need torch")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 5)).astype(np.float32)
T = (X + RNG.standard_normal((4, 5)) * np.array([0.2, 0.5, 1, 2, 3])).astype(np.float32)
T[0, :2] = X[0, :2]  # the kinks where input equals target
PROBS = RNG.dirichlet(np.ones(5), size=4).astype(np.float32)
PROBS[1, 2] = 0.0  # a zero target probability (KL's xlogy)
COUNTS = RNG.poisson(2.0, (4, 5)).astype(np.float32)

PAIR_LOSSES = [  # name, constructor kwargs, input, target, does torch give the target a grad
    ("L1Loss", {}, X, T, True), ("SmoothL1Loss", {}, X, T, True),
    ("SmoothL1Loss", {"beta": 0.5}, X, T, True), ("SmoothL1Loss", {"beta": 0.0}, X, T, True),
    ("HuberLoss", {}, X, T, True), ("HuberLoss", {"delta": 0.7}, X, T, True),
    ("KLDivLoss", {}, X, PROBS, True), ("KLDivLoss", {"log_target": True}, X, T, True),
    ("PoissonNLLLoss", {}, X, COUNTS, True),
    # targets > 0: where a target is 0 PyTorch gives its gradient NaN (0 * log 0 in the term
    # it then masks), hpnn 0
    ("PoissonNLLLoss", {"log_input": False, "full": True}, np.abs(X) + 0.1, COUNTS + 0.5, True),
    ("SoftMarginLoss", {}, X, np.sign(T), False),
    ("HingeEmbeddingLoss", {"margin": 0.5}, X, np.sign(T), False),
]


def _both(array, grad):
    return (torch.tensor(array, requires_grad=grad), hpnn.tensor(array, requires_grad=grad))


def _compare(torch_out, hpnn_out, pairs):
    np.testing.assert_allclose(hpnn_out.numpy(), torch_out.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    g = np.random.default_rng(1).standard_normal(tuple(torch_out.shape)).astype(np.float32)
    torch_out.backward(torch.tensor(g))
    hpnn_out.backward(hpnn.tensor(g))
    for theirs, ours in pairs:
        if theirs.requires_grad:
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5,
                                       atol=1e-6)


PAIR_CASES = [(*case, reduction) for case in PAIR_LOSSES
              for reduction in ("none", "mean", "sum", "batchmean")
              if reduction != "batchmean" or case[0] == "KLDivLoss"]


@pytest.mark.parametrize("name,kwargs,x,t,target_grad,reduction", PAIR_CASES,
                         ids=[f"{p[0]}{p[1]}-{p[5]}" for p in PAIR_CASES])
def test_pair_loss_matches_torch(name, kwargs, x, t, target_grad, reduction):
    theirs = getattr(torch.nn, name)(reduction=reduction, **kwargs)
    ours = getattr(nn, name)(reduction=reduction, **kwargs)
    assert repr(ours) == repr(theirs)
    (xt, xh), (tt, th) = _both(x, True), _both(t, target_grad)
    with pytest.warns(UserWarning) if (name, reduction) == ("KLDivLoss", "mean") else \
            _no_warning():
        out = ours(xh, th)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own warning for KLDivLoss's 'mean'
        expected = theirs(xt, tt)
    _compare(expected, out, [(xt, xh), (tt, th)])


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("name", ["MarginRankingLoss", "CosineEmbeddingLoss"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_three_input_losses_match_torch(name, reduction):
    y = np.array([1, -1, 1, -1], np.float32)
    a, b = (X[:, 0], T[:, 0]) if name == "MarginRankingLoss" else (X, T)
    theirs = getattr(torch.nn, name)(margin=0.2, reduction=reduction)
    ours = getattr(nn, name)(margin=0.2, reduction=reduction)
    (at, ah), (bt, bh), (yt, yh) = _both(a, True), _both(b, True), _both(y, False)
    _compare(theirs(at, bt, yt), ours(ah, bh, yh), [(at, ah), (bt, bh)])


def test_functional_forms_and_broadcast_target_warn_as_torch():
    xt, xh = _both(X, True)
    row = T[:1]
    with pytest.warns(UserWarning, match="target size"):
        out = F.l1_loss(xh, hpnn.tensor(row))
    with pytest.warns(UserWarning):
        expected = torch.nn.functional.l1_loss(xt, torch.tensor(row))
    _compare(expected, out, [(xt, xh)])
    xt, xh = _both(X, True)
    _compare(torch.nn.functional.huber_loss(xt, torch.tensor(T), delta=0.3, weight=torch.tensor(T)),
             F.huber_loss(xh, hpnn.tensor(T), delta=0.3, weight=hpnn.tensor(T)), [(xt, xh)])


CLASS_CASES = [
    dict(), dict(ignore_index=2), dict(label_smoothing=0.2),
    dict(ignore_index=1, label_smoothing=0.1),
    dict(weight=np.array([0.5, 1, 2, 1, 0.1], np.float32), ignore_index=0, label_smoothing=0.3),
]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("case", CLASS_CASES, ids=str)
def test_cross_entropy_ignore_index_and_label_smoothing_match_torch(case, reduction):
    labels = np.array([[2, 0, 1], [4, 2, 2]])
    logits = RNG.standard_normal((2, 5, 3)).astype(np.float32)
    kwargs = dict(case, reduction=reduction)
    weight = kwargs.pop("weight", None)
    theirs = torch.nn.CrossEntropyLoss(
        weight=None if weight is None else torch.tensor(weight), **kwargs)
    ours = nn.CrossEntropyLoss(weight=None if weight is None else hpnn.tensor(weight), **kwargs)
    xt, xh = _both(logits, True)
    _compare(theirs(xt, torch.tensor(labels)), ours(xh, hpnn.tensor(labels)), [(xt, xh)])
    if "ignore_index" in case and not case.get("label_smoothing"):
        xt, xh = _both(logits, True)
        nll_t = torch.nn.NLLLoss(ignore_index=case["ignore_index"], reduction=reduction)
        nll_h = nn.NLLLoss(ignore_index=case["ignore_index"], reduction=reduction)
        _compare(nll_t(xt, torch.tensor(labels)), nll_h(xh, hpnn.tensor(labels)), [(xt, xh)])


@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_cross_entropy_probability_targets_match_torch(label_smoothing):
    xt, xh = _both(X, True)
    tt, th = _both(PROBS, True)
    theirs = torch.nn.functional.cross_entropy(xt, tt, label_smoothing=label_smoothing)
    _compare(theirs, F.cross_entropy(xh, th, label_smoothing=label_smoothing),
             [(xt, xh), (tt, th)])


@pytest.mark.parametrize("call,exc,argument", [
    (lambda: nn.SmoothL1Loss(beta=-1), ValueError, "beta"),
    (lambda: nn.HuberLoss(delta=0), ValueError, "delta"),
    (lambda: nn.L1Loss(reduction="avg"), ValueError, "reduction"),
    (lambda: F.kl_div(hpnn.zeros(2), hpnn.zeros(2), reduction="batch"), ValueError, "reduction"),
    (lambda: F.l1_loss(hpnn.zeros(2, 3), hpnn.zeros(4)), ValueError, "target"),
])
def test_bad_arguments_name_the_argument(call, exc, argument):
    with pytest.raises(exc, match=argument):
        call()


DERIVATIVES = [
    (L._l1, {}), (L._smooth_l1, dict(beta=0.8)), (L._huber, dict(delta=0.6)),
    (L._kl_div, dict(log_target=False)), (L._kl_div, dict(log_target=True)),
    (L._poisson_nll, dict(log_input=True, full=True, eps=1e-8)),
    (L._poisson_nll, dict(log_input=False, full=False, eps=1e-8)),
]


@pytest.mark.parametrize("f,options", DERIVATIVES, ids=str)
def test_loss_derivatives_match_finite_differences_in_float64(f, options):
    rng = np.random.default_rng(5)
    x = rng.uniform(0.2, 2.0, 30)
    t = x + rng.choice([-1, 1], 30) * rng.uniform(0.05, 1.5, 30)
    t = np.abs(t) + 0.05  # positive: valid for KL and Poisson
    check_vjp(lambda: f(x, t, **options)[0], lambda g: g * f(x, t, **options)[1], x, rng)
    check_vjp(lambda: f(x, t, **options)[0], lambda g: g * f(x, t, **options)[2], t, rng)
