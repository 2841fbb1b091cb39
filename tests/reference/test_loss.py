import numpy as np
import pytest

from hpnn import reference as ref

from .gradcheck import check_vjp

REDUCTIONS = ["none", "mean", "sum"]


def _class_problem(rng, n=6, c=5, ignore_index=-100):
    logits = rng.standard_normal((n, c)) * 2
    target = rng.integers(0, c, size=n)
    target[1] = ignore_index
    return logits, target


def _binary_problem(rng, shape=(4, 3)):
    logits = rng.standard_normal(shape) * 3
    target = rng.uniform(size=shape)
    return logits, target


CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 3.0, 0.25])
POS_WEIGHT = np.array([0.5, 2.0, 3.0])
BCE_WEIGHT = np.array([[0.5], [2.0], [1.5], [3.0]])


def _with_options(forward, backward, **options):
    """(forward, backward) with keyword options bound."""
    return (lambda x, t, r: forward(x, t, r, **options),
            lambda g, x, t, r: backward(g, x, t, r, **options))


def _loss_cases():
    """name -> (forward(x, target, reduction), backward(g, x, target, reduction), make_inputs)."""
    pos_weight = POS_WEIGHT
    return {
        "cross_entropy": (
            lambda x, t, r: ref.cross_entropy_forward(x, t, r, ignore_index=0,
                                                      label_smoothing=0.1),
            lambda g, x, t, r: ref.cross_entropy_backward(g, x, t, r, ignore_index=0,
                                                          label_smoothing=0.1),
            lambda rng: _class_problem(rng, ignore_index=0)),
        "nll": (ref.nll_loss_forward, ref.nll_loss_backward, _class_problem),
        "bce_with_logits": (ref.bce_with_logits_forward, ref.bce_with_logits_backward,
                            _binary_problem),
        "bce_with_logits_pos_weight": (
            lambda x, t, r: ref.bce_with_logits_forward(x, t, r, pos_weight=pos_weight),
            lambda g, x, t, r: ref.bce_with_logits_backward(g, x, t, r, pos_weight=pos_weight),
            _binary_problem),
        "bce": (ref.bce_forward, ref.bce_backward,
                lambda rng: (rng.uniform(0.05, 0.95, (5, 2)), rng.uniform(size=(5, 2)))),
        "mse": (ref.mse_loss_forward, ref.mse_loss_backward,
                lambda rng: (rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))),
        "cross_entropy_weight": (
            *_with_options(ref.cross_entropy_forward, ref.cross_entropy_backward,
                           ignore_index=0, label_smoothing=0.1, weight=CLASS_WEIGHT),
            lambda rng: _class_problem(rng, ignore_index=0)),
        "cross_entropy_weight_no_smoothing": (
            *_with_options(ref.cross_entropy_forward, ref.cross_entropy_backward,
                           weight=CLASS_WEIGHT),
            _class_problem),
        "nll_weight": (
            *_with_options(ref.nll_loss_forward, ref.nll_loss_backward, weight=CLASS_WEIGHT),
            _class_problem),
        "bce_with_logits_weight": (
            *_with_options(ref.bce_with_logits_forward, ref.bce_with_logits_backward,
                           pos_weight=pos_weight, weight=BCE_WEIGHT),
            _binary_problem),
        "bce_weight": (
            *_with_options(ref.bce_forward, ref.bce_backward, weight=BCE_WEIGHT[:2, 0]),
            lambda rng: (rng.uniform(0.05, 0.95, (5, 2)), rng.uniform(size=(5, 2)))),
    }


LOSSES = _loss_cases()


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_backward_matches_finite_differences(name, reduction):
    rng = np.random.default_rng(0)
    forward, backward, make_inputs = LOSSES[name]
    x, target = make_inputs(rng)
    check_vjp(lambda: forward(x, target, reduction),
              lambda g: backward(g, x, target, reduction), x, rng)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_reduced_loss_is_0d_array_of_input_dtype(reduction):
    rng = np.random.default_rng(1)
    logits, target = _class_problem(rng)
    loss = ref.cross_entropy_forward(logits.astype(np.float32), target, reduction)
    assert isinstance(loss, np.ndarray) and loss.shape == () and loss.dtype == np.float32


def test_mean_divides_by_number_of_kept_targets():
    log_probs = np.log(np.full((3, 2), 0.5))
    target = np.array([0, -100, 1])
    np.testing.assert_allclose(ref.nll_loss_forward(log_probs, target), np.log(2.0))
    assert np.isnan(ref.nll_loss_forward(log_probs, np.full(3, -100)))
    np.testing.assert_array_equal(
        ref.cross_entropy_backward(1.0, log_probs, np.full(3, -100)), np.zeros((3, 2)))


def test_weighted_mean_divides_by_summed_weights_of_kept_targets():
    log_probs = np.log(np.full((3, 2), 0.5))
    target = np.array([0, -100, 1])
    weight = np.array([2.0, 6.0])
    loss = ref.nll_loss_forward(log_probs, target, weight=weight)
    np.testing.assert_allclose(loss, (2.0 + 6.0) * np.log(2.0) / (2.0 + 6.0))
    np.testing.assert_allclose(ref.nll_loss_forward(log_probs, target, "none", weight=weight),
                               [2 * np.log(2.0), 0.0, 6 * np.log(2.0)])
    grad = ref.cross_entropy_backward(1.0, np.zeros((3, 2)), target, weight=weight)
    np.testing.assert_allclose(grad, [[-0.125, 0.125], [0, 0], [0.375, -0.375]])


