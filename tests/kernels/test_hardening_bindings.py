"""Issue 13, findings 1, 2, 4 and 10: bad arguments to the kernels and their raw bindings raise a
Python exception naming the function and the argument -- never a crash, never a silent wrong
answer. Every call that crashed before runs in a subprocess, so a crash fails its test (with
the reproducer in the message) instead of killing pytest."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from hpnn import kernels, reference

# Runs one call and prints what it raised as JSON; a crash leaves no such line.
_PRELUDE = """
import json, numpy as np, hpnn
from hpnn import kernels
from hpnn._C import kernels as raw
def huge(*shape):
    # A view that cannot be copied: 2**40 * 70 floats (280 TB), 280 bytes of memory.
    return np.broadcast_to(np.zeros((1,) + shape, np.float32), (2**40,) + shape)
try:
{call}
    outcome = {{"type": None, "message": ""}}
except BaseException as error:
    outcome = {{"type": type(error).__name__, "message": str(error)}}
print(json.dumps(outcome))
"""


def raised_in_subprocess(call):
    """(exception type name or None, message) of ``call`` (Python statements) in a new
    interpreter; fails the test if that interpreter dies."""
    script = _PRELUDE.format(call=textwrap.indent(textwrap.dedent(call).strip(), "    "))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, (f"crashed with exit status {proc.returncode}:\n{call}\n"
                                  f"{proc.stderr[-3000:]}")
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    return outcome["type"], outcome["message"]


def assert_raises_in_subprocess(call, error, *names):
    kind, message = raised_in_subprocess(call)
    assert kind == error, f"{call!r} raised {kind}: {message}"
    for name in names:
        assert name in message, f"{call!r}: message does not name {name}: {message}"


# ---- finding 1: a C-ordered copy that cannot be allocated ---------------------------------------

_UNCOPYABLE = {
    "relu_forward": ("kernels.relu_forward(huge(2, 7, 5))", "'x'"),
    "relu_backward": ("kernels.relu_backward(huge(2, 7, 5), huge(2, 7, 5))", "'grad_y'"),
    "softmax_forward": ("kernels.softmax_forward(huge(2, 7, 5), axis=1)", "'x'"),
    "conv2d_forward": ("kernels.conv2d_forward(huge(2, 7, 5), np.ones((3, 2, 3, 3), np.float32))",
                       "'x'"),
    "mse_loss_forward": ("kernels.mse_loss_forward(huge(70), huge(70))", "'input'"),
    "cross_entropy_forward": (
        "kernels.cross_entropy_forward(huge(70), np.broadcast_to(np.int64(1), (2**40,)))",
        "'logits'"),
    "lstm_forward": ("z = np.zeros((1, 4), np.float32)\n"
                     "kernels.lstm_forward(huge(1, 3), z, z, np.ones((16, 3), np.float32), "
                     "np.ones((16, 4), np.float32))", "'x'"),
    "dropout_forward": ("kernels.dropout_forward(huge(70), 0.5, 1)", "'x'"),
    "max_pool2d_backward": (
        "raw.max_pool2d_backward(huge(2, 1, 1), np.zeros((1, 2, 1, 1), np.int64), (1, 2, 2, 2))",
        "'grad_y'"),
    # gemm reads any strides (no copy): its 8 TB output is what cannot be allocated.
    "gemm": ("kernels.gemm(huge(70), np.ones((70, 2), np.float32))", None),
}


@pytest.mark.parametrize("name", sorted(_UNCOPYABLE))
def test_uncopyable_input_raises_memory_error(name):
    call, arg = _UNCOPYABLE[name]
    kind, message = raised_in_subprocess(call)
    assert kind == "MemoryError", f"{call!r} raised {kind}: {message}"
    assert arg is None or arg in message, message


# ---- finding 2: geometry the raw bindings used to trust -----------------------------------------

_X = "np.zeros((1, 2, 2, 4), np.float32)"


def _avg(geometry):
    return f"raw.avg_pool2d_forward({_X}, {geometry}, True, 0)"


_BAD_POOL_GEOMETRY = {
    # The reproducer of the issue: padding 2 > kernel 2 // 2 and dilation 0 -> SIGFPE.
    "issue_sigfpe": _avg("(2, 2, 1, 1, 0, 2, 1, 0, 1, 3)"),
    "avg_output_too_large": _avg("(2, 2, 1, 1, 0, 0, 1, 1, 5, 9)"),
    "avg_dilated": _avg("(2, 2, 1, 1, 0, 0, 2, 2, 1, 3)"),
    "avg_zero_stride": _avg("(2, 2, 0, 1, 0, 0, 1, 1, 1, 3)"),
    "avg_negative_padding": _avg("(1, 1, 1, 1, -1, 0, 1, 1, 1, 4)"),
    "avg_zero_kernel": f"raw.avg_pool2d_forward({_X}, (0, 2, 1, 1, 0, 0, 1, 1, 3, 3), False, 0)",
    "avg_kernel_too_large": _avg("(3, 2, 1, 1, 0, 0, 1, 1, 1, 3)"),
    "avg_short_tuple": _avg("(2, 2, 1, 1)"),
    "avg_huge_entries": _avg("(2**62, 2, 2**62, 1, 2**61, 0, 1, 1, 1, 3)"),
    "max_output_too_large": f"raw.max_pool2d_forward({_X}, (2, 2, 1, 1, 0, 0, 1, 1, 4, 8))",
    "max_output_zero": f"raw.max_pool2d_forward({_X}, (2, 2, 1, 1, 0, 0, 1, 1, 0, 3))",
    "max_huge_dilation": f"raw.max_pool2d_forward({_X}, (2, 2, 1, 1, 0, 0, 2**62, 1, 1, 3))",
    "max_padding_over_half": f"raw.max_pool2d_forward({_X}, (2, 2, 1, 1, 0, 2, 1, 1, 1, 7), True)",
    "avg_backward_output_too_large": (
        "raw.avg_pool2d_backward(np.zeros((1, 2, 5, 9), np.float32), (1, 2, 2, 4), "
        "(2, 2, 1, 1, 0, 0, 1, 1, 5, 9), True, 0)"),
}


@pytest.mark.parametrize("name", sorted(_BAD_POOL_GEOMETRY))
def test_pool_binding_validates_geometry(name):
    function = _BAD_POOL_GEOMETRY[name].split("(")[0].split(".")[1]
    assert_raises_in_subprocess(_BAD_POOL_GEOMETRY[name], "ValueError", function, "'geometry'")


def test_avg_pool_backward_binding_validates_input_shape():
    assert_raises_in_subprocess(
        "raw.avg_pool2d_backward(np.zeros((1, 2, 1, 1), np.float32), (1, 2, -2, 4), "
        "(1, 1, 1, 1, 0, 0, 1, 1, 1, 1), True, 0)", "ValueError", "avg_pool2d_backward",
        "'input_shape'")


def test_pool_binding_accepts_what_the_wrapper_builds():
    """Both ceil_mode output sizes pass the binding's check and match the reference."""
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 9)).astype(np.float32)
    for ceil_mode in (False, True):
        got = kernels.avg_pool2d_forward(x, 3, 2, 1, ceil_mode=ceil_mode, count_include_pad=False)
        want = reference.avg_pool2d_forward(x, 3, 2, 1, ceil_mode=ceil_mode,
                                            count_include_pad=False)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        got, _ = kernels.max_pool2d_forward(x, 3, 2, 1, dilation=2, ceil_mode=ceil_mode)
        want, _ = reference.max_pool2d_forward(x, 3, 2, 1, dilation=2, ceil_mode=ceil_mode)
        np.testing.assert_array_equal(got, want)


