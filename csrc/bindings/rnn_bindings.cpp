// Recurrent-layer bindings: one forward and one backward entry point for the four cell types
// (0 tanh RNN, 1 relu RNN, 2 LSTM, 3 GRU), called by python/hpnn/kernels/rnn.py after the
// reference's argument checks. Shapes are re-checked here so that no call, however wrong,
// reaches a kernel with bad pointers.
#include "bindings/array_checks.h"
#include "core/kernel_table.h"
#include "core/parallel.h"

namespace hpnn {
namespace {

// Below this many flops per thread (whole sequence) one thread is faster.
constexpr double kRnnGrainFlops = 4e6;

struct Layer {
  RnnCell cell;
  int gates, saved_gates;  // weight row blocks; width of saved.gates in units of H
  index_t T, N, F, H;
};

Layer make_layer(int cell, const FloatArray& x, const FloatArray& w_hh) {
  if (cell < 0 || cell > static_cast<int>(RnnCell::kGru)) throw py::value_error("recurrent: unknown cell type");
  Layer l;
  l.cell = static_cast<RnnCell>(cell);
  const bool gated = l.cell == RnnCell::kLstm || l.cell == RnnCell::kGru;
  l.gates = l.cell == RnnCell::kLstm ? 4 : l.cell == RnnCell::kGru ? 3 : 1;
  l.saved_gates = gated ? 4 : 0;
  l.T = x.shape[0], l.N = x.shape[1], l.F = x.shape[2], l.H = w_hh.shape[1];
  if (l.T < 1 || l.N < 1 || l.F < 1 || l.H < 1)
    throw py::value_error("recurrent: empty sequence, batch, input or hidden size");
  return l;
}

void require_shape(const FloatArray& a, std::initializer_list<index_t> expected, const char* fn,
                   const char* arg) {
  int i = 0;
  bool same = static_cast<int>(expected.size()) == a.ndim;
  for (index_t e : expected) same = same && a.shape[i++] == e;
  if (!same)
    throw py::value_error(std::string(fn) + ": argument '" + arg + "' must have shape " +
                          shape_str(expected) + ", got " + shape_str(a.shape, a.ndim));
}

// A contiguous float32 array of this shape.
FloatArray checked(py::handle obj, const char* fn, const char* arg,
                   std::initializer_list<index_t> shape) {
  FloatArray a = contiguous_input(obj, fn, arg, static_cast<int>(shape.size()));
  require_shape(a, shape, fn, arg);
  return a;
}

FloatArray optional(py::handle obj, const char* fn, const char* arg,
                    std::initializer_list<index_t> shape) {
  return obj.is_none() ? FloatArray{} : checked(obj, fn, arg, shape);
}

// An argument this cell type does not use (an LSTM's cell state, for another cell): None, so
// that nothing passed to a binding is silently ignored.
void require_none(py::handle obj, const char* fn, const char* arg) {
  if (!obj.is_none())
    throw py::value_error(std::string(fn) + ": argument '" + arg + "' must be None for this cell "
                          "type (only LSTM cells use it), got " +
                          std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
}

py::object or_none(const FloatArray& a) { return a.data ? py::object(a.array) : py::none(); }

// The inputs shared by forward and backward, checked against x and w_hh.
struct Inputs {
  Layer layer;
  FloatArray x, h0, c0, w_ih, w_hh, b_ih, b_hh;
  RnnArgs args(bool reverse) const {
    const Layer& l = layer;
    const double flops = 2.0 * l.T * l.N * l.gates * l.H * (l.F + l.H);
    return RnnArgs{l.cell, l.T, l.N, l.F, l.H, reverse, x.data, h0.data, c0.data, w_ih.data,
                   w_hh.data, b_ih.data, b_hh.data, threads_for(flops, kRnnGrainFlops)};
  }
};

Inputs check_inputs(const char* fn, int cell, py::handle x, py::handle h0, py::handle c0,
                    py::handle w_ih, py::handle w_hh, py::handle b_ih, py::handle b_hh) {
  Inputs in;
  in.x = contiguous_input(x, fn, "x", 3);
  in.w_hh = contiguous_input(w_hh, fn, "w_hh", 2);
  in.layer = make_layer(cell, in.x, in.w_hh);
  const Layer& l = in.layer;
  const index_t rows = l.gates * l.H;
  require_shape(in.w_hh, {rows, l.H}, fn, "w_hh");
  in.w_ih = checked(w_ih, fn, "w_ih", {rows, l.F});
  in.h0 = checked(h0, fn, "h0", {l.N, l.H});
  if (l.cell == RnnCell::kLstm) in.c0 = checked(c0, fn, "c0", {l.N, l.H});
  else require_none(c0, fn, "c0");
  in.b_ih = optional(b_ih, fn, "b_ih", {rows});
  in.b_hh = optional(b_hh, fn, "b_hh", {rows});
  return in;
}

// Returns the saved arrays (hidden, cell or None, gates or None).
py::tuple forward(int cell, py::handle x, py::handle h0, py::handle c0, py::handle w_ih,
                  py::handle w_hh, py::handle b_ih, py::handle b_hh, bool reverse) {
  const Inputs in = check_inputs("recurrent_forward", cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh);
  const Layer& l = in.layer;
  FloatArray hidden = new_array({l.T, l.N, l.H}), cell_seq, gates;
  if (l.cell == RnnCell::kLstm) cell_seq = new_array({l.T, l.N, l.H});
  if (l.saved_gates) gates = new_array({l.T, l.N, l.saved_gates * l.H});
  const RnnArgs args = in.args(reverse);
  const RnnSaved saved{hidden.data, cell_seq.data, gates.data};
  const auto kernel = active_kernels().rnn_forward;
  {
    py::gil_scoped_release release;
    kernel(args, saved);
  }
  return py::make_tuple(hidden.array, or_none(cell_seq), or_none(gates));
}

// Returns (grad_x, grad_h0, grad_c0 or None, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh), the
// bias gradients None where the bias is.
py::tuple backward(int cell, py::handle grad_output, py::handle grad_h_n, py::handle grad_c_n,
                   py::handle x, py::handle h0, py::handle c0, py::handle w_ih, py::handle w_hh,
                   py::handle b_ih, py::handle b_hh, py::handle hidden, py::handle cell_seq,
                   py::handle gates, bool reverse) {
  const char* fn = "recurrent_backward";
  const Inputs in = check_inputs(fn, cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh);
  const Layer& l = in.layer;
  const bool lstm = l.cell == RnnCell::kLstm;
  const FloatArray dy = checked(grad_output, fn, "grad_output", {l.T, l.N, l.H});
  const FloatArray dh_n = optional(grad_h_n, fn, "grad_h_n", {l.N, l.H});
  const FloatArray dc_n = lstm ? optional(grad_c_n, fn, "grad_c_n", {l.N, l.H}) : FloatArray{};
  const FloatArray hid = checked(hidden, fn, "saved.hidden", {l.T, l.N, l.H});
  const FloatArray cel = lstm ? checked(cell_seq, fn, "saved.cell", {l.T, l.N, l.H}) : FloatArray{};
  const FloatArray gat =
      l.saved_gates ? checked(gates, fn, "saved.gates", {l.T, l.N, l.saved_gates * l.H}) : FloatArray{};
  if (!lstm) require_none(grad_c_n, fn, "grad_c_n"), require_none(cell_seq, fn, "saved.cell");
  if (!l.saved_gates) require_none(gates, fn, "saved.gates");
  const index_t rows = l.gates * l.H;
  FloatArray dx = new_array({l.T, l.N, l.F}), dh0 = new_array({l.N, l.H}), dc0;
  if (lstm) dc0 = new_array({l.N, l.H});
  FloatArray dw_ih = new_array({rows, l.F}), dw_hh = new_array({rows, l.H}), db_ih, db_hh;
  if (in.b_ih.data) db_ih = new_array({rows});
  if (in.b_hh.data) db_hh = new_array({rows});
  const RnnArgs args = in.args(reverse);
  const RnnSaved saved{hid.data, cel.data, gat.data};
  const RnnGrads grads{dy.data, dh_n.data, dc_n.data, dx.data, dh0.data, dc0.data,
                       dw_ih.data, dw_hh.data, db_ih.data, db_hh.data};
  const auto kernel = active_kernels().rnn_backward;
  {
    py::gil_scoped_release release;
    kernel(args, saved, grads);
  }
  return py::make_tuple(dx.array, dh0.array, or_none(dc0), dw_ih.array, dw_hh.array,
                        or_none(db_ih), or_none(db_hh));
}

}  // namespace

void bind_rnn(py::module_& kernels) {
  kernels.def("recurrent_forward", &forward, py::arg("cell"), py::arg("x"), py::arg("h0"),
              py::arg("c0"), py::arg("w_ih"), py::arg("w_hh"), py::arg("b_ih"), py::arg("b_hh"),
              py::arg("reverse"));
  kernels.def("recurrent_backward", &backward, py::arg("cell"), py::arg("grad_output"),
              py::arg("grad_h_n"), py::arg("grad_c_n"), py::arg("x"), py::arg("h0"),
              py::arg("c0"), py::arg("w_ih"), py::arg("w_hh"), py::arg("b_ih"), py::arg("b_hh"),
              py::arg("hidden"), py::arg("cell_state"), py::arg("gates"), py::arg("reverse"));
}

}  // namespace hpnn
