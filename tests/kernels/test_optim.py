"""Native optimizer steps against hpnn.reference: a sequence of 5 steps from the same state on
every ISA and at 1 and 2 threads, for every option. Tolerance: 2e-6 relative + 1e-7 absolute
after 5 steps (same operation order and float32 hyper-parameter rounding as the reference; the
kernels contract a * b + c into FMAs)."""
import inspect

import numpy as np
import pytest

from hpnn import kernels, reference

SIZES = [1, 15, 16, 33, 1000, 70001]

CASES = {
    "sgd": [dict(lr=0.1), dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
            dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True)],
    "adam": [dict(lr=1e-2), dict(lr=1e-2, weight_decay=0.1, amsgrad=True),
             dict(lr=1e-2, beta1=0.3, weight_decay=0.1, decoupled_weight_decay=True,
                  maximize=True)],
    "rmsprop": [dict(lr=1e-2), dict(lr=1e-2, centered=True, momentum=0.9, weight_decay=0.1),
                dict(lr=1e-2, alpha=0.3, centered=True, maximize=True)],
    "adagrad": [dict(lr=0.1), dict(lr=0.1, lr_decay=0.1, weight_decay=0.1,
                                   initial_accumulator_value=0.5, maximize=True)],
}
STATE = {"sgd": ["momentum_buffer"], "adam": ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
         "rmsprop": ["square_avg", "grad_avg", "momentum_buffer"], "adagrad": ["state_sum"]}
CASE_IDS = [(name, i) for name, options in CASES.items() for i in range(len(options))]


def _run(fn, name, param, grads, state, options):
    for step, grad in enumerate(grads, 1):
        extra = {"first_step": step == 1} if name == "sgd" else {}
        if name in ("adam", "adagrad"):
            extra["step"] = step
        fn(param, grad, *state, **options, **extra)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("case", CASE_IDS, ids=lambda c: f"{c[0]}{c[1]}")
def test_five_steps_match_reference(isa, threads, rng, case, n):
    name, index = case
    options = CASES[name][index]
    param = rng.standard_normal(n).astype(np.float32)
    grads = [rng.standard_normal(n).astype(np.float32) for _ in range(5)]
    state = [np.zeros(n, np.float32) for _ in STATE[name]]
    ref_param, ref_state = param.copy(), [s.copy() for s in state]
    _run(getattr(kernels, f"{name}_step"), name, param, grads, state, options)
    _run(getattr(reference, f"{name}_step"), name, ref_param, grads, ref_state, options)
    np.testing.assert_allclose(param, ref_param, rtol=2e-6, atol=1e-7)
    for buffer, ref_buffer in zip(state, ref_state):
        np.testing.assert_allclose(buffer, ref_buffer, rtol=2e-6, atol=1e-7)


def test_multidimensional_param_and_strided_grad(rng):
    param = rng.standard_normal((3, 4, 5)).astype(np.float32)
    grad = rng.standard_normal((5, 4, 3)).astype(np.float32).T
    ref_param = param.copy()
    exp_avg, exp_avg_sq = np.zeros_like(param), np.zeros_like(param)
    kernels.adam_step(param, grad, exp_avg, exp_avg_sq, None, step=1, lr=0.1)
    reference.adam_step(ref_param, grad, np.zeros_like(param), np.zeros_like(param), None,
                        step=1, lr=0.1)
    np.testing.assert_allclose(param, ref_param, rtol=2e-6)


STEPS = {  # step with float32 buffers; the one named in ``bad`` replaced by a float64 array
    "sgd_step": lambda a, bad: kernels.sgd_step(a["param"], a["grad"], a["momentum_buffer"],
                                                lr=0.1, momentum=0.9),
    "adam_step": lambda a, bad: kernels.adam_step(a["param"], a["grad"], a["exp_avg"],
                                                  a["exp_avg_sq"], a["max_exp_avg_sq"], step=1,
                                                  lr=0.1, amsgrad=True),
    "rmsprop_step": lambda a, bad: kernels.rmsprop_step(a["param"], a["grad"], a["square_avg"],
                                                        a["grad_avg"], a["momentum_buffer"],
                                                        lr=0.1, momentum=0.9, centered=True),
    "adagrad_step": lambda a, bad: kernels.adagrad_step(a["param"], a["grad"], a["state_sum"],
                                                        step=1, lr=0.1),
}
BUFFERS = {"sgd_step": ["param", "grad", "momentum_buffer"],
           "adam_step": ["param", "grad", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
           "rmsprop_step": ["param", "grad", "square_avg", "grad_avg", "momentum_buffer"],
           "adagrad_step": ["param", "grad", "state_sum"]}


@pytest.mark.parametrize("name", STEPS)
def test_non_float32_buffers_raise_type_error_naming_the_argument(name):
    for bad in BUFFERS[name]:
        arrays = {n: np.ones(4, np.float64 if n == bad else np.float32) for n in BUFFERS[name]}
        before = {n: a.copy() for n, a in arrays.items()}
        with pytest.raises(TypeError, match=rf"{name}: argument '{bad}' must be float32, got "
                                            r"float64 \(convert with \.astype\(numpy.float32\)"):
            STEPS[name](arrays, bad)
        for n, a in arrays.items():  # nothing was updated
            np.testing.assert_array_equal(a, before[n])
    with pytest.raises(TypeError, match=f"{name}: argument 'param' must be a float32 "
                                        "numpy.ndarray, got list"):
        STEPS[name](dict({n: np.ones(4, np.float32) for n in BUFFERS[name]}, param=[1.0]), None)


def test_errors():
    param = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="'param' must be C-contiguous"):
        kernels.sgd_step(param[:, ::2], np.ones((4, 2), np.float32), None, lr=0.1)
    with pytest.raises(ValueError, match="'exp_avg' must be C-contiguous"):
        kernels.adam_step(param[:, :2].copy(), param[:, :2].copy(),
                          np.zeros((4, 4), np.float32)[:, ::2], np.zeros((4, 2), np.float32),
                          None, step=1, lr=0.1)
    with pytest.raises(ValueError, match="lr must be in"):
        kernels.adam_step(param, param, param.copy(), param.copy(), None, step=1, lr=-1.0)
    with pytest.raises(ValueError, match="max_exp_avg_sq is required"):
        kernels.adam_step(param, param, param.copy(), param.copy(), None, step=1, lr=0.1,
                          amsgrad=True)
    with pytest.raises(TypeError, match="step must be an int"):
        kernels.adagrad_step(param, param, param.copy(), step=1.0, lr=0.1)
    with pytest.raises(ValueError, match="grad shape"):
        kernels.rmsprop_step(param, np.ones(3, np.float32), param.copy(), None, None, lr=0.1)
    with pytest.raises(ValueError, match="nesterov requires"):
        kernels.sgd_step(param, param, param.copy(), lr=0.1, nesterov=True)
    frozen = np.ones(3, np.float32)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="param must be writable"):
        kernels.sgd_step(frozen, frozen, None, lr=0.1)


def test_signatures_match_reference():
    for name in kernels.optim.__all__:
        assert inspect.signature(getattr(kernels, name)) == \
            inspect.signature(getattr(reference, name)), name
