// Losses; hpnn/kernels/loss.py holds the reference-compatible wrappers (see nn_binding_utils.h
// for the NotImplemented convention). Reductions: 0 'none', 1 'mean', 2 'sum'.
#include <cstring>

#include "bindings/nn_binding_utils.h"
#include "core/kernel_table.h"
#include "core/parallel.h"

namespace hpnn {
namespace {

enum Reduction { kNone = 0, kMean = 1, kSum = 2 };

double loss_cost(PointwiseLoss op) { return op == PointwiseLoss::kMse ? 1.0 : 8.0; }

py::array scalar_array(float value) {
  py::array out = new_float32_array(nullptr, 0);
  *mutable_data(out) = value;
  return out;
}

// The upstream gradient of a reduced loss: a python float or a one-element float32 array.
bool scalar_upstream(py::handle obj, float* value, const char* fn) {
  if (PyFloat_Check(obj.ptr())) {
    *value = static_cast<float>(PyFloat_AsDouble(obj.ptr()));
    return true;
  }
  py::array a;
  if (!as_contiguous_float32(obj, &a, fn, "grad_loss", 0) || a.size() != 1) return false;
  *value = *float_data(a);
  return true;
}

// Upstream for a backward: per-element array (reduction 'none', shaped like `shape_of`) or a
// scalar with 'mean' divided in (by `count`; 0 when count is 0, as the reference does).
bool upstream(py::handle obj, int reduction, const py::array& shape_of, index_t count,
              py::array* per_element, float* scale, const char* fn) {
  if (reduction == kNone)
    return as_contiguous_float32(obj, per_element, fn, "grad_loss", 1) &&
           same_shape(*per_element, shape_of);
  if (!scalar_upstream(obj, scale, fn)) return false;
  if (reduction == kMean) *scale = count ? *scale / static_cast<float>(count) : 0.0f;
  return true;
}

bool is_reduction(int reduction) { return reduction >= kNone && reduction <= kSum; }

bool nonempty_batch(const py::array& a) { return a.ndim() > 0 && a.shape(0) > 0; }

bool probabilities(const py::array& p) {
  const float* d = float_data(p);
  for (py::ssize_t i = 0; i < p.size(); ++i)
    if (d[i] < 0.0f || d[i] > 1.0f) return false;
  return true;
}

// pos_weight broadcast to the logits' shape, if its shape is a suffix of theirs.
bool broadcast_pos_weight(py::handle obj, const py::array& logits, py::array* out,
                          const char* fn) {
  if (obj.is_none()) return true;
  py::array pw;
  if (!as_contiguous_float32(obj, &pw, fn, "pos_weight", 0) || pw.ndim() > logits.ndim())
    return false;
  for (py::ssize_t i = 1; i <= pw.ndim(); ++i)
    if (pw.shape(pw.ndim() - i) != logits.shape(logits.ndim() - i)) return false;
  if (same_shape(pw, logits)) return *out = pw, true;
  py::object full = py::module_::import("numpy").attr("broadcast_to")(pw, logits.attr("shape"));
  *out = c_array<float>(full, fn, "pos_weight");
  return true;
}

struct PairInputs {
  py::array input, target, pos_weight;
  bool weighted = false;
};

// The public kernel name of a pointwise loss and the name of its input argument.
struct PointwiseNames {
  const char* fn;
  const char* input;
};

PointwiseNames pointwise_names(PointwiseLoss op, bool backward) {
  switch (op) {
    case PointwiseLoss::kMse: return {backward ? "mse_loss_backward" : "mse_loss_forward", "input"};
    case PointwiseLoss::kBce: return {backward ? "bce_backward" : "bce_forward", "probs"};
    default: return {backward ? "bce_with_logits_backward" : "bce_with_logits_forward", "logits"};
  }
}

bool pair_inputs(PointwiseLoss op, py::handle input, py::handle target, py::handle pos_weight,
                 bool backward, PairInputs* in) {
  const PointwiseNames names = pointwise_names(op, backward);
  if (!as_contiguous_float32(input, &in->input, names.fn, names.input) ||
      !as_contiguous_float32(target, &in->target, names.fn, "target") ||
      !same_shape(in->input, in->target) || !nonempty_batch(in->input))
    return false;
  if (op == PointwiseLoss::kBce && !probabilities(in->input)) return false;
  if (op != PointwiseLoss::kBceWithLogits) return pos_weight.is_none();
  in->weighted = !pos_weight.is_none();
  return broadcast_pos_weight(pos_weight, in->input, &in->pos_weight, names.fn);
}

PointwiseLossArgs pointwise_args(int op, const PairInputs& in) {
  PointwiseLossArgs a{};
  a.op = static_cast<PointwiseLoss>(op);
  a.input = float_data(in.input);
  a.target = float_data(in.target);
  a.pos_weight = in.weighted ? float_data(in.pos_weight) : nullptr;
  a.n = element_count(in.input);
  a.num_threads = threads_for(a.n * loss_cost(a.op), kPointwiseGrain);
  return a;
}

// Checks a pointwise-loss call and fills *a; false where the reference must handle it.
bool pointwise_call(int op, py::handle input, py::handle target, py::handle pos_weight,
                    int reduction, bool backward, PairInputs* in, PointwiseLossArgs* a) {
  if (op < 0 || op > 2 || !is_reduction(reduction) ||
      !pair_inputs(static_cast<PointwiseLoss>(op), input, target, pos_weight, backward, in))
    return false;
  *a = pointwise_args(op, *in);
  return true;
}

py::object pointwise_loss_forward(int op, py::handle input, py::handle target,
                                  py::handle pos_weight, int reduction) {
  PairInputs in;
  PointwiseLossArgs a;
  if (!pointwise_call(op, input, target, pos_weight, reduction, false, &in, &a))
    return not_implemented();
  py::array loss;
  if (reduction == kNone) loss = new_float32_like(in.input), a.out = mutable_data(loss);
  const auto kernel = active_kernels().pointwise_loss_forward;
  double total;
  {
    py::gil_scoped_release release;
    total = kernel(a);
  }
  if (reduction == kNone) return std::move(loss);
  const float sum = static_cast<float>(total);
  return scalar_array(reduction == kSum ? sum : sum / static_cast<float>(a.n));
}

py::object pointwise_loss_backward(int op, py::handle grad_loss, py::handle input,
                                   py::handle target, py::handle pos_weight, int reduction) {
  PairInputs in;
  PointwiseLossArgs a;
  if (!pointwise_call(op, input, target, pos_weight, reduction, true, &in, &a))
    return not_implemented();
  py::array per_element;
  if (!upstream(grad_loss, reduction, in.input, a.n, &per_element, &a.grad_scale,
                pointwise_names(a.op, true).fn))
    return not_implemented();
  a.grad_loss = reduction == kNone ? float_data(per_element) : nullptr;
  py::array grad = new_float32_like(in.input);
  a.out = mutable_data(grad);
  const auto kernel = active_kernels().pointwise_loss_backward;
  {
    py::gil_scoped_release release;
    kernel(a);
  }
  return std::move(grad);
}

// ---- cross entropy and nll ---------------------------------------------------------------------

// The public kernel name of a class loss and the name of its scores argument.
struct ClassNames {
  const char* fn;
  const char* scores;
};

ClassNames class_names(bool nll, bool backward) {
  if (nll) return {backward ? "nll_loss_backward" : "nll_loss_forward", "log_probs"};
  return {backward ? "cross_entropy_backward" : "cross_entropy_forward", "logits"};
}

struct ClassInputs {
  py::array scores;
  AlignedArray<std::int64_t> target;
  index_t kept = 0;
};

// (N, C) float32 scores, (N,) integer targets in [0, C) or ignore_index, N > 0.
bool class_inputs(py::handle scores, py::handle target, long long ignore_index,
                  const ClassNames& names, ClassInputs* in) {
  if (!as_contiguous_float32(scores, &in->scores, names.fn, names.scores, 2) ||
      in->scores.ndim() != 2 ||
      in->scores.shape(0) == 0 || !py::isinstance<py::array>(target))
    return false;
  py::array t = py::reinterpret_borrow<py::array>(target);
  const char kind = t.dtype().kind();
  if ((kind != 'i' && kind != 'u') || t.ndim() != 1 || t.shape(0) != in->scores.shape(0))
    return false;
  in->target = c_array<std::int64_t>(t, names.fn, "target");
  const std::int64_t* labels = in->target.data();
  const index_t classes = in->scores.shape(1);
  for (py::ssize_t i = 0; i < t.shape(0); ++i) {
    if (labels[i] == ignore_index) continue;
    if (labels[i] < 0 || labels[i] >= classes) return false;
    ++in->kept;
  }
  return true;
}

bool smoothing_value(py::handle obj, float* value) {
  if (!PyFloat_Check(obj.ptr()) && !(PyLong_Check(obj.ptr()) && !PyBool_Check(obj.ptr())))
    return false;
  const double v = py::cast<double>(obj);
  *value = static_cast<float>(v);
  return v >= 0.0 && v <= 1.0;
}

ClassLossArgs class_args(const ClassInputs& in, long long ignore_index, float smoothing) {
  ClassLossArgs a{};
  a.scores = float_data(in.scores);
  a.target = in.target.data();
  a.rows = in.scores.shape(0);
  a.classes = in.scores.shape(1);
  a.ignore_index = ignore_index;
  a.label_smoothing = smoothing;
  a.num_threads = threads_for(8.0 * a.rows * a.classes, kPointwiseGrain);
  return a;
}

// Checks a cross-entropy / nll call and fills *a; false where the reference must handle it.
bool class_call(py::handle scores, py::handle target, int reduction, py::handle ignore_obj,
                py::handle smoothing_obj, bool nll, bool backward, ClassInputs* in,
                ClassLossArgs* a) {
  long long ignore_index;
  float smoothing = 0.0f;
  if (!is_reduction(reduction) || !as_int(ignore_obj, &ignore_index) ||
      (!nll && !smoothing_value(smoothing_obj, &smoothing)) ||
      !class_inputs(scores, target, ignore_index, class_names(nll, backward), in))
    return false;
  *a = class_args(*in, ignore_index, smoothing);
  return true;
}

// nll forward: -log_probs[i, target[i]], 0 on ignored rows (no SIMD work worth a kernel).
void nll_rows(const ClassLossArgs& a) {
  for (index_t r = 0; r < a.rows; ++r)
    a.out[r] = a.target[r] == a.ignore_index ? 0.0f : -a.scores[r * a.classes + a.target[r]];
}

void nll_grad(const ClassLossArgs& a) {
  std::memset(a.out, 0, sizeof(float) * a.rows * a.classes);
  for (index_t r = 0; r < a.rows; ++r)
    if (a.target[r] != a.ignore_index)
      a.out[r * a.classes + a.target[r]] = -(a.grad_rows ? a.grad_rows[r] : a.grad_scale);
}

py::object class_loss_forward(py::handle scores, py::handle target, int reduction,
                              py::handle ignore_obj, py::handle smoothing_obj, bool nll) {
  ClassInputs in;
  ClassLossArgs a;
  if (!class_call(scores, target, reduction, ignore_obj, smoothing_obj, nll, false, &in, &a))
    return not_implemented();
  py::array rows = new_float32_array(&a.rows, 1);
  a.out = mutable_data(rows);
  const auto kernel = active_kernels().cross_entropy_forward;
  {
    py::gil_scoped_release release;
    nll ? nll_rows(a) : kernel(a);
  }
  if (reduction == kNone) return std::move(rows);
  double total = 0.0;
  for (index_t r = 0; r < a.rows; ++r) total += a.out[r];
  const float sum = static_cast<float>(total);
  return scalar_array(reduction == kSum ? sum : sum / static_cast<float>(in.kept));
}

py::object class_loss_backward(py::handle grad_loss, py::handle scores, py::handle target,
                               int reduction, py::handle ignore_obj, py::handle smoothing_obj,
                               bool nll) {
  ClassInputs in;
  ClassLossArgs a;
  if (!class_call(scores, target, reduction, ignore_obj, smoothing_obj, nll, true, &in, &a))
    return not_implemented();
  py::array per_row;
  if (!upstream(grad_loss, reduction, in.target, in.kept, &per_row, &a.grad_scale,
                class_names(nll, true).fn))
    return not_implemented();
  a.grad_rows = reduction == kNone ? float_data(per_row) : nullptr;
  py::array grad = new_float32_like(in.scores);
  a.out = mutable_data(grad);
  const auto kernel = active_kernels().cross_entropy_backward;
  {
    py::gil_scoped_release release;
    nll ? nll_grad(a) : kernel(a);
  }
  return std::move(grad);
}

}  // namespace

void bind_loss(py::module_& kernels) {
  // Positional entry points behind the wrappers in hpnn/kernels/loss.py; each returns
  // NotImplemented where the numpy reference must handle the call.
  kernels.def("_pointwise_loss_forward", &pointwise_loss_forward);
  kernels.def("_pointwise_loss_backward", &pointwise_loss_backward);
  kernels.def("_class_loss_forward", &class_loss_forward);
  kernels.def("_class_loss_backward", &class_loss_backward);
}

}  // namespace hpnn
