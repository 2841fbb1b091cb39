"""The optimizer base: parameter groups kept in flat buffers, one step-kernel call per group."""
from __future__ import annotations

import math

import numpy as np

from ..autograd import enable_grad, no_grad
from ..tensor import Tensor


class _FlatGroup:
    """One group's parameters, gradients and optimizer state as contiguous float32 buffers;
    each parameter's ``.data`` becomes a view into the parameter buffer."""

    def __init__(self, params):
        self.shapes = [p.data.shape for p in params]
        self.bounds = np.cumsum([0] + [p.data.size for p in params]).tolist()
        self.param_buffer = np.empty(self.bounds[-1], np.float32)
        self.grad_buffer = np.zeros(self.bounds[-1], np.float32)
        self.param_views = [self.view(self.param_buffer, i) for i in range(len(params))]
        self.grad_views = [self.view(self.grad_buffer, i) for i in range(len(params))]
        for param, view, grad_view in zip(params, self.param_views, self.grad_views):
            view[...] = param.data
            param.data = view
            param._grad_buffer = grad_view  # backward writes new gradients in place
        self.state = {}
        self.steps = [0] * len(params)  # per-parameter step count

    def view(self, buffer, index):
        return buffer[self.bounds[index]:self.bounds[index + 1]].reshape(self.shapes[index])

    def buffer(self, name):
        """The flat state buffer ``name`` (zeros when first asked for)."""
        if name not in self.state:
            self.state[name] = np.zeros(self.bounds[-1], np.float32)
        return self.state[name]

    def rebind(self, params):
        """Bring back parameters whose ``.data`` was replaced, and gather gradients that
        backward did not write in place (set by hand, or shaped differently)."""
        for param, param_view, grad_view in zip(params, self.param_views, self.grad_views):
            if param.data is not param_view:
                param_view[...] = param.data
                param.data = param_view
            if param.grad is not None and param.grad.data is not grad_view:
                grad_view[...] = param.grad.data
                param.grad.data = grad_view


class Optimizer:
    """Base class. Subclasses pass their defaults and define ``_update(group, param, grad,
    state, step)`` calling the step kernel on arrays that are either one parameter or a whole
    flat group; ``state(name)`` returns the matching state buffer (names as PyTorch's, listed
    in ``state_names``)."""

    state_names = ()

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.param_groups, self._flat = [], []
        groups = list(params) if not isinstance(params, Tensor) else [params]
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError("a parameter group must be a dict with a 'params' entry")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor) or p.data.dtype != np.float32:
                raise TypeError(f"{type(self).__name__} can only optimize float32 tensors, got "
                                f"{type(p).__name__}")
            if id(p) in seen:
                raise ValueError("a parameter appears in more than one parameter group")
            seen.add(id(p))
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown option(s) {sorted(unknown)}")
        full = {**self.defaults, **group, "params": params}
        self._validate(full)
        self.param_groups.append(full)
        self._flat.append(_FlatGroup(params))

    def _validate(self, group):
        _check_range("lr", group["lr"], 0.0)
        _check_range("weight_decay", group.get("weight_decay", 0.0), 0.0)

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.data[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns closure() if one is given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group, flat in zip(self.param_groups, self._flat):
                self._step_group(group, flat)
        return loss

    def _step_group(self, group, flat):
        params = group["params"]
        flat.rebind(params)
        has_grad = [p.grad is not None for p in params]
        steps = flat.steps
        if False not in has_grad and steps.count(steps[0]) == len(steps):
            flat.steps = [steps[0] + 1] * len(steps)
            self._update(group, flat.param_buffer, flat.grad_buffer, flat.buffer, steps[0] + 1)
            return
        for i, param in enumerate(params):
            if has_grad[i]:
                steps[i] += 1
                self._update(group, flat.param_views[i], flat.grad_views[i],
                             lambda name, i=i: flat.view(flat.buffer(name), i), steps[i])

    def _update(self, group, param, grad, state, step):
        raise NotImplementedError

    # ---- state dict (PyTorch layout: state by parameter index, groups list the indices) -------
    def state_dict(self):
        state, groups, index = {}, [], 0
        for group, flat in zip(self.param_groups, self._flat):
            indices = list(range(index, index + len(group["params"])))
            for i, param_index in enumerate(indices):
                if flat.steps[i]:
                    entry = {"step": int(flat.steps[i])}
                    entry.update({name: flat.view(buffer, i).copy()
                                  for name, buffer in flat.state.items()})
                    state[param_index] = entry
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": indices})
            index += len(indices)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        try:
            groups, state = state_dict["param_groups"], state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError("optimizer state_dict must have 'state' and 'param_groups'") from None
        if len(groups) != len(self.param_groups):
            raise ValueError(f"optimizer state_dict has {len(groups)} parameter groups, this "
                             f"optimizer has {len(self.param_groups)}")
        for saved, group, flat in zip(groups, self.param_groups, self._flat):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError("optimizer state_dict: a parameter group has "
                                 f"{len(saved['params'])} parameters, expected "
                                 f"{len(group['params'])}")
            for i, param_index in enumerate(saved["params"]):
                entry = state.get(param_index, state.get(str(param_index), {}))
                buffers = {name: value for name, value in entry.items() if name != "step"}
                unknown = set(buffers) - set(self.state_names)
                if unknown:
                    raise ValueError(f"optimizer state_dict: parameter {param_index} has state "
                                     f"{sorted(unknown)} that {type(self).__name__} does not use")
                # torch's SGD keeps no step: a saved momentum buffer means it has stepped
                flat.steps[i] = int(entry.get("step", 1 if buffers else 0))
                for name, value in buffers.items():
                    _copy_state(flat.view(flat.buffer(name), i), value, name, param_index)
            group.update({k: v for k, v in saved.items() if k != "params"})

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in group.items() if k != "params"]
        return "\n".join(lines) + "\n)"


def _copy_state(target, value, name, index):
    array = np.asarray(value.data if isinstance(value, Tensor) else value)
    if array.shape != target.shape:
        raise ValueError(f"optimizer state_dict: {name!r} of parameter {index} has shape "
                         f"{array.shape}, expected {target.shape}")
    target[...] = array


def _check_range(name, value, low, high=math.inf, high_open=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"argument '{name}' must be a number, got {type(value).__name__}")
    if not (low <= value and (value < high if high_open else value <= high)):
        bounds = f"[{low}, {high})" if high_open else f">= {low}" if high == math.inf else \
            f"[{low}, {high}]"
        raise ValueError(f"invalid value for '{name}': {value} (expected {bounds})")
