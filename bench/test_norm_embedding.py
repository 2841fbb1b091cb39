"""Layer norm and embedding, forward + backward, at the sizes of the LSTM language model
(35 x 20 tokens, 200 features, 5000 words) and the character transformer (32 x 64 tokens, 128
features) of issue 15: hpnn's kernels against torch CPU's aten ops, at 1 and 2 threads.

Run: python -m pytest bench/test_norm_embedding.py --benchmark-group-by=param:case
The summary's last column is torch's time over hpnn's (the target is >= 1.5).
"""
import numpy as np
import pytest

from hpnn import kernels

LAYER_NORM = {"layernorm_lm": (20 * 35, 200), "layernorm_gpt": (32 * 64, 128)}
EMBEDDING = (5000, 200, (35, 20))  # num_embeddings, dim, index shape


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    out = {}
    for case, (rows, dim) in LAYER_NORM.items():
        out[case] = dict(x=rng.standard_normal((rows, dim), dtype=np.float32),
                         grad=rng.standard_normal((rows, dim), dtype=np.float32),
                         weight=rng.standard_normal(dim, dtype=np.float32),
                         bias=rng.standard_normal(dim, dtype=np.float32))
    num, dim, shape = EMBEDDING
    out["embedding"] = dict(weight=rng.standard_normal((num, dim), dtype=np.float32),
                            indices=rng.integers(0, num, size=shape),
                            grad=rng.standard_normal(shape + (dim,), dtype=np.float32))
    return out


def hpnn_case(case, a):
    if case == "embedding":
        def run():
            kernels.embedding_forward(a["weight"], a["indices"])
            kernels.embedding_backward(a["grad"], a["indices"], a["weight"].shape[0])
        return run
    shape = a["x"].shape[-1:]

    def run():
        _, mean, rstd = kernels.layer_norm_forward(a["x"], shape, a["weight"], a["bias"])
        kernels.layer_norm_backward(a["grad"], a["x"], shape, a["weight"], mean, rstd)
    return run


def torch_case(case, a):
    torch = pytest.importorskip("torch")
    aten = torch.ops.aten
    t = {k: torch.from_numpy(v) for k, v in a.items()}
    if case == "embedding":
        num = a["weight"].shape[0]

        def run():
            aten.embedding(t["weight"], t["indices"])
            aten.embedding_dense_backward(t["grad"], t["indices"], num, -1, False)
        return run
    shape = list(a["x"].shape[-1:])

    def run():
        _, mean, rstd = aten.native_layer_norm(t["x"], shape, t["weight"], t["bias"], 1e-5)
        aten.native_layer_norm_backward(t["grad"], t["x"], shape, mean, rstd, t["weight"],
                                        t["bias"], [True, True, True])
    return run


RUNNERS = {"hpnn": hpnn_case, "torch": torch_case}
CASES = list(LAYER_NORM) + ["embedding"]


def _shape_of(case):
    return LAYER_NORM.get(case, EMBEDDING)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("impl", list(RUNNERS))
@pytest.mark.parametrize("case", CASES)
def test_norm_embedding(measure, arrays, case, impl, threads):
    run = RUNNERS[impl](case, arrays[case])
    group = f"{case}_fwd_bwd {_shape_of(case)} threads={threads}"
    measure(run, group, impl, threads, rounds=200, warmup_rounds=10)
