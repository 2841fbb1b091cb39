"""pytorch/examples' word_language_model (LSTM and Transformer) and mnist training loops, run in
hpnn and in PyTorch from the same initial weights on the same batches: the losses agree to
float32 rounding. The models are this test's own, written once against a framework module
``fw`` (torch or hpnn), the way those scripts run with ``torch`` replaced by ``hpnn``.
Dropout is 0 here: the two frameworks' random streams differ."""
import math
import warnings

import numpy as np
import pytest

import hpnn

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these parity tests")

VOCAB, WIDTH, LAYERS, BPTT, BATCH = 40, 16, 2, 7, 4


def language_models(fw):
    nn, F = fw.nn, fw.nn.functional

    class RecurrentLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.0)
            self.encoder = nn.Embedding(VOCAB, WIDTH)
            self.rnn = nn.LSTM(WIDTH, WIDTH, LAYERS, dropout=0.0)
            self.decoder = nn.Linear(WIDTH, VOCAB)
            nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

        def forward(self, tokens, hidden):
            out, hidden = self.rnn(self.drop(self.encoder(tokens)), hidden)
            logits = self.decoder(self.drop(out)).view(-1, VOCAB)
            return F.log_softmax(logits, dim=1), hidden

        def init_hidden(self, batch):
            weight = next(self.parameters())
            return tuple(weight.new_zeros(LAYERS, batch, WIDTH) for _ in range(2))

    class Positions(nn.Module):
        def __init__(self, length=64):
            super().__init__()
            self.dropout = nn.Dropout(p=0.0)
            table = fw.zeros(length, WIDTH)
            where = fw.arange(0, length, dtype=fw.float).unsqueeze(1)
            rate = fw.exp(fw.arange(0, WIDTH, 2).float() * (-math.log(10000.0) / WIDTH))
            table[:, 0::2] = fw.sin(where * rate)
            table[:, 1::2] = fw.cos(where * rate)
            self.register_buffer("pe", table.unsqueeze(0).transpose(0, 1))

        def forward(self, x):
            return self.dropout(x + self.pe[:x.size(0), :])

    class TransformerLM(nn.Transformer):
        def __init__(self):
            super().__init__(d_model=WIDTH, nhead=2, dim_feedforward=32,
                             num_encoder_layers=LAYERS, dropout=0.0)
            self.src_mask = None
            self.pos_encoder = Positions()
            self.input_emb = nn.Embedding(VOCAB, WIDTH)
            self.decoder = nn.Linear(WIDTH, VOCAB)
            nn.init.uniform_(self.input_emb.weight, -0.1, 0.1)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

        def forward(self, src):
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                self.src_mask = fw.log(fw.tril(fw.ones(len(src), len(src))))
            src = self.pos_encoder(self.input_emb(src) * math.sqrt(WIDTH))
            return F.log_softmax(self.decoder(self.encoder(src, mask=self.src_mask)), dim=-1)

    return RecurrentLM, TransformerLM


def copy_weights(source, target):
    target.load_state_dict({k: v.detach().numpy() for k, v in source.state_dict().items()})


def corpus(fw):
    ids = np.random.default_rng(0).integers(0, VOCAB, 6 * BPTT * BATCH + 1)
    data = fw.tensor(ids, dtype=fw.long)
    rows = data.size(0) // BATCH
    return data.narrow(0, 0, rows * BATCH).view(BATCH, -1).t().contiguous()  # batchify


def repackage_hidden(fw, h):
    if isinstance(h, fw.Tensor):
        return h.detach()
    return tuple(repackage_hidden(fw, v) for v in h)


def language_model_losses(fw, model, recurrent, steps=5, lr=20.0, clip=0.25):
    """main.py's train(): bptt slices, clip_grad_norm_, p.data.add_(p.grad, alpha=-lr)."""
    source, criterion, losses = corpus(fw), fw.nn.NLLLoss(), []
    model.train()
    hidden = model.init_hidden(BATCH) if recurrent else None
    for step in range(steps):
        i = step * BPTT
        length = min(BPTT, len(source) - 1 - i)
        data, targets = source[i:i + length], source[i + 1:i + 1 + length].view(-1)
        model.zero_grad()
        if recurrent:
            hidden = repackage_hidden(fw, hidden)
            output, hidden = model(data, hidden)
        else:
            output = model(data).view(-1, VOCAB)
        loss = criterion(output, targets)
        loss.backward()
        fw.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("kind", ["LSTM", "Transformer"])
def test_word_language_model_matches_pytorch(kind):
    torch.manual_seed(0)
    index = 0 if kind == "LSTM" else 1
    theirs = language_models(torch)[index]()
    ours = language_models(hpnn)[index]()
    assert list(ours.state_dict()) == list(theirs.state_dict())  # PyTorch's names and layout
    copy_weights(theirs, ours)
    expected = language_model_losses(torch, theirs, kind == "LSTM")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # log(0) in the mask is -inf silently, as in PyTorch
        got = language_model_losses(hpnn, ours, kind == "LSTM")
    np.testing.assert_allclose(got, expected, rtol=2e-5)
    assert np.ptp(got) > 1e-3  # the steps changed the weights: not a comparison of constants


def mnist_net(fw):
    nn, F = fw.nn, fw.nn.functional

    class Net(nn.Module):  # mnist/main.py's network, dropout off
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 32, 3, 1), nn.Conv2d(32, 64, 3, 1)
            self.dropout1, self.dropout2 = nn.Dropout(0.0), nn.Dropout(0.0)
            self.fc1, self.fc2 = nn.Linear(9216, 128), nn.Linear(128, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
            x = F.relu(self.fc1(fw.flatten(self.dropout1(x), 1)))
            return F.log_softmax(self.fc2(self.dropout2(x)), dim=1)

    return Net


def mnist_losses(fw, model, steps=4):
    """main.py's train() with Adadelta(lr=1.0) and StepLR(step_size=1, gamma=0.7)."""
    rng = np.random.default_rng(1)
    images = ((rng.random((steps, 8, 1, 28, 28)) - 0.1307) / 0.3081).astype(np.float32)
    labels = rng.integers(0, 10, (steps, 8))
    optimizer = fw.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = fw.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    model.train()
    losses = []
    for data, target in zip(images, labels):
        optimizer.zero_grad()
        loss = fw.nn.functional.nll_loss(model(fw.tensor(data)), fw.tensor(target))
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


def test_mnist_matches_pytorch():
    torch.manual_seed(0)
    theirs, ours = mnist_net(torch)(), mnist_net(hpnn)()
    copy_weights(theirs, ours)
    np.testing.assert_allclose(mnist_losses(hpnn, ours), mnist_losses(torch, theirs), rtol=2e-5)


def test_log_and_sqrt_of_edge_values_are_quiet_as_in_pytorch():
    values = [0.0, -1.0, 4.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = hpnn.tensor(values, requires_grad=True)
        (hpnn.log(x) + hpnn.sqrt(x)).sum().backward()
    t = torch.tensor(values, requires_grad=True)
    (torch.log(t) + torch.sqrt(t)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
