"""Load PyTorch state dicts into hpnn models; outputs and gradients must agree."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn

torch = pytest.importorskip("torch")


def _copy_weights(torch_model, model):
    model.load_state_dict({k: v.numpy() for k, v in torch_model.state_dict().items()})


def _compare(torch_model, model, x, target_fn):
    xt = torch.tensor(x, requires_grad=True)
    xh = hpnn.tensor(x, requires_grad=True)
    yt, yh = torch_model(xt), model(xh)
    np.testing.assert_allclose(yh.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    target_fn(torch, yt).backward()
    target_fn(hpnn, yh).backward()
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-5)
    torch_grads = dict(torch_model.named_parameters())
    for name, param in model.named_parameters():
        # float32 sums in a different order: absolute error relative to the largest gradient
        expected = torch_grads[name].grad.numpy()
        np.testing.assert_allclose(param.grad.numpy(), expected, rtol=1e-3,
                                   atol=max(1e-5, 1e-4 * float(np.abs(expected).max())),
                                   err_msg=name)


def _weighted_sum(lib, y):
    weights = np.linspace(-1, 1, y.numel() if lib is torch else y.numpy().size,
                          dtype=np.float32).reshape(tuple(y.shape))
    return (y * lib.tensor(weights)).sum()


def test_mlp_matches_torch():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 5),
                             torch.nn.GELU(), torch.nn.Linear(5, 3), torch.nn.LogSoftmax(dim=1))
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 5), nn.GELU(),
                          nn.Linear(5, 3), nn.LogSoftmax(dim=1))
    _copy_weights(tm, model)
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    _compare(tm, model, x, _weighted_sum)


def test_cnn_matches_torch_in_train_and_eval_mode():
    torch.manual_seed(0)

    def build(lib):
        return lib.nn.Sequential(
            lib.nn.Conv2d(2, 4, 3, padding=1), lib.nn.BatchNorm2d(4), lib.nn.LeakyReLU(0.1),
            lib.nn.MaxPool2d(2), lib.nn.Conv2d(4, 6, 3, stride=2, padding=1), lib.nn.Sigmoid(),
            lib.nn.AvgPool2d(2), lib.nn.AdaptiveAvgPool2d(1), lib.nn.Flatten(),
            lib.nn.BatchNorm1d(6), lib.nn.Linear(6, 3))

    tm, model = build(torch), build(hpnn)
    _copy_weights(tm, model)
    x = np.random.default_rng(1).standard_normal((5, 2, 8, 8)).astype(np.float32)
    _compare(tm, model, x, _weighted_sum)
    for name, buffer in model.named_buffers():
        np.testing.assert_allclose(buffer.numpy(), tm.state_dict()[name].numpy(), rtol=1e-4,
                                   atol=1e-6, err_msg=name)
    tm.eval(), model.eval()
    tm.zero_grad(), model.zero_grad()
    _compare(tm, model, x, _weighted_sum)


CLASS_WEIGHT = np.array([0.5, 2.0, 1.5, 3.0], np.float32)


def _as_torch(options):
    return {key: torch.tensor(value) if isinstance(value, np.ndarray) else value
            for key, value in options.items()}


@pytest.mark.parametrize("name,kwargs,target_kind", [
    ("CrossEntropyLoss", {}, "class"),
    ("CrossEntropyLoss", {"label_smoothing": 0.2, "reduction": "sum"}, "class"),
    ("NLLLoss", {}, "class"),
    ("BCEWithLogitsLoss", {}, "binary"),
    ("BCELoss", {}, "binary"),
    ("MSELoss", {"reduction": "none"}, "real"),
    ("CrossEntropyLoss", {"weight": CLASS_WEIGHT, "ignore_index": 1, "label_smoothing": 0.1},
     "class"),
    ("NLLLoss", {"weight": CLASS_WEIGHT, "reduction": "none"}, "class"),
    ("BCEWithLogitsLoss", {"weight": CLASS_WEIGHT, "pos_weight": CLASS_WEIGHT[::-1].copy()},
     "binary"),
    ("BCELoss", {"weight": np.linspace(0.5, 2, 6, dtype=np.float32)[:, None]}, "binary"),
])
def test_loss_modules_match_torch(name, kwargs, target_kind):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    if name == "BCELoss":
        x = 1 / (1 + np.exp(-x))
    if name == "NLLLoss":
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
    target = {"class": rng.integers(0, 4, 6), "binary": rng.integers(0, 2, (6, 4)).astype(
        np.float32), "real": rng.standard_normal((6, 4)).astype(np.float32)}[target_kind]
    xt, xh = torch.tensor(x, requires_grad=True), hpnn.tensor(x, requires_grad=True)
    lt = getattr(torch.nn, name)(**_as_torch(kwargs))(xt, torch.tensor(target))
    lh = getattr(nn, name)(**kwargs)(xh, hpnn.tensor(target))
    np.testing.assert_allclose(lh.numpy(), lt.detach().numpy(), rtol=1e-5, atol=1e-6)
    lt.sum().backward()
    lh.sum().backward()
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_spatial_weighted_cross_entropy_matches_torch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 3, 5)).astype(np.float32)
    target = rng.integers(0, 4, (2, 3, 5))
    xt, xh = torch.tensor(x, requires_grad=True), hpnn.tensor(x, requires_grad=True)
    for reduction in ("none", "mean"):
        lt = torch.nn.functional.cross_entropy(xt, torch.tensor(target),
                                               torch.tensor(CLASS_WEIGHT), reduction=reduction)
        lh = hpnn.functional.cross_entropy(xh, target, CLASS_WEIGHT, reduction=reduction)
        assert tuple(lh.shape) == tuple(lt.shape)
        np.testing.assert_allclose(lh.numpy(), lt.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_loss_weights_are_buffers():
    loss = nn.BCEWithLogitsLoss(pos_weight=CLASS_WEIGHT)
    assert list(loss.state_dict()) == ["pos_weight"]
    assert list(nn.CrossEntropyLoss(CLASS_WEIGHT).state_dict()) == ["weight"]


@pytest.mark.parametrize("output_size", [(3, 4), 1, (None, 2), (4, 6), 7])
@pytest.mark.parametrize("name", ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d"])
def test_adaptive_pools_match_torch(name, output_size):
    rng = np.random.default_rng(4)
    for shape in [(2, 3, 8, 12), (3, 5, 6)]:
        x = rng.standard_normal(shape).astype(np.float32)
        _compare(getattr(torch.nn, name)(output_size), getattr(nn, name)(output_size), x,
                 _weighted_sum)


def test_adaptive_max_pool_returns_indices_like_torch():
    x = np.random.default_rng(5).standard_normal((2, 3, 7, 9)).astype(np.float32)
    for output_size in [(3, 4), (7, 3)]:
        _, expected = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), output_size,
                                                              return_indices=True)
        _, indices = nn.AdaptiveMaxPool2d(output_size, return_indices=True)(hpnn.tensor(x))
        np.testing.assert_array_equal(indices.numpy(), expected.numpy())


def test_default_init_distribution_matches_torch():
    """Same bounds as torch: the max |w| of a big layer is close to torch's."""
    torch.manual_seed(0)
    hpnn.manual_seed(0)
    tw = torch.nn.Linear(400, 300).weight.detach().numpy()
    hw = nn.Linear(400, 300).weight.numpy()
    assert abs(np.abs(hw).max() - np.abs(tw).max()) < 1e-3
    assert abs(hw.std() - tw.std()) < 1e-3
