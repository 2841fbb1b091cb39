"""Attention, forward + backward, at the size of issue 15's character transformer (nanoGPT-like:
d=128, 4 heads, FF 512, causal, 32 sequences x 64 tokens): one pre-norm
TransformerEncoderLayer, and scaled_dot_product_attention alone, hpnn against torch CPU with
the same weights, at 1 and 2 threads.

Run: python -m pytest bench/test_attention.py --benchmark-group-by=param:case
The summary's last column is torch's time over hpnn's (the target is >= 1.5).
"""
import numpy as np
import pytest

import hpnn

DIM, HEADS, FF, BATCH, CONTEXT = 128, 4, 512, 32, 64


def _block(lib):
    return lib.nn.TransformerEncoderLayer(DIM, HEADS, FF, dropout=0.0, activation="gelu",
                                          batch_first=True, norm_first=True)


@pytest.fixture(scope="module")
def setup():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tblock = _block(torch)
    hblock = _block(hpnn)
    hblock.load_state_dict({k: v.detach().numpy().copy() for k, v in tblock.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, CONTEXT, DIM), dtype=np.float32)
    qkv = rng.standard_normal((3, BATCH, HEADS, CONTEXT, DIM // HEADS), dtype=np.float32)
    return dict(torch=torch, blocks={"hpnn": hblock, "torch": tblock}, x=x, qkv=qkv)


def _runner(case, impl, s):
    lib = s["torch"] if impl == "torch" else hpnn
    mask = lib.nn.Transformer.generate_square_subsequent_mask(CONTEXT)
    if case == "block":
        block = s["blocks"][impl]

        def run():
            x = lib.tensor(s["x"], requires_grad=True)
            block(x, src_mask=mask, is_causal=True).sum().backward()
        return run

    def run():
        q, k, v = (lib.tensor(a, requires_grad=True) for a in s["qkv"])
        lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    return run


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("impl", ["hpnn", "torch"])
@pytest.mark.parametrize("case", ["block", "sdpa"])
def test_attention(measure, setup, case, impl, threads):
    group = f"{case}_fwd_bwd d={DIM} h={HEADS} ff={FF} {BATCH}x{CONTEXT} causal threads={threads}"
    measure(_runner(case, impl, setup), group, impl, threads, rounds=30, warmup_rounds=3)
