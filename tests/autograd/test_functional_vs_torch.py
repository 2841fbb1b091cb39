"""hpnn.nn.functional against torch.nn.functional: values and gradients, PyTorch's
signatures, defaults and argument spellings."""
import numpy as np
import pytest

import hpnn
import hpnn.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
RNG = np.random.default_rng(1)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


X4 = randn(2, 4, 7, 9)


@pytest.mark.parametrize("kwargs", [
    dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2),
    dict(padding="same", groups=2), dict(padding="same", dilation=2),
    dict(padding="valid", stride=2), dict(padding=1, groups=4),
])
def test_conv2d(vs_torch, kwargs):
    out_channels, groups = 4, kwargs.get("groups", 1)
    weight = randn(out_channels, 4 // groups, 3, 2)
    vs_torch(lambda x, w, b: F.conv2d(x, w, b, **kwargs),
             lambda x, w, b: TF.conv2d(x, w, b, **kwargs), X4, weight, randn(out_channels))


def test_conv2d_unbatched_input_and_same_with_stride(vs_torch):
    vs_torch(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1),
             X4[0], randn(3, 4, 3, 3))
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(hpnn.tensor(X4), hpnn.tensor(randn(3, 4, 3, 3)), padding="same", stride=2)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad(vs_torch, mode):
    widths = (1, 2, 2, 0)
    vs_torch(lambda x: F.pad(x, widths, mode), lambda x: TF.pad(x, widths, mode), X4)
    if mode == "constant":
        vs_torch(lambda x: F.pad(x, (-1, 2), value=3.0), lambda x: TF.pad(x, (-1, 2), value=3.0),
                 X4)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3), dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(2, 1), ceil_mode=True),
    dict(kernel_size=3, stride=2, dilation=2), dict(kernel_size=2, padding=1, ceil_mode=True),
])
def test_max_pool2d(vs_torch, kwargs):
    vs_torch(lambda x: F.max_pool2d(x, **kwargs), lambda x: TF.max_pool2d(x, **kwargs), X4)


def test_max_pool2d_indices_ties_and_unbatched(vs_torch):
    vs_torch(lambda x: F.max_pool2d(x, 3, 2, return_indices=True),
             lambda x: TF.max_pool2d(x, 3, 2, return_indices=True), X4)
    ties = np.array([[[[1, 1, 0], [0, 1, 1], [1, 1, 1]]]], np.float32)
    vs_torch(lambda x: F.max_pool2d(x, 2, 1), lambda x: TF.max_pool2d(x, 2, 1), ties)
    vs_torch(lambda x: F.max_pool2d(x, 2, return_indices=True),
             lambda x: TF.max_pool2d(x, 2, return_indices=True), X4[0])


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3), dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, divisor_override=3),
])
def test_avg_pool2d(vs_torch, kwargs):
    vs_torch(lambda x: F.avg_pool2d(x, **kwargs), lambda x: TF.avg_pool2d(x, **kwargs), X4)
    vs_torch(lambda x: F.avg_pool2d(x, **kwargs), lambda x: TF.avg_pool2d(x, **kwargs), X4[1])


@pytest.mark.parametrize("output_size", [(3, 4), 5, (7, 9), 1, (10, 12), (None, 2), (2, None)])
def test_adaptive_pools_any_output_size(vs_torch, output_size):
    vs_torch(lambda x: F.adaptive_avg_pool2d(x, output_size),
             lambda x: TF.adaptive_avg_pool2d(x, output_size), X4)
    vs_torch(lambda x: F.adaptive_max_pool2d(x, output_size, return_indices=True),
             lambda x: TF.adaptive_max_pool2d(x, output_size, return_indices=True), X4)


