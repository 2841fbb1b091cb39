"""``Module``, ``Parameter`` and the containers, PyTorch semantics."""
from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from .. import _device, dtypes
from ..tensor import Tensor, as_array
from . import hooks as _hooks
from ._checks import state_arg, tensor_arg

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictKeyError(RuntimeError, KeyError):
    """Missing or unexpected keys in load_state_dict (a RuntimeError, as in PyTorch)."""

    __str__ = RuntimeError.__str__


class StateDictShapeError(RuntimeError, ValueError):
    """A size mismatch in load_state_dict (a RuntimeError, as in PyTorch)."""


class Parameter(Tensor):
    """A tensor that a Module registers as a trainable parameter (requires_grad by default)."""

    def __init__(self, data, requires_grad=True):
        # a float tensor keeps its dtype (as PyTorch's); numpy data becomes float32
        keep = isinstance(data, Tensor) and data._array.dtype.kind == "f"
        array = np.array(as_array(data), dtype=data._array.dtype if keep else np.float32)
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models: subclasses set attributes in ``__init__`` and define
    ``forward``. Parameters, buffers and submodules assigned as attributes are registered."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration -----------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before assigning {name!r}")
        if isinstance(value, Parameter):
            self._remove(name, keep=self._parameters)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._remove(name, keep=self._modules)
            self._modules[name] = value
        elif name in self._parameters or name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to {name!r}: it holds a "
                                "Parameter/Module (assign one of those or None)")
            (self._parameters if name in self._parameters else self._modules)[name] = None
        elif name in self._buffers:
            self._buffers[name] = value if value is None else _as_tensor(value)
        else:
            object.__setattr__(self, name, value)

    def _remove(self, name, keep=None):
        """Forget ``name`` everywhere but in ``keep``: a submodule or parameter assigned again
        keeps its place, so state_dict's order is PyTorch's (a subclass of nn.Transformer
        that replaces ``self.decoder`` keeps it second, as torch does)."""
        self.__dict__.pop(name, None)
        for table in (self._parameters, self._buffers, self._modules):
            if table is not keep:
                table.pop(name, None)

    def __getattr__(self, name):
        attrs = self.__dict__
        if "_parameters" in attrs:
            for entries in (attrs["_parameters"], attrs["_buffers"], attrs["_modules"]):
                if name in entries:
                    return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, "
                            f"got {type(param).__name__}")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor kept with the module (in state_dict unless ``persistent=False``) that is
        not a parameter; None reserves the name."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_buffer: buffer name must be a non-empty string without "
                           f"'.', got {name!r}")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: attribute {name!r} already exists")
        if tensor is not None and not isinstance(tensor, (Tensor, np.ndarray)):
            raise TypeError(f"register_buffer: cannot assign {type(tensor).__name__} to buffer "
                            f"{name!r} (a Tensor or None required)")
        self.__dict__.pop(name, None)
        self._buffers[name] = None if tensor is None else _as_tensor(tensor)
        (self._non_persistent.discard if persistent else self._non_persistent.add)(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        if not isinstance(name, str) or "." in name or not name:
            raise KeyError(f"add_module: module name must be a non-empty string without '.', "
                           f"got {name!r}")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The submodule at the dotted path ``target`` ('' is self)."""
        module = self
        for part in target.split(".") if target else ():
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} "
                                     f"(looking up {target!r})")
            module = child
        return module

    def _get_member(self, target, table, kind):
        owner, _, name = target.rpartition(".")
        module = self.get_submodule(owner)
        value = getattr(module, table).get(name)
        if value is None:
            raise AttributeError(f"{type(module).__name__} has no {kind} {name!r}")
        return value

    def get_parameter(self, target):
        return self._get_member(target, "_parameters", "parameter")

    def get_buffer(self, target):
        return self._get_member(target, "_buffers", "buffer")

    # ---- hooks (see nn.hooks) ------------------------------------------------------------------
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """hook(module, args) -> None or new args (with_kwargs: hook(module, args, kwargs) ->
        None or (args, kwargs)), run before forward."""
        return _hooks.register(self, "_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """hook(module, args, output) -> None or a new output (with_kwargs: hook(module, args,
        kwargs, output)), run after forward."""
        return _hooks.register(self, "_forward_hooks", hook, prepend, with_kwargs)

    def register_full_backward_hook(self, hook, prepend=False):
        """hook(module, grad_input, grad_output) -> None or new grad_input, run once the
        gradients of the module's tensor inputs are known."""
        return _hooks.register(self, "_backward_hooks", hook, prepend)

    # ---- traversal -------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        seen = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in seen:
                return
            seen.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(seen, f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate)

    def modules(self):
        return (module for _, module in self.named_modules())

    def named_children(self):
        return ((name, m) for name, m in self._modules.items() if m is not None)

    def children(self):
        return (module for _, module in self.named_children())

    def _named_members(self, table, recurse, prefix=""):
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix="", recurse=True):
        return self._named_members("_parameters", recurse, prefix)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True):
        return self._named_members("_buffers", recurse, prefix)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    def num_parameters(self, trainable_only=False):
        return sum(p._array.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # ---- modes and grads ---------------------------------------------------------------------
    def train(self, mode=True):
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    # ---- devices (the CPU only) --------------------------------------------------------------
    def to(self, *args, **kwargs):
        """``to(device)``, ``to(dtype)`` or ``to(tensor)``: checks that the device is the CPU
        and the dtype float32, and returns the module itself (nothing moves)."""
        return _device.module_to(self, *args, **kwargs)

    def double(self):
        return _device.cast_module_floats(self, np.float64)

    def float(self):
        return _device.cast_module_floats(self, np.float32)

    def half(self):
        return _device.cast_module_floats(self, np.float16)

    def type(self, dst_type):
        return _device.cast_module_floats(self, dtypes.to_numpy(dst_type))

    def cpu(self):
        return self

    def cuda(self, device=None):
        _device.refuse_cuda("Module.cuda", device)

    def requires_grad_(self, flag=True):
        for p in self.parameters():
            p.requires_grad_(flag)
        return self

    def zero_grad(self, set_to_none=True):
        for module in self.modules():  # a shared parameter seen twice is harmless here
            for p in module._parameters.values():
                if p is None or p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad._array[...] = 0

    def apply(self, fn):
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- state dict ------------------------------------------------------------------------
    def state_dict(self, prefix=""):
        """Parameters and persistent buffers by dotted name, as tensors sharing memory."""
        state = OrderedDict()
        for module_prefix, module in self.named_modules(prefix=prefix.rstrip(".")):
            head = f"{module_prefix}." if module_prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[head + name] = param.detach()
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent:
                    state[head + name] = buffer.detach()
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy values into parameters and buffers in place. Accepts hpnn tensors, numpy arrays
        or anything np.asarray understands (e.g. a torch state_dict's CPU tensors)."""
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"load_state_dict: expected a mapping, got {type(state_dict).__name__}")
        own = self.state_dict()
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        if strict and (missing or unexpected):
            raise StateDictKeyError(f"load_state_dict for {type(self).__name__}: missing keys "
                                    f"{missing}, unexpected keys {unexpected}")
        loaded = [(key, target, _checked_array(key, target, state_dict[key]))
                  for key, target in own.items() if key in state_dict]
        for _, target, array in loaded:  # all checked first: a bad entry changes nothing
            target._array[...] = array
        return IncompatibleKeys(missing, unexpected)

    # ---- calling and printing -----------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # hpnn's own layers set this to how many leading arguments of forward must be Tensors
    # (the input; a loss's target too); the rest may be None, a Tensor or a tuple of them.
    # User modules keep 0: their forward may take anything.
    _tensor_args = 0

    def __call__(self, *args, **kwargs):
        if self._tensor_args:
            self._check_args(args, kwargs)
        if _hooks.has_hooks(self):
            return _hooks.call_with_hooks(self, args, kwargs)
        return self.forward(*args, **kwargs)

    def _check_args(self, args, kwargs):
        """TypeError naming the argument for a numpy array, list, None... where forward needs
        a Tensor (it would fail later with an AttributeError)."""
        forward = type(self).forward
        if not self._tensor_args or not forward.__module__.startswith("hpnn."):
            return  # a user's forward (also one overriding a layer's) may take anything
        names, owner = forward.__code__.co_varnames[1:], type(self).__name__
        for i, value in enumerate(args):
            name = names[i] if i < len(names) else f"#{i}"
            (tensor_arg if i < self._tensor_args else state_arg)(value, name, owner)
        for name, value in kwargs.items():
            required = name in names[:self._tensor_args]
            (tensor_arg if required else state_arg)(value, name, owner)

    def extra_repr(self):
        return ""

    def __repr__(self):
        count = Module.num_parameters(self)  # PReLU has an attribute of that name
        counted = f"  # {count:,} params" if count else ""
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()}){counted}"
        lines = [f"{type(self).__name__}({self.extra_repr()}{counted}"]
        for name, child in children:
            lines.append("  (" + name + "): " + repr(child).replace("\n", "\n  "))
        return "\n".join(lines) + "\n)"

    # ---- Keras-style training (see hpnn.training) -----------------------------------------------
    def compile(self, optimizer="adam", loss=None, metrics=None):
        from .. import training
        return training.compile(self, optimizer, loss, metrics)

    def fit(self, x, y=None, **kwargs):
        from .. import training
        return training.fit(self, x, y, **kwargs)

    def evaluate(self, x, y=None, **kwargs):
        from .. import training
        return training.evaluate(self, x, y, **kwargs)

    def predict(self, x, batch_size=32, **kwargs):
        from .. import training
        return training.predict(self, x, batch_size=batch_size, **kwargs)


