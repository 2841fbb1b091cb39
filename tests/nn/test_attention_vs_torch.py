"""F.scaled_dot_product_attention, nn.MultiheadAttention and the nn.Transformer family against
PyTorch: torch's weights loaded into hpnn's modules, outputs and every parameter gradient
compared (train mode with dropout 0, and eval mode)."""
import numpy as np
import pytest

import hpnn
import hpnn.nn.functional as F

torch = pytest.importorskip("torch", reason="the parity tests need PyTorch")

# float32 through a few GEMMs, softmax and LayerNorms: a few ulps of the largest values.
ATOL, RTOL = 2e-5, 2e-4


def _h(t, grad=False):
    return hpnn.tensor(t.detach().numpy().copy(), requires_grad=grad)


def _close(actual, expected, what):
    np.testing.assert_allclose(actual.numpy() if hasattr(actual, "numpy") else actual,
                               expected.detach().numpy(), atol=ATOL, rtol=RTOL, err_msg=what)


def _load(hmodule, tmodule):
    hmodule.load_state_dict({k: v.detach().numpy().copy()
                             for k, v in tmodule.state_dict().items()})


def _compare_grads(hmodule, tmodule):
    hparams = dict(hmodule.named_parameters())
    tparams = dict(tmodule.named_parameters())
    assert sorted(hparams) == sorted(tparams)
    for name, tparam in tparams.items():
        _close(hparams[name].grad, tparam.grad, f"gradient of {name}")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ---- scaled_dot_product_attention ----------------------------------------------------------

def _sdpa_case(**kwargs):
    q = torch.randn(2, 3, 5, 8, requires_grad=True)
    k = torch.randn(2, 3, 7, 8, requires_grad=True)
    v = torch.randn(2, 3, 7, 6, requires_grad=True)
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, **kwargs)
    grad = torch.randn_like(out)
    out.backward(grad)
    hq, hk, hv = _h(q, True), _h(k, True), _h(v, True)
    hkwargs = {key: _h(val) if isinstance(val, torch.Tensor) else val
               for key, val in kwargs.items()}
    hout = F.scaled_dot_product_attention(hq, hk, hv, **hkwargs)
    hout.backward(_h(grad))
    _close(hout, out, "output")
    for name, h, t in (("query", hq, q), ("key", hk, k), ("value", hv, v)):
        _close(h.grad, t.grad, f"gradient of {name}")


def _bool_mask(shape):
    mask = torch.rand(shape) > 0.4
    mask[..., 0] = True
    return mask


@pytest.mark.parametrize("kwargs", [
    {}, {"is_causal": True}, {"scale": 0.37}, {"dropout_p": 0.0},
    {"attn_mask": "bool"}, {"attn_mask": "float"}, {"attn_mask": "float-batch"},
    {"attn_mask": "bool-keys"},
], ids=str)
def test_sdpa(kwargs):
    kwargs = dict(kwargs)
    kind = kwargs.get("attn_mask")
    if kind == "bool":
        kwargs["attn_mask"] = _bool_mask((5, 7))
    elif kind == "float":
        kwargs["attn_mask"] = torch.randn(5, 7)
    elif kind == "float-batch":
        kwargs["attn_mask"] = torch.randn(2, 1, 5, 7)
    elif kind == "bool-keys":
        kwargs["attn_mask"] = _bool_mask((2, 1, 1, 7))
    _sdpa_case(**kwargs)


def test_sdpa_fully_masked_rows_are_zero_as_torch():
    mask = _bool_mask((5, 7))
    mask[2] = False
    _sdpa_case(attn_mask=mask)


def test_sdpa_enable_gqa():
    q, k, v = torch.randn(2, 4, 5, 8), torch.randn(2, 2, 6, 8), torch.randn(2, 2, 6, 8)
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    _close(F.scaled_dot_product_attention(_h(q), _h(k), _h(v), enable_gqa=True), out, "gqa")


def test_sdpa_causal_with_mask_raises():
    q = hpnn.tensor(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.zeros((3, 3), np.float32),
                                       is_causal=True)


# ---- MultiheadAttention ---------------------------------------------------------------------

def _mha_pair(**kwargs):
    tmodule = torch.nn.MultiheadAttention(16, 4, **kwargs)
    hmodule = hpnn.nn.MultiheadAttention(16, 4, **kwargs)
    _load(hmodule, tmodule)
    return hmodule, tmodule


def _mha_inputs(batch_first, kdim=16, vdim=16, target=5, source=6, batch=3):
    def shape(length, dim):
        return (batch, length, dim) if batch_first else (length, batch, dim)
    return (torch.randn(shape(target, 16), requires_grad=True),
            torch.randn(shape(source, kdim), requires_grad=True),
            torch.randn(shape(source, vdim), requires_grad=True))


def _run_mha(hmodule, tmodule, inputs, **kwargs):
    tout, tweights = tmodule(*inputs, **kwargs)
    grad = torch.randn_like(tout)
    loss = (tout * grad).sum() + (tweights.sum() if tweights is not None else 0)
    loss.backward()
    hinputs = [_h(t, True) for t in inputs]
    hkwargs = {key: _h(val) if isinstance(val, torch.Tensor) else val
               for key, val in kwargs.items()}
    hout, hweights = hmodule(*hinputs, **hkwargs)
    hloss = (hout * _h(grad)).sum()
    if hweights is not None:
        hloss = hloss + hweights.sum()
        _close(hweights, tweights, "attention weights")
    else:
        assert tweights is None
    hloss.backward()
    _close(hout, tout, "output")
    for h, t in zip(hinputs, inputs):
        _close(h.grad, t.grad, "input gradient")
    _compare_grads(hmodule, tmodule)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha(batch_first, need_weights):
    hmodule, tmodule = _mha_pair(batch_first=batch_first)
    _run_mha(hmodule, tmodule, _mha_inputs(batch_first), need_weights=need_weights)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_masks(need_weights):
    hmodule, tmodule = _mha_pair(batch_first=True)
    padding = torch.rand(3, 6) > 0.7
    padding[:, 0] = False
    attn_mask = torch.rand(5, 6) > 0.8
    attn_mask[:, 0] = False
    _run_mha(hmodule, tmodule, _mha_inputs(True), key_padding_mask=padding,
             attn_mask=attn_mask, need_weights=need_weights)