@pytest.mark.parametrize("name,kwargs", [
    ("relu", {}), ("leaky_relu", {}), ("leaky_relu", dict(negative_slope=0.2)), ("sigmoid", {}),
    ("tanh", {}), ("gelu", {}), ("gelu", dict(approximate="tanh")), ("relu", dict(inplace=False)),
])
def test_activations(vs_torch, name, kwargs):
    x = np.concatenate([randn(20), [0.0, -3.0, 3.0]]).astype(np.float32)
    vs_torch(lambda t: getattr(F, name)(t, **kwargs), lambda t: getattr(TF, name)(t, **kwargs), x)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((2, 4, 3), 1), ((2, 4, 3), 0), ((2, 4, 3), -1), ((5,), 0),
                                       ((3, 4), None), ((2, 3, 4), None), ((2, 3, 2, 2), None)])
def test_softmax_dims(vs_torch, name, shape, dim):
    with pytest.warns(UserWarning, match="Implicit") if dim is None else _no_warning():
        vs_torch(lambda x: getattr(F, name)(x, dim), lambda x: getattr(TF, name)(x, dim),
                 randn(*shape))


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5), (2, 4, 3, 3)])
def test_batch_norm_train_and_eval(vs_torch, shape):
    channels = shape[1]
    mean, var = randn(channels), np.abs(randn(channels)) + 0.5
    ours = [hpnn.tensor(mean.copy()), hpnn.tensor(var.copy())]
    theirs = [torch.tensor(mean.copy()), torch.tensor(var.copy())]
    x, w, b = randn(*shape), randn(channels), randn(channels)
    vs_torch(lambda x, w, b: F.batch_norm(x, *ours, w, b, training=True, momentum=0.3, eps=1e-3),
             lambda x, w, b: TF.batch_norm(x, *theirs, w, b, training=True, momentum=0.3,
                                           eps=1e-3), x, w, b)
    for a, e in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-5, atol=1e-6)
    vs_torch(lambda x, w, b: F.batch_norm(x, *ours, w, b), lambda x, w, b: TF.batch_norm(
        x, *theirs, w, b), x, w, b)
    vs_torch(lambda x: F.batch_norm(x, None, None, training=True),
             lambda x: TF.batch_norm(x, None, None, training=True), x)


def test_dropout_scaling_and_modes(vs_torch):
    x = randn(4, 5)
    vs_torch(lambda t: F.dropout(t, 0.3, training=False), lambda t: TF.dropout(t, 0.3, False), x)
    vs_torch(lambda t: F.dropout(t, 1.0), lambda t: TF.dropout(t, 1.0), x)
    kept = F.dropout(hpnn.ones(20000), p=0.25, inplace=False).numpy()
    assert set(np.unique(kept)) == {0.0, np.float32(1 / 0.75)}
    assert abs((kept == 0).mean() - 0.25) < 0.02


W4 = np.array([0.5, 2.0, 1.5, 3.0], np.float32)
LOGITS = randn(5, 4)
LABELS = np.array([0, 3, 1, 1, 2])
IGNORED = np.array([0, -100, 1, 1, -100])
PROBS = RNG.dirichlet(np.ones(4), 5).astype(np.float32)


