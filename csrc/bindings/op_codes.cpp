// The kernels' op codes as Python sees them: hpnn._C.kernels.op_codes[family][name] is the
// integer of the C++ enumerator, so the Python wrappers never copy an enum's order by hand.
#include <pybind11/pybind11.h>

#include "core/kernel_table.h"
#include "core/nn_args.h"

namespace hpnn {
namespace py = pybind11;

namespace {

template <class Enum>
void put(py::dict& family, const char* name, Enum value) {
  family[name] = static_cast<int>(value);
}

}  // namespace

void bind_op_codes(py::module_& m) {
  py::dict activation, pointwise_loss, rnn_cell, codes;
  put(activation, "relu", Activation::kRelu);
  put(activation, "leaky_relu", Activation::kLeakyRelu);
  put(activation, "sigmoid", Activation::kSigmoid);
  put(activation, "tanh", Activation::kTanh);
  put(activation, "gelu", Activation::kGelu);
  put(activation, "gelu_tanh", Activation::kGeluTanh);
  put(pointwise_loss, "mse", PointwiseLoss::kMse);
  put(pointwise_loss, "bce", PointwiseLoss::kBce);
  put(pointwise_loss, "bce_with_logits", PointwiseLoss::kBceWithLogits);
  put(rnn_cell, "tanh", RnnCell::kTanh);
  put(rnn_cell, "relu", RnnCell::kRelu);
  put(rnn_cell, "lstm", RnnCell::kLstm);
  put(rnn_cell, "gru", RnnCell::kGru);
  codes["activation"] = activation;
  codes["pointwise_loss"] = pointwise_loss;
  codes["rnn_cell"] = rnn_cell;
  m.attr("op_codes") = codes;
}

}  // namespace hpnn
