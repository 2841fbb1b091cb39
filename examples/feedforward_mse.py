"""A feed-forward net fitting y = sin(x) + noise with plain SGD on the mean squared error,
written as an explicit PyTorch-style training loop."""
import argparse

import numpy as np

import hpnn
import hpnn.nn as nn
from hpnn.data import DataLoader, TensorDataset


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="a few epochs (CI smoke test)")
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
    return total / len(x)


if __name__ == "__main__":
    main()
