"""End-to-end training, hpnn against PyTorch CPU at the same thread count, in one run.

Three workloads on the bundled digits, same data, architecture, initial weights (hpnn's, copied
into torch through the state_dict), shuffling order and hyper-parameters on both sides:
  E1  MLP 64-64-32-10, Adam 1e-3, batch 32, 20 epochs
  E2  CNN on the digits upscaled to 28x28, SGD 0.01 momentum 0.9, batch 64, 3 epochs
  E3  LSTM(8->64) over the 8 rows + Linear(64->10), Adam 1e-3, batch 32, 10 epochs
Each is timed whole (all epochs) as an hpnn training loop over hpnn.data.DataLoader, as hpnn's
``model.fit``, and as a torch loop over pre-batched tensors; test accuracies go into extra_info
and must agree. Plus the per-op Python overhead of Linear(64, 32) forward+backward at batch 1.

Run: python -m pytest bench/test_training.py
The closing table gives each group's median and how many times longer torch takes than hpnn.
"""
from dataclasses import dataclass, replace

import numpy as np
import pytest

import hpnn
from conftest import thread_count

SEED = 0
TEST_FRACTION = 0.2
ACCURACY_TOLERANCE = 0.03  # hpnn and torch test accuracies may differ by this much
ACCURACY_FLOOR = 0.5       # both sides must learn the task (chance is 0.1)


@dataclass(frozen=True)
class Workload:
    name: str
    layers: tuple      # (layer name, *args): hpnn.nn / torch.nn classes, or "LastHidden"
    features: str      # "flat", "image28" or "rows": how the digits are fed
    optimizer: str     # "Adam" or "SGD"
    options: tuple     # optimizer keyword arguments as (name, value) pairs
    batch_size: int
    epochs: int
    rounds: int


WORKLOADS = [
    Workload("E1_mlp", (("Linear", 64, 64), ("ReLU",), ("Linear", 64, 32), ("ReLU",),
                        ("Linear", 32, 10)),
             "flat", "Adam", (("lr", 1e-3),), batch_size=32, epochs=20, rounds=3),
    Workload("E2_cnn", (("Conv2d", 1, 32, 3), ("ReLU",), ("MaxPool2d", 2),
                        ("Conv2d", 32, 64, 3), ("ReLU",), ("MaxPool2d", 2), ("Flatten",),
                        ("Linear", 1600, 128), ("ReLU",), ("Linear", 128, 10)),
             "image28", "SGD", (("lr", 0.01), ("momentum", 0.9)), batch_size=64, epochs=3,
             rounds=3),
    Workload("E3_lstm", (("LastHidden", 8, 64), ("Linear", 64, 10)),
             "rows", "Adam", (("lr", 1e-3),), batch_size=32, epochs=10, rounds=3),
]


# ---- data ----------------------------------------------------------------------------------
def _upscale(images, size=28):
    """Nearest-neighbour resize of (N, 1, 8, 8) images to (N, 1, size, size)."""
    index = np.arange(size) * images.shape[-1] // size
    return np.ascontiguousarray(images[:, :, index][:, :, :, index])


_FEATURES = {
    "flat": lambda images: images.reshape(len(images), 64),
    "image28": _upscale,
    "rows": lambda images: images.reshape(len(images), 8, 8),
}
_DATA = {}


def dataset(features):
    """(x_train, y_train, x_test, y_test) on a fixed split; one array shared by both sides."""
    if features not in _DATA:
        images, labels = hpnn.datasets.load_digits()  # (N, 1, 8, 8) in [0, 1]
        x = _FEATURES[features](images).astype(np.float32)
        order = np.random.default_rng(SEED).permutation(len(x))
        cut = len(x) - int(len(x) * TEST_FRACTION)
        train, test = order[:cut], order[cut:]
        _DATA[features] = (x[train], labels[train], x[test], labels[test])
    return _DATA[features]


def epoch_orders(count, epochs):
    """The per-epoch shuffles hpnn.data.DataLoader(shuffle=True, seed=SEED) draws."""
    rng = np.random.default_rng(SEED)
    return [rng.permutation(count) for _ in range(epochs)]


# ---- models --------------------------------------------------------------------------------
def last_hidden(nn):
    """LSTM(batch_first) returning the last time step's hidden state, for either library."""
    class LastHidden(nn.Module):
        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.rnn = nn.LSTM(input_size, hidden_size, batch_first=True)

        def forward(self, x):
            return self.rnn(x)[0][:, -1]
    return LastHidden


def build(nn, layers):
    custom = {"LastHidden": last_hidden(nn)}
    return nn.Sequential(*[(custom.get(name) or getattr(nn, name))(*args)
                           for name, *args in layers])


def make_models(workload):
    """A fresh hpnn model (seeded init) and a torch model holding the same weights."""
    torch = pytest.importorskip("torch")
    hpnn.manual_seed(SEED)
    model = build(hpnn.nn, workload.layers)
    twin = build(torch.nn, workload.layers)
    twin.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                          for k, v in model.state_dict().items()})
    return model, twin


def optimizer(lib, workload, params):
    return getattr(lib.optim, workload.optimizer)(params, **dict(workload.options))


