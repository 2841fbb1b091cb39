"""Reverse-mode autograd: ``Function`` nodes, the backward pass, and grad mode."""
from __future__ import annotations

import functools
import threading

import numpy as np


class _GradState(threading.local):
    """Grad mode, per thread as PyTorch's: the class attributes are what every thread starts
    with (grad on, not in inference mode); assignments stay in the assigning thread."""

    enabled = True
    inference = False

    def __init__(self):
        self.saved = []  # modes to restore, one per grad-mode block this thread is inside


_mode = _GradState()


def is_grad_enabled() -> bool:
    """Whether ops in the calling thread record the graph (each thread has its own mode)."""
    return _mode.enabled


def is_inference_mode_enabled() -> bool:
    """Whether the calling thread is inside ``inference_mode()``."""
    return _mode.inference


class _GradMode:
    """Base of the grad-mode context managers: one instance may be entered by several threads
    at once (each thread saves its previous mode on its own stack). Usable as a decorator,
    with or without parentheses (``@no_grad`` and ``@no_grad()``)."""

    enabled = True
    inference = False

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]) and cls._takes_no_mode():
            return cls()(args[0])  # bare decorator: @no_grad
        return super().__new__(cls)

    @classmethod
    def _takes_no_mode(cls):
        return cls.__init__ is _GradMode.__init__

    def __init__(self):
        pass

    def __enter__(self):
        _mode.saved.append((_mode.enabled, _mode.inference))
        _mode.enabled, _mode.inference = self.enabled, self.inference

    def __exit__(self, *exc):
        _mode.enabled, _mode.inference = _mode.saved.pop()

    def _fresh(self):
        return type(self)()

    def __call__(self, fn):
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}: a decorator needs a callable, got "
                            f"{type(fn).__name__}")

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Context manager / decorator: ops inside record no graph (in the calling thread only)."""

    enabled = False


class enable_grad(_GradMode):
    """Context manager / decorator: ops inside record the graph, even within ``no_grad``."""

    enabled = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` turns grad mode off in the calling thread at once; used as
    ``with set_grad_enabled(mode):`` it restores the previous mode on exit (as PyTorch's)."""

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: argument 'mode' must be bool, got "
                            f"{type(mode).__name__}")
        self.enabled = mode
        self._previous = _mode.enabled
        _mode.enabled = mode  # the function form takes effect without a with-block

    def __enter__(self):
        # __init__ already switched: save the mode from before it, as the block's exit restores.
        _mode.saved.append((self._previous, _mode.inference))

    def _fresh(self):
        return set_grad_enabled(self.enabled)

    def __call__(self, fn):
        _mode.enabled = self._previous  # decorating only: undo the switch __init__ made
        return super().__call__(fn)


class inference_mode(_GradMode):
    """``with inference_mode():`` (or ``@inference_mode``) runs without recording the graph,
    as ``no_grad``; ``inference_mode(False)`` changes nothing."""

    def __init__(self, mode=True):
        if not isinstance(mode, bool):
            raise TypeError(f"inference_mode: argument 'mode' must be bool, got "
                            f"{type(mode).__name__}")
        self.active = mode

    @classmethod
    def _takes_no_mode(cls):
        return True  # @inference_mode bare is allowed although __init__ takes a mode

    def __enter__(self):
        _mode.saved.append((_mode.enabled, _mode.inference))
        if self.active:
            _mode.enabled, _mode.inference = False, True

    def _fresh(self):
        return inference_mode(self.active)


