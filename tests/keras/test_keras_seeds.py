"""The TensorFlow/Keras code of the design documents (/work/shared/seeds), ported by replacing
tf.keras with hpnn.keras and tf.optimizers with hpnn.keras.optimizers, runs and learns.
tf.Variable -> hpnn.keras.Variable; tf.random.normal / tf.zeros / tf.matmul / tf.nn.relu ->
hpnn.randn / hpnn.zeros / @ / hpnn.functional.relu (tensor functions are not hpnn.keras')."""
import numpy as np
import pytest

import hpnn
import hpnn.functional as F

keras = hpnn.keras


class MLP(keras.Model):  # seed 003, verbatim but for the namespace
    def __init__(self):
        super(MLP, self).__init__()
        self.dense1 = keras.layers.Dense(64, activation='relu')
        self.dense2 = keras.layers.Dense(32, activation='relu')
        self.dense3 = keras.layers.Dense(1, activation='sigmoid')

    def call(self, inputs):
        x = self.dense1(inputs)
        x = self.dense2(x)
        return self.dense3(x)


def test_seed_mlp_compile_fit_as_written(capsys):
    np.random.seed(1)
    X = np.random.rand(100, 10)  # float64, as the seed makes it
    y = np.random.randint(0, 2, 100)  # int labels for a binary cross entropy
    hpnn.manual_seed(1)
    model = MLP()
    model.compile(optimizer=keras.optimizers.Adam(),
                  loss=keras.losses.BinaryCrossentropy(),
                  metrics=['accuracy'])
    history = model.fit(X, y, epochs=10, batch_size=32)
    assert "Epoch 10/10" in capsys.readouterr().out
    assert set(history.history) == {"loss", "accuracy"} and len(history.history["loss"]) == 10
    assert history.history["loss"][-1] < history.history["loss"][0]
    # the labels are random: learning them means memorising, which more epochs do
    model.fit(X, y, epochs=150, batch_size=32, verbose=0)
    loss, accuracy = model.evaluate(X, y, verbose=0)
    assert accuracy > 0.8
    predictions = model.predict(X)
    assert isinstance(predictions, np.ndarray) and predictions.shape == (100, 1)


def test_compile_with_optimizer_name_before_layers_exist():
    hpnn.manual_seed(0)
    model = MLP()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    assert not model.optimizer.param_groups  # bound on the first batch, as Keras builds
    x = np.random.default_rng(0).normal(size=(64, 10))
    y = (x[:, 0] > 0).astype(int)
    model.fit(x, y, epochs=30, verbose=0)
    assert len(model.optimizer.param_groups[0]["params"]) == 6
    assert model.evaluate(x, y, verbose=0)[1] > 0.9


class FeedforwardNet:  # seed 000, first block
    def __init__(self, input_size, hidden_size, output_size, learning_rate):
        self.W1 = keras.Variable(hpnn.randn(input_size, hidden_size))
        self.b1 = keras.Variable(hpnn.zeros(hidden_size))
        self.W2 = keras.Variable(hpnn.randn(hidden_size, output_size))
        self.b2 = keras.Variable(hpnn.zeros(output_size))

    def forward(self, x):
        h = F.relu(x @ self.W1 + self.b1)
        return h @ self.W2 + self.b2


def train_feedforward_net(input_data, labels, net, learning_rate, epochs):
    optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
    loss_fn = keras.losses.MeanSquaredError()
    losses = []
    for epoch in range(epochs):
        with keras.GradientTape() as tape:
            predictions = net.forward(input_data)
            loss = loss_fn(labels, predictions)
        gradients = tape.gradient(loss, [net.W1, net.b1, net.W2, net.b2])
        optimizer.apply_gradients(zip(gradients, [net.W1, net.b1, net.W2, net.b2]))
        losses.append(loss.item())
    return net, losses


def test_seed_feedforward_gradient_tape():
    hpnn.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    labels = x @ rng.normal(size=(4, 1)).astype(np.float32)
    _, losses = train_feedforward_net(hpnn.tensor(x), labels, FeedforwardNet(4, 16, 1, 0.01),
                                      0.01, 200)
    assert losses[-1] < 0.05 * losses[0]


class ConvNet:  # seed 000, second block
    def __init__(self, input_shape, filters, kernel_size, pool_size, hidden_size, output_size,
                 learning_rate):
        self.conv1 = keras.layers.Conv2D(filters[0], (kernel_size, kernel_size),
                                         activation='relu', input_shape=input_shape)
        self.pool1 = keras.layers.MaxPooling2D(pool_size=pool_size)
        self.conv2 = keras.layers.Conv2D(filters[1], (kernel_size, kernel_size),
                                         activation='relu')
        self.pool2 = keras.layers.MaxPooling2D(pool_size=pool_size)
        self.flatten = keras.layers.Flatten()
        self.dense1 = keras.layers.Dense(hidden_size, activation='relu')
        self.dense2 = keras.layers.Dense(output_size, activation='softmax')
        self.model = keras.Sequential([self.conv1, self.pool1, self.conv2, self.pool2,
                                       self.flatten, self.dense1, self.dense2])

    def forward(self, x):
        return self.model(x)


