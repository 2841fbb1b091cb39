"""``hpnn.compile``: PyTorch's ``torch.compile`` entry point, accepted so that scripts calling
it run. It returns the model (or function) unchanged: hpnn's kernels run eagerly, and there is
no graph capture yet, so no fusion happens here (nn.Sequential's visible fusion still applies)."""
from __future__ import annotations

_BACKENDS = (None, "inductor", "eager", "aot_eager")
_MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False):
    """Returns ``model`` itself (also as a decorator, with or without arguments)."""
    if backend not in _BACKENDS and not callable(backend):
        raise ValueError(f"compile: argument 'backend' must be one of {_BACKENDS[1:]} or a "
                         f"callable, got {backend!r}")
    if mode not in _MODES:
        raise ValueError(f"compile: argument 'mode' must be one of {_MODES[1:]}, got {mode!r}")
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise TypeError(f"compile: argument 'model' must be a Module or a callable, got "
                        f"{type(model).__name__}")
    return model