class Function:
    """One differentiable op. Subclasses define ``forward(*arrays, **options) -> array`` and
    ``backward(grad) -> grad or tuple of grads`` (one per tensor input, None where
    ``self.needs_input_grad[i]`` is False). Whatever backward needs is stored on ``self``."""

    @classmethod
    def apply(cls, *inputs, **options):
        fn = cls()
        needs = fn.needs_input_grad = tuple([t.requires_grad for t in inputs])
        floats = _float_dtypes(cls, inputs)
        if floats is None:  # all float inputs are float32 (or there are none): native kernels
            out = fn.forward(*[t._array for t in inputs], **options)
            if out.dtype.kind == "f" and out.dtype != _FLOAT32 and not cls.keeps_dtype:
                out = out.astype(np.float32)  # a float64 constant must not leak into the graph
        else:
            fn.on_numpy = True
            with use_backend("numpy"):
                out = fn.forward(*[t._array for t in inputs], **options)
            if out.dtype.kind == "f" and out.dtype != floats and not cls.keeps_dtype:
                out = out.astype(floats)
        out = Tensor._wrap(out)
        if True in needs and _mode.enabled:
            out.requires_grad = True
            out._ctx = fn
            fn.parents = inputs
            fn.versions = tuple([t._version for t in inputs])
            for t in inputs:
                if t._ctx is not None:
                    t._used = True  # in-place assignment into t would now go unseen
        return out

    keeps_dtype = False  # True: the output's float dtype is the op's own choice (Cast)
    # True: inputs of different float dtypes raise (kernel ops: gemm, conv, rnn, losses, as
    # PyTorch's "mat1 and mat2 must have the same dtype"); False: numpy's promotion applies.
    # None: decided by where the op is defined (hpnn.functional and hpnn.nn are kernel ops).
    strict_dtypes = None
    on_numpy = False  # forward ran on the numpy twins (a float input was not float32)

    @classmethod
    def apply_(cls, tensor, name, **options):
        """Run this one-input op in place, as PyTorch's in-place ops: the result is written
        into ``tensor``'s array and ``tensor`` itself, returned, becomes the op's output. The
        op's backward must not need its input's values (it may save the array: that then holds
        the output)."""
        recording = tensor.requires_grad and _mode.enabled
        if recording:
            _check_rebase(tensor, name)
        fn = cls()
        fn.needs_input_grad = (tensor.requires_grad,)
        if tensor._array.dtype == _FLOAT32:
            fn.forward_into(tensor._array, **options)
        else:
            fn.on_numpy = True
            with use_backend("numpy"):
                fn.forward_into(tensor._array, **options)
        tensor._version += 1
        if tensor._ctx is not None:
            _invalidate_saved(tensor._ctx, tensor._array, name)
        if recording:
            previous = Tensor._wrap(tensor._array, True)  # the op's input: the tensor's old version
            previous._ctx = tensor._ctx
            fn.parents = (previous,)
            tensor._ctx = fn
        return tensor

    def forward_into(self, x, **options):
        """forward(x) written into x's own array (apply_); ops whose kernel can write there
        directly override this."""
        np.copyto(x, self.forward(x, **options))

    def release(self):
        """Drop saved arrays and parents once backward has run (retain_graph=False)."""
        self.__dict__.clear()
        self.freed = True

    freed = False
    backward_error = None  # set when backward could not be right any more: it raises this


_FLOAT32 = np.dtype(np.float32)


class DTypeMismatchError(TypeError, RuntimeError):
    """Float inputs of different dtypes given to an op that needs one (a RuntimeError, as in
    PyTorch, and a TypeError)."""


def _is_strict(cls):
    strict = cls.__dict__.get("strict_dtypes")
    if strict is None:
        strict = cls.__module__.startswith(("hpnn.functional", "hpnn.nn"))
        cls.strict_dtypes = strict
    return strict


def _float_dtypes(cls, inputs):
    """None when every float input is float32 (the native path), else the dtype the op
    computes and returns in (numpy's promotion of the float inputs)."""
    found = None
    for t in inputs:
        dtype = t._array.dtype
        if dtype.kind == "f" and dtype != _FLOAT32:
            found = dtype if found is None else np.promote_types(found, dtype)
    if found is None:
        return None
    floats = {t._array.dtype for t in inputs if t._array.dtype.kind == "f"}
    if len(floats) > 1:
        if _is_strict(cls):
            names = " and ".join(sorted(str(d) for d in floats))
            raise DTypeMismatchError(
                f"{cls.__name__}: expected all floating point inputs to have the same dtype, "
                f"got {names} (cast one with .float() or .double())")
        found = np.result_type(*floats)
    return found


def _check_versions(ctx):
    """PyTorch's saved-tensor check: an input whose values ctx saved for backward was
    modified in place after the op ran."""
    for parent, version in zip(ctx.parents, ctx.versions):
        if parent._version != version and any(
                np.may_share_memory(saved, parent._array) for saved in _saved_arrays(ctx)):
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: an input of {type(ctx).__name__} of shape "
                f"{tuple(parent.shape)} is at version {parent._version}; expected version "
                f"{version} instead")