def _as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(value)


def _checked_array(key, target, value):
    try:
        array = value._array if isinstance(value, Tensor) else np.asarray(value)
    except Exception as error:
        raise TypeError(f"load_state_dict: value for {key!r} is not an array ({error})") from None
    if array.shape != target._array.shape:
        raise StateDictShapeError(f"load_state_dict: size mismatch for {key!r}: checkpoint has "
                                  f"shape {array.shape}, the model has {target._array.shape}")
    if array.dtype.kind not in "fiub":
        raise TypeError(f"load_state_dict: value for {key!r} has unsupported dtype {array.dtype}")
    return array


def _swaps_with_pool(relu, pool, on_input):
    return (type(relu).__dict__.get("_plain_relu", False)
            and type(pool).__dict__.get("_takes_window_max", False)
            and not pool.return_indices and not (on_input and relu.inplace))


def _pair_step(first, second, on_input=False, after=None):
    """How Sequential may run ``first`` then ``second`` as one cheaper step with the very same
    values and gradients, or None. Exact classes only (a subclass may have changed forward):
    - ReLU then MaxPool2d runs as pool then relu: relu commutes with max pooling exactly (same
      values, same argmax, so same gradients, ties and NaN included), and then touches only
      the pooled output (not where an in-place ReLU must overwrite the caller's tensor,
      ``on_input``);
    - Linear or Conv2d then ReLU runs as one node applying the relu as the product is written
      -- unless a max pool comes ``after`` the relu: the swap above is then cheaper, its
      relu's backward running on the pooled gradient only (and a Conv2d's three run as one,
      _triple_step)."""
    if _hooks.has_hooks(first) or _hooks.has_hooks(second):
        return None  # each module's hooks run in its own __call__
    if (type(second).__dict__.get("_plain_relu", False)
            and type(first).__dict__.get("_forward_relu") is not None
            and not (after is not None and _swaps_with_pool(second, after, False))):
        return first._forward_relu
    if _swaps_with_pool(first, second, on_input):
        return lambda x: first(second(x))
    return None


