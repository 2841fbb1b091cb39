"""The optimizer base: parameter groups kept in flat buffers, one step-kernel call per group.
Groups, state, state_dict() and load_state_dict() follow torch.optim.Optimizer."""
from __future__ import annotations

import copy
import math
from collections import defaultdict

import numpy as np

from ..autograd import enable_grad, no_grad
from ..backend import use_backend
from ..tensor import Tensor
from ._flat import FlatGroup


class Optimizer:
    """Base class. Subclasses pass their defaults and define ``_update(group, param, grad,
    state, step, fresh)`` calling the step kernel on arrays that are either one parameter or a
    whole flat group; ``state(name)`` returns the matching state buffer (names as PyTorch's,
    listed in ``state_names``), ``fresh(name)`` whether it did not exist before this step.
    ``counts_steps``: whether the state holds a 'step' (all but SGD, as in PyTorch)."""

    state_names = ()
    scalar_names = ()  # per-parameter 0-d state (NAdam's mu_product), initial value 1
    counts_steps = True
    # parameter dtypes the step supports: float64 groups step on the numpy twins (hpnn.reference)
    dtypes = (np.float32, np.float64)

    def __init__(self, params=None, defaults=None):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor")
        self.defaults = dict(defaults or {})
        self.param_groups, self._flat = [], []
        self._state = defaultdict(dict)
        self._exposed = {}  # id(param) -> the entries state() last put in its dict
        self._state_stale = True
        self._validate({**self.defaults, "params": []})
        if params is not None:
            self._bind(params)

    @property
    def _fused(self):
        """Built-in steps over flat buffers (a subclass defining ``_update``), as opposed to a
        user's own subclass written for PyTorch (overriding ``step``, owning ``state``)."""
        return type(self)._update is not Optimizer._update

    def _bind(self, params):
        """Give an optimizer built without parameters (Keras style) its parameters."""
        if self.param_groups:
            raise RuntimeError(f"{type(self).__name__} already has parameters")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)
        self._after_bind()
        return self

    def _after_bind(self):
        """Hook: state the optimizer creates for its construction-time parameters."""

    def _require_bound(self, what):
        if not self.param_groups:
            name = type(self).__name__
            raise RuntimeError(f"{name}.{what}: this optimizer was created without parameters; "
                               f"pass them ({name}(model.parameters(), ...)) or give it to "
                               "model.compile(optimizer=...), which binds the model's")

    def add_param_group(self, param_group):
        """Add a group (a dict with 'params' and any options; missing options take the
        defaults). As in PyTorch the dict itself becomes the group."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise KeyError("param_group must have a 'params' entry")
        params, names = _split_params(param_group["params"],
                                      self.dtypes if self._fused else None)
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
        self._flat.append(FlatGroup(params, self.scalar_names) if self._fused else None)
        self._state_stale = True

    def _validate(self, group):
        if "lr" not in group and not self._fused:
            return  # a user's optimizer without an lr: its options are its own business
        check_range("lr", "Invalid learning rate", group["lr"], 0.0)
        check_range("weight_decay", "Invalid weight_decay value", group.get("weight_decay", 0.0),
                    0.0)
        if group.get("differentiable"):
            raise ValueError(f"{type(self).__name__}: differentiable=True is not supported "
                             "(hpnn optimizer steps are not recorded by autograd)")

    @property
    def state(self):
        """Per-parameter state as PyTorch's ``optimizer.state``: one persistent defaultdict
        from parameter to a dict. For the built-in optimizers it holds {'step': 0-d tensor,
        buffer name: tensor viewing the live state}; what a step or a user changes is seen."""
        if self._fused and self._state_stale:
            self._publish_state()
        return self._state

    @state.setter
    def state(self, value):
        self._state = value
        self._exposed = {}

    def _publish_state(self):
        for group, flat in zip(self.param_groups, self._flat):
            for i, param in enumerate(group["params"]):
                if flat.has_state[i]:
                    entry = self._entry(flat, i, copy_buffers=False)
                    self._state[param].update(entry)
                    self._exposed[id(param)] = entry
        self._state_stale = False

    def _collect_state(self):
        """Bring into the flat buffers what a user put in ``state`` in place of the entries
        ``_publish_state`` exposed (a new tensor for a buffer, another step)."""
        for group, flat in zip(self.param_groups, self._flat):
            for i, param in enumerate(group["params"]):
                exposed = self._exposed.get(id(param))
                entry = self._state.get(param) if exposed is not None else None
                if entry is None:
                    continue
                for name, ours in exposed.items():
                    value = entry.get(name, ours)
                    if value is ours:
                        continue
                    array = np.asarray(value._array if isinstance(value, Tensor) else value)
                    if name == "step":
                        flat.steps[i] = int(float(array))
                        flat._uniform = False
                    elif name in self.scalar_names:
                        flat.scalars[name][i][...] = array
                        flat._uniform = False
                    else:
                        flat.view(flat.buffer(name), i)[...] = array

    def _entry(self, flat, index, copy_buffers):
        entry = {"step": Tensor(np.float32(flat.steps[index]))} if self.counts_steps else {}
        for name in self.scalar_names:
            if name in flat.names[index]:
                value = flat.scalars[name][index]
                entry[name] = Tensor._wrap(value.copy() if copy_buffers else value)
        for name in self.state_names:
            if name in flat.names[index]:
                view = flat.view(flat.buffer(name), index)
                entry[name] = Tensor._wrap(view.copy() if copy_buffers else view)
        return entry

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's gradient: None (default), or zeros in place."""
        self._require_bound("zero_grad()")
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad._array[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns closure() if one is given."""
        if not self._fused:
            raise NotImplementedError(f"{type(self).__name__} must define step(closure=None)")
        self._require_bound("step()")
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        if self._exposed:
            self._collect_state()
        with no_grad():
            for group, flat in zip(self.param_groups, self._flat):
                if flat.dtype == np.float32:
                    self._step_group(group, flat)
                else:
                    with use_backend("numpy"):
                        self._step_group(group, flat)
        self._state_stale = True
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
                         _recording(flat.group_state, used), step, lambda name: name not in names)
            flat.stepped_all(step, used)
            return
        for i, param in enumerate(params):
            if param.grad is not None:
                names, used = flat.names[i], set()
                self._update(group, flat.param_views[i], flat.grad_views[i],
                             _recording(lambda name, i=i: flat.state_of(name, i), used),
                             flat.steps[i] + 1, lambda name, names=names: name not in names)
                flat.stepped_one(i, used)

    def _update(self, group, param, grad, state, step, fresh):
        raise NotImplementedError

    # ---- state dict (PyTorch layout: state by parameter index, groups list the indices) -------
    def state_dict(self):
        """{'state': {index: {'step': 0-d tensor, buffer name: tensor}}, 'param_groups': [group
        options with 'params' as indices]}, as PyTorch (tensors are copies)."""
        self._require_bound("state_dict()")
        if not self._fused:
            return self._generic_state_dict()
        state, groups, index = {}, [], 0
        for group, flat in zip(self.param_groups, self._flat):
            for i in range(len(group["params"])):
                if flat.has_state[i] and (self.counts_steps or flat.names[i]):
                    state[index + i] = self._entry(flat, i, copy_buffers=True)
            groups.append(_packed_group(group, index))
            index += len(group["params"])
        return {"state": state, "param_groups": groups}

    def _generic_state_dict(self):
        index_of, groups, index = {}, [], 0
        for group in self.param_groups:
            index_of.update({id(p): index + i for i, p in enumerate(group["params"])})
            groups.append(_packed_group(group, index))
            index += len(group["params"])
        state = {index_of[id(p)]: {k: _copied(v) for k, v in entry.items()}
                 for p, entry in self._state.items() if id(p) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load what state_dict() (or torch.optim's) returned: the groups' options are replaced
        by the saved ones, parameters without saved state start afresh."""
        self._require_bound("load_state_dict()")
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
        if self._fused:
            self._load_flat_state(saved_groups, state)
        else:
            self._state = defaultdict(dict)
            for saved, group in zip(saved_groups, self.param_groups):
                for index, param in zip(saved["params"], group["params"]):
                    entry = state.get(index, state.get(str(index)))
                    if entry is not None:
                        self._state[param] = {k: _copied(v) for k, v in entry.items()}
        for saved, group in zip(saved_groups, self.param_groups):
            params, names = group["params"], group.get("param_names")
            group.clear()
            group.update(copy.deepcopy({k: v for k, v in saved.items() if k != "params"}))
            group["params"] = params
            if names is not None and "param_names" not in group:
                group["param_names"] = names

    def _load_flat_state(self, saved_groups, state):
        loaded = [[self._checked_entry(state, index, flat.view(flat.param_buffer, i))
                   for i, index in enumerate(saved["params"])]
                  for saved, flat in zip(saved_groups, self._flat)]
        for flat, entries in zip(self._flat, loaded):
            for i, entry in enumerate(entries):
                self._load_entry(flat, i, entry)
        self._state, self._exposed, self._state_stale = defaultdict(dict), {}, True

    def _checked_entry(self, state, index, param_view):
        """The saved state of parameter ``index`` as (step or None, {name: array}), checked."""
        entry = state.get(index, state.get(str(index)))
        if entry is None:
            return None
        buffers = {name: value for name, value in entry.items() if name != "step"}
        unknown = set(buffers) - set(self.state_names) - set(self.scalar_names)
        if unknown:
            raise ValueError(f"optimizer state_dict: parameter {index} has state "
                             f"{sorted(unknown)} that {type(self).__name__} does not use")
        arrays = {}
        for name, value in buffers.items():
            array = np.asarray(value._array if isinstance(value, Tensor) else value)
            expected = () if name in self.scalar_names else param_view.shape
            if array.shape != expected:
                raise ValueError(f"optimizer state_dict: {name!r} of parameter {index} has "
                                 f"shape {array.shape}, expected {expected}")
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
            flat.state_of(name, index)[...] = array
            flat.names[index].add(name)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def _packed_group(group, first_index):
    """A group's options with 'params' as the indices of its parameters (PyTorch's layout)."""
    return {**{k: v for k, v in group.items() if k != "params"},
            "params": list(range(first_index, first_index + len(group["params"])))}


def _copied(value):
    """A state value as saved or loaded: tensors and arrays copied, the rest deep-copied."""
    if isinstance(value, Tensor):
        return Tensor._wrap(np.array(value._array, copy=True))
    return copy.deepcopy(value)


def _recording(buffer_of, used):
    """buffer_of, noting in ``used`` the state names it was asked for."""
    def state(name):
        used.add(name)
        return buffer_of(name)
    return state


def _split_params(params, dtypes=None):
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
        if dtypes is not None and p._array.dtype not in dtypes:
            names = "/".join(np.dtype(d).name for d in dtypes)
            raise TypeError(f"this optimizer can only optimize {names} tensors, got "
                            f"{p._array.dtype}")
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
