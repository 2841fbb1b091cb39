// Optimizer steps; hpnn/kernels/optim.py holds the reference-compatible wrappers (see
// nn_binding_utils.h for the NotImplemented convention). param and the state buffers are
// updated in place, so a float32 one that is not C-contiguous is an error, never a copy.
#include "bindings/nn_binding_utils.h"
#include "core/kernel_table.h"
#include "core/parallel.h"

namespace hpnn {
namespace {

constexpr double kStepCost = 4.0;  // five streams, a sqrt and a division per element

// A python float or int (not bool) in *value.
bool real(py::handle obj, double* value) {
  if (PyFloat_Check(obj.ptr())) return *value = PyFloat_AsDouble(obj.ptr()), true;
  long long i;
  if (!as_int(obj, &i)) return false;
  *value = static_cast<double>(i);
  return true;
}

struct Buffers {
  const char* fn;
  py::array param, grad;
  std::vector<py::array> keep;  // state buffers, alive until the step is done
  std::vector<const char*> names;  // keep's argument names
  index_t n = 0;
};

// Every buffer the step writes (param, the state) must share no memory with any other buffer
// it reads or writes: the fused kernel reads each element once, so a partial overlap (e.g.
// param b[1:] and grad b[:-1]) reads values it already updated, and even exact aliasing of two
// roles gives another answer than the reference's sequence of numpy updates.
void check_buffers_disjoint(const Buffers& b) {
  for (std::size_t i = 0; i < b.keep.size(); ++i) {
    check_disjoint(b.param, b.keep[i], b.fn, "param", b.names[i]);
    check_disjoint(b.keep[i], b.grad, b.fn, b.names[i], "grad");
    for (std::size_t j = 0; j < i; ++j)
      check_disjoint(b.keep[i], b.keep[j], b.fn, b.names[i], b.names[j]);
  }
  check_disjoint(b.param, b.grad, b.fn, "param", "grad");
}

// param (writeable float32, C-contiguous) and grad (float32, param's shape; copied if strided).
// A param off the float boundary is the reference's (it is updated in place, never copied).
bool param_and_grad(py::handle param, py::handle grad, Buffers* b) {
  if (!py::isinstance<py::array>(param)) return false;
  py::array p = py::reinterpret_borrow<py::array>(param);
  py::array probe;
  if (!as_contiguous_float32(p, &probe, b->fn, "param", 0) || !p.writeable() ||
      !is_aligned(p))
    return false;
  if (!(p.flags() & py::array::c_style))
    throw py::value_error(std::string(b->fn) + ": argument 'param' must be C-contiguous (it is "
                          "updated in place); pass the flat parameter buffer, not a strided view");
  b->param = p;
  b->n = element_count(p);
  return as_contiguous_float32(grad, &b->grad, b->fn, "grad", 0) && same_shape(b->grad, p);
}

// A state buffer updated in place; null when absent. False: defer to the reference (missing
// but needed, wrong dtype or shape, read-only, off the float boundary). Strided float32 buffers
// raise ValueError.
bool state(py::handle obj, bool needed, const char* arg, Buffers* b, float** data) {
  *data = nullptr;
  if (obj.is_none()) return !needed;
  if (!py::isinstance<py::array>(obj)) return false;
  py::array a = py::reinterpret_borrow<py::array>(obj);
  py::array probe;
  if (!as_contiguous_float32(a, &probe, b->fn, arg, 0) || !a.writeable() || !is_aligned(a) ||
      !same_shape(a, b->param))
    return false;
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(b->fn) + ": argument '" + arg + "' must be C-contiguous " +
                          "(it is updated in place)");
  *data = mutable_data(a);
  b->keep.push_back(a);
  b->names.push_back(arg);
  return true;
}

template <class Args>
void run(void (*kernel)(const Args&), Args& args, Buffers& b) {
  check_buffers_disjoint(b);
  args.param = mutable_data(b.param);
  args.grad = float_data(b.grad);
  args.n = b.n;
  args.num_threads = threads_for(b.n * kStepCost, kPointwiseGrain);
  py::gil_scoped_release release;
  kernel(args);
}

py::object sgd_step(py::handle param, py::handle grad, py::handle momentum_buffer,
                    py::handle lr, py::handle momentum, py::handle dampening, bool nesterov,
                    py::handle weight_decay, bool maximize, bool first_step) {
  SgdArgs a{};
  Buffers b{"sgd_step"};
  if (!real(lr, &a.lr) || !real(momentum, &a.momentum) || !real(dampening, &a.dampening) ||
      !real(weight_decay, &a.weight_decay) || !(a.lr >= 0) || !(a.momentum >= 0) ||
      !(a.weight_decay >= 0) || (nesterov && !(a.momentum > 0 && a.dampening == 0)) ||
      !param_and_grad(param, grad, &b) ||
      !state(momentum_buffer, a.momentum != 0, "momentum_buffer", &b, &a.momentum_buffer))
    return not_implemented();
  a.nesterov = nesterov, a.maximize = maximize, a.first_step = first_step;
  run(active_kernels().sgd_step, a, b);
  return py::none();
}

py::object adam_step(py::handle param, py::handle grad, py::handle exp_avg,
                     py::handle exp_avg_sq, py::handle max_exp_avg_sq, py::handle step,
                     py::handle lr, py::handle beta1, py::handle beta2, py::handle eps,
                     py::handle weight_decay, bool amsgrad, bool decoupled, bool maximize) {
  AdamArgs a{};
  Buffers b{"adam_step"};
  long long step_count;
  if (!as_int(step, &step_count) || step_count < 1 || !real(lr, &a.lr) ||
      !real(beta1, &a.beta1) || !real(beta2, &a.beta2) || !real(eps, &a.eps) ||
      !real(weight_decay, &a.weight_decay) || !(a.lr >= 0) || !(a.beta1 >= 0 && a.beta1 < 1) ||
      !(a.beta2 >= 0 && a.beta2 < 1) || !(a.eps >= 0) || !(a.weight_decay >= 0) ||
      !param_and_grad(param, grad, &b) || !state(exp_avg, true, "exp_avg", &b, &a.exp_avg) ||
      !state(exp_avg_sq, true, "exp_avg_sq", &b, &a.exp_avg_sq) ||
      !state(max_exp_avg_sq, amsgrad, "max_exp_avg_sq", &b, &a.max_exp_avg_sq))
    return not_implemented();
  a.step = step_count, a.amsgrad = amsgrad, a.decoupled_weight_decay = decoupled;
  a.maximize = maximize;
  run(active_kernels().adam_step, a, b);
  return py::none();
}

py::object rmsprop_step(py::handle param, py::handle grad, py::handle square_avg,
                        py::handle grad_avg, py::handle momentum_buffer, py::handle lr,
                        py::handle alpha, py::handle eps, py::handle weight_decay,
                        py::handle momentum, bool centered, bool maximize) {
  RmspropArgs a{};
  Buffers b{"rmsprop_step"};
  if (!real(lr, &a.lr) || !real(alpha, &a.alpha) || !real(eps, &a.eps) ||
      !real(weight_decay, &a.weight_decay) || !real(momentum, &a.momentum) || !(a.lr >= 0) ||
      !(a.alpha >= 0) || !(a.eps >= 0) || !(a.weight_decay >= 0) ||
      !(a.momentum >= 0) || !param_and_grad(param, grad, &b) ||
      !state(square_avg, true, "square_avg", &b, &a.square_avg) ||
      !state(grad_avg, centered, "grad_avg", &b, &a.grad_avg) ||
      !state(momentum_buffer, a.momentum > 0, "momentum_buffer", &b, &a.momentum_buffer))
    return not_implemented();
  a.centered = centered, a.maximize = maximize;
  run(active_kernels().rmsprop_step, a, b);
  return py::none();
}

py::object adagrad_step(py::handle param, py::handle grad, py::handle state_sum, py::handle step,
                        py::handle lr, py::handle lr_decay, py::handle weight_decay,
                        py::handle initial_accumulator_value, py::handle eps, bool maximize) {
  AdagradArgs a{};
  Buffers b{"adagrad_step"};
  long long step_count;
  if (!as_int(step, &step_count) || step_count < 1 || !real(lr, &a.lr) ||
      !real(lr_decay, &a.lr_decay) || !real(weight_decay, &a.weight_decay) ||
      !real(initial_accumulator_value, &a.initial_accumulator_value) || !real(eps, &a.eps) ||
      !(a.lr >= 0) || !(a.lr_decay >= 0) || !(a.weight_decay >= 0) ||
      !(a.initial_accumulator_value >= 0) || !(a.eps >= 0) || !param_and_grad(param, grad, &b) ||
      !state(state_sum, true, "state_sum", &b, &a.state_sum))
    return not_implemented();
  a.step = step_count, a.maximize = maximize;
  run(active_kernels().adagrad_step, a, b);
  return py::none();
}

}  // namespace

void bind_optim(py::module_& kernels) {
  // Positional entry points behind the wrappers in hpnn/kernels/optim.py; each returns None
  // after updating in place, or NotImplemented where the numpy reference must handle the call.
  kernels.def("_sgd_step", &sgd_step);
  kernels.def("_adam_step", &adam_step);
  kernels.def("_rmsprop_step", &rmsprop_step);
  kernels.def("_adagrad_step", &adagrad_step);
}

}  // namespace hpnn
