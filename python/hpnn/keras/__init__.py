"""``hpnn.keras``: Keras' API over hpnn, so code written for ``tf.keras`` runs with
``tf.keras`` replaced by ``hpnn.keras`` (and ``tf.optimizers`` by ``hpnn.keras.optimizers``).

Covered: ``Model`` (subclassing with ``call``), ``Sequential``, ``Input``, the layers in
``hpnn.keras.layers`` (lazily built, Keras' weight layouts and initialisers, channels_last
images), ``losses`` (called ``loss(y_true, y_pred)``), ``optimizers`` (Keras' argument names
and defaults, ``apply_gradients``), ``callbacks``, ``Variable`` and ``GradientTape``.
Not covered: the functional API (``Model(inputs, outputs)``), masking, mixed precision,
``tf.*`` tensor functions (use hpnn's own: ``hpnn.randn``, ``hpnn.zeros``, ``x @ w``...).
"""
from . import callbacks, layers, losses, optimizers
from .layers import Input
from .models import GradientTape, Model, Sequential, Variable

__all__ = ["GradientTape", "Input", "Model", "Sequential", "Variable", "callbacks", "layers",
           "losses", "optimizers"]