def test_avg_pool_binding_rejects_negative_divisor():
    assert_raises_in_subprocess(
        f"raw.avg_pool2d_forward({_X}, (2, 2, 2, 2, 0, 0, 1, 1, 1, 2), True, -3)",
        "ValueError", "avg_pool2d_forward", "'divisor_override'")


_G = "np.zeros((1, 2, 1, 2), np.float32)"
_BAD_MAX_POOL_BACKWARD = {
    "index_out_of_range": (f"raw.max_pool2d_backward({_G}, np.full((1, 2, 1, 2), 99, np.int64),"
                           " (1, 2, 2, 4))", "ValueError", "'indices'"),
    "negative_index": (f"raw.max_pool2d_backward({_G}, np.full((1, 2, 1, 2), -1, np.int32),"
                       " (1, 2, 2, 4))", "ValueError", "'indices'"),
    "float_indices": (f"raw.max_pool2d_backward({_G}, np.zeros((1, 2, 1, 2), np.float32),"
                      " (1, 2, 2, 4))", "TypeError", "'indices'"),
    "indices_not_an_array": (f"raw.max_pool2d_backward({_G}, [0, 1], (1, 2, 2, 4))",
                             "TypeError", "'indices'"),
    "indices_wrong_shape": (f"raw.max_pool2d_backward({_G}, np.zeros((2, 2), np.int64),"
                            " (1, 2, 2, 4))", "ValueError", "'indices'"),
    "negative_input_shape": (f"raw.max_pool2d_backward({_G}, np.zeros((1, 2, 1, 2), np.int64),"
                             " (1, 2, -2, 4))", "ValueError", "'input_shape'"),
}


