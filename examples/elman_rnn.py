"""An Elman RNN (hpnn.nn.RNN) learning to predict the next value of noisy sine waves from the
previous ones; the last hidden state feeds a linear read-out.

Stated result: with the default settings (30 epochs) the test mean squared error is at most
0.01 (about 0.003; always predicting zero gives about 0.5); it prints "test mse: X (stated:
<= 0.01)" last. "--check" makes a miss the exit status."""
import argparse
import sys

import numpy as np

import hpnn
import hpnn.nn as nn


class SequenceRegressor(nn.Module):
    def __init__(self, hidden_size=16):
        super().__init__()
        self.rnn = nn.RNN(input_size=1, hidden_size=hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x):
        _, h_n = self.rnn(x)  # h_n: (1, N, hidden)
        return self.head(h_n[0])


def make_waves(count, length, rng):
    phase = rng.uniform(0, 2 * np.pi, (count, 1))
    freq = rng.uniform(0.5, 1.5, (count, 1))
    t = np.arange(length + 1) * 0.3
    waves = np.sin(freq * t + phase) + 0.02 * rng.standard_normal((count, length + 1))
    return waves[:, :-1, None].astype(np.float32), waves[:, -1:].astype(np.float32)

STATED_MSE = 0.01


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="a few epochs (CI smoke test)")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 unless the stated result is reached")
    args = parser.parse_args(argv)
    epochs = 3 if args.quick else args.epochs

    rng = np.random.default_rng(0)
    x, y = make_waves(512, 20, rng)
    x_test, y_test = make_waves(128, 20, rng)
    hpnn.manual_seed(0)
    model = SequenceRegressor()
    model.compile(optimizer=hpnn.optim.Adam(model.parameters(), lr=0.01), loss="mse")
    history = model.fit(x, y, epochs=epochs, batch_size=32, validation_data=(x_test, y_test),
                        verbose=2)
    mse = model.evaluate(x_test, y_test)
    print(f"predicting zero would give mse {float(np.mean(y_test ** 2)):.5f}")
    print(f"test mse: {mse:.5f} (stated: <= {STATED_MSE})")
    if args.check and not mse <= STATED_MSE:
        sys.exit(f"elman_rnn: test mse {mse:.5f} is above the stated {STATED_MSE}")
    return history


if __name__ == "__main__":
    main()
