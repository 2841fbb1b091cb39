#include <pybind11/stl.h>

#include "hpnn_build_config.h"

#include "bindings/array_checks.h"
#include "core/kernel_table.h"
#include "core/parallel.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace hpnn {
// One per kernel family, each in csrc/bindings/<family>_bindings.cpp.
void bind_gemm(py::module_& kernels);
void bind_norm(py::module_& kernels);
void bind_row_norm(py::module_& kernels);
void bind_embedding(py::module_& kernels);
void bind_attention(py::module_& kernels);
void bind_activation(py::module_& kernels);
void bind_loss(py::module_& kernels);
void bind_optim(py::module_& kernels);
void bind_dropout(py::module_& kernels);
void bind_conv(py::module_& kernels);
void bind_pool(py::module_& kernels);
void bind_rnn(py::module_& kernels);
void bind_op_codes(py::module_& kernels);

namespace {

py::dict build_info() {
  py::dict info;
  info["version"] = HPNN_VERSION;
  info["compiler"] = HPNN_COMPILER;
  info["flags"] = HPNN_BUILD_FLAGS;
#ifdef _OPENMP
  info["openmp"] = _OPENMP;
#else
  info["openmp"] = py::none();
#endif
  info["compiled_isas"] = compiled_isas();
  return info;
}

py::dict gemm_blocking() {
  const GemmBlocking& b = active_kernels().gemm_blocking;
  py::dict out;
  out["mr"] = b.mr, out["nr"] = b.nr, out["kc"] = b.kc, out["mc"] = b.mc, out["nc"] = b.nc;
  return out;
}

double fma_probe(index_t iters) {
  if (iters < 1) throw py::value_error("fma_probe: iters must be >= 1");
  auto probe = active_kernels().fma_probe;
  py::gil_scoped_release release;
  return probe(iters);
}

}  // namespace
}  // namespace hpnn

PYBIND11_MODULE(_C, m) {
  using namespace hpnn;
  m.doc() = "hpnn native kernels";
  active_kernels();  // resolves HPNN_ISA now, so a bad value fails the import with its reason
  m.def("build_info", &build_info);
  m.def("get_isa", &active_isa, "The instruction set the kernels run with.");
  m.def("set_isa", &select_isa, py::arg("name"),
        "Switch every kernel to another compiled-in ISA the CPU supports (e.g. 'generic').");
  m.def("available_isas", &available_isas, "ISAs compiled in and supported here, best first.");
  m.def("get_num_threads", &get_num_threads);
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("are_deterministic_algorithms_enabled", &deterministic_algorithms);
  m.def("use_deterministic_algorithms", &set_deterministic_algorithms, py::arg("mode"),
        "Reductions split independently of the thread count (bit-identical results), or not.");
  m.def("gemm_blocking", &gemm_blocking);
  m.def("set_gemm_blocking", &set_gemm_blocking, py::arg("kc"), py::arg("mc"), py::arg("nc"),
        "Tuning hook: change the active ISA's GEMM cache blocking.");
  m.def("fma_probe", &fma_probe, py::arg("iters"),
        "Run `iters` rounds of register-only FMAs on one thread; returns the flops done.");
  bind_output_cache(m);
  py::module_ kernels = m.def_submodule("kernels", "Native float32 kernels");
  bind_gemm(kernels);
  bind_norm(kernels);
  bind_row_norm(kernels);
  bind_embedding(kernels);
  bind_attention(kernels);
  bind_activation(kernels);
  bind_loss(kernels);
  bind_optim(kernels);
  bind_dropout(kernels);
  bind_conv(kernels);
  bind_op_codes(kernels);
  bind_pool(kernels);
  bind_rnn(kernels);
}
