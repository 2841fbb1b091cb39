import numpy as np
import pytest

from hpnn import reference as ref

NUM_STEPS = 5


def _run_sgd(param, grads, **kwargs):
    buffer = np.zeros_like(param) if kwargs.get("momentum", 0) else None
    for i, grad in enumerate(grads):
        ref.sgd_step(param, grad, buffer, first_step=i == 0, **kwargs)


def _run_adam(param, grads, amsgrad=False, **kwargs):
    exp_avg, exp_avg_sq = np.zeros_like(param), np.zeros_like(param)
    max_exp_avg_sq = np.zeros_like(param) if amsgrad else None
    for step, grad in enumerate(grads, start=1):
        ref.adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step=step,
                      amsgrad=amsgrad, **kwargs)


def _run_rmsprop(param, grads, **kwargs):
    grad_avg = np.zeros_like(param) if kwargs.get("centered") else None
    buffer = np.zeros_like(param) if kwargs.get("momentum", 0) else None
    square_avg = np.zeros_like(param)
    for grad in grads:
        ref.rmsprop_step(param, grad, square_avg, grad_avg, buffer, **kwargs)


def _run_adagrad(param, grads, **kwargs):
    state_sum = np.full_like(param, np.nan)  # step 1 must initialise it
    for step, grad in enumerate(grads, start=1):
        ref.adagrad_step(param, grad, state_sum, step=step, **kwargs)


# id -> (torch optimizer name, torch kwargs, reference runner, reference kwargs)
CASES = {
    "sgd": ("SGD", dict(lr=0.1), _run_sgd, dict(lr=0.1)),
    "sgd_momentum_dampening_wd_maximize": (
        "SGD", dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01, maximize=True),
        _run_sgd, dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01, maximize=True)),
    "sgd_nesterov": ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
                     _run_sgd, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "adam_wd": ("Adam", dict(lr=0.01, weight_decay=0.1), _run_adam,
                dict(lr=0.01, weight_decay=0.1)),
    "adam_maximize_amsgrad": ("Adam", dict(lr=0.01, amsgrad=True, maximize=True), _run_adam,
                              dict(lr=0.01, amsgrad=True, maximize=True)),
    "adamw_amsgrad": ("AdamW", dict(lr=0.01, betas=(0.3, 0.9), weight_decay=0.1, amsgrad=True),
                      _run_adam, dict(lr=0.01, beta1=0.3, beta2=0.9, weight_decay=0.1,
                                      amsgrad=True, decoupled_weight_decay=True)),
    "rmsprop": ("RMSprop", dict(lr=0.01), _run_rmsprop, dict(lr=0.01)),
    "rmsprop_centered_momentum_wd": (
        "RMSprop", dict(lr=0.01, alpha=0.4, momentum=0.5, centered=True, weight_decay=0.1),
        _run_rmsprop, dict(lr=0.01, alpha=0.4, momentum=0.5, centered=True, weight_decay=0.1)),
    "adagrad": ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1,
                                initial_accumulator_value=0.5),
                _run_adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.1,
                                   initial_accumulator_value=0.5)),
}


def _problem(rng, dtype, shape=(3, 4)):
    param = rng.standard_normal(shape).astype(dtype)
    grads = [rng.standard_normal(shape).astype(dtype) for _ in range(NUM_STEPS)]
    return param, grads


def test_sgd_first_step_by_hand():
    param = np.array([1.0, -2.0])
    buffer = np.full(2, 123.0)
    ref.sgd_step(param, np.array([0.5, 1.0]), buffer, lr=0.1, momentum=0.9, weight_decay=0.1,
                 first_step=True)
    np.testing.assert_allclose(buffer, [0.6, 0.8])
    np.testing.assert_allclose(param, [0.94, -2.08])


def test_adam_first_step_moves_by_lr():
    # with bias correction the first Adam step is lr * sign(grad) (up to eps)
    param = np.array([1.0, -1.0, 3.0])
    zeros = [np.zeros(3) for _ in range(2)]
    ref.adam_step(param, np.array([1e-3, -5.0, 2.0]), *zeros, None, step=1, lr=0.1)
    np.testing.assert_allclose(param, [0.9, -0.9, 2.9], rtol=1e-5)


def test_bad_arguments_raise():
    param, grad = np.zeros(3), np.ones(3)
    buffers = [np.zeros(3), np.zeros(3)]
    with pytest.raises(ValueError, match="lr"):
        ref.sgd_step(param, grad, None, lr=-1.0)
    with pytest.raises(ValueError, match="momentum_buffer"):
        ref.sgd_step(param, grad, None, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="nesterov"):
        ref.sgd_step(param, grad, None, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta1"):
        ref.adam_step(param, grad, *buffers, None, step=1, lr=0.1, beta1=1.0)
    with pytest.raises(ValueError, match="beta2"):
        ref.adam_step(param, grad, *buffers, None, step=1, lr=0.1, beta2=-0.1)
    with pytest.raises(ValueError, match="eps"):
        ref.adam_step(param, grad, *buffers, None, step=1, lr=0.1, eps=-1e-8)
    with pytest.raises(ValueError, match="step"):
        ref.adam_step(param, grad, *buffers, None, step=0, lr=0.1)
    with pytest.raises(ValueError, match="max_exp_avg_sq"):
        ref.adam_step(param, grad, *buffers, None, step=1, lr=0.1, amsgrad=True)
    with pytest.raises(ValueError, match="grad_avg"):
        ref.rmsprop_step(param, grad, buffers[0], None, None, lr=0.1, centered=True)
    with pytest.raises(ValueError, match="lr_decay"):
        ref.adagrad_step(param, grad, buffers[0], step=1, lr=0.1, lr_decay=-1.0)
    with pytest.raises(ValueError, match="grad"):
        ref.adagrad_step(param, np.ones(4), buffers[0], step=1, lr=0.1)
    with pytest.raises(ValueError, match="exp_avg_sq"):
        ref.adam_step(param, grad, buffers[0], np.zeros(2), None, step=1, lr=0.1)
    with pytest.raises(TypeError, match="param"):
        ref.sgd_step([0.0, 0.0, 0.0], grad, None, lr=0.1)


class TestAgainstTorch:
    torch = pytest.importorskip("torch")

    @pytest.mark.parametrize("case", CASES)
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_step_sequence(self, case, dtype):
        torch = self.torch
        optimizer_name, torch_kwargs, run_reference, ref_kwargs = CASES[case]
        param, grads = _problem(np.random.default_rng(0), dtype)
        param_t = torch.tensor(param.copy(), requires_grad=True)
        optimizer = getattr(torch.optim, optimizer_name)([param_t], **torch_kwargs)
        for grad in grads:
            param_t.grad = torch.tensor(grad)
            optimizer.step()
        run_reference(param, grads, **ref_kwargs)
        assert param.dtype == dtype
        rtol = 1e-5 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(param, param_t.detach().numpy(), rtol=rtol, atol=rtol)
