"""Module hooks as PyTorch's: forward pre-hooks, forward hooks and full backward hooks, each
registration returning a handle whose ``remove()`` takes the hook out again."""
from __future__ import annotations

import itertools
from collections import OrderedDict

from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor

_ids = itertools.count()

# the Module attributes holding the hooks, by id (an OrderedDict each, made on first use)
HOOK_TABLES = ("_forward_pre_hooks", "_forward_hooks", "_backward_hooks")


class RemovableHandle:
    """What a register_*_hook returns: ``remove()`` (or leaving a with-block) unregisters."""

    def __init__(self, table, extra=()):
        self.id = next(_ids)
        self._tables = (table, *extra)

    def remove(self):
        for table in self._tables:
            if isinstance(table, dict):
                table.pop(self.id, None)
            else:
                table.discard(self.id)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def hook_table(module, name):
    table = module.__dict__.get(name)
    if table is None:
        table = OrderedDict()
        object.__setattr__(module, name, table)
    return table


def register(module, table_name, hook, prepend=False, with_kwargs=False):
    if not callable(hook):
        raise TypeError(f"{table_name.strip('_')}: argument 'hook' must be callable, got "
                        f"{type(hook).__name__}")
    table = hook_table(module, table_name)
    kwargs_ids = module.__dict__.setdefault("_hooks_with_kwargs", set())
    handle = RemovableHandle(table, (kwargs_ids,))
    table[handle.id] = hook
    if prepend:
        table.move_to_end(handle.id, last=False)
    if with_kwargs:
        kwargs_ids.add(handle.id)
    return handle


def has_hooks(module):
    attrs = module.__dict__
    return any(attrs.get(name) for name in HOOK_TABLES)


def call_with_hooks(module, args, kwargs):
    """module.forward(*args, **kwargs) with the module's hooks, in PyTorch's order: pre-hooks,
    the input side of the backward hooks, forward, forward hooks, the output side."""
    with_kwargs = module.__dict__.get("_hooks_with_kwargs", set())
    for hook_id, hook in list(module.__dict__.get("_forward_pre_hooks", {}).items()):
        if hook_id in with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    backward = module.__dict__.get("_backward_hooks")
    state = _BackwardHookState(module) if backward and is_grad_enabled() else None
    if state is not None:
        args = state.wrap_inputs(args)
    out = module.forward(*args, **kwargs)
    for hook_id, hook in list(module.__dict__.get("_forward_hooks", {}).items()):
        result = (hook(module, args, kwargs, out) if hook_id in with_kwargs
                  else hook(module, args, out))
        if result is not None:
            out = result
    return out if state is None else state.wrap_outputs(out)


class _Mark(Function):
    """Identity whose backward reports the gradient passing through to ``state``."""

    def forward(self, x, state=None, slot=0, side="input"):
        self.state, self.slot, self.side = state, slot, side
        return x

    def backward(self, grad):
        return self.state.arrived(self.side, self.slot, grad)


class _BackwardHookState:
    """One call's gradients: grad_output gathered as they pass the outputs, then the hooks
    run once every input that requires grad has its gradient (grad_input)."""

    def __init__(self, module):
        self.module = module
        self.grad_inputs, self.grad_outputs = [], []
        self.inputs_pending = self.outputs_pending = 0

    def wrap_inputs(self, args):
        args = list(args)
        slots = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.grad_inputs = [None] * len(slots)
        for slot, i in enumerate(slots):
            if args[i].requires_grad:
                self.inputs_pending += 1
                args[i] = _Mark.apply(args[i], state=self, slot=slot, side="input")
        return tuple(args)

    def wrap_outputs(self, out):
        single = isinstance(out, Tensor)
        items = [out] if single else list(out) if isinstance(out, (tuple, list)) else None
        if items is None:
            return out
        self.grad_outputs = [None] * len(items)
        for slot, item in enumerate(items):
            if isinstance(item, Tensor) and item.requires_grad:
                self.outputs_pending += 1
                items[slot] = _Mark.apply(item, state=self, slot=slot, side="output")
        return items[0] if single else type(out)(items)

    def arrived(self, side, slot, grad):
        if side == "output":
            self.grad_outputs[slot] = grad
            self.outputs_pending -= 1
            if not self.inputs_pending and not self.outputs_pending:
                self._run_hooks()  # no input needs a gradient: hooks see grad_input None
            return grad
        self.grad_inputs[slot] = grad
        self.inputs_pending -= 1
        if self.inputs_pending:
            return grad
        replaced = self._run_hooks()
        return grad if replaced is None else replaced[slot]

    def _run_hooks(self):
        grad_output = tuple(_wrap(g) for g in self.grad_outputs)
        grad_input = tuple(_wrap(g) for g in self.grad_inputs)
        replaced = None
        for hook in list(self.module.__dict__.get("_backward_hooks", {}).values()):
            result = hook(self.module, grad_input, grad_output)
            if result is None:
                continue
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(grad_input):
                raise ValueError(f"backward hook returned {len(result)} gradients, expected "
                                 f"{len(grad_input)} (one per tensor input)")
            if sum(g is not None for g in grad_input) > 1:
                raise RuntimeError("a full backward hook may replace grad_input only of a "
                                   "module with one input that requires grad (in hpnn)")
            grad_input = replaced = result
        if replaced is None:
            return None
        return [None if g is None else (g._array if isinstance(g, Tensor) else g) for g in replaced]


def _wrap(grad):
    return None if grad is None else Tensor._wrap(grad)
