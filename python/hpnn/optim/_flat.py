"""One parameter group's parameters, gradients and optimizer state in flat buffers (the parameters' dtype)."""
from __future__ import annotations

import numpy as np


class FlatGroup:
    """Each parameter's ``._array`` becomes a view into ``param_buffer``, its gradient a view into
    ``grad_buffer``; state buffers (``buffer(name)``) are laid out the same way. Per parameter
    it keeps what PyTorch keeps per parameter: a step count and which state entries exist."""

    def __init__(self, params, scalar_names=()):
        dtypes = {p._array.dtype for p in params}
        if len(dtypes) > 1:
            raise TypeError(f"optimizer: the parameters of one group must share a dtype, got "
                            f"{sorted(d.name for d in dtypes)} (put them in separate groups)")
        self.dtype = dtypes.pop() if dtypes else np.dtype(np.float32)
        self.shapes = [p._array.shape for p in params]
        self.bounds = np.cumsum([0] + [p._array.size for p in params]).tolist()
        self.param_buffer = np.empty(self.bounds[-1], self.dtype)
        self.grad_buffer = np.zeros(self.bounds[-1], self.dtype)
        self.param_views = [self.view(self.param_buffer, i) for i in range(len(params))]
        self.grad_views = [self.view(self.grad_buffer, i) for i in range(len(params))]
        for param, view, grad_view in zip(params, self.param_views, self.grad_views):
            view[...] = param._array
            param._array = view
            param._grad_buffer = grad_view  # backward writes new gradients in place
        self.state = {}
        # per-parameter 0-d state (float32 as PyTorch keeps it), 1 until first used
        self.scalars = {name: [np.ones((), np.float32) for _ in params] for name in scalar_names}
        self.steps = [0] * len(params)  # per-parameter step count
        self.names = [set() for _ in params]  # the state entries each parameter has
        self.has_state = [False] * len(params)  # whether it appears in state_dict()['state']
        self._uniform = True  # known to be uniform() (False: to be checked)

    def view(self, buffer, index):
        return buffer[self.bounds[index]:self.bounds[index + 1]].reshape(self.shapes[index])

    def buffer(self, name):
        """The flat state buffer ``name`` (zeros when first asked for)."""
        if name not in self.state:
            self.state[name] = np.zeros(self.bounds[-1], self.dtype)
        return self.state[name]

    def group_state(self, name):
        """State ``name`` for a step of the whole (uniform) group: the flat buffer, or for a
        scalar the first parameter's (``stepped_all`` copies it to the others)."""
        return self.scalars[name][0] if name in self.scalars else self.buffer(name)

    def state_of(self, name, index):
        """State ``name`` of parameter ``index``: a view of the buffer, or its 0-d scalar."""
        return self.scalars[name][index] if name in self.scalars else \
            self.view(self.buffer(name), index)

    def reset(self, index):
        """Forget parameter ``index``'s state (zeros in every buffer), as a fresh optimizer."""
        for buffer in self.state.values():
            self.view(buffer, index)[...] = 0
        for values in self.scalars.values():
            values[index][...] = 1
        self.steps[index], self.names[index], self.has_state[index] = 0, set(), False
        self._uniform = False

    def uniform(self):
        """Whether every parameter is at the same step with the same state entries, so one
        kernel call over the whole group does what one call per parameter would."""
        if not self._uniform:
            self._uniform = all(s == self.steps[0] for s in self.steps) and \
                all(n == self.names[0] for n in self.names) and \
                all(v == values[0] for values in self.scalars.values() for v in values)
        return self._uniform

    def stepped_all(self, step, used_names):
        """Note a step of the whole group that used the state entries ``used_names``."""
        self.steps = [step] * len(self.steps)
        for values in self.scalars.values():
            for value in values[1:]:
                value[...] = values[0]
        if not used_names <= self.names[0]:
            for names in self.names:
                names |= used_names
        if not all(self.has_state):
            self.has_state = [True] * len(self.has_state)

    def stepped_one(self, index, used_names):
        self.steps[index] += 1
        self.names[index] |= used_names
        self.has_state[index] = True
        self._uniform = False

    def rebind(self, params):
        """Bring back parameters whose ``._array`` was replaced, and gather gradients that
        backward did not write in place (set by hand, or shaped differently)."""
        for param, param_view, grad_view in zip(params, self.param_views, self.grad_views):
            if param._array is not param_view:
                param_view[...] = param._array
                param._array = param_view
            if param.grad is not None and param.grad._array is not grad_view:
                grad_view[...] = param.grad._array
                param.grad._array = grad_view
