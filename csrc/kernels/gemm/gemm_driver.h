// Single-precision GEMM in the BLIS layering, compiled once per ISA (see core/isa.h). Each
// thread owns one block of C (thread_block) and runs, on its rows and columns:
//
//   for jc in its columns step NC:
//     for pc in K step KC:
//       pack op(B) block KC x NC into NR-column panels       (L3; each panel KC x NR fits L1)
//       for ic in its rows step MC:
//         pack op(A) block MC x KC into MR-row panels         (L2)
//         for each NR panel of the B block:                    B micro-panel stays in L1
//           for each MR panel of the A block:                  A micro-panel streams from L2
//             micro-kernel: MR x NR tile of C += A micro-panel @ B micro-panel
//
// The micro-kernel keeps the whole MR x NR tile of C in vector registers: per step of k it
// loads NR/lanes vectors of B and broadcasts MR scalars of A, for MR * NR/lanes FMAs. Edge tiles
// run the kernel on zero-padded panels (rows rounded up to a multiple of MR / 3 only) and write
// back through a small tile buffer.
//
// This header is included by per-ISA sources only (the GEMM itself and the convolutions, which
// pack their images straight into B panels); everything is in an anonymous namespace, so each
// including file has its own copy compiled for its ISA.
#pragma once
#include "core/kernel_table.h"
#include "core/scratch.h"
#include "core/simd.h"
#include "kernels/common/stream_store.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// Register tile and blocking per ISA. The tile uses 2 vectors across and MR rows: MR * 2
// accumulators + 2 B vectors + 1 broadcast must fit the register file (16 ymm/xmm, 32 zmm),
// and MR * 2 >= FMA latency * FMA ports (4 * 2 on Zen/Skylake) keeps both FMA pipes busy.
// KC: deep enough that each pass over C (K / KC of them, each reading and writing the tile)
//     is amortised over many FMAs; the B micro-panel (KC x NR) then streams from L1/L2.
// MC: the packed A block (MC x KC, 96 x 512 floats = 192 KiB) sits well inside L2.
// NC: the packed B block (KC x NC) in the shared L3.
// Measured on Zen 5 (48 KiB L1d, 1 MiB L2): KC = 512, MC = 96 beat KC = 256, MC = 144-192 by
// 2-5% at n = 512-2048 on AVX-512 and by 1-2% on AVX2 (bench/test_gemm.py; tuning hook
// hpnn._C.set_gemm_blocking). On AVX-512, NC = 1024 (a 2 MiB B block) beat 4096 by 3-8% on
// wide products (256 x 4096 x 1024) and was level elsewhere; on AVX2 the two were level.
#if defined(__AVX512F__)
constexpr int MR = 12;
constexpr int NV = 2;
constexpr GemmBlocking kBlocking = {MR, NV * kLanes, 512, 96, 1024};
#elif defined(__AVX2__)
constexpr int MR = 6;
constexpr int NV = 2;
constexpr GemmBlocking kBlocking = {MR, NV * kLanes, 512, 96, 4080};
#else
constexpr int MR = 6;
constexpr int NV = 2;
constexpr GemmBlocking kBlocking = {MR, NV * kLanes, 256, 144, 4096};
#endif
constexpr int NR = NV * kLanes;
// Products with a side narrower than half a tile and small enough for one thread run faster
// as dot products along K (gemm_dot.h, when K is contiguous in both operands) than on register
// tiles padded to MR x NR.
inline bool dot_products_pay(index_t m, index_t n, index_t k) {
  return imin(m, n) < NR / 2 && m * n * k <= (index_t{1} << 21);
}

// Edge tiles of m < MR rows run a kernel of m rounded up to a multiple of this: a 64-row C
// (a batch of 64) then costs 64 rows of FMAs, not 72.
constexpr int kRowStep = MR / 3;

// What a tile's write stores besides alpha * (A @ B): beta * C, and bias[i] on the tile's row i
// (null: none). The bias rides the first pass over C, so it costs no pass of its own.
struct TileWrite {
  float alpha, beta;
  const float* bias = nullptr;
  bool stream = false;  // whole tiles' vector-aligned rows stored non-temporally
  bool relu = false;    // max(result, 0), NaN kept
};

