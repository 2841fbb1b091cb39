"""inplace=True on relu, leaky_relu and dropout (functional and modules), as PyTorch: the
result is written into the input's array and the input object itself is returned; a leaf that
requires grad is refused; gradients are those of the out-of-place op; an in-place op that
overwrites an array a backward still needs makes that backward raise."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
import hpnn.nn.functional as F

RNG = np.random.default_rng(3)
X = RNG.standard_normal((4, 6)).astype(np.float32)
UPSTREAM = RNG.standard_normal((4, 6)).astype(np.float32)
INPLACE_OPS = {
    "relu": lambda t: F.relu(t, inplace=True),
    "relu_": F.relu_,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.2, inplace=True),
    "leaky_relu_": lambda t: F.leaky_relu_(t, 0.2),
    "dropout": lambda t: F.dropout(t, 0.4, inplace=True),
    "dropout_p1": lambda t: F.dropout(t, 1.0, inplace=True),
    "ReLU": nn.ReLU(inplace=True),
    "LeakyReLU": nn.LeakyReLU(0.2, inplace=True),
    "Dropout": nn.Dropout(0.4, inplace=True),
}
OUT_OF_PLACE = {
    "relu": F.relu, "relu_": F.relu, "ReLU": F.relu,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.2), "leaky_relu_": lambda t: F.leaky_relu(t, 0.2),
    "LeakyReLU": lambda t: F.leaky_relu(t, 0.2),
    "dropout": lambda t: F.dropout(t, 0.4), "Dropout": lambda t: F.dropout(t, 0.4),
    "dropout_p1": lambda t: F.dropout(t, 1.0),
}


def _run(op, inplace, x=X, upstream=UPSTREAM):
    """(output values, d sum(out * upstream) / d leaf, whether out is the op's input) for the
    op applied to a non-leaf made from the leaf x; the same dropout mask in both modes."""
    hpnn.manual_seed(5)
    leaf = hpnn.tensor(x.copy(), requires_grad=True)
    hidden = leaf * 1.0
    array = hidden.numpy()
    out = (INPLACE_OPS if inplace else OUT_OF_PLACE)[op](hidden)
    (out * hpnn.tensor(upstream)).sum().backward()
    return out.numpy(), leaf.grad.numpy(), out is hidden and out.numpy() is array


@pytest.mark.parametrize("op", INPLACE_OPS)
def test_inplace_returns_its_input_with_the_out_of_place_values_and_gradients(op):
    values, grad, same = _run(op, inplace=True)
    expected_values, expected_grad, _ = _run(op, inplace=False)
    assert same
    np.testing.assert_array_equal(values, expected_values)
    np.testing.assert_array_equal(grad, expected_grad)


@pytest.mark.parametrize("op", INPLACE_OPS)
def test_inplace_on_a_leaf_that_requires_grad_is_refused_outside_no_grad(op):
    leaf = hpnn.tensor(X.copy(), requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                           "in an in-place operation"):
        INPLACE_OPS[op](leaf)
    np.testing.assert_array_equal(leaf.numpy(), X)
    with hpnn.no_grad():
        assert INPLACE_OPS[op](leaf) is leaf
    plain = hpnn.tensor(X.copy())  # no grad needed: written in place, no graph
    out = INPLACE_OPS[op](plain)
    assert out is plain and out.grad_fn is None and not out.requires_grad
    assert not np.array_equal(plain.numpy(), X)


def test_torch_refuses_the_same_leaf():
    torch = pytest.importorskip("torch")
    leaf = torch.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                           "in an in-place operation"):
        torch.nn.functional.relu(leaf, inplace=True)


@pytest.mark.parametrize("op", ["relu", "leaky_relu", "ReLU", "LeakyReLU"])
def test_inplace_activation_values_and_gradients_match_torch(op):
    torch = pytest.importorskip("torch")
    theirs = {"relu": lambda t: torch.nn.functional.relu(t, inplace=True),
              "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.2, inplace=True),
              "ReLU": torch.nn.ReLU(inplace=True), "LeakyReLU": torch.nn.LeakyReLU(0.2, True)}[op]
    x = X.copy()
    x[0, :3] = 0.0  # the kink: gradient 0 (relu) or the slope (leaky), as torch
    values, grad, _ = _run(op, inplace=True, x=x)
    leaf = torch.tensor(x, requires_grad=True)
    hidden = leaf * 1.0
    out = theirs(hidden)
    assert out is hidden
    (out * torch.tensor(UPSTREAM)).sum().backward()
    np.testing.assert_array_equal(values, out.detach().numpy())
    np.testing.assert_allclose(grad, leaf.grad.numpy(), rtol=1e-6, atol=0)


def test_inplace_dropout_gradient_is_the_mask_times_the_scale():
    p = 0.4
    values, grad, _ = _run("dropout", inplace=True)
    kept = values != 0
    assert 0 < kept.sum() < kept.size
    np.testing.assert_allclose(values[kept], X[kept] / np.float32(1 - p), rtol=1e-6)
    np.testing.assert_allclose(grad, np.where(kept, UPSTREAM / np.float32(1 - p), 0), rtol=1e-6)


def test_inplace_writes_into_a_strided_view():
    leaf = hpnn.tensor(X.copy(), requires_grad=True)
    hidden = (leaf * 1.0).permute(1, 0)  # a transposed view: not contiguous
    assert not hidden.numpy().flags.c_contiguous
    out = F.leaky_relu(hidden, 0.3, inplace=True)
    assert out is hidden
    out.backward(UPSTREAM.T.copy())
    np.testing.assert_allclose(out.numpy(), np.where(X > 0, X, np.float32(0.3) * X).T,
                               rtol=1e-6)
    np.testing.assert_allclose(leaf.grad.numpy(), np.where(X > 0, 1, np.float32(0.3)) * UPSTREAM,
                               rtol=1e-6)


def _hidden():
    return hpnn.tensor(X.copy(), requires_grad=True) * 1.0


@pytest.mark.parametrize("first, second", [
    (F.sigmoid, F.relu_),                                  # sigmoid saved its output
    (F.relu_, lambda t: F.dropout(t, 0.5, inplace=True)),  # so did the in-place relu
    (F.relu_, F.relu_),
])
def test_overwriting_an_output_a_backward_needs_makes_that_backward_raise(first, second):
    out = second(first(_hidden()))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_torch_raises_for_the_same_overwrite():
    torch = pytest.importorskip("torch")
    out = torch.nn.functional.relu_(torch.sigmoid(torch.tensor(X, requires_grad=True)))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_outputs_backward_does_not_need_can_be_overwritten():
    hidden = _hidden()
    out = F.relu_(F.dropout(F.linear(hidden, hpnn.tensor(np.eye(6, dtype=np.float32))), 0.5,
                            inplace=True))
    out.sum().backward()  # linear and dropout saved no output: nothing raised


def test_a_tensor_an_op_already_took_is_refused():
    hidden = _hidden()
    hidden * 2.0
    with pytest.raises(RuntimeError, match="already used by an op"):
        F.relu_(hidden)


def test_inplace_leaky_relu_with_a_negative_slope_cannot_backward_as_torch():
    out = F.leaky_relu(_hidden(), -0.5, inplace=True)  # the forward is fine
    np.testing.assert_allclose(out.numpy(), np.where(X > 0, X, -0.5 * X), rtol=1e-6)
    with pytest.raises(RuntimeError, match="negative slope"):
        out.sum().backward()


def test_sequential_inplace_relu_before_max_pool_still_overwrites_its_input():
    model = nn.Sequential(nn.ReLU(inplace=True), nn.MaxPool2d(2))
    x = hpnn.tensor(X.reshape(1, 1, 4, 6).copy())
    out = model(x)
    np.testing.assert_array_equal(x.numpy(), np.maximum(X, 0).reshape(x.shape))
    np.testing.assert_array_equal(out.numpy(), nn.MaxPool2d(2)(x).numpy())
    with pytest.raises(RuntimeError, match="leaf Variable"):
        model(hpnn.tensor(X.reshape(1, 1, 4, 6).copy(), requires_grad=True))
    model = nn.Sequential(nn.Identity(), nn.ReLU(inplace=True), nn.MaxPool2d(2))
    x = hpnn.tensor(X.reshape(1, 1, 4, 6).copy())
    model(x)
    np.testing.assert_array_equal(x.numpy(), np.maximum(X, 0).reshape(x.shape))


def test_model_with_inplace_layers_matches_torch():
    torch = pytest.importorskip("torch")
    hpnn.manual_seed(0)
    ours = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(inplace=True),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 5),
                         nn.LeakyReLU(0.1, inplace=True), nn.Linear(5, 2))
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.ReLU(inplace=True),
        torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(12, 5),
        torch.nn.LeakyReLU(0.1, inplace=True), torch.nn.Linear(5, 2))
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = RNG.standard_normal((2, 2, 6, 6)).astype(np.float32)
    inputs, expected_inputs = hpnn.tensor(x, requires_grad=True), torch.tensor(
        x, requires_grad=True)
    out, expected = ours(inputs), theirs(expected_inputs)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-4, atol=1e-5)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(inputs.grad.numpy(), expected_inputs.grad.numpy(), rtol=1e-4,
                               atol=1e-5)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)
