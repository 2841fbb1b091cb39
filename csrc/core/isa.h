// Helpers for sources compiled once per instruction-set target (the HPNN_ISA_SOURCES in
// CMakeLists.txt). Each such translation unit is built with HPNN_ISA=<name> and its own -m flags.
//
// Everything such a file defines must live in namespace hpnn::HPNN_ISA_NS: an inline function or
// template instantiated in two ISA units under one mangled name would be merged by the linker,
// and the AVX-512 copy could then run on a CPU without AVX-512. For the same reason these files
// avoid std:: templates (std::min, std::vector, ...) and use the helpers below.
#pragma once
#include <cstdint>

#define HPNN_CAT2_(a, b) a##_##b
#define HPNN_CAT2(a, b) HPNN_CAT2_(a, b)
#define HPNN_STR_(a) #a
#define HPNN_STR(a) HPNN_STR_(a)

#ifdef HPNN_ISA
#define HPNN_ISA_NS HPNN_CAT2(isa, HPNN_ISA)
// The name of a per-ISA registration function, e.g. register_gemm_avx2.
#define HPNN_ISA_FN(name) HPNN_CAT2(name, HPNN_ISA)
#endif

namespace hpnn {
using index_t = std::int64_t;
}