@pytest.mark.parametrize("target,kwargs", [
    (LABELS, {}), (IGNORED, {}), (np.full(5, -100), {}),
    (IGNORED, dict(weight=W4, label_smoothing=0.3)),
    (IGNORED, dict(weight=W4, label_smoothing=0.3, reduction="none")),
    (LABELS, dict(weight=W4, label_smoothing=0.3, reduction="sum")),
    (LABELS, dict(ignore_index=1, reduction="sum")),
    (PROBS, {}), (PROBS, dict(weight=W4, label_smoothing=0.2)), (PROBS, dict(reduction="none")),
    (PROBS, dict(weight=W4, reduction="sum")),
])
def test_cross_entropy(vs_torch, target, kwargs):
    ours = {k: hpnn.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    theirs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    vs_torch(lambda x: F.cross_entropy(x, hpnn.tensor(target), **ours),
             lambda x: TF.cross_entropy(x, torch.tensor(target), **theirs), LOGITS)


def test_cross_entropy_shapes_and_probability_target_gradient(vs_torch):
    vs_torch(lambda x, p: F.cross_entropy(x, p), lambda x, p: TF.cross_entropy(x, p), LOGITS,
             PROBS)
    vs_torch(lambda x: F.cross_entropy(x, hpnn.tensor(np.array(2))),
             lambda x: TF.cross_entropy(x, torch.tensor(2)), LOGITS[0])
    spatial, spatial_probs = randn(2, 4, 3, 3), RNG.random((2, 4, 3, 3)).astype(np.float32)
    vs_torch(lambda x: F.cross_entropy(x, hpnn.tensor(spatial_probs), reduction="none"),
             lambda x: TF.cross_entropy(x, torch.tensor(spatial_probs), reduction="none"),
             spatial)


def test_legacy_reduction_arguments(vs_torch):
    for size_average, reduce in [(False, None), (None, False), (True, True), (False, True)]:
        vs_torch(lambda x: F.cross_entropy(x, hpnn.tensor(LABELS % 3), None, size_average, 1,
                                           reduce, "mean", 0.1),
                 lambda x: TF.cross_entropy(x, torch.tensor(LABELS % 3), None, size_average, 1,
                                            reduce, "mean", 0.1), LOGITS[:, :3].copy())
        vs_torch(lambda x, y: F.mse_loss(x, y, size_average, reduce),
                 lambda x, y: TF.mse_loss(x, y, size_average, reduce), LOGITS, PROBS)
    with pytest.raises(ValueError, match="reduction"):
        F.nll_loss(hpnn.tensor(LOGITS), hpnn.tensor(LABELS), reduction="avg")


@pytest.mark.parametrize("target,kwargs", [
    (IGNORED, dict(weight=W4)), (LABELS, dict(ignore_index=1)), (LABELS, dict(reduction="none")),
])
def test_nll_loss(vs_torch, target, kwargs):
    log_probs = LOGITS - np.log(np.exp(LOGITS).sum(1, keepdims=True))
    ours = {k: hpnn.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    theirs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    vs_torch(lambda x: F.nll_loss(x, hpnn.tensor(target), **ours),
             lambda x: TF.nll_loss(x, torch.tensor(target), **theirs), log_probs)


BINARY = (RNG.random((5, 4)) > 0.5).astype(np.float32)
SOFT = RNG.random((5, 4)).astype(np.float32)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_with_target_gradients(vs_torch, reduction):
    probs = 1 / (1 + np.exp(-LOGITS))
    ours = dict(weight=hpnn.tensor(W4), reduction=reduction)
    theirs = dict(weight=torch.tensor(W4), reduction=reduction)
    vs_torch(lambda p, t: F.binary_cross_entropy(p, t, **ours),
             lambda p, t: TF.binary_cross_entropy(p, t, **theirs), probs, SOFT)
    pos_weight = W4[::-1].copy()
    vs_torch(lambda x, t: F.binary_cross_entropy_with_logits(
        x, t, pos_weight=hpnn.tensor(pos_weight), **ours),
        lambda x, t: TF.binary_cross_entropy_with_logits(
        x, t, pos_weight=torch.tensor(pos_weight), **theirs), LOGITS * 5, SOFT)
    vs_torch(lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction),
             lambda x, t: TF.binary_cross_entropy_with_logits(x, t, reduction=reduction),
             LOGITS, BINARY)


def test_binary_cross_entropy_at_saturated_probabilities(vs_torch):
    vs_torch(lambda p: F.binary_cross_entropy(p, hpnn.tensor([0.0, 1.0, 1.0, 0.0])),
             lambda p: TF.binary_cross_entropy(p, torch.tensor([0.0, 1.0, 1.0, 0.0])),
             np.array([0.0, 1.0, 0.0, 1.0], np.float32))


def test_mse_loss_weight_and_broadcasting(vs_torch):
    for reduction in ("mean", "sum", "none"):
        vs_torch(lambda x, t, w: F.mse_loss(x, t, reduction=reduction, weight=w),
                 lambda x, t, w: TF.mse_loss(x, t, reduction=reduction, weight=w),
                 LOGITS, SOFT, SOFT + 0.5)
    with pytest.warns(UserWarning, match="target size"):
        vs_torch(lambda x, t: F.mse_loss(x, t), lambda x, t: TF.mse_loss(x, t),
                 randn(5, 1), randn(5))
