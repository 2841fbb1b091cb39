"""Module features as PyTorch's: containers (ModuleList/ModuleDict/ParameterList/
ParameterDict), buffers (persistent or not), registration, traversal, hooks (forward pre,
forward, full backward, with handle.remove()), zero_grad, get_submodule and
load_state_dict(strict=False)'s report; compared with torch where it has the same API."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn

torch = pytest.importorskip("torch", reason="the parity tests need torch")


def _build(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = lib.nn.ModuleDict({"b": lib.nn.Linear(3, 4), "a": lib.nn.Linear(4, 2)})
            self.extra = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2)),
                                               lib.nn.Parameter(lib.zeros(3))])
            self.named = lib.nn.ParameterDict({"y": lib.nn.Parameter(lib.ones(1)),
                                               "x": lib.nn.Parameter(lib.ones(2))})
            self.layers = lib.nn.ModuleList([lib.nn.ReLU()])
            self.layers.append(lib.nn.Tanh())
            self.register_buffer("step", lib.zeros(1))
            self.register_buffer("cache", lib.zeros(2), persistent=False)
            self.register_parameter("scale", lib.nn.Parameter(lib.ones(1)))
            self.register_module("head", lib.nn.Linear(2, 1))

        def forward(self, x):
            x = self.blocks["a"](self.layers[0](self.blocks["b"](x)))
            return self.head(self.layers[1](x * self.extra[0]) * self.scale)

    return Net()


def test_containers_and_registration_name_state_as_torch():
    ours, theirs = _build(hpnn), _build(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert "cache" not in ours.state_dict() and "cache" in dict(ours.named_buffers())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(hpnn.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert ours.get_submodule("blocks.a") is ours.blocks["a"]
    assert ours.get_parameter("blocks.a.bias") is ours.blocks["a"].bias
    assert ours.get_buffer("step") is ours.step
    with pytest.raises(AttributeError, match="nope"):
        ours.get_submodule("blocks.nope")


def test_module_list_editing_as_torch():
    for lib in (hpnn, torch):
        layers = lib.nn.ModuleList([lib.nn.ReLU(), lib.nn.Tanh()])
        layers.insert(1, lib.nn.Sigmoid())
        layers += [lib.nn.GELU()]
        del layers[0]
        layers[-1] = lib.nn.ELU()
        popped = layers.pop(0)
        assert type(popped).__name__ == "Sigmoid"
        assert [type(m).__name__ for m in layers] == ["Tanh", "ELU"]
        assert list(layers.state_dict()) == [] and len(layers[:1]) == 1


def test_load_state_dict_non_strict_reports_keys():
    model = _build(hpnn)
    state = dict(model.state_dict())
    del state["head.bias"]
    state["unknown"] = np.zeros(1)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["head.bias"] and result.unexpected_keys == ["unknown"]
    with pytest.raises(RuntimeError, match="head.bias"):
        model.load_state_dict(state)


def test_forward_pre_hook_and_forward_hook_change_args_and_output_then_remove():
    layer = nn.Linear(3, 2)
    calls = []
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = layer.register_forward_hook(lambda m, args, out: calls.append(out) or out + 1)
    x = hpnn.randn(4, 3)
    out = layer(x)
    np.testing.assert_allclose(out.numpy(), layer.bias.numpy() + np.ones((4, 2)), rtol=1e-6)
    assert len(calls) == 1
    pre.remove()
    post.remove()
    np.testing.assert_allclose(layer(x).numpy(), (x @ layer.weight.T + layer.bias).numpy(),
                               rtol=1e-5)
    assert len(calls) == 1


def test_hooks_with_kwargs_and_prepend_order():
    layer, order = nn.Identity(), []
    layer.register_forward_hook(lambda m, a, o: order.append("first"))
    layer.register_forward_hook(lambda m, a, o: order.append("prepended"), prepend=True)
    layer.register_forward_pre_hook(lambda m, a, k: (a, k), with_kwargs=True)
    layer(hpnn.ones(1))
    assert order == ["prepended", "first"]


def test_hooks_see_each_layer_inside_a_fusing_sequential():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(8, 3), nn.ReLU())
    seen = []
    for module in model:
        module.register_forward_hook(lambda m, a, o: seen.append(type(m).__name__))
    model(hpnn.randn(2, 1, 6, 6))
    assert seen == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "ReLU"]


def _backward_hook_record(lib, x, replace):
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 2)
    if lib is hpnn:
        ours = nn.Linear(3, 2)
        ours.load_state_dict({k: v.detach().numpy() for k, v in layer.state_dict().items()})
        layer = ours
    record = {}

    def hook(module, grad_input, grad_output):
        record["in"] = [None if g is None else np.array(g.numpy()) for g in grad_input]
        record["out"] = [np.array(g.numpy()) for g in grad_output]
        return (grad_input[0] * 2,) if replace and grad_input[0] is not None else None

    layer.register_full_backward_hook(hook)
    xt = lib.tensor(x, requires_grad=True) if replace is not None else lib.tensor(x)
    out = layer(xt)
    (out * out).sum().backward()
    grads = [None if xt.grad is None else xt.grad.numpy(), layer.weight.grad.numpy()]
    return record, grads


@pytest.mark.filterwarnings("ignore:Full backward hook")  # torch's note for replace=None
@pytest.mark.parametrize("replace", [None, False, True])
def test_full_backward_hook_matches_torch(replace):
    """replace None: the input needs no grad (grad_input is (None,)); True: the hook doubles
    grad_input and the input's gradient must show it."""
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    ours, our_grads = _backward_hook_record(hpnn, x, replace)
    theirs, their_grads = _backward_hook_record(torch, x, replace)
    for a, b in zip(ours["in"] + ours["out"] + our_grads,
                    theirs["in"] + theirs["out"] + their_grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_backward_hook_handle_remove_stops_calls():
    layer, calls = nn.Linear(2, 2), []
    handle = layer.register_full_backward_hook(lambda m, gi, go: calls.append(1))
    layer(hpnn.randn(1, 2, requires_grad=True)).sum().backward()
    handle.remove()
    layer(hpnn.randn(1, 2, requires_grad=True)).sum().backward()
    assert calls == [1]


def test_zero_grad_apply_and_requires_grad():
    model = _build(hpnn)
    model(hpnn.randn(2, 3)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all(p.grad is None or not p.grad.numpy().any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    names = []
    model.apply(lambda m: names.append(type(m).__name__))
    assert names[-1] == "Net" and "ModuleDict" in names
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_bad_registrations_raise():
    model = nn.Module()
    with pytest.raises(TypeError, match="hook"):
        model.register_forward_hook(3)
    with pytest.raises(TypeError, match="Parameter"):
        nn.ParameterList([np.zeros(2)])
    with pytest.raises(KeyError, match="name"):
        model.add_module("a.b", nn.ReLU())
    with pytest.raises(KeyError, match="already exists"):
        nn.Linear(2, 2).register_buffer("weight", hpnn.zeros(2))
    with pytest.raises(TypeError, match="buffer 'b'"):
        model.register_buffer("b", 3)
    with pytest.raises(IndexError, match="index"):
        nn.ModuleList([nn.ReLU()])[3]
