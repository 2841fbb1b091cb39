"""A tiny causal transformer language model (token + position embeddings, two pre-norm
encoder layers with the causal mask, LayerNorm, a head) trained a few AdamW steps in hpnn and
in PyTorch from the same initial weights: the losses agree to float32 rounding."""
import numpy as np
import pytest

import hpnn

torch = pytest.importorskip("torch", reason="the parity tests need PyTorch")

VOCAB, DIM, HEADS, FF, CONTEXT, BATCH, STEPS = 23, 16, 2, 32, 12, 4, 6


def make_model(lib):
    nn = lib.nn

    class TinyLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens = nn.Embedding(VOCAB, DIM)
            self.positions = nn.Embedding(CONTEXT, DIM)
            layer = nn.TransformerEncoderLayer(DIM, HEADS, FF, dropout=0.0, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.blocks = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(DIM)
            self.head = nn.Linear(DIM, VOCAB)

        def forward(self, idx, positions, mask):
            x = self.tokens(idx) + self.positions(positions)
            x = self.blocks(x, mask=mask, is_causal=True)
            return self.head(self.norm(x))

    return TinyLM()


def train(lib, model, data, targets):
    positions = lib.tensor(np.arange(CONTEXT))
    mask = lib.nn.Transformer.generate_square_subsequent_mask(CONTEXT)
    optimizer = lib.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    losses = []
    for step in range(STEPS):
        optimizer.zero_grad()
        logits = model(lib.tensor(data[step]), positions, mask)
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, VOCAB),
                                               lib.tensor(targets[step].reshape(-1)))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_tiny_causal_lm_trains_as_torch():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, VOCAB, size=(STEPS, BATCH, CONTEXT + 1))
    data, targets = tokens[..., :-1], tokens[..., 1:]
    tmodel = make_model(torch)
    hmodel = make_model(hpnn)
    hmodel.load_state_dict({k: v.detach().numpy().copy()
                            for k, v in tmodel.state_dict().items()})
    expected = train(torch, tmodel, data, targets)
    actual = train(hpnn, hmodel, data, targets)
    assert expected[-1] < expected[0]  # it learns, so the comparison means something
    np.testing.assert_allclose(actual, expected, rtol=2e-5)