def test_mha_float_mask_per_head_and_unaveraged_weights():
    hmodule, tmodule = _mha_pair()
    _run_mha(hmodule, tmodule, _mha_inputs(False), attn_mask=torch.randn(12, 5, 6),
             average_attn_weights=False)


def test_mha_kdim_vdim_and_no_bias():
    hmodule, tmodule = _mha_pair(kdim=10, vdim=12, bias=False)
    assert hmodule.in_proj_weight is None and hmodule.k_proj_weight.shape == (16, 10)
    _run_mha(hmodule, tmodule, _mha_inputs(False, kdim=10, vdim=12))


def test_mha_unbatched():
    hmodule, tmodule = _mha_pair()
    inputs = [torch.randn(5, 16, requires_grad=True)] + \
        [torch.randn(6, 16, requires_grad=True) for _ in range(2)]
    _run_mha(hmodule, tmodule, inputs)


def test_mha_add_bias_kv_is_not_implemented():
    with pytest.raises(NotImplementedError, match="add_bias_kv"):
        hpnn.nn.MultiheadAttention(16, 4, add_bias_kv=True)


# ---- encoder, decoder, Transformer ------------------------------------------------------------

def _run_module(hmodule, tmodule, inputs, train=True, **kwargs):
    hmodule.train(train)
    tmodule.train(train)
    tout = tmodule(*inputs, **kwargs)
    grad = torch.randn_like(tout)
    (tout * grad).sum().backward()
    hinputs = [_h(t, True) for t in inputs]
    hkwargs = {key: _h(val) if isinstance(val, torch.Tensor) else val
               for key, val in kwargs.items()}
    hout = hmodule(*hinputs, **hkwargs)
    (hout * _h(grad)).sum().backward()
    _close(hout, tout, "output")
    for h, t in zip(hinputs, inputs):
        _close(h.grad, t.grad, "input gradient")
    _compare_grads(hmodule, tmodule)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer(norm_first, activation):
    options = dict(dim_feedforward=32, dropout=0.0, activation=activation,
                   norm_first=norm_first, batch_first=True)
    tmodule = torch.nn.TransformerEncoderLayer(16, 4, **options)
    hmodule = hpnn.nn.TransformerEncoderLayer(16, 4, **options)
    _load(hmodule, tmodule)
    src = torch.randn(3, 7, 16, requires_grad=True)
    padding = torch.zeros(3, 7, dtype=torch.bool)
    padding[0, 5:] = True
    _run_module(hmodule, tmodule, [src], src_key_padding_mask=padding)


@pytest.mark.parametrize("train", [True, False])
def test_encoder_with_causal_mask(train):
    layer = torch.nn.TransformerEncoderLayer(16, 2, dim_feedforward=24, dropout=0.0)
    tmodule = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(16),
                                          enable_nested_tensor=False)
    hlayer = hpnn.nn.TransformerEncoderLayer(16, 2, dim_feedforward=24, dropout=0.0)
    hmodule = hpnn.nn.TransformerEncoder(hlayer, 2, norm=hpnn.nn.LayerNorm(16))
    assert hmodule.layers[0] is not hmodule.layers[1] and hmodule.layers[0] is not hlayer
    _load(hmodule, tmodule)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(6)
    hmask = hpnn.nn.Transformer.generate_square_subsequent_mask(6)
    np.testing.assert_array_equal(hmask.numpy(), mask.numpy())
    _run_module(hmodule, tmodule, [torch.randn(6, 2, 16, requires_grad=True)], train=train,
                mask=mask)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_decoder(train, norm_first):
    options = dict(d_model=16, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                   dim_feedforward=32, dropout=0.0, norm_first=norm_first)
    tmodule = torch.nn.Transformer(**options)
    hmodule = hpnn.nn.Transformer(**options)
    assert sorted(hmodule.state_dict()) == sorted(tmodule.state_dict())
    _load(hmodule, tmodule)
    src = torch.randn(7, 2, 16, requires_grad=True)
    tgt = torch.randn(5, 2, 16, requires_grad=True)
    tgt_mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    memory_padding = torch.zeros(2, 7, dtype=torch.bool)
    memory_padding[1, 6:] = True
    _run_module(hmodule, tmodule, [src, tgt], train=train, tgt_mask=tgt_mask,
                memory_key_padding_mask=memory_padding)


def test_transformer_init_as_torch():
    hmodule = hpnn.nn.Transformer(d_model=32, nhead=4, num_encoder_layers=1,
                                  num_decoder_layers=1, dim_feedforward=64)
    weight = hmodule.encoder.layers[0].self_attn.in_proj_weight.numpy()
    bound = np.sqrt(6.0 / (32 + 96))  # xavier-uniform of the (96, 32) in_proj_weight
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.9 * bound
    assert not hmodule.encoder.layers[0].self_attn.in_proj_bias.numpy().any()
