"""The training loop of pytorch/examples' mnist/main.py, written once against a library
module ``lib`` and run with lib=torch and lib=hpnn: device selection, DataLoader kwargs,
``.to(device)``, ``len(loader.dataset)``; the same weights in must give the same losses."""
import numpy as np
import pytest

import hpnn


def _net(lib):
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.fc1 = nn.Linear(4 * 3 * 3, 5)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.max_pool2d(x, 2)
            x = x.flatten(1)  # mnist/main.py writes torch.flatten(x, 1)
            return F.log_softmax(self.fc1(x), dim=1)

    return Net()


def _datasets(lib):
    rng = np.random.default_rng(0)
    images = rng.standard_normal((40, 1, 8, 8)).astype(np.float32)
    labels = rng.integers(0, 5, 40)
    make = lib.utils.data.TensorDataset
    return (make(lib.from_numpy(images[:30]), lib.from_numpy(labels[:30])),
            make(lib.from_numpy(images[30:]), lib.from_numpy(labels[30:])))


def mnist_main(lib, state=None, force_accel_kwargs=False):
    """mnist/main.py's main() and train()/test() loops, shrunk (SGD: no Adadelta yet)."""
    F = lib.nn.functional
    use_accel = lib.accelerator.is_available()
    use_cuda, use_mps = lib.cuda.is_available(), lib.backends.mps.is_available()
    lib.manual_seed(1)
    device = lib.device("cuda" if use_cuda else "mps" if use_mps else "cpu")
    train_kwargs, test_kwargs = {"batch_size": 8}, {"batch_size": 16}
    if use_accel or force_accel_kwargs:
        accel_kwargs = {"num_workers": 1, "persistent_workers": True, "pin_memory": True,
                        "shuffle": True}
        train_kwargs.update(accel_kwargs)
        test_kwargs.update(accel_kwargs)
    train_set, test_set = _datasets(lib)
    train_loader = lib.utils.data.DataLoader(train_set, **train_kwargs)
    test_loader = lib.utils.data.DataLoader(test_set, **test_kwargs)
    model = _net(lib).to(device)
    if state is not None:
        model.load_state_dict(state)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
    scheduler = lib.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    losses, log, seen = [], [], 0
    for epoch in range(1, 3):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            seen += len(data)
            log.append("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
        model.eval()
        test_loss, correct = 0, 0
        with lib.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction="sum").item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += int((pred.numpy().reshape(-1) == target.numpy()).sum())
        test_loss /= len(test_loader.dataset)
        losses.append(test_loss)
        scheduler.step()
    return model, losses, log, correct, seen


def test_loop_runs_on_hpnn():
    _, losses, log, correct, seen = mnist_main(hpnn)
    assert len(losses) == 2 * 4 + 2 and all(np.isfinite(losses)) and seen == 60
    assert log[1].startswith("Train Epoch: 1 [8/30 (25%)]") and 0 <= correct <= 10


def test_loop_accepts_the_accelerator_kwargs():
    _, losses, _, _, seen = mnist_main(hpnn, force_accel_kwargs=True)
    assert seen == 60 and all(np.isfinite(losses))


def test_loop_matches_torch_from_the_same_weights():
    torch = pytest.importorskip("torch", reason="torch is not installed: no parity oracle")
    torch.manual_seed(0)
    state = {k: v.numpy().copy() for k, v in _net(torch).state_dict().items()}
    theirs = mnist_main(torch, {k: torch.from_numpy(v) for k, v in state.items()})
    ours = mnist_main(hpnn, state)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-4, atol=1e-5)
    assert [line.split("Loss")[0] for line in ours[2]] == \
        [line.split("Loss")[0] for line in theirs[2]]
    assert ours[3:] == theirs[3:]
    for key, value in theirs[0].state_dict().items():
        np.testing.assert_allclose(ours[0].state_dict()[key].numpy(), value.numpy(),
                                   rtol=1e-4, atol=1e-5)
