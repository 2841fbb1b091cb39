"""``hpnn.onnx``: a placeholder so that scripts importing it run.

ONNX export is not implemented yet (see the interop issue). ``export`` has
``torch.onnx.export``'s signature and raises ``NotImplementedError``; it never writes a file.
"""

__all__ = ["export"]


def export(model, args=(), f=None, *positional, **options):
    """Not implemented yet: raises ``NotImplementedError`` (nothing is written)."""
    raise NotImplementedError("hpnn.onnx.export: ONNX export is not implemented yet; "
                              "see the interop issue")
