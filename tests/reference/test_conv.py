import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpnn import reference as ref

from .gradcheck import check_vjp

# (x shape, weight shape, stride, padding, dilation, groups)
CASES = [
    ((1, 2, 5, 5), (3, 2, 3, 3), 1, 0, 1, 1),
    ((2, 3, 7, 6), (4, 3, 2, 3), 2, 1, 1, 1),
    ((2, 4, 6, 7), (6, 2, 3, 2), (1, 2), (2, 1), (2, 1), 2),
    ((1, 3, 8, 5), (3, 1, 3, 3), 1, 1, 1, 3),          # depthwise
    ((2, 2, 9, 9), (2, 2, 2, 2), 4, 0, 1, 1),          # stride > kernel
    ((1, 1, 4, 4), (2, 1, 5, 5), 1, 1, 1, 1),          # kernel fills the padded input
]
IDS = ["plain", "stride_pad", "groups_dilation", "depthwise", "stride_gt_kernel", "full"]


def _inputs(case, rng, dtype=np.float64):
    x_shape, w_shape = case[:2]
    return (rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype),
            rng.standard_normal(w_shape[0]).astype(dtype))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_backward_matches_finite_differences(case):
    rng = np.random.default_rng(0)
    x, weight, bias = _inputs(case, rng)
    params = case[2:]

    def forward():
        return ref.conv2d_forward(x, weight, bias, *params)

    check_vjp(forward, lambda g: ref.conv2d_backward_input(g, weight, x.shape, *params), x, rng)
    check_vjp(forward, lambda g: ref.conv2d_backward_weight(g, x, weight.shape, *params),
              weight, rng)
    check_vjp(forward, ref.conv2d_backward_bias, bias, rng)


def test_forward_matches_direct_sum():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 5, 4))
    weight = rng.standard_normal((2, 1, 2, 2))
    y = ref.conv2d_forward(x, weight, stride=(2, 1), padding=(0, 1), dilation=(2, 1), groups=2)
    x_padded = np.pad(x, ((0, 0), (0, 0), (0, 0), (1, 1)))
    expected = np.zeros((1, 2, 2, 5))
    for k in range(2):
        for oh in range(2):
            for ow in range(5):
                patch = x_padded[0, k, oh * 2:oh * 2 + 3:2, ow:ow + 2]
                expected[0, k, oh, ow] = np.sum(patch * weight[k, 0])
    np.testing.assert_allclose(y, expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    x, weight, bias = _inputs(CASES[1], np.random.default_rng(2), dtype)
    y = ref.conv2d_forward(x, weight, bias, 2, 1)
    assert y.dtype == dtype
    assert ref.conv2d_backward_input(y, weight, x.shape, 2, 1).dtype == dtype
    assert ref.conv2d_backward_weight(y, x, weight.shape, 2, 1).dtype == dtype
    assert ref.conv2d_backward_bias(y).dtype == dtype


def test_bad_arguments_raise():
    x = np.zeros((1, 4, 5, 5))
    weight = np.zeros((2, 2, 3, 3))
    with pytest.raises(ValueError, match="stride"):
        ref.conv2d_forward(x, weight, stride=0, groups=2)
    with pytest.raises(ValueError, match="dilation"):
        ref.conv2d_forward(x, weight, dilation=(1, -1), groups=2)
    with pytest.raises(ValueError, match="padding"):
        ref.conv2d_forward(x, weight, padding=-1, groups=2)
    with pytest.raises(TypeError, match="stride"):
        ref.conv2d_forward(x, weight, stride=1.5, groups=2)
    with pytest.raises(ValueError, match="groups"):
        ref.conv2d_forward(np.zeros((1, 3, 5, 5)), np.zeros((3, 1, 3, 3)), groups=2)
    with pytest.raises(ValueError, match="weight"):
        ref.conv2d_forward(x, weight)
    with pytest.raises(ValueError, match="x must have shape"):
        ref.conv2d_forward(x[0], weight, groups=2)
    with pytest.raises(ValueError, match="kernel"):
        ref.conv2d_forward(x, weight, dilation=3, groups=2)
    with pytest.raises(ValueError, match="bias"):
        ref.conv2d_forward(x, weight, np.zeros(3), groups=2)
    with pytest.raises(ValueError, match="grad_y"):
        ref.conv2d_backward_input(np.zeros((1, 2, 4, 4)), weight, x.shape, groups=2)
    with pytest.raises(ValueError, match="empty batch"):
        ref.conv2d_forward(x[:0], weight, groups=2)


class TestAgainstTorch:
    torch = pytest.importorskip("torch")

    @pytest.mark.parametrize("case", CASES, ids=IDS)
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_forward_and_backward(self, case, dtype):
        torch = self.torch
        rng = np.random.default_rng(3)
        x, weight, bias = _inputs(case, rng, dtype)
        stride, padding, dilation, groups = case[2:]
        tensors = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
        y_t = torch.nn.functional.conv2d(*tensors, stride=stride, padding=padding,
                                         dilation=dilation, groups=groups)
        grad_y = rng.standard_normal(y_t.shape).astype(dtype)
        y_t.backward(torch.tensor(grad_y))
        rtol = 1e-5 if dtype == np.float32 else 1e-10
        check = lambda a, t: np.testing.assert_allclose(a, t.detach().numpy(), rtol=rtol,
                                                        atol=rtol * 10)
        check(ref.conv2d_forward(x, weight, bias, *case[2:]), y_t)
        check(ref.conv2d_backward_input(grad_y, weight, x.shape, *case[2:]), tensors[0].grad)
        check(ref.conv2d_backward_weight(grad_y, x, weight.shape, *case[2:]), tensors[1].grad)
        check(ref.conv2d_backward_bias(grad_y), tensors[2].grad)


def test_mixed_dtypes_raise():
    x = np.zeros((1, 1, 3, 3), dtype=np.float32)
    with pytest.raises(TypeError, match="weight"):
        ref.conv2d_forward(x, np.zeros((1, 1, 2, 2)))
    with pytest.raises(TypeError, match="bias"):
        ref.conv2d_forward(x, np.zeros((1, 1, 2, 2), np.float32), np.zeros(1))


@st.composite
def _geometries(draw):
    groups = draw(st.integers(1, 3))
    channels, out_channels = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(2))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(2))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(2))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(2))
    spatial = tuple(draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 7))
                    for k, d, p in zip(kernel, dilation, padding))
    return ((draw(st.integers(1, 2)), channels) + spatial,
            (out_channels, channels // groups) + kernel, stride, padding, dilation, groups)


@settings(max_examples=40, deadline=None)
@given(case=_geometries(), seed=st.integers(0, 2**32 - 1))
def test_backward_functions_are_adjoints_of_forward(case, seed):
    """<conv(x, w), g> = <x, backward_input(g)> = <w, backward_weight(g)>: bilinearity."""
    rng = np.random.default_rng(seed)
    x, weight, _ = _inputs(case, rng)
    params = case[2:]
    y = ref.conv2d_forward(x, weight, None, *params)
    grad_y = rng.standard_normal(y.shape)
    inner = np.sum(y * grad_y)
    np.testing.assert_allclose(
        np.sum(x * ref.conv2d_backward_input(grad_y, weight, x.shape, *params)), inner,
        rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        np.sum(weight * ref.conv2d_backward_weight(grad_y, x, weight.shape, *params)), inner,
        rtol=1e-9, atol=1e-9)
