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


@pytest.mark.parametrize("conv,pool", [
    (lambda: nn.Conv2d(1, 8, 3), dict(kernel_size=2)),                         # direct few-tap
    (lambda: nn.Conv2d(16, 16, 3), dict(kernel_size=2)),                       # Winograd
    (lambda: nn.Conv2d(4, 6, 3, padding=1, bias=False), dict(kernel_size=3, stride=2, padding=1)),
    (lambda: nn.Conv2d(3, 4, 3, stride=2), dict(kernel_size=2, ceil_mode=True)),
])
@pytest.mark.parametrize("batched", [True, False])
def test_conv_relu_pool_runs_as_one_node_with_the_written_results(rng, conv, pool, batched):
    """Conv2d -> ReLU -> MaxPool2d runs as one node (relu in the conv's output write, its
    backward folded into the pool's), with exactly the values and gradients of the written
    order: ties, zeros and all-negative windows included."""
    hpnn.manual_seed(4)
    model = nn.Sequential(conv(), nn.ReLU(), nn.MaxPool2d(**pool), nn.Flatten(int(batched)))
    channels = model[0].in_channels
    shape = (2, channels, 18, 19) if batched else (channels, 18, 19)
    x = rng.integers(-2, 3, size=shape).astype(np.float32)  # exact zero sums
    fused = _values_and_grads(model, model, x)
    plain = _values_and_grads(lambda t: _chained(list(model), t), model, x)
    for got, expected in zip(fused, plain):
        np.testing.assert_array_equal(got, expected)
    if batched:  # (unbatched input ends in the reshape dropping the batch)
        out = model[:3](hpnn.Tensor(x, requires_grad=True))
        assert type(out._ctx).__name__ == "Conv2dReLUMaxPool"


def test_conv_relu_pool_with_returned_indices_runs_as_written(rng):
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.MaxPool2d(2, return_indices=True))
    x = hpnn.Tensor(rng.standard_normal((1, 2, 8, 8)).astype(np.float32), requires_grad=True)
    values, indices = model(x)
    expected, expected_indices = _chained(list(model), x)
    np.testing.assert_array_equal(values.numpy(), expected.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