@pytest.mark.parametrize("name", sorted(_BAD_MAX_POOL_BACKWARD))
def test_max_pool_backward_binding_validates_indices(name):
    call, error, arg = _BAD_MAX_POOL_BACKWARD[name]
    assert_raises_in_subprocess(call, error, "max_pool2d_backward", arg)


_W = "np.ones((3, 2, 3, 3), np.float32)"
_BAD_CONV = {
    "huge_padding": f"raw.conv2d_forward({_X}, {_W}, None, (1, 1, 2**62, 2**62, 1, 1, 1))",
    "huge_dilation": f"raw.conv2d_forward({_X}, {_W}, None, (1, 1, 1, 1, 2**62, 2**62, 1))",
    "zero_stride": f"raw.conv2d_forward({_X}, {_W}, None, (0, 1, 1, 1, 1, 1, 1))",
    "groups_mismatch": f"raw.conv2d_forward({_X}, {_W}, None, (1, 1, 1, 1, 1, 1, 2))",
    "huge_groups": f"raw.conv2d_forward({_X}, {_W}, None, (1, 1, 1, 1, 1, 1, 2**62))",
    "backward_input_negative_size": (
        f"raw.conv2d_backward_input(np.zeros((1, 3, 1, 1), np.float32), {_W}, (1, 2, -1, 1),"
        " (1, 1, 2, 2, 1, 1, 1))"),
    "backward_weight_huge_shape": (
        f"raw.conv2d_backward_weight(np.zeros((1, 3, 2, 4), np.float32), {_X}, "
        "(3, 2**40, 2**40, 3), (1, 1, 1, 1, 1, 1, 1))"),
}


@pytest.mark.parametrize("name", sorted(_BAD_CONV))
def test_conv_binding_validates_geometry(name):
    function = _BAD_CONV[name].split("(")[0].split(".")[1]
    assert_raises_in_subprocess(_BAD_CONV[name], "ValueError", function)


def test_class_target_out_of_range_raises():
    logits = np.zeros((2, 3), np.float32)
    for target in (np.array([0, 3]), np.array([-1, 0]), np.array([0, 2**40])):
        with pytest.raises((IndexError, ValueError)):
            kernels.cross_entropy_forward(logits, target)
        with pytest.raises((IndexError, ValueError)):
            kernels.nll_loss_backward(1.0, logits, target)


# ---- finding 4: outputs that overlap inputs ------------------------------------------------------

def test_sgd_step_partly_overlapping_param_and_grad_raises():
    """The issue's reproducer: it used to differ from the reference in 3 elements."""
    b = np.arange(65, dtype=np.float32)
    with pytest.raises(ValueError, match="sgd_step.*'param'.*'grad'"):
        kernels.sgd_step(b[1:], b[:-1], None, lr=1.0)
    np.testing.assert_array_equal(b, np.arange(65, dtype=np.float32))  # nothing written


