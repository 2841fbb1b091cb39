"""The same training on the native and numpy backends gives the same losses."""
import numpy as np

import hpnn
import hpnn.nn as nn


def _losses(backend, steps=50):
    x, y = hpnn.datasets.load_digits()
    x, y = x[:256], y[:256]
    with hpnn.use_backend(backend):
        hpnn.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.2),
                              nn.Linear(64, 32), nn.GELU(), nn.Linear(32, 10))
        opt = hpnn.optim.Adam(model.parameters(), lr=3e-3)
        loader = hpnn.data.DataLoader(hpnn.data.TensorDataset(x, y), batch_size=32,
                                      shuffle=True, seed=0)
        losses = []
        while len(losses) < steps:
            for inputs, target in loader:
                loss = nn.functional.cross_entropy(model(inputs), target)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
    return np.array(losses[:steps])


def test_native_and_numpy_backends_agree():
    native, reference = _losses("native"), _losses("numpy")
    assert native[-1] < native[0] / 2
    np.testing.assert_allclose(native, reference, rtol=1e-4)
