// The dispatch table: one set of function pointers per compiled ISA, filled by the per-ISA
// registration functions, the best one the CPU supports chosen at import (HPNN_ISA overrides).
#pragma once
#include <string>
#include <vector>

#include "core/isa.h"

namespace hpnn {

// C = alpha * op(A) @ op(B) + beta * C with element (i, j) of X at x[i * rs_x + j * cs_x];
// op() is folded into the strides by the caller. beta == 0 never reads C; alpha == 0 or
// k == 0 never reads A or B (the BLAS convention).
struct GemmArgs {
  index_t m, n, k;
  const float* a;
  index_t rs_a, cs_a;
  const float* b;
  index_t rs_b, cs_b;
  float* c;
  index_t rs_c, cs_c;
  float alpha, beta;
  int num_threads;
};

// Cache blocking of one ISA's GEMM (see csrc/kernels/gemm/gemm_isa.cpp for the reasoning).
struct GemmBlocking {
  int mr, nr;           // register tile of the micro-kernel
  index_t kc, mc, nc;   // depth, rows and columns of the packed blocks
};

struct KernelTable {
  const char* isa = nullptr;
  void (*sgemm)(const GemmArgs&, const GemmBlocking&) = nullptr;
  GemmBlocking gemm_blocking{};
  // Runs `iters` iterations of independent FMAs in registers; returns the flops done.
  double (*fma_probe)(index_t iters) = nullptr;
};

const KernelTable& active_kernels();
const char* active_isa();
std::vector<std::string> available_isas();   // compiled in and supported by this CPU, best first
std::vector<std::string> compiled_isas();
void select_isa(const std::string& name);    // throws std::invalid_argument
void set_gemm_blocking(index_t kc, index_t mc, index_t nc);  // tuning hook for the benchmarks

}  // namespace hpnn