def _adam(buffers, **kw):
    kernels.adam_step(*buffers, step=1, lr=0.1, **kw)


def test_adam_step_overlapping_state_raises():
    b = np.arange(200, dtype=np.float32) / 200
    fresh = [np.zeros(64, np.float32) for _ in range(4)]
    with pytest.raises(ValueError, match="'param'.*'exp_avg'"):
        _adam([b[:64], fresh[0], b[32:96], fresh[1], None])
    with pytest.raises(ValueError, match="'exp_avg_sq'.*'exp_avg'"):
        _adam([fresh[0], fresh[1], b[:64], b[1:65], None])
    with pytest.raises(ValueError, match="'exp_avg'.*'grad'"):
        _adam([fresh[0], b[:64], b[10:74], fresh[1], None])
    with pytest.raises(ValueError, match="'max_exp_avg_sq'"):
        _adam([fresh[0], fresh[1], fresh[2], b[:64], b[:64]], amsgrad=True)


def test_other_optimizers_overlapping_buffers_raise():
    b = np.zeros(200, np.float32)
    with pytest.raises(ValueError, match="rmsprop_step.*'param'.*'square_avg'"):
        kernels.rmsprop_step(b[:64], np.ones(64, np.float32), b[63:127], None, None, lr=0.1)
    with pytest.raises(ValueError, match="adagrad_step.*'state_sum'.*'grad'"):
        kernels.adagrad_step(np.ones(64, np.float32), b[:64], b[5:69], step=1, lr=0.1)
    with pytest.raises(ValueError, match="sgd_step.*'param'.*'momentum_buffer'"):
        kernels.sgd_step(b[:64], np.ones(64, np.float32), b[:64], lr=0.1, momentum=0.9)


def test_sgd_step_strided_grad_over_param_is_exact():
    """A strided grad is copied before the step, so sharing memory with param is harmless."""
    b = np.arange(130, dtype=np.float32)
    param, grad = b[:65], b[::2]
    want_param, want_grad = param.copy(), grad.copy()
    reference.sgd_step(want_param, want_grad, None, lr=0.5)
    kernels.sgd_step(param, grad, None, lr=0.5)
    np.testing.assert_array_equal(b[:65], want_param)


def test_batch_norm_running_stats_overlapping_input_raise():
    x = np.random.default_rng(1).standard_normal((4, 3, 5)).astype(np.float32)
    flat = x.reshape(-1)
    with pytest.raises(ValueError, match="'running_mean'.*'x'"):
        kernels.batch_norm_forward_train(x, None, None, flat[:3], np.ones(3, np.float32))
    stats = np.zeros(5, np.float32)
    with pytest.raises(ValueError, match="'running_var'.*'running_mean'"):
        kernels.batch_norm_forward_train(x, None, None, stats[:3], stats[2:5])
    weight = np.ones(3, np.float32)
    with pytest.raises(ValueError, match="'running_var'.*'weight'"):
        kernels.batch_norm_forward_train(x, weight, None, None, weight)


@pytest.mark.parametrize("shift", [0, 1, -1])
def test_relu_out_overlapping_x_matches_reference(shift):
    """out= exactly x (in place, by design) or shifted over it: the reference's answer."""
    b = np.linspace(-3, 3, 70, dtype=np.float32)
    x = b[5:65]
    want = reference.relu_forward(x.copy())
    out = b[5 + shift:65 + shift]
    kernels.relu_forward(x, out=out)
    np.testing.assert_array_equal(out, want)


# ---- finding 10: batch norm takes float32 only, as every kernel ----------------------------------

