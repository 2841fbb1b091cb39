"""Sequential runs ReLU -> MaxPool2d as MaxPool2d -> ReLU (cheaper: the ReLU then sees the
pooled output only), and Linear or Conv2d -> ReLU as one node. The results and the gradients
must be exactly those of the written order."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn


def _chained(modules, x):
    for module in modules:
        x = module(x)
    return x


def _values_and_grads(run, model, x):
    model.zero_grad()
    inputs = hpnn.Tensor(x, requires_grad=True)
    out = run(inputs)
    (out * hpnn.Tensor(np.arange(out.numel(), dtype=np.float32).reshape(out.shape))).sum() \
        .backward()
    return [out.numpy(), inputs.grad.numpy()] + [p.grad.numpy() for p in model.parameters()]


@pytest.mark.parametrize("pool", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                  dict(kernel_size=2, ceil_mode=True, dilation=1)])
def test_relu_then_max_pool_matches_the_written_order(rng, pool):
    hpnn.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.MaxPool2d(**pool), nn.Flatten(),
                          nn.ReLU(), nn.Identity())
    # integers: many exact ties, zeros and all-negative windows
    x = rng.integers(-3, 3, size=(2, 2, 9, 9)).astype(np.float32)
    fused = _values_and_grads(model, model, x)
    plain = _values_and_grads(lambda t: _chained(list(model), t), model, x)
    for got, expected in zip(fused, plain):
        np.testing.assert_array_equal(got, expected)


def test_no_reordering_when_the_pool_returns_indices_or_for_subclasses(rng):
    class Negated(nn.ReLU):  # a subclass may have changed forward: run as written
        def forward(self, input):
            return -super().forward(input)

    x = hpnn.Tensor(rng.standard_normal((1, 1, 4, 4)).astype(np.float32))
    model = nn.Sequential(Negated(), nn.MaxPool2d(2))
    np.testing.assert_array_equal(model(x).numpy(), _chained(list(model), x).numpy())
    values, indices = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2, return_indices=True))(x)
    expected, expected_indices = nn.MaxPool2d(2, return_indices=True)(nn.ReLU()(x))
    np.testing.assert_array_equal(values.numpy(), expected.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())


def test_linear_then_relu_matches_the_written_order(rng):
    hpnn.manual_seed(1)
    model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 6, bias=False), nn.ReLU(),
                          nn.Linear(6, 3))
    x = rng.integers(-2, 3, size=(4, 3, 5)).astype(np.float32)  # exact zeros in the products
    fused = _values_and_grads(model, model, x)
    plain = _values_and_grads(lambda t: _chained(list(model), t), model, x)
    for got, expected in zip(fused, plain):
        np.testing.assert_array_equal(got, expected)


def test_no_fusion_with_subclasses(rng):
    class Negated(nn.ReLU):
        def forward(self, input):
            return -super().forward(input)

    class Doubled(nn.Linear):
        def forward(self, input):
            return super().forward(input) * 2.0

    hpnn.manual_seed(2)
    x = hpnn.Tensor(rng.standard_normal((3, 4)).astype(np.float32))
    for model in (nn.Sequential(nn.Linear(4, 4), Negated()),
                  nn.Sequential(Doubled(4, 4), nn.ReLU())):
        np.testing.assert_array_equal(model(x).numpy(), _chained(list(model), x).numpy())


@pytest.mark.parametrize("layers", [
    lambda: [nn.Conv2d(3, 16, 3), nn.ReLU()],                         # padded grid
    lambda: [nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()],             # Winograd
    lambda: [nn.Conv2d(3, 5, 1), nn.ReLU()],                          # pointwise
    lambda: [nn.Conv2d(3, 4, 3, stride=2, bias=False), nn.ReLU()],    # strided, no bias
    lambda: [nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), nn.ReLU()],
])
def test_conv_then_relu_matches_the_written_order(rng, layers):
    hpnn.manual_seed(3)
    model = nn.Sequential(*layers(), nn.Flatten())
    channels = model[0].in_channels
    x = rng.integers(-2, 3, size=(2, channels, 7, 8)).astype(np.float32)  # exact zero sums
    fused = _values_and_grads(model, model, x)
    plain = _values_and_grads(lambda t: _chained(list(model), t), model, x)
    for got, expected in zip(fused, plain):
        np.testing.assert_array_equal(got, expected)
    assert type(model[:2](hpnn.Tensor(x, requires_grad=True))._ctx).__name__ == "Conv2dReLU"


def test_conv_relu_pool_keeps_the_pool_swap(rng):
    """Conv2d -> ReLU -> MaxPool2d runs the conv alone and the relu after the pool (its backward
    then masks the pooled gradient only), not the conv and relu fused."""
    hpnn.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.MaxPool2d(2))
    x = hpnn.Tensor(rng.standard_normal((1, 2, 8, 8)).astype(np.float32), requires_grad=True)
    out = model(x)
    assert type(out._ctx).__name__ == "Relu"  # the relu node is last: it ran after the pool
    np.testing.assert_array_equal(out.numpy(), _chained(list(model), x).numpy())