def test_seed_convnet_gradient_tape():
    hpnn.manual_seed(0)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 48)
    images = rng.random((48, 12, 12, 1)).astype(np.float32)
    images[labels == 1, :6] += 1.0  # class 1: a bright top half
    one_hot = np.eye(2, dtype=np.float32)[labels]
    net = ConvNet((12, 12, 1), [4, 8], 3, 2, 16, 2, 0.1)
    assert len(net.model.trainable_variables) == 8  # built at once from input_shape
    optimizer = keras.optimizers.SGD(learning_rate=0.5)
    # as the seed: from_logits=True on softmax outputs (it still learns, slowly)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
    for _ in range(80):
        with keras.GradientTape() as tape:
            predictions = net.forward(images)
            loss = loss_fn(one_hot, predictions)
        gradients = tape.gradient(loss, net.model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, net.model.trainable_variables))
    accuracy = (net.forward(images).numpy().argmax(1) == labels).mean()
    assert accuracy > 0.9


class RNN:
    """Seed 000, third block. As written it fails in TensorFlow too (it calls
    ``cell(h, [x[i]])`` where Keras' cell takes ``(inputs, states)`` and returns
    ``(output, states)``; and ``tape.gradient(loss, W1, U1, ...)`` passes the variables as
    output_gradients). This is the working form of the same model."""

    def __init__(self, input_size, hidden_size, output_size, learning_rate):
        self.hidden_size = hidden_size
        self.W2 = keras.Variable(hpnn.randn(hidden_size, output_size) * 0.3)
        self.b2 = keras.Variable(hpnn.zeros(output_size))
        self.cell = keras.layers.SimpleRNNCell(hidden_size)

    def forward(self, x):  # x: (timesteps, batch, features), looped over time as the seed
        h = hpnn.zeros(x.shape[1], self.hidden_size)
        for i in range(x.shape[0]):
            y, [h] = self.cell(x[i], [h])
        return y @ self.W2 + self.b2

    def variables(self):
        return self.cell.trainable_variables + [self.W2, self.b2]


def test_seed_rnn_cell_gradient_tape():
    hpnn.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 32, 2)).astype(np.float32)
    labels = x[:, :, 0].sum(0, keepdims=True).T * 0.3  # (32, 1): a running sum
    net = RNN(2, 8, 1, 0.05)
    optimizer = keras.optimizers.SGD(learning_rate=0.05)
    loss_fn = keras.losses.MeanSquaredError()
    losses = []
    for _ in range(150):
        with keras.GradientTape() as tape:
            loss = loss_fn(labels, net.forward(hpnn.tensor(x)))
        variables = net.variables()
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_sequential_input_summary_callbacks(capsys):
    hpnn.manual_seed(0)
    model = keras.Sequential()
    model.add(keras.Input(shape=(4,)))
    model.add(keras.layers.Dense(8, activation="relu"))
    model.add(keras.layers.Dropout(0.1))
    model.add(keras.layers.Dense(3, activation="softmax"))
    assert model.count_params() == 4 * 8 + 8 + 8 * 3 + 3  # built from Input at once
    model.summary()
    text = capsys.readouterr().out
    assert "(None, 3)" in text and "Total params: 67" in text
    rng = np.random.default_rng(1)
    x = rng.normal(size=(90, 4))
    y = np.argmax(x[:, :3], axis=1)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.02),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)
    history = model.fit(x, y, epochs=60, validation_split=0.2, callbacks=[stop], verbose=0)
    assert "val_accuracy" in history.history
    assert isinstance(model.evaluate(x, y, verbose=0), list)
    assert model.evaluate(x, y, verbose=0)[1] > 0.8


def test_lstm_sequence_classifier_fits():
    hpnn.manual_seed(0)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 6, 2))
    y = (x[:, :, 0].sum(1) > 0).astype(np.float32)
    model = keras.Sequential([keras.layers.LSTM(8), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=40, batch_size=16, verbose=0)
    loss = model.evaluate(x, y, verbose=0)
    assert loss[1] > 0.85


def test_unsupported_keras_features_raise():
    with pytest.raises(NotImplementedError, match="functional API"):
        keras.Model(inputs=None, outputs=None)
    model = MLP()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.zeros((4, 10)), np.zeros(4))