_BN_X = np.ones((4, 3, 2), np.float32)
_BN_C = np.ones(3, np.float32)


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
@pytest.mark.parametrize("arg", ["x", "weight", "bias", "running_mean", "running_var"])
def test_batch_norm_forward_rejects_other_dtypes(arg, dtype):
    args = {"x": _BN_X, "weight": _BN_C, "bias": _BN_C, "running_mean": _BN_C.copy(),
            "running_var": _BN_C.copy()}
    args[arg] = args[arg].astype(dtype)
    with pytest.raises(TypeError, match=f"batch_norm_forward_train: argument '{arg}'"):
        kernels.batch_norm_forward_train(**args)
    with pytest.raises(TypeError, match=f"batch_norm_forward_eval: argument '{arg}'"):
        kernels.batch_norm_forward_eval(**args)


@pytest.mark.parametrize("arg", ["grad_y", "x", "weight", "save_mean", "save_invstd"])
def test_batch_norm_backward_rejects_other_dtypes(arg):
    args = {"grad_y": _BN_X, "x": _BN_X, "weight": _BN_C, "save_mean": _BN_C,
            "save_invstd": _BN_C}
    args[arg] = args[arg].astype(np.float64)
    with pytest.raises(TypeError, match=f"batch_norm_backward: argument '{arg}'"):
        kernels.batch_norm_backward(**args)


def test_batch_norm_strided_float32_running_stats_still_updated():
    x = np.random.default_rng(2).standard_normal((4, 3, 5)).astype(np.float32)
    stats = np.zeros((3, 2), np.float32)
    running_mean = stats[:, 0]
    want = np.zeros(3, np.float32)
    reference.batch_norm_forward_train(x, None, None, want, None)
    kernels.batch_norm_forward_train(x, None, None, running_mean, None)
    np.testing.assert_allclose(running_mean, want, rtol=1e-5, atol=1e-6)


def test_batch_norm_binding_refuses_empty_batches():
    """The wrapper refuses these too; the binding no longer returns NaN statistics for them."""
    from hpnn._C import kernels as raw
    c = np.ones(2, np.float32)
    with pytest.raises(ValueError, match="batch_norm_forward_train: argument 'x'.*empty batch"):
        raw.batch_norm_forward_train(np.zeros((0, 2, 3), np.float32), None, None, None, None,
                                     0.1, 1e-5)
    with pytest.raises(ValueError, match="batch_norm_forward_train: argument 'x'.*1 value"):
        raw.batch_norm_forward_train(np.zeros((1, 2, 1), np.float32), None, None, c.copy(),
                                     c.copy(), 0.1, 1e-5)
    with pytest.raises(ValueError, match="batch_norm_forward_eval: argument 'x'.*empty batch"):
        raw.batch_norm_forward_eval(np.zeros((0, 2, 3), np.float32), None, None, c, c, 1e-5)
    with pytest.raises(ValueError, match="batch_norm_backward: argument 'x'.*empty batch"):
        raw.batch_norm_backward(np.zeros((0, 2, 3), np.float32), np.zeros((0, 2, 3), np.float32),
                                None, c, c)


def test_errors_the_reference_raises_name_the_kernel():
    """Calls the native path declines go to hpnn.reference; its error then names the kernel."""
    with pytest.raises(ValueError, match=r"^cross_entropy_forward: .*target"):
        kernels.cross_entropy_forward(np.zeros((2, 3), np.float32), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"^sgd_step: lr"):
        kernels.sgd_step(np.zeros(4, np.float32), np.zeros(4, np.float32), None, lr=-1.0)
    with pytest.raises(ValueError, match=r"^dropout_forward: "):
        kernels.dropout_forward(np.zeros(4, np.float32), 1.5, 0)


def test_global_avg_pool_backward_binding_refuses_impossible_sizes():
    assert_raises_in_subprocess(
        "raw.global_avg_pool2d_backward(np.zeros((1, 2, 1, 1), np.float32), (1, 2, 2**40, 2**40))",
        "ValueError", "global_avg_pool2d_backward", "'input_shape'")


# ---- found by the fuzz stage ---------------------------------------------------------------------

