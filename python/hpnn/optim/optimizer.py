"""The optimizer base: parameter groups kept in flat buffers, one step-kernel call per group.
Groups, state, state_dict() and load_state_dict() follow torch.optim.Optimizer."""
from __future__ import annotations

import copy
import math
from collections import defaultdict

import numpy as np

from ..autograd import enable_grad, no_grad
from ..tensor import Tensor
from ._flat import FlatGroup


class Optimizer:
    """Base class. Subclasses pass their defaults and define ``_update(group, param, grad,
    state, step, fresh)`` calling the step kernel on arrays that are either one parameter or a
    whole flat group; ``state(name)`` returns the matching state buffer (names as PyTorch's,
    listed in ``state_names``), ``fresh(name)`` whether it did not exist before this step.
    ``counts_steps``: whether the state holds a 'step' (all but SGD, as in PyTorch)."""

    state_names = ()
    counts_steps = True

    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor")
        self.defaults = defaults
        self.param_groups, self._flat = [], []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a group (a dict with 'params' and any options; missing options take the
        defaults). As in PyTorch the dict itself becomes the group."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise KeyError("param_group must have a 'params' entry")
        params, names = _split_params(param_group["params"])
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        if self.param_groups and ("param_names" in self.param_groups[0]) != (names is not None):
            raise ValueError("all optimizer param groups should be with/without names")
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        param_group["params"] = params
        if names:
            param_group["param_names"] = names
        self._validate(param_group)
        self.param_groups.append(param_group)
        self._flat.append(FlatGroup(params))

    def _validate(self, group):
        check_range("lr", "Invalid learning rate", group["lr"], 0.0)
        check_range("weight_decay", "Invalid weight_decay value", group.get("weight_decay", 0.0),
                    0.0)
        if group.get("differentiable"):
            raise ValueError(f"{type(self).__name__}: differentiable=True is not supported "
                             "(hpnn optimizer steps are not recorded by autograd)")

    @property
    def state(self):
        """Per-parameter state as PyTorch's ``optimizer.state``: a defaultdict from parameter
        to {'step': 0-d tensor, buffer name: tensor viewing the live state}."""
        state = defaultdict(dict)
        for group, flat in zip(self.param_groups, self._flat):
            for i, param in enumerate(group["params"]):
                if flat.has_state[i]:
                    state[param] = self._entry(flat, i, copy_buffers=False)
        return state

    def _entry(self, flat, index, copy_buffers):
        entry = {"step": Tensor(np.float32(flat.steps[index]))} if self.counts_steps else {}
        for name in self.state_names:
            if name in flat.names[index]:
                view = flat.view(flat.buffer(name), index)
                entry[name] = Tensor._wrap(view.copy() if copy_buffers else view)
        return entry

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
        if not params:
            return
        flat.rebind(params)
        if all(p.grad is not None for p in params) and flat.uniform():
            names, step = flat.names[0], flat.steps[0] + 1
            used = set()
            self._update(group, flat.param_buffer, flat.grad_buffer,
                         _recording(flat.buffer, used), step, lambda name: name not in names)
            flat.stepped_all(step, used)
            return
        for i, param in enumerate(params):
            if param.grad is not None:
                names, used = flat.names[i], set()
                self._update(group, flat.param_views[i], flat.grad_views[i],
                             _recording(lambda name, i=i: flat.view(flat.buffer(name), i), used),
                             flat.steps[i] + 1, lambda name, names=names: name not in names)
                flat.stepped_one(i, used)

    def _update(self, group, param, grad, state, step, fresh):
        raise NotImplementedError

    # ---- state dict (PyTorch layout: state by parameter index, groups list the indices) -------
    def state_dict(self):
        """{'state': {index: {'step': 0-d tensor, buffer name: tensor}}, 'param_groups': [group
        options with 'params' as indices]}, as PyTorch (buffers are copies)."""
        state, groups, index = {}, [], 0
        for group, flat in zip(self.param_groups, self._flat):
            for i in range(len(group["params"])):
                if flat.has_state[i] and (self.counts_steps or flat.names[i]):
                    state[index + i] = self._entry(flat, i, copy_buffers=True)
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": list(range(index, index + len(group["params"])))})
            index += len(group["params"])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load what state_dict() (or torch.optim's) returned: the groups' options are replaced
        by the saved ones, parameters without saved state start afresh."""
        try:
            saved_groups, state = state_dict["param_groups"], state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError("optimizer state_dict must have 'state' and 'param_groups'") from None
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than this optimizer "
                             f"({len(self.param_groups)})")
        for saved, group in zip(saved_groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 f"match the size of optimizer's group ({len(saved['params'])} "
                                 f"parameters, expected {len(group['params'])})")
        loaded = [[self._checked_entry(state, index, flat.view(flat.param_buffer, i))
                   for i, index in enumerate(saved["params"])]
                  for saved, flat in zip(saved_groups, self._flat)]
        for saved, group, flat, entries in zip(saved_groups, self.param_groups, self._flat,
                                               loaded):
            for i, entry in enumerate(entries):
                self._load_entry(flat, i, entry)
            params, names = group["params"], group.get("param_names")
            group.clear()
            group.update(copy.deepcopy({k: v for k, v in saved.items() if k != "params"}))
            group["params"] = params
            if names is not None and "param_names" not in group:
                group["param_names"] = names

    def _checked_entry(self, state, index, param_view):
        """The saved state of parameter ``index`` as (step or None, {name: array}), checked."""
        entry = state.get(index, state.get(str(index)))
        if entry is None:
            return None
        buffers = {name: value for name, value in entry.items() if name != "step"}
        unknown = set(buffers) - set(self.state_names)
        if unknown:
            raise ValueError(f"optimizer state_dict: parameter {index} has state "
                             f"{sorted(unknown)} that {type(self).__name__} does not use")
        arrays = {}
        for name, value in buffers.items():
            array = np.asarray(value.data if isinstance(value, Tensor) else value)
            if array.shape != param_view.shape:
                raise ValueError(f"optimizer state_dict: {name!r} of parameter {index} has "
                                 f"shape {array.shape}, expected {param_view.shape}")
            arrays[name] = array
        step = entry.get("step")
        return (None if step is None else int(float(step))), arrays

    @staticmethod
    def _load_entry(flat, index, entry):
        flat.reset(index)
        if entry is None:
            return
        step, arrays = entry
        # torch's SGD keeps no step: a saved momentum buffer means it has stepped
        flat.steps[index] = step if step is not None else (1 if arrays else 0)
        flat.has_state[index] = True
        for name, array in arrays.items():
            flat.view(flat.buffer(name), index)[...] = array
            flat.names[index].add(name)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def _recording(buffer_of, used):
    """buffer_of, noting in ``used`` the state names it was asked for."""
    def state(name):
        used.add(name)
        return buffer_of(name)
    return state


def _split_params(params):
    """The group's parameters as a list, and their names when given as (name, tensor) pairs."""
    if isinstance(params, Tensor):
        params = [params]
    elif isinstance(params, (set, frozenset)):
        raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                        "the ordering of tensors in sets will change between runs. Please use a "
                        "list instead.")
    params = list(params)
    named = [isinstance(p, tuple) for p in params]
    if any(named) and not all(named):
        raise ValueError("all optimizer params should be with/without names. Some param names "
                         "are missing")
    names = [p[0] for p in params] if params and all(named) else None
    tensors = [p[1] for p in params] if names is not None else params
    for p in tensors:
        if not isinstance(p, Tensor):
            raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                            f"{type(p).__name__}")
        if p.data.dtype != np.float32:
            raise TypeError(f"optimizer can only optimize float32 tensors, got {p.data.dtype}")
        if not p.is_leaf:
            raise ValueError("can't optimize a non-leaf Tensor")
    return tensors, names


def check_range(name, message, value, low, high=math.inf, high_open=False):
    """ValueError '<message>: <value> (argument '<name>' must be ...)' unless low <= value and
    value below high (strictly when high_open): PyTorch's wording, plus the argument's name."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"argument '{name}' must be a number, got {type(value).__name__}")
    if not (low <= value and (value < high if high_open else value <= high)):
        bounds = f"in [{low}, {high})" if high_open else f">= {low}" if high == math.inf else \
            f"in [{low}, {high}]"
        raise ValueError(f"{message}: {value} (argument '{name}' must be {bounds})")
