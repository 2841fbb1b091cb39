"""hpnn.compile takes torch.compile's arguments and returns what it was given."""
import pytest

import hpnn


def test_compile_returns_the_module_and_it_still_trains():
    model = hpnn.nn.Linear(3, 2)
    compiled = hpnn.compile(model, mode="reduce-overhead", dynamic=False)
    assert compiled is model
    compiled(hpnn.randn(4, 3)).sum().backward()
    assert model.weight.grad is not None


def test_compile_as_a_decorator_with_and_without_arguments():
    @hpnn.compile
    def double(x):
        return x * 2

    @hpnn.compile(fullgraph=True)
    def triple(x):
        return x * 3

    assert double(2) == 4 and triple(2) == 6


@pytest.mark.parametrize("kwargs, error", [({"mode": "fastest"}, ValueError),
                                           ({"backend": "tensorrt"}, ValueError)])
def test_compile_rejects_unknown_options(kwargs, error):
    with pytest.raises(error, match="compile: argument"):
        hpnn.compile(hpnn.nn.Linear(1, 1), **kwargs)


def test_compile_rejects_what_cannot_be_called():
    with pytest.raises(TypeError, match="'model'"):
        hpnn.compile(3)
