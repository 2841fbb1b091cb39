"""Arrays whose data does not start on a float boundary (a float32 view of a byte buffer at an
odd offset) are valid numpy input. The binding contract: such an input is copied to aligned
memory before a kernel reads it, one at a float boundary but not a vector one is read in place
(the kernels load vectors unaligned), and an output written in place must be float-aligned.

On x86 a misaligned read gives the right numbers anyway, so the results below can only show
that nothing is misread; tools/sanitize.sh runs this module under UBSan, which aborts on every
misaligned access and so checks that the kernels never see such a pointer."""
import numpy as np
import pytest

from hpnn import kernels, reference

# 1-3: not even float-aligned; 4: float-aligned, but off every vector boundary (16/32/64 bytes).
OFFSETS = [1, 2, 3, 4]


def at_offset(array, offset):
    """A copy of `array` (C order) whose data starts `offset` bytes past a 64-byte boundary."""
    raw = np.zeros(array.nbytes + 64 + offset, dtype=np.uint8)
    start = (-raw.ctypes.data) % 64 + offset
    view = raw[start:start + array.nbytes].view(array.dtype).reshape(array.shape)
    view[...] = array
    assert view.ctypes.data % 64 == offset
    return view


def normal(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


# kernel[:variant] -> rng -> positional arguments; every ndarray among them is moved to the offset.
CASES = {
    "gemm": lambda r: (normal(r, 19, 33), normal(r, 33, 21)),
    "conv2d_forward": lambda r: (normal(r, 2, 3, 9, 9), normal(r, 5, 3, 3, 3), normal(r, 5)),
    "conv2d_forward:winograd": lambda r: (normal(r, 2, 16, 12, 12), normal(r, 16, 16, 3, 3),
                                          normal(r, 16), 1, 1),
    "conv2d_backward": lambda r: (normal(r, 2, 5, 7, 7), normal(r, 2, 3, 9, 9),
                                  normal(r, 5, 3, 3, 3)),
    "conv2d_relu_max_pool2d_forward": lambda r: (normal(r, 2, 8, 10, 10), normal(r, 8, 8, 3, 3),
                                                 normal(r, 8), 1, 1),
    "max_pool2d_forward": lambda r: (normal(r, 2, 3, 9, 9), 2),
    "avg_pool2d_forward": lambda r: (normal(r, 2, 3, 9, 9), 3, 2, 1),
    "global_avg_pool2d_forward": lambda r: (normal(r, 2, 3, 9, 9),),
    "batch_norm_forward_eval": lambda r: (normal(r, 4, 3, 5, 5), normal(r, 3), normal(r, 3),
                                          normal(r, 3), np.abs(normal(r, 3)) + 0.5),
    "batch_norm_backward": lambda r: (normal(r, 4, 3, 5, 5), normal(r, 4, 3, 5, 5),
                                      normal(r, 3), normal(r, 3), np.abs(normal(r, 3)) + 0.5),
    "relu_forward": lambda r: (normal(r, 37),),
    "gelu_backward": lambda r: (normal(r, 5, 37), normal(r, 5, 37)),
    "softmax_forward": lambda r: (normal(r, 7, 13),),
    "log_softmax_backward": lambda r: (normal(r, 7, 13), normal(r, 7, 13)),
    "mse_loss_forward": lambda r: (normal(r, 6, 11), normal(r, 6, 11)),
    "cross_entropy_forward": lambda r: (normal(r, 9, 5), r.integers(0, 5, 9)),
    "nll_loss_backward": lambda r: (np.float32(1.0), normal(r, 9, 5), r.integers(0, 5, 9)),
    "bce_with_logits_forward": lambda r: (normal(r, 23), (normal(r, 23) > 0).astype(np.float32)),
    "lstm_forward": lambda r: (normal(r, 4, 3, 6), normal(r, 3, 5), normal(r, 3, 5),
                               normal(r, 20, 6), normal(r, 20, 5), normal(r, 20), normal(r, 20)),
    "gru_cell_forward": lambda r: (normal(r, 3, 6), normal(r, 3, 5), normal(r, 15, 6),
                                   normal(r, 15, 5), normal(r, 15), normal(r, 15)),
}


def pool_backward_args(r):
    x = normal(r, 2, 3, 8, 8)
    for index_dtype in (np.int64, np.int32):
        y, indices = reference.max_pool2d_forward(x, 2, index_dtype=index_dtype)
        yield normal(r, *y.shape), indices, x.shape


CASES["max_pool2d_backward:int64"] = lambda r: next(pool_backward_args(r))
CASES["max_pool2d_backward:int32"] = lambda r: list(pool_backward_args(r))[1]


def kernel_name(case):
    return case.split(":")[0]


def compare(actual, expected, where):
    if isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            compare(a, e, f"{where}[{i}]")
    elif expected is None:
        assert actual is None, where
    else:
        expected = np.asarray(expected)
        scale = max(float(np.abs(expected).max(initial=0.0)), 1.0)
        # float32 kernels against their numpy twins: a few ulps of the largest value.
        np.testing.assert_allclose(np.asarray(actual), expected, rtol=0, atol=1e-4 * scale,
                                   err_msg=where)


@pytest.mark.parametrize("offset", OFFSETS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_misaligned_input_gives_the_reference_result(case, offset, isa):
    args = CASES[case](np.random.default_rng(7))
    moved = [at_offset(a, offset) if isinstance(a, np.ndarray) and a.ndim else a for a in args]
    name = kernel_name(case)
    compare(getattr(kernels, name)(*moved), getattr(reference, name)(*args), f"{name}@{offset}")


@pytest.mark.parametrize("offset", OFFSETS)
def test_misaligned_optimizer_buffers(offset, isa):
    """grad is an input (copied when misaligned); param and the momentum buffer are updated in
    place: off the float boundary they go to the reference, which handles any layout."""
    rng = np.random.default_rng(3)
    param, grad, buf = normal(rng, 67), normal(rng, 67), normal(rng, 67)
    native_param, native_buf = at_offset(param, offset), at_offset(buf, offset)
    kernels.sgd_step(native_param, at_offset(grad, offset), native_buf, lr=0.1, momentum=0.9)
    reference.sgd_step(param, grad, buf, lr=0.1, momentum=0.9)
    compare((native_param, native_buf), (param, buf), f"sgd_step@{offset}")


@pytest.mark.parametrize("offset", OFFSETS)
def test_misaligned_out_argument(offset, isa):
    x = normal(np.random.default_rng(5), 45)
    out = at_offset(np.zeros_like(x), offset)
    kernels.relu_forward(at_offset(x, offset), out=out)
    np.testing.assert_array_equal(out, reference.relu_forward(x))


@pytest.mark.parametrize("offset", [1, 2, 3])
def test_output_off_the_float_boundary_is_refused(offset):
    a, b = np.ones((3, 4), np.float32), np.ones((4, 5), np.float32)
    with pytest.raises(ValueError, match="'c' is not aligned"):
        kernels.gemm(a, b, at_offset(np.zeros((3, 5), np.float32), offset))


def test_output_off_the_vector_boundary_is_written_in_place(isa):
    a, b = np.ones((3, 4), np.float32), np.ones((4, 5), np.float32)
    c = at_offset(np.zeros((3, 5), np.float32), 4)
    assert kernels.gemm(a, b, c) is c
    np.testing.assert_array_equal(c, np.full((3, 5), 4.0, np.float32))