_G = "(1, 1, 1, 1, 1, 1, 1)"
_BEYOND_INT64 = {
    "max_pool_stride": ("kernels.max_pool2d_forward(np.zeros((1, 1, 4, 4), np.float32), 2, "
                        "stride=2**64)", "max_pool2d_forward", "stride"),
    "avg_pool_backward_shape": (
        "kernels.avg_pool2d_backward(np.zeros((1, 1, 1, 1), np.float32), (2**63,) * 4, 2)",
        "avg_pool2d_backward", "input_shape"),
    "global_avg_pool_backward_shape": (
        "kernels.global_avg_pool2d_backward(np.zeros((1, 1, 1, 1), np.float32), (2**63,) * 4)",
        "global_avg_pool2d_backward", "input_shape"),
    "raw_avg_pool_geometry": (_avg("(2, 2, 2**64, 1, 0, 0, 1, 1, 1, 3)"), "avg_pool2d_forward",
                              "stride"),
    "conv_stride": ("kernels.conv2d_forward(np.zeros((1, 1, 3, 3), np.float32), "
                    "np.zeros((1, 1, 1, 1), np.float32), stride=2**63)", "conv2d_forward",
                    "stride"),
    "conv_padding": ("kernels.conv2d_forward(np.zeros((1, 1, 3, 3), np.float32), "
                     "np.zeros((1, 1, 1, 1), np.float32), padding=(1, 2**64))", "conv2d_forward",
                     "padding"),
    "raw_conv_input_shape": (
        f"raw.conv2d_backward_input(np.zeros((1, 1, 3, 3), np.float32), "
        f"np.zeros((1, 1, 1, 1), np.float32), (1, 1, 3, 2**64), {_G})",
        "conv2d_backward_input", "input_shape"),
    "raw_conv_weight_shape": (
        f"raw.conv2d_backward_weight(np.zeros((1, 1, 3, 3), np.float32), "
        f"np.zeros((1, 1, 3, 3), np.float32), (1, -2**63 - 1, 1, 1), {_G})",
        "conv2d_backward_weight", "weight_shape"),
}


@pytest.mark.parametrize("name", sorted(_BEYOND_INT64))
def test_integers_beyond_int64_raise_overflow_error(name):
    """They raised pybind11's unnamed RuntimeError 'Unable to cast Python instance'."""
    call, function, arg = _BEYOND_INT64[name]
    kind, message = raised_in_subprocess(call)
    assert kind in ("OverflowError", "ValueError"), f"{call!r} raised {kind}: {message}"
    assert function in message and arg in message, message


def test_geometry_entries_must_be_ints():
    assert_raises_in_subprocess(_avg("(2, 2, 1.5, 1, 0, 0, 1, 1, 1, 3)"), "TypeError",
                                "avg_pool2d_forward", "stride")


def test_conv_backward_bias_of_uncopyable_view_raises_memory_error():
    """einsum summed a 2**40-row broadcast view without copying it: a hang of days."""
    assert_raises_in_subprocess("kernels.conv2d_backward_bias(huge(2, 7, 5))", "MemoryError",
                                "conv2d_backward_bias", "'grad_y'")


_GRU_GRAD = """
rng = np.random.default_rng(0)
x, h0 = rng.random((2, 3, 4), np.float32), rng.random((3, 5), np.float32)
w_ih, w_hh = rng.random((15, 4), np.float32), rng.random((15, 5), np.float32)
hidden, cell, gates = raw.recurrent_forward(3, x, h0, None, w_ih, w_hh, None, None, False)
"""


@pytest.mark.parametrize("slot", ["grad_c_n", "saved.cell"])
def test_recurrent_binding_refuses_arrays_a_gru_does_not_use(slot):
    """A float64 array in an LSTM-only slot of a GRU call was silently ignored."""
    bad = "np.zeros((2, 3, 5))"
    args = {"grad_c_n": bad if slot == "grad_c_n" else "None",
            "saved.cell": bad if slot == "saved.cell" else "None"}
    call = (_GRU_GRAD + f"raw.recurrent_backward(3, hidden, h0, {args['grad_c_n']}, x, h0, None, "
            f"w_ih, w_hh, None, None, hidden, {args['saved.cell']}, gates, False)")
    assert_raises_in_subprocess(call, "ValueError", "recurrent_backward", slot)
