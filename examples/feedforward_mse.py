"""A feed-forward net fitting y = sin(x) + noise with plain SGD on the mean squared error,
written as an explicit PyTorch-style training loop.

Stated result: with the default settings (200 epochs) the model is within mean squared error
0.01 of sin(x) on a grid over [-3, 3] (about 0.001); it prints "grid mse: X (stated: <=
0.01)" last. "--check" makes a miss the exit status."""
import argparse
import sys

import numpy as np

import hpnn
import hpnn.nn as nn
from hpnn.data import DataLoader, TensorDataset

STATED_MSE = 0.01


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="a few epochs (CI smoke test)")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 unless the stated result is reached")
    args = parser.parse_args(argv)
    epochs = 20 if args.quick else args.epochs

    hpnn.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, (512, 1)).astype(np.float32)
    y = (np.sin(x) + 0.05 * rng.standard_normal(x.shape)).astype(np.float32)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)

    model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                          nn.Linear(32, 1))
    optimizer = hpnn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.MSELoss()
    for epoch in range(epochs):
        total = 0.0
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(inputs)
        if epoch % max(1, epochs // 5) == 0 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:4d}  mse {total / len(x):.5f}")
    with hpnn.no_grad():
        grid = hpnn.tensor(np.linspace(-3, 3, 7, dtype=np.float32)[:, None])
        print("x      ", np.round(grid.numpy()[:, 0], 2))
        print("model  ", np.round(model(grid).numpy()[:, 0], 3))
        print("sin(x) ", np.round(np.sin(grid.numpy()[:, 0]), 3))
        fine = np.linspace(-3, 3, 61, dtype=np.float32)[:, None]
        mse = float(np.mean((model(hpnn.tensor(fine)).numpy() - np.sin(fine)) ** 2))
    print(f"grid mse: {mse:.5f} (stated: <= {STATED_MSE})")
    if args.check and not mse <= STATED_MSE:
        sys.exit(f"feedforward_mse: grid mse {mse:.5f} is above the stated {STATED_MSE}")
    return mse


if __name__ == "__main__":
    main()
