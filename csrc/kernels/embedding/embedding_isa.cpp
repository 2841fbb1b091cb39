// Embedding lookup (a gather of rows) and its gradient (a scatter-add of rows), compiled per
// ISA. Indices were checked against [0, num_embeddings) by the binding before any call.
//
// The backward is deterministic at any thread count: threads split the embedding dimension's
// columns, never the indices, so every gradient element is the sum of its rows in index order,
// whichever thread computes it.
#include <cstring>
#include <vector>

#include "core/kernel_table.h"
#include "core/simd.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// Columns per thread task in the backward: at least one cache line, whole vectors.
constexpr index_t kMinColumns = 16;

void embedding_forward(const EmbeddingArgs& a, const float* weight, float* y) {
  const index_t d = a.dim;
  const std::size_t bytes = static_cast<std::size_t>(d) * sizeof(float);
  const int nt = static_cast<int>(imin(a.num_threads, a.count));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t i = 0; i < a.count; ++i) std::memcpy(y + i * d, weight + a.indices[i] * d, bytes);
}

// out[0, n) += scale * in[0, n)
void add_scaled(float* out, const float* in, index_t n, float scale) {
  const vfloat vs = vbroadcast(scale);
  index_t i = 0;
  for (; i + kLanes <= n; i += kLanes) vstore(out + i, vload(out + i) + vs * vload(in + i));
  for (; i < n; ++i) out[i] += scale * in[i];
}

void add_row(float* out, const float* in, index_t n) {
  index_t i = 0;
  for (; i + kLanes <= n; i += kLanes) vstore(out + i, vload(out + i) + vload(in + i));
  for (; i < n; ++i) out[i] += in[i];
}

void embedding_backward(const EmbeddingArgs& a, const float* grad_y, float* grad_weight) {
  const index_t d = a.dim;
  std::vector<float> inverse_count;  // scale_grad_by_freq: 1 / occurrences of each index
  if (a.scale_grad_by_freq) {
    std::vector<index_t> counts(static_cast<std::size_t>(a.num_embeddings), 0);
    for (index_t i = 0; i < a.count; ++i) ++counts[static_cast<std::size_t>(a.indices[i])];
    inverse_count.resize(counts.size());
    for (std::size_t e = 0; e < counts.size(); ++e)
      inverse_count[e] = counts[e] ? 1.0f / static_cast<float>(counts[e]) : 0.0f;
  }
  // Column slices: split only when each has kMinColumns; their bounds do not change the sums.
  const index_t slices = imax(1, imin(a.num_threads, d / kMinColumns));
  const index_t width = ceil_div(ceil_div(d, slices), kLanes) * kLanes;
  const int nt = static_cast<int>(imax(1, ceil_div(d, imax(width, 1))));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t t = 0; t < nt; ++t) {
    const index_t c0 = t * width, n = imin(d, c0 + width) - c0;
    if (n <= 0) continue;
    for (index_t e = 0; e < a.num_embeddings; ++e)
      std::memset(grad_weight + e * d + c0, 0, static_cast<std::size_t>(n) * sizeof(float));
    for (index_t i = 0; i < a.count; ++i) {
      const index_t e = a.indices[i];
      if (e == a.padding_idx) continue;
      float* out = grad_weight + e * d + c0;
      if (a.scale_grad_by_freq) add_scaled(out, grad_y + i * d + c0, n, inverse_count[e]);
      else add_row(out, grad_y + i * d + c0, n);
    }
  }
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_embedding)(KernelTable& table) {
  table.embedding_forward = HPNN_ISA_NS::embedding_forward;
  table.embedding_backward = HPNN_ISA_NS::embedding_backward;
}

}  // namespace hpnn
