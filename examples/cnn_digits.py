"""A small CNN on the bundled 8x8 digits: conv3x3 - maxpool - conv3x3 - maxpool - flatten -
dense - dense(softmax), trained with SGD on the categorical cross-entropy (one-hot labels),
Keras style.

Stated result: with the default settings (20 epochs) the held-out test accuracy reaches at
least 95% (about 97-99%, depending on the seed); it prints "test accuracy: X (stated: >=
0.95)" last. "--check" makes a miss the exit status."""
import argparse
import sys

import numpy as np

import hpnn
import hpnn.nn as nn

STATED_ACCURACY = 0.95


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a few epochs (CI smoke test)")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 unless the stated result is reached")
    args = parser.parse_args(argv)
    epochs = 2 if args.quick else args.epochs

    images, labels = hpnn.datasets.load_digits()
    order = np.random.default_rng(0).permutation(len(images))
    train, test = order[:1400], order[1400:]
    one_hot = np.eye(10, dtype=np.float32)[labels]

    hpnn.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 2 * 2, 32), nn.ReLU(), nn.Linear(32, 10), nn.Softmax(dim=1))
    # lr 0.1 with momentum 0.9 reached 91% by epoch 8, then diverged to chance (10%) for every
    # seed tried; 0.02 converges steadily (>= 96% at epoch 20 for seeds 0-2).
    model.compile(optimizer=hpnn.optim.SGD(model.parameters(), lr=0.02, momentum=0.9),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(images[train], one_hot[train], epochs=epochs, batch_size=32,
              validation_data=(images[test], one_hot[test]), verbose=2)
    loss, accuracy = model.evaluate(images[test], one_hot[test])
    print(f"test loss {loss:.4f}")
    print(f"test accuracy: {accuracy:.4f} (stated: >= {STATED_ACCURACY})")
    if args.check and not accuracy >= STATED_ACCURACY:
        sys.exit(f"cnn_digits: test accuracy {accuracy:.4f} is below the stated "
                 f"{STATED_ACCURACY}")
    return accuracy


if __name__ == "__main__":
    main()
