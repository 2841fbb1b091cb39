"""python -m hpnn (or hpnn): train a small CNN on the bundled 8x8 digits with Adam and print
its test accuracy (about 97% or more with the defaults)."""
from __future__ import annotations

import argparse
import time

import numpy as np

from . import datasets, manual_seed, nn, optim, show_config
from .backend import BACKENDS, set_backend


def build_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 4 x 4
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 2 x 2
        nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def split_digits(test_fraction=0.2, seed=0):
    """A fixed shuffled train/test split of the bundled digits."""
    images, labels = datasets.load_digits()
    order = np.random.default_rng(seed).permutation(len(images))
    cut = int(len(images) * (1 - test_fraction))
    train, test = order[:cut], order[cut:]
    return (images[train], labels[train]), (images[test], labels[test])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="hpnn", description=__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=12, help="passes over the training set")
    parser.add_argument("--batch-size", type=int, default=32, help="samples per update")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for parameter init and shuffling")
    parser.add_argument("--backend", choices=BACKENDS, default="native",
                        help="run the ops on the C++ kernels or on their numpy twins")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                        help="0: silent, 1: progress bar (one line per epoch when not a "
                             "terminal), 2: one line per epoch")
    return parser.parse_args(argv)


def run(argv=None) -> float:
    """Train and evaluate as ``main`` does; returns the test accuracy."""
    args = parse_args(argv)
    show_config()
    set_backend(args.backend)
    (x_train, y_train), (x_test, y_test) = split_digits()
    manual_seed(args.seed)
    model = build_cnn()
    print(model)
    model.compile(optimizer=optim.Adam(model.parameters(), lr=args.lr),
                  loss=nn.CrossEntropyLoss(), metrics=["accuracy"])
    started = time.perf_counter()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
              verbose=args.verbose)
    seconds = time.perf_counter() - started
    _, accuracy = model.evaluate(x_test, y_test, batch_size=256)
    print(f"trained {args.epochs} epochs on {len(x_train)} digits in {seconds:.1f}s "
          f"({args.backend} backend); test accuracy {accuracy:.2%} on {len(x_test)} digits")
    return accuracy


def main(argv=None) -> None:
    """Console entry point (its return value would become the exit status)."""
    run(argv)


if __name__ == "__main__":
    main()