def test_bce_weight_mean_is_plain_mean():
    probs, target = np.full((2, 2), 0.5), np.ones((2, 2))
    loss = ref.bce_forward(probs, target, weight=np.array([1.0, 3.0]))
    np.testing.assert_allclose(loss, (1 + 3 + 1 + 3) * np.log(2.0) / 4)


def test_bce_with_logits_is_finite_for_huge_logits():
    logits = np.array([1e4, -1e4, 50.0], dtype=np.float32)
    target = np.array([0.0, 1.0, 1.0], dtype=np.float32)
    loss = ref.bce_with_logits_forward(logits, target, "none")
    np.testing.assert_allclose(loss, [1e4, 1e4, 0.0], atol=1e-6)


def test_bce_clamps_log_at_minus_100():
    loss = ref.bce_forward(np.array([0.0, 1.0]), np.array([1.0, 0.0]), "none")
    np.testing.assert_array_equal(loss, [100.0, 100.0])


def test_bad_arguments_raise():
    logits = np.zeros((2, 3))
    with pytest.raises(ValueError, match="reduction"):
        ref.mse_loss_forward(logits, logits, reduction="avg")
    with pytest.raises(ValueError, match="target"):
        ref.cross_entropy_forward(logits, np.array([0, 3]))
    with pytest.raises(TypeError, match="target"):
        ref.nll_loss_forward(logits, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="target"):
        ref.nll_loss_forward(logits, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="logits"):
        ref.cross_entropy_forward(np.zeros((0, 3)), np.zeros(0, dtype=np.int64))
    with pytest.raises(ValueError, match="label_smoothing"):
        ref.cross_entropy_forward(logits, np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="probs"):
        ref.bce_forward(np.array([1.5]), np.array([1.0]))
    with pytest.raises(ValueError, match="pos_weight"):
        ref.bce_with_logits_forward(logits, logits, pos_weight=np.ones(2))
    with pytest.raises(ValueError, match="weight"):
        ref.cross_entropy_forward(logits, np.array([0, 1]), weight=np.ones(2))
    with pytest.raises(ValueError, match="weight"):
        ref.nll_loss_backward(1.0, logits, np.array([0, 1]), weight=np.ones((1, 3)))
    with pytest.raises(ValueError, match="weight"):
        ref.bce_forward(np.full((2, 3), 0.5), np.ones((2, 3)), weight=np.ones((3, 3)))
    with pytest.raises(ValueError, match="weight"):
        ref.bce_with_logits_backward(1.0, logits, logits, weight=np.ones(2))
    with pytest.raises(ValueError, match="grad_loss"):
        ref.mse_loss_backward(np.ones(3), logits, logits, reduction="mean")


class TestAgainstTorch:
    torch = pytest.importorskip("torch")

    def _torch_losses(self):
        F = self.torch.nn.functional
        pos_weight = self.torch.tensor(POS_WEIGHT)
        class_weight, bce_weight = self.torch.tensor(CLASS_WEIGHT), self.torch.tensor(BCE_WEIGHT)
        return {
            "cross_entropy": lambda x, t, r: F.cross_entropy(x, t, reduction=r, ignore_index=0,
                                                             label_smoothing=0.1),
            "nll": lambda x, t, r: F.nll_loss(x, t, reduction=r),
            "bce_with_logits": lambda x, t, r: F.binary_cross_entropy_with_logits(
                x, t, reduction=r),
            "bce_with_logits_pos_weight": lambda x, t, r: F.binary_cross_entropy_with_logits(
                x, t, reduction=r, pos_weight=pos_weight.to(x.dtype)),
            "bce": lambda x, t, r: F.binary_cross_entropy(x, t, reduction=r),
            "mse": lambda x, t, r: F.mse_loss(x, t, reduction=r),
            "cross_entropy_weight": lambda x, t, r: F.cross_entropy(
                x, t, class_weight.to(x.dtype), reduction=r, ignore_index=0,
                label_smoothing=0.1),
            "cross_entropy_weight_no_smoothing": lambda x, t, r: F.cross_entropy(
                x, t, class_weight.to(x.dtype), reduction=r),
            "nll_weight": lambda x, t, r: F.nll_loss(x, t, class_weight.to(x.dtype), reduction=r),
            "bce_with_logits_weight": lambda x, t, r: F.binary_cross_entropy_with_logits(
                x, t, bce_weight.to(x.dtype), reduction=r, pos_weight=pos_weight.to(x.dtype)),
            "bce_weight": lambda x, t, r: F.binary_cross_entropy(
                x, t, bce_weight[:2, 0].to(x.dtype), reduction=r),
        }

    @pytest.mark.parametrize("reduction", REDUCTIONS)
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_forward_and_backward(self, reduction, dtype):
        torch = self.torch
        rng = np.random.default_rng(4)
        rtol = 1e-5 if dtype == np.float32 else 1e-10
        for name, torch_loss in self._torch_losses().items():
            forward, backward, make_inputs = LOSSES[name]
            x, target = make_inputs(rng)
            x = x.astype(dtype)
            if target.dtype.kind == "f":
                target = target.astype(dtype)
            xt = torch.tensor(x, requires_grad=True)
            loss_t = torch_loss(xt, torch.tensor(target), reduction)
            grad_loss = rng.standard_normal(loss_t.shape).astype(dtype)
            loss_t.backward(torch.tensor(grad_loss))
            loss = forward(x, target, reduction)
            assert loss.dtype == dtype
            np.testing.assert_allclose(loss, loss_t.detach().numpy(), rtol=rtol, atol=rtol,
                                       err_msg=name)
            np.testing.assert_allclose(backward(grad_loss, x, target, reduction),
                                       xt.grad.numpy(), rtol=rtol, atol=rtol, err_msg=name)
