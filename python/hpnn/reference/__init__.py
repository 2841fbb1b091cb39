"""Numpy reference implementations of every native kernel, same names and signatures as
``hpnn.kernels``. Written plainly for clarity; the tests compare the native kernels with them."""
from .gemm import gemm, gemm_batched
from .activation import (gelu_backward, gelu_forward, leaky_relu_backward, leaky_relu_forward,
                         log_softmax_backward, log_softmax_forward, relu_backward, relu_forward,
                         sigmoid_backward, sigmoid_forward, softmax_backward, softmax_forward,
                         tanh_backward, tanh_forward)
from .conv import (conv2d_backward, conv2d_backward_bias, conv2d_backward_input,
                   conv2d_backward_weight, conv2d_backward_weight_bias, conv2d_forward,
                   conv2d_relu_max_pool2d_backward, conv2d_relu_max_pool2d_forward)
from .dropout import dropout_backward, dropout_forward, dropout_uniforms
from .norm import batch_norm_backward, batch_norm_forward_eval, batch_norm_forward_train
from .row_norm import (group_norm_backward, group_norm_forward, layer_norm_backward,
                       layer_norm_forward)
from .embedding import embedding_backward, embedding_forward
from .attention import masked_softmax_backward, masked_softmax_forward
from .optim import (adadelta_step, adagrad_step, adam_step, adamax_step, nadam_step,
                    radam_step, rmsprop_step, sgd_step)
from .pool import (adaptive_avg_pool2d_backward, adaptive_avg_pool2d_forward,
                   adaptive_max_pool2d_forward, avg_pool2d_backward, avg_pool2d_forward,
                   global_avg_pool2d_backward, global_avg_pool2d_forward, max_pool2d_backward,
                   max_pool2d_forward)
from .loss import (bce_backward, bce_forward, bce_with_logits_backward, bce_with_logits_forward,
                   cross_entropy_backward, cross_entropy_forward, mse_loss_backward,
                   mse_loss_forward, nll_loss_backward, nll_loss_forward)

from .rnn import (GRUSaved, LSTMSaved, RNNSaved, gru_backward, gru_forward, lstm_backward,
                  lstm_forward, rnn_backward, rnn_forward)
from .rnn_cells import (gru_cell_backward, gru_cell_forward, lstm_cell_backward,
                        lstm_cell_forward, rnn_cell_backward, rnn_cell_forward)

__all__ = ["gemm", "gemm_batched"]

__all__ += [
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
    "gelu_forward", "gelu_backward", "softmax_forward", "softmax_backward",
    "log_softmax_forward", "log_softmax_backward",
]
__all__ += [
    "cross_entropy_forward", "cross_entropy_backward", "nll_loss_forward", "nll_loss_backward",
    "bce_with_logits_forward", "bce_with_logits_backward", "bce_forward", "bce_backward",
    "mse_loss_forward", "mse_loss_backward",
]
__all__ += [
    "rnn_cell_forward", "rnn_cell_backward", "lstm_cell_forward", "lstm_cell_backward",
    "gru_cell_forward", "gru_cell_backward", "rnn_forward", "rnn_backward",
    "lstm_forward", "lstm_backward", "gru_forward", "gru_backward",
    "RNNSaved", "LSTMSaved", "GRUSaved",
]
__all__ += [
    "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight", "conv2d_backward_bias",
    "conv2d_backward_weight_bias", "conv2d_backward", "conv2d_relu_max_pool2d_forward",
    "conv2d_relu_max_pool2d_backward",
]
__all__ += [
    "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
    "global_avg_pool2d_forward", "global_avg_pool2d_backward",
    "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward", "adaptive_max_pool2d_forward",
]
__all__ += ["batch_norm_forward_train", "batch_norm_forward_eval", "batch_norm_backward"]
__all__ += ["layer_norm_forward", "layer_norm_backward", "group_norm_forward",
            "group_norm_backward", "embedding_forward", "embedding_backward",
            "masked_softmax_forward", "masked_softmax_backward"]
__all__ += ["dropout_forward", "dropout_backward", "dropout_uniforms"]
__all__ += ["sgd_step", "adam_step", "rmsprop_step", "adagrad_step", "adadelta_step",
            "adamax_step", "nadam_step", "radam_step"]
