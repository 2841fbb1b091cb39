"""mm, bmm and einsum. einsum runs numpy's einsum forward; the gradient of each operand is
the einsum of the output gradient with the other operands."""
from __future__ import annotations

import string

import numpy as np

from .autograd import Function
from .errors import ShapeError
from .tensor import Tensor, _tensor

__all__ = ["mm", "bmm", "matmul", "einsum", "dot", "outer"]


def _need(name, tensor, ndim, arg):
    if tensor.ndim != ndim:
        raise ShapeError(f"{name}: argument '{arg}' must be {ndim}-d, got {tensor.ndim} dims "
                         f"(shape {tuple(tensor.shape)})")


def mm(input, mat2):
    input, mat2 = _tensor(input), _tensor(mat2)
    _need("mm", input, 2, "input")
    _need("mm", mat2, 2, "mat2")
    if input.shape[1] != mat2.shape[0]:
        raise ShapeError(f"mm: shapes {tuple(input.shape)} and {tuple(mat2.shape)} cannot be "
                         f"multiplied")
    return input @ mat2


def bmm(input, mat2):
    input, mat2 = _tensor(input), _tensor(mat2)
    _need("bmm", input, 3, "input")
    _need("bmm", mat2, 3, "mat2")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise ShapeError(f"bmm: shapes {tuple(input.shape)} and {tuple(mat2.shape)} cannot be "
                         f"multiplied batch by batch")
    return input @ mat2


def matmul(input, other):
    return _tensor(input) @ _tensor(other)


def dot(input, other):
    input, other = _tensor(input), _tensor(other)
    _need("dot", input, 1, "input")
    _need("dot", other, 1, "other")
    return einsum("i,i->", input, other)


def outer(input, vec2):
    return einsum("i,j->ij", _tensor(input), _tensor(vec2))


def _parse(equation, shapes):
    """The equation with '...' spelled out in unused letters: (input subscripts, output)."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the equation names {len(terms)} operands, got {len(shapes)}")
    spare = [c for c in string.ascii_letters if c not in equation]
    widths = [len(shape) - len(term.replace("...", "")) for term, shape in zip(terms, shapes)]
    ellipsis = "".join(spare[:max(widths + [0])])
    terms = [term.replace("...", ellipsis[len(ellipsis) - w:] if w else "")
             for term, w in zip(terms, widths)]
    for term, shape in zip(terms, shapes):
        if len(term) != len(shape):
            raise ShapeError(f"einsum: subscripts {term!r} do not fit an operand of shape "
                             f"{tuple(shape)}")
    if arrow:
        return terms, output.replace("...", ellipsis)
    letters = "".join(terms)
    singles = sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ellipsis)
    return terms, ellipsis + "".join(singles)


class Einsum(Function):
    def forward(self, *arrays, terms, output):
        self.arrays, self.terms, self.output = arrays, terms, output
        return np.asarray(np.einsum(",".join(terms) + "->" + output, *arrays))

    def backward(self, grad):
        return tuple(self._grad_of(i, grad) if need else None
                     for i, need in enumerate(self.needs_input_grad))

    def _grad_of(self, i, grad):
        term, shape = self.terms[i], self.arrays[i].shape
        others = [t for j, t in enumerate(self.terms) if j != i]
        reachable = set(self.output).union(*others)
        kept = "".join(c for c in term if c in reachable)  # letters summed in x alone are
        if len(set(kept)) != len(kept):                    # broadcast back afterwards
            raise NotImplementedError(f"einsum: the gradient of an operand with a repeated "
                                      f"subscript ({term!r}) is not supported")
        arrays = [a for j, a in enumerate(self.arrays) if j != i]
        partial = np.einsum(",".join([self.output] + others) + "->" + kept, grad, *arrays)
        partial = partial.reshape([shape[k] if c in reachable else 1
                                   for k, c in enumerate(term)])
        return np.broadcast_to(partial, shape).astype(grad.dtype)


def einsum(equation, *operands):
    """Einstein summation, e.g. einsum('bij,bjk->bik', a, b); operands may also be given as
    one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [_tensor(op) for op in operands]
    terms, output = _parse(equation, [op.shape for op in operands])
    try:
        return Einsum.apply(*operands, terms=terms, output=output)
    except ValueError as error:
        raise ShapeError(f"einsum: {error}") from None
