"""Activations, softmax, cross entropy, dropout and the Adam step: hpnn against a plain copy of
the same bytes (np.copyto, the memory-bound floor) and torch CPU (aten ops, no autograd), at 1
and 2 threads.

Run: python -m pytest bench/test_elementwise.py --benchmark-group-by=param:case
The summary's last column is each anchor's time over hpnn's (copy: < 1, the target is >= 0.5).
Copies: elementwise ops and softmax copy their input's bytes; cross entropy fwd+bwd copies the
logits once; adam copies 3 x the parameter bytes (adam reads 4 and writes 3 such buffers);
backward ops read two arrays and write one, against the same one-array copy.
"""
import numpy as np
import pytest

from hpnn import kernels

ACT_SHAPE = (64, 64, 56, 56)  # 12.8 M floats, 51 MB
ROWS_SHAPE = (4096, 1000)      # logits of a 1000-class head
PARAMS = 10_000_000


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(ACT_SHAPE, dtype=np.float32)
    y = np.tanh(x)
    logits = rng.standard_normal(ROWS_SHAPE, dtype=np.float32)
    return dict(
        x=x, y=y, grad=rng.standard_normal(ACT_SHAPE, dtype=np.float32), copy_x=np.empty_like(x),
        logits=logits, copy_logits=np.empty_like(logits),
        logits_grad=rng.standard_normal(ROWS_SHAPE, dtype=np.float32), probs=_softmax(logits),
        target=rng.integers(0, ROWS_SHAPE[1], ROWS_SHAPE[0]),
        param=rng.standard_normal(PARAMS, dtype=np.float32),
        param_grad=rng.standard_normal(PARAMS, dtype=np.float32),
        exp_avg=np.zeros(PARAMS, np.float32), exp_avg_sq=np.zeros(PARAMS, np.float32),
        copy_src=np.ones(3 * PARAMS, np.float32), copy_dst=np.empty(3 * PARAMS, np.float32))


def hpnn_case(case, a):
    x = a["x"]
    simple = {"relu_fwd": kernels.relu_forward, "sigmoid_fwd": kernels.sigmoid_forward,
              "tanh_fwd": kernels.tanh_forward, "gelu_fwd": kernels.gelu_forward}
    if case in simple:
        return lambda: simple[case](x)
    if case == "gelu_tanh_fwd":
        return lambda: kernels.gelu_forward(x, approximate="tanh")
    backward = {"relu_bwd": (kernels.relu_backward, x), "tanh_bwd": (kernels.tanh_backward, a["y"]),
                "gelu_bwd": (kernels.gelu_backward, x)}
    if case in backward:
        fn, saved = backward[case]
        return lambda: fn(a["grad"], saved)
    if case == "gelu_tanh_bwd":
        return lambda: kernels.gelu_backward(a["grad"], x, approximate="tanh")
    if case == "log_softmax_fwd":
        return lambda: kernels.log_softmax_forward(a["logits"])
    if case == "dropout_fwd":
        return lambda: kernels.dropout_forward(x, 0.5, 1234)
    if case == "softmax_fwd":
        return lambda: kernels.softmax_forward(a["logits"])
    if case == "softmax_bwd":
        return lambda: kernels.softmax_backward(a["logits_grad"], a["probs"])
    if case == "cross_entropy_fwd_bwd":
        def run():
            kernels.cross_entropy_forward(a["logits"], a["target"])
            kernels.cross_entropy_backward(1.0, a["logits"], a["target"])
        return run
    if case == "adam_step":
        return lambda: kernels.adam_step(a["param"], a["param_grad"], a["exp_avg"],
                                         a["exp_avg_sq"], None, step=10, lr=1e-3)
    raise KeyError(case)


def torch_case(case, a):
    torch = pytest.importorskip("torch")
    aten = torch.ops.aten
    x, g = torch.from_numpy(a["x"]), torch.from_numpy(a["grad"])
    logits, target = torch.from_numpy(a["logits"]), torch.from_numpy(a["target"])
    simple = {"relu_fwd": torch.relu, "sigmoid_fwd": torch.sigmoid, "tanh_fwd": torch.tanh,
              "gelu_fwd": aten.gelu}
    if case in simple:
        return lambda: simple[case](x)
    if case == "gelu_tanh_fwd":
        return lambda: aten.gelu(x, approximate="tanh")
    if case == "relu_bwd":
        return lambda: aten.threshold_backward(g, x, 0.0)
    if case == "tanh_bwd":
        y = torch.from_numpy(a["y"])
        return lambda: aten.tanh_backward(g, y)
    if case in ("gelu_bwd", "gelu_tanh_bwd"):
        approximate = "tanh" if case == "gelu_tanh_bwd" else "none"
        return lambda: aten.gelu_backward(g, x, approximate=approximate)
    if case == "log_softmax_fwd":
        return lambda: aten._log_softmax(logits, -1, False)
    if case == "dropout_fwd":
        return lambda: aten.native_dropout(x, 0.5, True)
    if case == "softmax_fwd":
        return lambda: aten._softmax(logits, -1, False)
    if case == "softmax_bwd":
        grad, probs = torch.from_numpy(a["logits_grad"]), torch.from_numpy(a["probs"])
        return lambda: aten._softmax_backward_data(grad, probs, -1, torch.float32)
    if case == "cross_entropy_fwd_bwd":
        def run():
            log_probs = aten._log_softmax(logits, 1, False)
            loss, total_weight = aten.nll_loss_forward(log_probs, target, None, 1, -100)
            grad_lp = aten.nll_loss_backward(torch.ones(()), log_probs, target, None, 1, -100,
                                             total_weight)
            aten._log_softmax_backward_data(grad_lp, log_probs, 1, torch.float32)
        return run
    if case == "adam_step":
        p = torch.from_numpy(a["param"].copy())
        p.grad = torch.from_numpy(a["param_grad"])
        optimizer = torch.optim.Adam([p], lr=1e-3, foreach=False)
        return optimizer.step
    raise KeyError(case)


def copy_case(case, a):
    if case == "adam_step":
        return lambda: np.copyto(a["copy_dst"], a["copy_src"])
    if case in ("softmax_fwd", "softmax_bwd", "log_softmax_fwd", "cross_entropy_fwd_bwd"):
        return lambda: np.copyto(a["copy_logits"], a["logits"])
    return lambda: np.copyto(a["copy_x"], a["x"])


RUNNERS = {"hpnn": hpnn_case, "copy": copy_case, "torch": torch_case}
CASES = ["relu_fwd", "relu_bwd", "sigmoid_fwd", "tanh_fwd", "tanh_bwd", "gelu_fwd", "gelu_bwd",
         "gelu_tanh_fwd", "gelu_tanh_bwd", "dropout_fwd", "softmax_fwd", "softmax_bwd",
         "log_softmax_fwd", "cross_entropy_fwd_bwd", "adam_step"]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("impl", list(RUNNERS))
@pytest.mark.parametrize("case", CASES)
def test_elementwise(measure, arrays, case, impl, threads):
    run = RUNNERS[impl](case, arrays)
    group = f"{case} threads={threads}"
    measure(run, group, impl, threads, rounds=10)