# ---- one training loop per library -------------------------------------------------------------
def hpnn_loader(workload):
    x, y, _, _ = dataset(workload.features)
    return hpnn.data.DataLoader(hpnn.data.TensorDataset(x, y), batch_size=workload.batch_size,
                                shuffle=True, seed=SEED)


def train_hpnn(model, workload):
    loader = hpnn_loader(workload)
    opt, loss_fn = optimizer(hpnn, workload, model.parameters()), hpnn.nn.CrossEntropyLoss()
    model.train()
    for _ in range(workload.epochs):
        for inputs, target in loader:
            loss = loss_fn(model(inputs), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def train_hpnn_fit(model, workload):
    model.compile(optimizer=optimizer(hpnn, workload, model.parameters()),
                  loss=hpnn.nn.CrossEntropyLoss())
    model.fit(hpnn_loader(workload), epochs=workload.epochs, verbose=0)
    return model


def train_torch(model, workload):
    import torch
    x, y, _, _ = dataset(workload.features)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    opt, loss_fn = optimizer(torch, workload, model.parameters()), torch.nn.CrossEntropyLoss()
    model.train()
    for order in epoch_orders(len(x), workload.epochs):
        order = torch.from_numpy(order)
        batches = zip(x[order].split(workload.batch_size), y[order].split(workload.batch_size))
        for inputs, target in batches:
            loss = loss_fn(model(inputs), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


TRAIN = {"hpnn": train_hpnn, "hpnn_fit": train_hpnn_fit, "torch": train_torch}


def accuracy(impl, model, workload):
    _, _, x, y = dataset(workload.features)
    model.eval()
    if impl == "torch":
        import torch
        with torch.no_grad():
            logits = model(torch.from_numpy(x)).numpy()
    else:
        with hpnn.no_grad():
            logits = model(hpnn.Tensor(x)).numpy()
    return float(np.mean(logits.argmax(1) == y))


_ACCURACY = {}  # (workload name, impl) -> test accuracy of the last timed run


def torch_accuracy(workload):
    """Torch's accuracy from its benchmark when it already ran, else from one untimed run."""
    key = (workload.name, "torch")
    if key not in _ACCURACY:
        _ACCURACY[key] = accuracy("torch", train_torch(make_models(workload)[1], workload),
                                  workload)
    return _ACCURACY[key]


# ---- benchmarks -----------------------------------------------------------------------------------
def record_groups(record, workload, impl, threads):
    """Table groups: the hpnn loop and model.fit each against the same torch timing."""
    variants = ["loop", "fit"] if impl == "torch" else ["fit" if impl == "hpnn_fit" else "loop"]
    for variant in variants:
        record(f"train {workload.name} {variant} threads={threads}",
               "torch" if impl == "torch" else "hpnn", 0)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("impl", ["torch", "hpnn", "hpnn_fit"])
@pytest.mark.parametrize("workload", WORKLOADS, ids=[w.name for w in WORKLOADS])
def test_training(benchmark, record, workload, impl, threads):
    pytest.importorskip("torch")
    dataset(workload.features)  # build the arrays outside the timing
    side = 1 if impl == "torch" else 0
    trained = []

    def setup():  # untimed: fresh models from the same initial weights every round
        return (make_models(workload)[side], workload), {}

    def run(model, workload):
        trained.append(TRAIN[impl](model, workload))

    benchmark.group = f"train {workload.name} threads={threads}"
    with thread_count(threads):
        TRAIN[impl](make_models(workload)[side], replace(workload, epochs=1))  # warm-up
        benchmark.pedantic(run, setup=setup, rounds=workload.rounds, iterations=1)
        own = _ACCURACY[(workload.name, impl)] = accuracy(impl, trained[-1], workload)
    record_groups(record, workload, impl, threads)
    reference = torch_accuracy(workload)
    benchmark.extra_info.update({f"accuracy_{impl}": own, "accuracy_torch": reference,
                                 "epochs": workload.epochs, "batch_size": workload.batch_size})
    assert min(own, reference) >= ACCURACY_FLOOR, (own, reference)
    assert abs(own - reference) <= ACCURACY_TOLERANCE, (own, reference)


# ---- per-op Python overhead -----------------------------------------------------------------------
def linear_step(impl):
    """Linear(64, 32) forward + backward at batch 1: input without grad, sum of the output."""
    torch = pytest.importorskip("torch")
    lib = torch if impl == "torch" else hpnn
    x = np.random.default_rng(SEED).standard_normal((1, 64), dtype=np.float32)
    x = torch.from_numpy(x) if impl == "torch" else hpnn.Tensor(x)
    layer = lib.nn.Linear(64, 32)

    def run():
        layer.zero_grad()
        layer(x).sum().backward()
    return run


@pytest.mark.parametrize("impl", ["torch", "hpnn"])
def test_linear_overhead(benchmark, record, impl):
    run = linear_step(impl)
    group = "overhead Linear(64,32) b1 fwd+bwd threads=1"
    benchmark.group = group
    with thread_count(1):
        benchmark.pedantic(run, warmup_rounds=100, rounds=2000, iterations=5)
    benchmark.extra_info["us_per_call"] = round(benchmark.stats.stats.median * 1e6, 2)
    record(group, impl, 2.0 * 64 * 32 * 3)
