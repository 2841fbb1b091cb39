"""The Keras quick-start shape: an MLP 64-32-1 with a sigmoid output, Adam and binary
cross-entropy, via compile + fit(X, y, epochs=10, batch_size=32) on random data."""
import argparse

import numpy as np

import hpnn
import hpnn.nn as nn


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="a few epochs (CI smoke test)")
    args = parser.parse_args(argv)
    epochs = 2 if args.quick else args.epochs

    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 64)).astype(np.float32)
    y = (X[:, :8].sum(axis=1, keepdims=True) > 0).astype(np.float32)  # a learnable rule

    hpnn.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(X, y, epochs=epochs, batch_size=32, validation_split=0.2, verbose=1)
    print({key: round(values[-1], 4) for key, values in history.history.items()})
    print("first predictions:", np.round(model.predict(X[:5])[:, 0], 3))
    return history


if __name__ == "__main__":
    main()