// Writes alpha * acc (+ beta * C) (+ bias) to the m x n corner of the C tile at c.
template <int kRows>
void write_tile(const vfloat (&acc)[kRows][NV], float* c, index_t rs_c, index_t cs_c,
                const TileWrite& w, int m, int n) {
  const vfloat valpha = vbroadcast(w.alpha);
  if (m == kRows && n == NR && cs_c == 1) {
    const vfloat vbeta = vbroadcast(w.beta);
#pragma GCC unroll 16
    for (int i = 0; i < kRows; ++i) {
      const vfloat vbias = vbroadcast(w.bias ? w.bias[i] : 0.0f);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        float* dst = c + i * rs_c + v * kLanes;
        vfloat out = valpha * acc[i][v];
        if (w.beta != 0.0f) out += vbeta * vload(dst);
        if (w.bias) out += vbias;
        if (w.relu) out = relu(out);
        if (w.stream && reinterpret_cast<std::uintptr_t>(dst) % kVecBytes == 0)
          vstream(dst, out);
        else
          vstore(dst, out);
      }
    }
    return;
  }
  alignas(64) float tile[kRows * NR];
#pragma GCC unroll 16
  for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) vstore(tile + i * NR + v * kLanes, valpha * acc[i][v]);
  for (int i = 0; i < m; ++i) {
    float* row = c + i * rs_c;
    const float bias = w.bias ? w.bias[i] : 0.0f;
    for (int j = 0; j < n; ++j) {
      float out = tile[i * NR + j] + (w.beta == 0.0f ? 0.0f : w.beta * row[j * cs_c]) + bias;
      row[j * cs_c] = w.relu ? relu(out) : out;
    }
  }
}

// One NR-column micro-panel of B: packed (row p at b + p * NR), or read in place from a
// source whose row p starts at b + row_offsets[p] (the convolutions' padded images).
struct BPanel {
  const float* b;
  bool in_place;
};

