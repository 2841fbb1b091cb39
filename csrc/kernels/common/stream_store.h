// Output stores for the memory-bound kernels (pooling, batch norm, activations) and the GEMM's
// single-pass C tiles (a pointwise convolution's y). An output larger than the caches is better
// written around them: a non-temporal store skips the read for ownership a plain store of a
// missing line pays (one DRAM transfer in three of a copy), and keeps the cache for the inputs
// a kernel reads twice. Smaller outputs are stored plainly, so that the next kernel finds them
// in cache. Include only from per-ISA sources (see core/isa.h).
#pragma once
#include <cstdint>

#include "core/simd.h"
#include "core/streaming.h"

#if defined(__SSE__)
#include <immintrin.h>
#endif

namespace hpnn {
namespace HPNN_ISA_NS {

// Whether an output of this size is streamed (from 16 MiB on, see core/streaming.cpp).
static inline bool worth_streaming(index_t output_bytes) {
  return output_bytes >= stream_min_bytes();
}

// A non-temporal store of a vector to p, aligned to kVecBytes; a plain one where the ISA has none.
static inline void vstream(float* p, vfloat v) {
#if defined(__AVX512F__)
  _mm512_stream_ps(p, reinterpret_cast<__m512>(v));
#elif defined(__AVX__)
  _mm256_stream_ps(p, reinterpret_cast<__m256>(v));
#elif defined(__SSE__)
  _mm_stream_ps(p, reinterpret_cast<__m128>(v));
#else
  vstore(p, v);
#endif
}

// Orders this thread's streamed stores before its later ones (they are weakly ordered): call it
// once a thread has finished streaming its part of an output, before others may read it.
static inline void stream_fence() {
#if defined(__SSE__)
  _mm_sfence();
#endif
}

// Elements before the first kVecBytes-aligned one in out[0, n) (n when none is).
static inline index_t unaligned_head(const float* out, index_t n) {
  const std::uintptr_t address = reinterpret_cast<std::uintptr_t>(out);
  if (address % sizeof(float)) return n;  // never vector-aligned: all scalar
  const index_t misaligned = static_cast<index_t>(address / sizeof(float) % kLanes);
  return misaligned ? imin(n, kLanes - misaligned) : 0;
}

// out[i] = vector_at(i) for the vectors of [0, n), scalar_at(i) for the rest; the vectors are
// streamed when `stream` (from the first aligned element on), stored plainly otherwise.
template <class VectorAt, class ScalarAt>
void store_row(float* out, index_t n, bool stream, VectorAt&& vector_at, ScalarAt&& scalar_at) {
  index_t i = 0;
  if (stream) {
    for (const index_t head = unaligned_head(out, n); i < head; ++i) out[i] = scalar_at(i);
    for (; i + kLanes <= n; i += kLanes) vstream(out + i, vector_at(i));
  } else {
    for (; i + kLanes <= n; i += kLanes) vstore(out + i, vector_at(i));
  }
  for (; i < n; ++i) out[i] = scalar_at(i);
}

// Streams `words` 4-byte words (floats, or int64 as pairs) from src to dst.
static inline void stream_copy(void* dst, const void* src, index_t words) {
  float* out = static_cast<float*>(dst);
  const float* in = static_cast<const float*>(src);
  const index_t head = unaligned_head(out, words);
  index_t i = 0;
  for (; i < head; ++i) __builtin_memcpy(out + i, in + i, sizeof(float));
  for (; i + kLanes <= words; i += kLanes) vstream(out + i, vload(in + i));
  for (; i < words; ++i) __builtin_memcpy(out + i, in + i, sizeof(float));
}

}  // namespace HPNN_ISA_NS
}  // namespace hpnn