def _check_rebase(tensor, name):
    if tensor._ctx is None:
        raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    if getattr(tensor, "_used", False):
        raise RuntimeError(f"{name}: this tensor was already used by an op that records the "
                           "graph; use the out-of-place op (inplace=False) or apply it to a "
                           "clone()")


def _saved_arrays(ctx):
    for value in vars(ctx).values():
        if isinstance(value, np.ndarray):
            yield value
        elif isinstance(value, (tuple, list)):
            yield from (v for v in value if isinstance(v, np.ndarray))


def _invalidate_saved(ctx, data, name):
    """An in-place op overwrote ``data``, the output of ``ctx``: if ctx saved it for its
    backward, that backward will raise (as PyTorch's saved-tensor version check)."""
    if any(np.may_share_memory(saved, data) for saved in _saved_arrays(ctx)):
        ctx.backward_error = (
            f"one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: the output of {type(ctx).__name__} was overwritten by {name}; "
            f"use the out-of-place op there")


_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or to use it after it was freed). "
    "Pass retain_graph=True to the first backward() if you need to backward twice."
)


def _count_consumers(root):
    """For every tensor reachable from root through tensors that require grad: how many graph
    edges lead out of it (so backward can run each node once all its output grads are in)."""
    consumers, stack = {}, [root]
    while stack:
        ctx = stack.pop()._ctx
        if ctx is None:
            continue
        if ctx.freed:
            raise RuntimeError(_FREED_MESSAGE)
        for parent, needed in zip(ctx.parents, ctx.needs_input_grad):
            if needed:
                if parent in consumers:
                    consumers[parent] += 1
                else:
                    consumers[parent] = 1
                    stack.append(parent)
    return consumers


def _accumulate_into_leaf(leaf, grad):
    if grad.shape != leaf._array.shape:
        grad = np.broadcast_to(grad, leaf._array.shape)
    if leaf.grad is not None:
        leaf.grad._array += grad
        return
    # An optimizer's view into its flat gradient buffer: writing there spares it a gather.
    home = getattr(leaf, "_grad_buffer", None)
    if home is not None and home.shape == grad.shape:
        np.copyto(home, grad)
        leaf.grad = Tensor._wrap(home)
    else:
        leaf.grad = Tensor(np.array(grad, dtype=leaf._array.dtype), dtype=leaf._array.dtype)


def run_backward(root, grad, retain_graph=False):
    """Propagate ``grad`` (d output / d root) back to every leaf that requires grad, visiting
    each node after all of its consumers (Kahn's algorithm on the consumer counts)."""
    consumers = _count_consumers(root)
    grads, ready = {root: grad}, [root]
    while ready:
        tensor = ready.pop()
        grad = grads.pop(tensor, None)
        ctx = tensor._ctx
        if ctx is None:
            if grad is not None:
                _accumulate_into_leaf(tensor, grad)
            continue
        if grad is not None and ctx.backward_error:
            raise RuntimeError(ctx.backward_error)
        if grad is not None and "versions" in ctx.__dict__:
            _check_versions(ctx)
        if grad is None:
            input_grads = ()
        elif ctx.on_numpy:
            with use_backend("numpy"):
                input_grads = ctx.backward(grad)
        else:
            input_grads = ctx.backward(grad)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        for parent, needed, parent_grad in zip(ctx.parents, ctx.needs_input_grad,
                                               input_grads + (None,) * len(ctx.parents)):
            if not needed:
                continue
            if parent_grad is not None:
                if parent_grad.dtype != parent._array.dtype and parent._array.dtype.kind == "f":
                    parent_grad = parent_grad.astype(parent._array.dtype)  # a grad keeps x's dtype
                previous = grads.get(parent)
                grads[parent] = parent_grad if previous is None else previous + parent_grad
            remaining = consumers[parent] - 1
            if remaining:
                consumers[parent] = remaining
            else:
                ready.append(parent)
        if not retain_graph:
            ctx.release()


from .backend import use_backend  # noqa: E402
from .tensor import Tensor  # noqa: E402  (Tensor needs Function; bound late to avoid a cycle)