def _triple_step(first, second, third):
    """Conv2d -> ReLU -> MaxPool2d (exact classes, no returned indices) as one node that applies
    the relu in the convolution's output write and folds its backward into the pool's: the
    same values and gradients as the written order, with no relu pass either way."""
    if any(_hooks.has_hooks(m) for m in (first, second, third)):
        return None
    if (type(first).__dict__.get("_forward_relu_max_pool") is not None
            and type(second).__dict__.get("_plain_relu", False)
            and type(third).__dict__.get("_takes_window_max", False)
            and not third.return_indices):
        return lambda x: first._forward_relu_max_pool(x, third)
    return None


class Sequential(Module):
    """Modules applied in order; ``Sequential(a, b)`` or ``Sequential(OrderedDict(...))``."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)

    def forward(self, x):
        input, modules = x, list(self._modules.values())
        i, count = 0, len(modules)
        while i < count:
            after = modules[i + 2] if i + 2 < count else None
            triple = _triple_step(*modules[i:i + 3]) if after is not None else None
            if triple is not None:
                modules[i]._check_args((x,), {})  # fused steps skip the first one's __call__
                x = triple(x)
                i += 3
                continue
            step = (_pair_step(modules[i], modules[i + 1], x is input, after)
                    if i + 1 < count else None)
            if step is None:
                x = modules[i](x)
                i += 1
            else:
                modules[i]._check_args((x,), {})
                x = step(x)
                i += 2
        return x

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())