// C tile (m <= kRows <= MR rows, n <= NR columns) = alpha * A micro-panel @ B micro-panel +
// beta * C (+ bias), on the first kRows rows of the A panel.
// A is a packed panel (element (i, p) at a[p * MR + i]) or, with kDirectA, read in place from
// op(A) at a[i * rs_a + p * cs_a] -- cheaper than packing when the panel is used only once or
// twice (narrow N), since packing touches every element of A anyway. B likewise with
// kInPlaceB: one offset load per step instead of packing a panel used by only a few tiles.
template <int kRows, bool kDirectA, bool kInPlaceB>
void micro_kernel(index_t k, const float* __restrict a, index_t rs_a, index_t cs_a,
                  const float* __restrict b, const index_t* __restrict b_rows, float* c,
                  index_t rs_c, index_t cs_c, const TileWrite& w, int m, int n) {
  const index_t a_row = kDirectA ? rs_a : 1, a_step = kDirectA ? cs_a : MR;
  // Start fetching the C tile now (unless it is streamed); the k loop below hides the latency.
  for (int i = 0; i < (w.stream ? 0 : m); ++i) {
    __builtin_prefetch(c + i * rs_c, 1);
    __builtin_prefetch(c + i * rs_c + (n - 1) * cs_c, 1);
  }
  vfloat acc[kRows][NV];
#pragma GCC unroll 16
  for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = vfloat{};
  for (index_t p = 0; p < k; ++p) {
    const float* b_p = kInPlaceB ? b + b_rows[p] : b + p * NR;
    vfloat b_row[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b_row[v] = vload(b_p + v * kLanes);
#pragma GCC unroll 16
    for (int i = 0; i < kRows; ++i) {
      const vfloat a_i = vbroadcast(a[i * a_row]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] += a_i * b_row[v];
    }
    a += a_step;
  }
  write_tile(acc, c, rs_c, cs_c, w, m, n);
}

template <int kRows>
void run_tile_rows(bool direct_a, const float* a, index_t rs_a, index_t cs_a, const BPanel& panel,
                   const index_t* b_rows, index_t k, float* c, index_t rs_c, index_t cs_c,
                   const TileWrite& w, int m, int n) {
  if (direct_a && panel.in_place)
    micro_kernel<kRows, true, true>(k, a, rs_a, cs_a, panel.b, b_rows, c, rs_c, cs_c, w, m, n);
  else if (direct_a)
    micro_kernel<kRows, true, false>(k, a, rs_a, cs_a, panel.b, b_rows, c, rs_c, cs_c, w, m, n);
  else if (panel.in_place)
    micro_kernel<kRows, false, true>(k, a, rs_a, cs_a, panel.b, b_rows, c, rs_c, cs_c, w, m, n);
  else
    micro_kernel<kRows, false, false>(k, a, rs_a, cs_a, panel.b, b_rows, c, rs_c, cs_c, w, m, n);
}

// One tile of C through the micro-kernel variant its operands and row count call for.
void run_tile(bool direct_a, const float* a, index_t rs_a, index_t cs_a, const BPanel& panel,
              const index_t* b_rows, index_t k, float* c, index_t rs_c, index_t cs_c,
              const TileWrite& w, int m, int n) {
  if (m > 2 * kRowStep)
    run_tile_rows<MR>(direct_a, a, rs_a, cs_a, panel, b_rows, k, c, rs_c, cs_c, w, m, n);
  else if (m > kRowStep)
    run_tile_rows<2 * kRowStep>(direct_a, a, rs_a, cs_a, panel, b_rows, k, c, rs_c, cs_c, w, m, n);
  else
    run_tile_rows<kRowStep>(direct_a, a, rs_a, cs_a, panel, b_rows, k, c, rs_c, cs_c, w, m, n);
}

// dst[c * dst_stride + r] = rows[r][c] for a 4 x 4 block.
void transpose_4x4_rows(const float* r0, const float* r1, const float* r2, const float* r3,
                        float* dst, index_t dst_stride) {
  const vfloat4 a0 = *reinterpret_cast<const vfloat4u*>(r0);
  const vfloat4 a1 = *reinterpret_cast<const vfloat4u*>(r1);
  const vfloat4 a2 = *reinterpret_cast<const vfloat4u*>(r2);
  const vfloat4 a3 = *reinterpret_cast<const vfloat4u*>(r3);
  const vfloat4 t0 = __builtin_shufflevector(a0, a1, 0, 4, 1, 5);
  const vfloat4 t1 = __builtin_shufflevector(a0, a1, 2, 6, 3, 7);
  const vfloat4 t2 = __builtin_shufflevector(a2, a3, 0, 4, 1, 5);
  const vfloat4 t3 = __builtin_shufflevector(a2, a3, 2, 6, 3, 7);
  *reinterpret_cast<vfloat4u*>(dst) = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
  *reinterpret_cast<vfloat4u*>(dst + dst_stride) = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
  *reinterpret_cast<vfloat4u*>(dst + 2 * dst_stride) = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
  *reinterpret_cast<vfloat4u*>(dst + 3 * dst_stride) = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
}

// dst[c * dst_stride + r] = src[r * src_stride + c] for a 4 x 4 block.
void transpose_4x4(const float* src, index_t src_stride, float* dst, index_t dst_stride) {
  transpose_4x4_rows(src, src + src_stride, src + 2 * src_stride, src + 3 * src_stride, dst,
                     dst_stride);
}

#if defined(__AVX2__)
// dst[c * dst_stride + r] = src[r * src_stride + c] for an 8 x 8 block: pairs of rows
// interleaved, then pairs of pairs, then the 128-bit halves (24 shuffles for 64 floats, where
// four 4 x 4 blocks take 32 on half-width vectors).
void transpose_8x8(const float* src, index_t src_stride, float* dst, index_t dst_stride) {
  vfloat8 a[8], t[8], u[8];
  for (int r = 0; r < 8; ++r) a[r] = *reinterpret_cast<const vfloat8u*>(src + r * src_stride);
  for (int r = 0; r < 8; r += 2) {
    t[r] = __builtin_shufflevector(a[r], a[r + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[r + 1] = __builtin_shufflevector(a[r], a[r + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int r = 0; r < 8; r += 4)
    for (int h = 0; h < 2; ++h) {  // h = 0: columns 0, 1 (and 4, 5); h = 1: columns 2, 3 (6, 7)
      u[r + 2 * h] = __builtin_shufflevector(t[r + h], t[r + h + 2], 0, 1, 8, 9, 4, 5, 12, 13);
      u[r + 2 * h + 1] = __builtin_shufflevector(t[r + h], t[r + h + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    }
  for (int c = 0; c < 4; ++c) {
    *reinterpret_cast<vfloat8u*>(dst + c * dst_stride) =
        __builtin_shufflevector(u[c], u[c + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    *reinterpret_cast<vfloat8u*>(dst + (c + 4) * dst_stride) =
        __builtin_shufflevector(u[c], u[c + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}
constexpr int kTransposeBlock = 8;
#else
constexpr int kTransposeBlock = 4;
#endif

template <int B>
void transpose_block(const float* src, index_t src_stride, float* dst, index_t dst_stride) {
#if defined(__AVX2__)
  if constexpr (B == 8) return transpose_8x8(src, src_stride, dst, dst_stride);
#endif
  transpose_4x4(src, src_stride, dst, dst_stride);
}

// out[p * W + l] = src[l * lane_stride + p] for the lanes [0, B * groups): B x B transposes, B
// steps at a time across all the groups (out is then written in whole rows, once, where group
// by group its rows, 64 KiB at W = 32 and KC = 512, were swept W / B times), then the last
// steps one by one. Returns the lanes done.
template <int B, int W>
int transpose_lane_groups(index_t kc, int groups, const float* src, index_t lane_stride,
                          float* out) {
  const index_t whole = kc - kc % B;
  for (index_t p = 0; p < whole; p += B)
    for (int g = 0; g < groups; ++g)
      transpose_block<B>(src + B * g * lane_stride + p, lane_stride, out + p * W + B * g, W);
  for (int l = 0; l < B * groups; ++l)
    for (index_t p = whole; p < kc; ++p) out[p * W + l] = src[l * lane_stride + p];
  return B * groups;
}

// Packs one panel of W lanes (the MR rows of an A panel or the NR columns of a B panel) over
// kc steps of k: out[p * W + l] = src[l * lane_stride + p * step_stride]; lanes past `lanes`
// are zero. Each source layout gets its fast loop: lanes contiguous (a plain copy per step),
// steps contiguous (block transposes), else element by element.
template <int W>
void pack_panel(index_t kc, int lanes, const float* src, index_t lane_stride, index_t step_stride,
                float* out) {
  if (lanes == W && lane_stride == 1) {
    for (index_t p = 0; p < kc; ++p)
#pragma GCC unroll 32
      for (int l = 0; l < W; ++l) out[p * W + l] = src[p * step_stride + l];
    return;
  }
  int l = 0;
  if (step_stride == 1) {
    l = transpose_lane_groups<kTransposeBlock, W>(kc, lanes / kTransposeBlock, src, lane_stride,
                                                  out);
    if (kTransposeBlock > 4)
      l += transpose_lane_groups<4, W>(kc, (lanes - l) / 4, src + l * lane_stride, lane_stride,
                                       out + l);
  }
  for (; l < lanes; ++l)
    for (index_t p = 0; p < kc; ++p) out[p * W + l] = src[l * lane_stride + p * step_stride];
  for (l = lanes; l < W; ++l)
    for (index_t p = 0; p < kc; ++p) out[p * W + l] = 0.0f;
}

// Packs rows [0, mc) x depth [0, kc) of op(A) (element (i, p) at a[i * rs + p * cs]) into
// MR-row panels, one after another.
void pack_a(index_t mc, index_t kc, const float* a, index_t rs, index_t cs, float* out) {
  for (index_t r0 = 0; r0 < mc; r0 += MR, out += MR * kc)
    pack_panel<MR>(kc, static_cast<int>(imin(MR, mc - r0)), a + r0 * rs, rs, cs, out);
}

// Where pack_a_whole puts element (i, p) of an m x k op(A): the KC-deep blocks of k one after
// another, each as pack_a lays out all m rows (MR-row panels, zero-padded to whole panels).
index_t packed_a_offset(index_t i, index_t p, index_t m, index_t k, const GemmBlocking& blk) {
  const index_t pc = p / blk.kc * blk.kc, kc = imin(blk.kc, k - pc);
  return pc * ceil_div(m, MR) * MR + i / MR * MR * kc + (p - pc) * MR + i % MR;
}

index_t packed_a_size(index_t m, index_t k) { return ceil_div(m, MR) * MR * k; }

// Packs a whole m x k op(A) once, for products that reuse it (GemmArgs::a_packed). The product
// must run with the same blocking, whose MC is a multiple of MR (so row blocks start on panels).
void pack_a_whole(index_t m, index_t k, const float* a, index_t rs, index_t cs,
                  const GemmBlocking& blk, float* out) {
  for (index_t pc = 0; pc < k; pc += blk.kc)
    pack_a(m, imin(blk.kc, k - pc), a + pc * cs, rs, cs, out + pc * ceil_div(m, MR) * MR);
}

// C = beta * C (+ row bias), used when there is no product to add (k == 0 or alpha == 0).
void scale_c(const GemmArgs& g) {
  for (index_t i = 0; i < g.m; ++i)
    for (index_t j = 0; j < g.n; ++j) {
      float& x = g.c[i * g.rs_c + j * g.cs_c];
      x = (g.beta == 0.0f ? 0.0f : g.beta * x) + (g.row_bias ? g.row_bias[i] : 0.0f);
    }
}

// [begin, end) of part `idx` when `total` units are split into `parts` near-equal ranges.
void split_range(index_t total, index_t parts, index_t idx, index_t* begin, index_t* end) {
  const index_t base = total / parts, extra = total % parts;
  *begin = idx * base + imin(idx, extra);
  *end = *begin + base + (idx < extra ? 1 : 0);
}

// A block of C one thread computes on its own: rows [row_begin, row_end), columns
// [col_begin, col_end).
struct Block {
  index_t row_begin, row_end, col_begin, col_end;
};

// Packing one element costs about as much as this many multiply-adds (a load and a store
// against two FMAs per cycle on the packed data); see thread_block.
constexpr index_t kPackCostInFmas = 32;

// Threads split C into a grid of independent blocks, each packing the A rows and B columns it
// needs itself: no barriers, so a thread delayed by the OS delays only its own block (a shared
// B panel would make every thread wait for the slowest at each KC step). Of the grids
// rows x cols = nt this picks the one with the least work per thread, counting the packing
// that splitting duplicates: a thread's cost is rows * cols * K FMAs plus (rows + cols) * K
// packed elements.
Block thread_block(int tid, int nt, index_t m, index_t n) {
  const index_t m_panels = ceil_div(m, MR), n_panels = ceil_div(n, NR);
  index_t best_rows = 1, best_cost = -1;
  for (index_t row_parts = 1; row_parts <= nt; ++row_parts) {
    if (nt % row_parts) continue;
    const index_t rows = ceil_div(m_panels, row_parts) * MR;
    const index_t cols = ceil_div(n_panels, nt / row_parts) * NR;
    const index_t cost = rows * cols + kPackCostInFmas * (rows + cols);
    if (best_cost < 0 || cost < best_cost) best_rows = row_parts, best_cost = cost;
  }
  const index_t col_parts = nt / best_rows;
  Block block;
  split_range(m_panels, best_rows, tid / col_parts, &block.row_begin, &block.row_end);
  split_range(n_panels, col_parts, tid % col_parts, &block.col_begin, &block.col_end);
  block.row_begin *= MR, block.row_end = imin(block.row_end * MR, m);
  block.col_begin *= NR, block.col_end = imin(block.col_end * NR, n);
  return block;
}

// Rows of an A tile `rs` floats apart share few L1 sets when rs is a multiple of a large power
// of two (4 KiB apart: all MR rows in one 8-way set), so reading the tile in place evicts it on
// every step of k. Such strides (more rows per set than half its ways) are packed instead.
bool rows_alias_in_l1(index_t rs) {
  constexpr index_t kL1SetSpan = 4096 / sizeof(float), kWays = 8;
  index_t sets = 1;  // distinct L1 sets the rows' starts fall in, up to kL1SetSpan / 16
  while (sets < kL1SetSpan / 16 && (rs * sets) % kL1SetSpan != 0) sets *= 2;
  return ceil_div(MR, sets) > kWays / 2;
}

// NR panels per thread up to which full MR panels of A are read in place instead of packed.
constexpr index_t kDirectAMaxPanels = 2;

// C[rows, jc:jc+nc] = beta * C + op(A)[rows, pc:pc+kc] @ the B block's NR panels, plus
// g.row_bias on the first pass (pc == 0).
void multiply_block(const GemmArgs& g, const GemmBlocking& blk, index_t row_begin, index_t row_end,
                    index_t jc, index_t nc, index_t pc, index_t kc, float beta,
                    const BPanel* panels, const index_t* b_rows, float* packed_a) {
  const index_t n_panels = ceil_div(nc, NR);
  const bool direct_a = !g.a_packed && n_panels <= kDirectAMaxPanels &&
                        !(g.cs_a == 1 && rows_alias_in_l1(g.rs_a));
  const float* bias = pc == 0 ? g.row_bias : nullptr;
  const bool stream = g.stream_c && beta == 0.0f && kc == g.k;
  const bool with_relu = g.relu && pc + kc == g.k;  // on the last pass over the depth
  for (index_t ic = row_begin; ic < row_end; ic += blk.mc) {
    const index_t mc = imin(blk.mc, row_end - ic);
    const float* a_block = g.a + ic * g.rs_a + pc * g.cs_a;
    // Direct mode packs only a trailing partial panel, which the kernel must not read past.
    const index_t packed_from = direct_a ? mc - mc % MR : 0;
    const float* a_panels = packed_a;
    if (g.a_packed)
      a_panels = g.a + packed_a_offset(ic, pc, g.m, g.k, blk);
    else if (packed_from < mc)
      pack_a(mc - packed_from, kc, a_block + packed_from * g.rs_a, g.rs_a, g.cs_a,
             packed_a + packed_from * kc);
    for (index_t q = 0; q < n_panels; ++q) {
      const int cols = static_cast<int>(imin(NR, nc - q * NR));
      float* c_panel = g.c + ic * g.rs_c + (jc + q * NR) * g.cs_c;
      for (index_t ir = 0; ir < mc; ir += MR) {
        const int rows = static_cast<int>(imin(MR, mc - ir));
        const bool in_place_a = ir < packed_from;
        const TileWrite write{g.alpha, beta, bias ? bias + ic + ir : nullptr, stream, with_relu};
        run_tile(in_place_a, in_place_a ? a_block + ir * g.rs_a : a_panels + ir * kc, g.rs_a,
                 g.cs_a, panels[q], b_rows, kc, c_panel + ir * g.rs_c, g.rs_c, g.cs_c, write,
                 rows, cols);
      }
    }
  }
}

// A B source that can be read in place provides row_offsets(pc, kc, out) -- true, with out[p]
// the offset of row pc + p -- and panel_in_place(j0, cols) -- the panel's base, or null where
// it must be packed after all. Sources without them are always packed.
template <class Source>
auto in_place_rows(const Source& source, index_t pc, index_t kc, index_t* out, int)
    -> decltype(source.row_offsets(pc, kc, out)) {
  return source.row_offsets(pc, kc, out);
}
template <class Source>
bool in_place_rows(const Source&, index_t, index_t, index_t*, long) { return false; }

template <class Source>
auto panel_base(const Source& source, index_t j0, int cols, int)
    -> decltype(source.panel_in_place(j0, cols)) {
  return source.panel_in_place(j0, cols);
}
template <class Source>
const float* panel_base(const Source&, index_t, int, long) { return nullptr; }

// A B source may also pack a whole KC x NC block at once (pack_block(pc, kc, j0, nc, out): true
// when it did), in the panels' layout.
template <class Source>
auto pack_whole_block(const Source& source, index_t pc, index_t kc, index_t j0, index_t nc,
                      float* out, int) -> decltype(source.pack_block(pc, kc, j0, nc, out)) {
  return source.pack_block(pc, kc, j0, nc, out);
}
template <class Source>
bool pack_whole_block(const Source&, index_t, index_t, index_t, index_t, float*, long) {
  return false;
}

// The blocked product restricted to one block of C, on the calling thread.
// pack_b(pc, kc, j0, cols, out) packs one NR-column panel of op(B) rows [pc, pc + kc) and
// columns [j0, j0 + cols) -- a strided matrix, or an image read as its im2col matrix by the
// convolutions.
template <class PackB>
void gemm_block(const GemmArgs& g, const GemmBlocking& blk, const PackB& pack_b, const Block& block) {
  if (block.row_begin >= block.row_end || block.col_begin >= block.col_end) return;
  const index_t kc_max = imin(blk.kc, g.k);
  const index_t nc_max = imin(blk.nc, ceil_div(block.col_end - block.col_begin, NR) * NR);
  float* packed_a = thread_scratch(kScratchPackA, static_cast<std::size_t>(blk.mc * kc_max));
  float* packed_b = thread_scratch(kScratchPackB, static_cast<std::size_t>(kc_max * nc_max));
  // Row offsets and panel descriptors, in floats' worth of scratch (both 8-byte aligned).
  const index_t n_panels_max = nc_max / NR;
  float* bookkeeping = thread_scratch(kScratchPackBViews, static_cast<std::size_t>(
      2 * kc_max + (sizeof(BPanel) / sizeof(float)) * n_panels_max));
  index_t* b_rows = reinterpret_cast<index_t*>(bookkeeping);
  BPanel* panels = reinterpret_cast<BPanel*>(bookkeeping + 2 * kc_max);
  for (index_t jc = block.col_begin; jc < block.col_end; jc += blk.nc) {
    const index_t nc = imin(blk.nc, block.col_end - jc);
    for (index_t pc = 0; pc < g.k; pc += blk.kc) {
      const index_t kc = imin(blk.kc, g.k - pc);
      const bool in_place = in_place_rows(pack_b, pc, kc, b_rows, 0);
      const bool block_packed = !in_place && pack_whole_block(pack_b, pc, kc, jc, nc, packed_b, 0);
      for (index_t q = 0; q < ceil_div(nc, NR); ++q) {
        const int cols = static_cast<int>(imin(NR, nc - q * NR));
        const float* base = in_place ? panel_base(pack_b, jc + q * NR, cols, 0) : nullptr;
        if (base) {
          panels[q] = {base, true};
        } else {
          if (!block_packed) pack_b(pc, kc, jc + q * NR, cols, packed_b + q * NR * kc);
          panels[q] = {packed_b + q * NR * kc, false};
        }
      }
      multiply_block(g, blk, block.row_begin, block.row_end, jc, nc, pc, kc,
                     pc == 0 ? g.beta : 1.0f, panels, b_rows, packed_a);
    }
  }
  if (g.stream_c) stream_fence();
}

// op(B) as a strided matrix: element (p, j) at b[p * rs + j * cs].
struct StridedB {
  const float* b;
  index_t rs, cs;
  // With rows contiguous, a whole block is packed a row of op(B) at a time: each row is read
  // in one sequential sweep, which the hardware prefetchers follow, where panel by panel every
  // row is visited NC / NR times, NR floats at a time (measured 10-15% faster on pointwise
  // convolutions' backward, whose B is a 3136-wide image).
  bool pack_block(index_t pc, index_t kc, index_t j0, index_t nc, float* out) const {
    if (cs != 1) return false;
    const index_t whole = nc / NR;
    for (index_t p = 0; p < kc; ++p) {
      const float* row = b + (pc + p) * rs + j0;
      for (index_t q = 0; q < whole; ++q)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v)
          vstore(out + q * NR * kc + p * NR + v * kLanes, vload(row + q * NR + v * kLanes));
    }
    if (whole * NR < nc)
      (*this)(pc, kc, j0 + whole * NR, static_cast<int>(nc - whole * NR), out + whole * NR * kc);
    return true;
  }
  void operator()(index_t pc, index_t kc, index_t j0, int cols, float* out) const {
    pack_panel<NR>(kc, cols, b + pc * rs + j0 * cs, cs, rs, out);
  }
};

inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Runs the blocked product on g.num_threads threads (a team of its own when more than one).
template <class PackB>
void gemm_run(const GemmArgs& g, const GemmBlocking& blk, const PackB& pack_b) {
#ifdef _OPENMP
  const int nt = g.num_threads;
  if (nt > 1) {
#pragma omp parallel num_threads(nt)
    gemm_block(g, blk, pack_b, thread_block(omp_get_thread_num(), omp_get_num_threads(), g.m, g.n));
    return;
  }
#endif
  gemm_block(g, blk, pack_b, Block{0, g.m, 0, g.n});
}

}  // namespace
}  // namespace HPNN_ISA_NS
}  // namespace hpnn
