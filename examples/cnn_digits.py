"""A small CNN on the bundled 8x8 digits: conv3x3 - maxpool - conv3x3 - maxpool - flatten -
dense - dense(softmax), trained with SGD on the categorical cross-entropy (one-hot labels),
Keras style."""
import argparse

import numpy as np

import hpnn
import hpnn.nn as nn


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a few epochs (CI smoke test)")
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
    model.compile(optimizer=hpnn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(images[train], one_hot[train], epochs=epochs, batch_size=32,
              validation_data=(images[test], one_hot[test]), verbose=2)
    loss, accuracy = model.evaluate(images[test], one_hot[test])
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.2%}")
    return accuracy


if __name__ == "__main__":
    main()
