// Winograd F(2x2, 3x3) for stride-1, undilated 3x3 convolutions, compiled once per ISA (Lavin
// and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). A 2 x 2 output tile is
//
//   y = A^T [(G g G^T) . (B^T d B)] A      d: its 4 x 4 input patch, g: a 3 x 3 filter
//
// 16 multiplications per channel pair instead of 36. Summed over input channels, the 16
// element-wise products are 16 GEMMs, one per transformed position xi:
//
//   forward          M[xi] (K x tiles) = U[xi] (K x C) @ V[xi] (C x tiles)
//   weight gradient  dU[xi] (K x C)   += dM[xi] (K x tiles) @ V[xi]^T (tiles x C)
//
// with V = B^T d B of every tile and channel, U = G g G^T of every filter, dM = A dy A^T of
// every output-gradient tile, and dW = G^T dU G at the end. The input gradient is the forward
// convolution with flipped filters (conv_isa.cpp), so it comes here too; or, where dy has
// fewer tiles than dx (a "valid" convolution: 6 x 7 tiles against 7 x 8 for 13 x 13 -> 11 x 11),
// the adjoint of the forward:
//
//   input gradient   dV[xi] (C x tiles) = U[xi]^T (C x K) @ dM[xi] (K x tiles)
//
// and each tile's B dV B^T added onto its overlapping input window. Tiles go in blocks of
// whole tile rows (of several images when images are small), so that a block's V and dM stay
// in the caches between the transforms and the GEMMs. U is packed once, in the GEMM's own panel
// layout; V is read in place as B; the transforms run on vectors of tiles. The forward runs its
// products a chunk of NR tiles at a time through the GEMM's micro-kernel (chunk_products), each
// chunk's output transformed while its products are in cache. (The input gradient, run the same
// way, measured 3% slower at 1 thread: its adjoint scatter then needs every channel's rows.)
//
// A 2x2 stride-2 max pool after the relu lines up with the output tiles: each tile is one
// window. The forward then pools the tiles in their output transform and writes only the
// pooled values and their argmax (the convolution's output never exists), and the combined
// backward reads dy unpooled from the pool's gradient as it transforms it (pooled_grad.h).
//
// F(2x2) rather than F(4x4, 3x3): its transforms hold only 0, +-1 and 1/2, so results are as
// accurate as the direct GEMM's (F(4x4) measured ~10x its error on 256 channels), for 2.25x
// fewer multiplications instead of 4x.
#include "kernels/conv/winograd_output.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// Tiles per block to aim for: enough rows for the GEMMs (tiles are their M or K dimension),
// few enough that a block's transformed tiles and products stay in L2/L3.
constexpr index_t kForwardBlockTiles = 144;
constexpr index_t kWeightGradBlockTiles = 144;
// Few channels make each position's product (K x C x tiles multiply-adds) short: blocks of the
// forward and the input gradient then take at least this many multiply-adds' worth of tiles,
// so that per-block costs (the input gradient's GEMM calls, their packed edge panels) weigh
// less (E2's 32 -> 64 channel 13 x 13 layer: 512 tiles a block instead of 144, input gradient
// 8% faster; the chunked forward measured 512 as fast as any size from 192 to 1024).
constexpr index_t kMinBlockMacs = index_t{1} << 20;

// The weight gradient adds each block's 16 K x C products into dU, which many channels make
// larger than L2 (4 MB at 256 x 256). Per block that costs 2 K C floats of traffic against the
// operands' (K + C) per tile, so blocks take about 3 K C / (K + C) tiles (a (32, 256, 14, 14)
// layer: 384 instead of 144, weight gradient 10% faster; 256 gained 4%).
index_t weight_grad_block_tiles(const ConvShape& s) {
  return imin(kMaxBlockTiles, imax(kWeightGradBlockTiles, 3 * s.k * s.c / (s.k + s.c)));
}

index_t forward_block_tiles(const ConvShape& s) {
  return imax(kForwardBlockTiles, kMinBlockMacs / (s.k * s.c));
}

// op(B) with rows `ld` floats apart, read in place where a panel is whole, packed otherwise.
struct InPlaceRows {
  const float* b;
  index_t ld;
  bool row_offsets(index_t pc, index_t kc, index_t* offsets) const {
    for (index_t p = 0; p < kc; ++p) offsets[p] = (pc + p) * ld;
    return true;
  }
  const float* panel_in_place(index_t j0, int cols) const { return cols == NR ? b + j0 : nullptr; }
  void operator()(index_t pc, index_t kc, index_t j0, int cols, float* out) const {
    pack_panel<NR>(kc, cols, b + pc * ld + j0, 1, ld, out);
  }
};

// U[xi] = G g G^T for every filter, u[xi] holding the K x C matrix (C x K when `transposed`,
// for the input gradient's U^T dM) packed as the GEMM's A (pack_a_whole's layout); zero in the
// rows that pad it to whole panels.
// G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
void transform_weights(const ConvShape& s, const float* weight, bool transposed, float* u, int nt) {
  const index_t m = transposed ? s.c : s.k, depth = transposed ? s.k : s.c;
  const index_t rows = ceil_div(m, MR) * MR, point = point_stride(packed_a_size(m, depth));
#pragma omp parallel for num_threads(nt) if (nt > 1 && depth * rows >= 4096)
  for (index_t r = 0; r < rows; ++r)
    for (index_t col = 0; col < depth; ++col) {
      const index_t k = transposed ? col : r, c = transposed ? r : col;
      float g[3][3] = {};
      if (r < m)
        for (int i = 0; i < 9; ++i) g[i / 3][i % 3] = weight[(k * s.c + c) * 9 + i];
      float gg[4][3];  // G g
      for (int j = 0; j < 3; ++j) {
        gg[0][j] = g[0][j], gg[3][j] = g[2][j];
        gg[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
        gg[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
      }
      float* dst = u + packed_a_offset(r, col, m, depth, kBlocking);
      for (int a = 0; a < 4; ++a) {
        const float* h = gg[a];
        dst[(4 * a + 0) * point] = h[0];
        dst[(4 * a + 1) * point] = 0.5f * (h[0] + h[1] + h[2]);
        dst[(4 * a + 2) * point] = 0.5f * (h[0] - h[1] + h[2]);
        dst[(4 * a + 3) * point] = h[2];
      }
    }
}

// out[xi] (m x tiles) = w[xi] (m x depth, packed by transform_weights) @ in[xi] (depth x
// tiles) for the 16 positions; in and out rows ts floats apart, positions in_point and
// out_point floats apart.
void point_products(const float* w, index_t m, index_t depth, const float* in, index_t in_point,
                    float* out, index_t out_point, index_t tiles, index_t ts, int nt) {
  const index_t w_point = point_stride(packed_a_size(m, depth));
  for (int xi = 0; xi < kPoints; ++xi) {
    GemmArgs args = product(m, tiles, depth, w + xi * w_point, 0, 0, nullptr, 0, 0,
                            out + xi * out_point, 0.0f, nt);
    args.a_packed = true, args.rs_c = ts;
    gemm_run(args, kBlocking, InPlaceRows{in + xi * in_point, ts});
  }
}

// out[xi] (m x NR: rows_padded rows NR floats apart, rows_padded = m rounded up to MR) = w[xi]
// (m x depth, packed by transform_weights, positions w_point apart) @ the NR columns from j0 of
// in[xi] (depth x tiles, rows ts floats apart, positions in_point apart), for the 16 positions.
// A chunk of a block's tile products, computed straight with the GEMM's micro-kernel: they stay
// in L2 until transformed, where a whole block's went out to L3 and back, and they skip 16
// GEMM calls per block, whose set-up made small blocks slow. Each position's NR columns of in
// (one panel) stay in L1 across the row panels.
void chunk_products(const float* w, index_t w_point, index_t m, index_t depth, const float* in,
                    index_t in_point, index_t ts, index_t j0, float* out) {
  index_t b_rows[512];  // one KC block of in's rows, from column j0
  static_assert(kBlocking.kc <= 512, "b_rows holds one KC block");
  const index_t rows_padded = ceil_div(m, MR) * MR;
  for (index_t pc = 0; pc < depth; pc += kBlocking.kc) {
    const index_t kc = imin(kBlocking.kc, depth - pc);
    for (index_t p = 0; p < kc; ++p) b_rows[p] = (pc + p) * ts + j0;
    const TileWrite write{1.0f, pc == 0 ? 0.0f : 1.0f};
    for (int xi = 0; xi < kPoints; ++xi)
      for (index_t r0 = 0; r0 < m; r0 += MR) {
        // The panel's rows rounded up to the kernels' row step: a whole tile for its write
        // (rows past m are zero in the packed weights, and never read back).
        const int rows = static_cast<int>(ceil_div(imin(MR, m - r0), kRowStep) * kRowStep);
        run_tile(false, w + xi * w_point + packed_a_offset(r0, pc, m, depth, kBlocking), 0, 0,
                 BPanel{in + xi * in_point, true}, b_rows, kc,
                 out + (xi * rows_padded + r0) * NR, NR, 1, write, rows, NR);
      }
  }
}

// Where a forward block's outputs go: y (N, K, OH, OW) with the bias added and relu'd when
// asked, or with `indices`, max_pool2d(relu(y)) 2x2 / 2 (N, K, OH / 2, OW / 2) and its argmax.
struct ForwardOutput {
  const float* bias;
  bool relu;
  float* y;
  std::int32_t* indices;
};

void forward_block(const ConvShape& s, const TileGrid& grid, const float* x, const float* u,
                   const ForwardOutput& out, index_t first, index_t count) {
  const index_t tiles = count * grid.row_tiles, ts = tile_stride(tiles);
  const index_t v_point = point_stride(s.c * ts), stride = staged_row_stride(tiles);
  const index_t chunk = kPoints * ceil_div(s.k, MR) * MR * NR;
  float* v = thread_scratch(kScratchWinogradTiles, static_cast<std::size_t>(
      kPoints * v_point + work_size(grid, count)));
  float* work = v + kPoints * v_point;
  float* m = thread_scratch(kScratchWinogradProducts,
                            static_cast<std::size_t>(chunk + 2 * s.k * stride));
  float* stage = m + chunk;
  // The pooled stage: values and codes of half the width each (stride is 2 * pooled + 2 lanes).
  const index_t pooled = stride / 2;
  std::int32_t* codes = reinterpret_cast<std::int32_t*>(stage + s.k * pooled);
  transform_input(s, grid, x, first, count, v, work);
  // The last chunk reads whole NR columns: zero V's past the tiles (their products are dropped,
  // but should not be uninitialised memory's, nor denormals).
  const index_t tail = ceil_div(tiles, NR) * NR - tiles;
  for (int xi = 0; xi < kPoints; ++xi)
    for (index_t c = 0; c < s.c; ++c) fill(v + xi * v_point + c * ts + tiles, tail, 0.0f);
  const index_t u_point = point_stride(packed_a_size(s.k, s.c));
  for (index_t j0 = 0; j0 < tiles; j0 += NR) {
    chunk_products(u, u_point, s.k, s.c, v, v_point, ts, j0, m);
    if (out.indices)
      stage_chunk_pooled(m, s.k, out.bias, j0, stage, codes, pooled);
    else
      stage_chunk_output(m, s.k, j0, stage, stride);
  }
  if (out.indices)
    copy_staged_pooled(s, grid, stage, codes, pooled, first, count, out.y, out.indices);
  else
    copy_staged_output(s, grid, stage, stride, out.bias, out.relu, first, count, out.y);
}

// du[xi] (K x C) += dM[xi] @ V[xi]^T over a block's tiles (dm and v as transform_grad_output
// and transform_input leave them).
void accumulate_du(const ConvShape& s, const float* dm, index_t dm_point, const float* v,
                   index_t v_point, index_t tiles, index_t ts, float* du, int nt) {
  const index_t du_point = point_stride(s.k * s.c);
  for (int xi = 0; xi < kPoints; ++xi) {
    const float* v_xi = v + xi * v_point;
    const GemmArgs args = product(s.k, s.c, tiles, dm + xi * dm_point, ts, 1, v_xi, 1, ts,
                                  du + xi * du_point, 1.0f, nt);
    gemm_run(args, kBlocking, StridedB{v_xi, 1, ts});
  }
}

// grad_x of a block's images (whole ones) from their dM: dV[xi] (C x tiles) = U[xi]^T @ dM[xi]
// into dv, then each tile's B dV B^T added onto its input window.
void scatter_input_grad(const ConvShape& s, const TileGrid& grid, const float* dm,
                        index_t dm_point, const float* ut, float* dv, index_t first,
                        index_t count, float* grad_x, float* work, int nt) {
  const index_t tiles = count * grid.row_tiles, ts = tile_stride(tiles);
  const index_t dv_point = point_stride(s.c * ts);
  point_products(ut, s.c, s.k, dm, dm_point, dv, dv_point, tiles, ts, nt);
  // The scatter reads whole vectors of tiles: zero the GEMMs' unwritten columns up to the last.
  const index_t tail = ceil_div(tiles, kLanes) * kLanes - tiles;
  for (int xi = 0; xi < kPoints; ++xi)
    for (index_t c = 0; c < s.c; ++c) fill(dv + xi * dv_point + c * ts + tiles, tail, 0.0f);
  transform_input_grad(s, grid, dv, first, count, grad_x, work);
}

// The scratch of a block's transforms: V (or dV, the same size) and then the transforms' work
// space, and dM.
struct BlockBuffers {
  float *v, *work, *dm;
  index_t v_point, dm_point;
};

BlockBuffers block_buffers(const ConvShape& s, const TileGrid& grid, index_t count) {
  const index_t ts = tile_stride(count * grid.row_tiles);
  BlockBuffers b;
  b.v_point = point_stride(s.c * ts), b.dm_point = point_stride(s.k * ts);
  b.v = thread_scratch(kScratchWinogradTiles, static_cast<std::size_t>(
      kPoints * b.v_point + imax(work_size(grid, count), scatter_work_size(grid, count))));
  b.work = b.v + kPoints * b.v_point;
  b.dm = thread_scratch(kScratchWinogradProducts, static_cast<std::size_t>(kPoints * b.dm_point));
  return b;
}

// dm's bias sums: position xi = 5 of dM = A dy A^T is a tile's dy summed (A's row 1 is [1 1]),
// and tiles past the output hold zero gradient.
void add_bias_sums(const ConvShape& s, const float* dm, index_t dm_point, index_t tiles,
                   index_t ts, float* bias_sums) {
  if (bias_sums) add_row_sums(dm + 5 * dm_point, s.k, tiles, ts, bias_sums);
}

// du (the 16 K x C blocks) += the block's dM V^T; with bias_sums (K floats), dy's channel sums.
void weight_grad_block(const ConvShape& s, const TileGrid& grid, const float* grad_y,
                       const float* x, float* du, float* bias_sums, index_t first, index_t count,
                       int nt) {
  const index_t tiles = count * grid.row_tiles, ts = tile_stride(tiles);
  const BlockBuffers b = block_buffers(s, grid, count);
  transform_input(s, grid, x, first, count, b.v, b.work);
  transform_grad_output(s, grid, grad_y, first, count, b.dm, b.work);
  add_bias_sums(s, b.dm, b.dm_point, tiles, ts, bias_sums);
  accumulate_du(s, b.dm, b.dm_point, b.v, b.v_point, tiles, ts, du, nt);
}

// grad_x of the block's images (whole ones): dM = A dy A^T of their output-gradient tiles,
// then scatter_input_grad.
void input_grad_block(const ConvShape& s, const TileGrid& grid, const float* grad_y,
                      const float* ut, float* grad_x, index_t first, index_t count, int nt) {
  const BlockBuffers b = block_buffers(s, grid, count);
  transform_grad_output(s, grid, grad_y, first, count, b.dm, b.work);
  scatter_input_grad(s, grid, b.dm, b.dm_point, ut, b.v, first, count, grad_x, b.work, nt);
}

// Both gradients of a block of whole images from one dM: grad_x as input_grad_block, then
// V = B^T x B into the same buffer as dV, and du (and bias sums) as weight_grad_block. dy is
// grad_y, or with `pool`, unpooled from a following max pool's gradient.
void backward_block(const ConvShape& s, const TileGrid& grid, const float* grad_y,
                    const PooledGrad* pool, const float* x, const float* ut, float* grad_x,
                    float* du, float* bias_sums, index_t first, index_t count, int nt) {
  const index_t tiles = count * grid.row_tiles, ts = tile_stride(tiles);
  const BlockBuffers b = block_buffers(s, grid, count);
  transform_grad_output(s, grid, grad_y, first, count, b.dm, b.work, pool);
  add_bias_sums(s, b.dm, b.dm_point, tiles, ts, bias_sums);
  scatter_input_grad(s, grid, b.dm, b.dm_point, ut, b.v, first, count, grad_x, b.work, nt);
  transform_input(s, grid, x, first, count, b.v, b.work);
  accumulate_du(s, b.dm, b.dm_point, b.v, b.v_point, tiles, ts, du, nt);
}

// dW = G^T dU G for every filter, from du[xi][k][c]; G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0;
// 0 1/2 1/2 1].
void untransform_weight_grad(const ConvShape& s, const float* du, float* grad_w) {
  const index_t point = point_stride(s.k * s.c);
  for (index_t kc = 0; kc < s.k * s.c; ++kc) {
    float h[3][4];  // G^T dU
    for (int b = 0; b < 4; ++b) {
      const float d0 = du[b * point + kc], d1 = du[(4 + b) * point + kc];
      const float d2 = du[(8 + b) * point + kc], d3 = du[(12 + b) * point + kc];
      h[0][b] = d0 + 0.5f * (d1 + d2), h[1][b] = 0.5f * (d1 - d2), h[2][b] = 0.5f * (d1 + d2) + d3;
    }
    float* dst = grad_w + kc * 9;
    for (int i = 0; i < 3; ++i) {
      dst[3 * i + 0] = h[i][0] + 0.5f * (h[i][1] + h[i][2]);
      dst[3 * i + 1] = 0.5f * (h[i][1] - h[i][2]);
      dst[3 * i + 2] = 0.5f * (h[i][1] + h[i][2]) + h[i][3];
    }
  }
}

void run_forward(const ConvShape& s, const float* x, const float* weight,
                 const ForwardOutput& out, int nt) {
  const TileGrid grid = tile_grid(s, forward_block_tiles(s), nt);
  float* u = thread_scratch(kScratchWinogradWeights,
                            static_cast<std::size_t>(kPoints * point_stride(packed_a_size(s.k, s.c))));
  transform_weights(s, weight, false, u, nt);
  for_each_chunk(grid.rows, grid.rows_per_block, nt, [&](index_t first, index_t count, int) {
    forward_block(s, grid, x, u, out, first, count);
  });
}

// Tiles stored for one image of an h x w output.
index_t stored_tiles(index_t h, index_t w) {
  return ceil_div(h, 2) * stored_row_tiles(ceil_div(w, 2));
}

// U^T for the input gradient through the transposed transforms, packed once.
const float* transposed_weights(const ConvShape& s, const float* weight, int nt) {
  float* ut = thread_scratch(kScratchWinogradWeights, static_cast<std::size_t>(
      kPoints * point_stride(packed_a_size(s.c, s.k))));
  transform_weights(s, weight, true, ut, nt);
  return ut;
}

// The thread count the weight gradients' tile blocks are balanced for: each block's tiles are
// summed by one GEMM, so in deterministic mode the blocks may not follow the thread count
// (balanced for kMaxReductionParts threads instead, which 1, 2, 4 and 8 divide).
int block_threads(int nt) { return deterministic_algorithms() ? kMaxReductionParts : nt; }

// grad_params (dW, then with_bias the bias gradient) from the block sums of du and the bias
// (sums_of_block(b, du, bias_sums, threads) adds block b's into them), summed over the
// grid's blocks in `slot`'s scratch.
template <class BlockSums>
void sum_weight_grad(const ConvShape& s, const TileGrid& grid, bool with_bias, int slot, int nt,
                     float* grad_params, const BlockSums& sums_of_block) {
  const index_t blocks = ceil_div(grid.rows, grid.rows_per_block);
  const index_t du_size = kPoints * point_stride(s.k * s.c);
  const index_t size = du_size + (with_bias ? s.k : 0);
  float* du = thread_scratch(slot, static_cast<std::size_t>(size));
  sum_over_items(blocks, size, nt, du, [&](index_t b, float* out, int inner) {
    sums_of_block(b, out, with_bias ? out + du_size : nullptr, inner);
  });
  untransform_weight_grad(s, du, grad_params);
  if (with_bias)
    for (index_t k = 0; k < s.k; ++k) grad_params[s.k * s.c * 9 + k] = du[du_size + k];
}

// Both gradients where the input gradient suits the transposed transforms: in blocks of whole
// images (as winograd_input_grad), each block's dM shared by the two.
void run_backward(const ConvShape& s, const float* grad_y, const PooledGrad* pool,
                  const float* x, const float* weight, float* grad_x, float* grad_params,
                  int nt) {
  const TileGrid grid = tile_grid(s, forward_block_tiles(s), block_threads(nt), true);
  const float* ut = transposed_weights(s, weight, nt);
  sum_weight_grad(s, grid, true, kScratchWinogradGrads, nt, grad_params,
                  [&](index_t b, float* du, float* bias_sums, int inner) {
    const index_t first = b * grid.rows_per_block;
    backward_block(s, grid, grad_y, pool, x, ut, grad_x, du, bias_sums, first,
                   imin(grid.rows_per_block, grid.rows - first), inner);
  });
}

}  // namespace

// Undilated stride-1 3x3 with one group and enough channels on both sides to fill the GEMMs
// (a first layer's few input channels would leave them starved).
bool winograd_suits(const ConvShape& s) {
  return s.kh == 3 && s.kw == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dilation_h == 1 &&
         s.dilation_w == 1 && s.groups == 1 && s.c >= 16 && s.k >= 16;
}

void winograd_forward(const ConvShape& s, const float* x, const float* weight, const float* bias,
                      bool relu, float* y, int nt) {
  run_forward(s, x, weight, ForwardOutput{bias, relu, y, nullptr}, nt);
}

void winograd_relu_max_pool2x2(const ConvShape& s, const float* x, const float* weight,
                               const float* bias, float* y, std::int32_t* indices, int nt) {
  run_forward(s, x, weight, ForwardOutput{bias, true, y, indices}, nt);
}

// The input gradient through the transposed transforms (one GEMM per position over the tiles
// of dy, instead of the flipped forward convolution over the tiles of dx): where dy has fewer
// tiles than dx (no "same" padding), on chained rows (transform_input_grad), with images
// small enough for blocks of whole ones (the windows of neighbouring tile rows overlap).
bool winograd_input_grad_suits(const ConvShape& s) {
  const index_t dy_tiles = stored_tiles(s.oh, s.ow);
  const index_t tw = ceil_div(s.ow, 2);
  return winograd_suits(s) && stored_row_tiles(tw) > tw && dy_tiles < stored_tiles(s.h, s.w) &&
         dy_tiles <= kMaxBlockTiles;
}

void winograd_input_grad(const ConvShape& s, const float* grad_y, const float* weight,
                         float* grad_x, int nt) {
  const TileGrid grid = tile_grid(s, forward_block_tiles(s), nt, true);
  const float* ut = transposed_weights(s, weight, nt);
  for_each_chunk(grid.rows, grid.rows_per_block, nt, [&](index_t first, index_t count, int inner) {
    input_grad_block(s, grid, grad_y, ut, grad_x, first, count, inner);
  });
}

void winograd_weight_grad(const ConvShape& s, const float* grad_y, const float* x, float* grad_w,
                          bool with_bias, int nt) {
  const TileGrid grid = tile_grid(s, weight_grad_block_tiles(s), block_threads(nt));
  sum_weight_grad(s, grid, with_bias, kScratchWinogradWeights, nt, grad_w,
                  [&](index_t b, float* du, float* bias_sums, int inner) {
    const index_t first = b * grid.rows_per_block;
    weight_grad_block(s, grid, grad_y, x, du, bias_sums, first,
                      imin(grid.rows_per_block, grid.rows - first), inner);
  });
}

void winograd_backward(const ConvShape& s, const float* grad_y, const float* x,
                       const float* weight, float* grad_x, float* grad_params, int nt) {
  run_backward(s, grad_y, nullptr, x, weight, grad_x, grad_params, nt);
}

bool winograd_relu_max_pool2x2_backward(const ConvShape& s, const float* grad,
                                        const std::int32_t* indices, const float* relu_output,
                                        const float* x, const float* weight, float* grad_x,
                                        float* grad_params, int nt) {
  int stray = 0;
  const PooledGrad pool{grad, indices, relu_output, &stray};
  run_backward(s, nullptr, &pool, x, weight, grad_x, grad_params, nt);
  return !stray;
}

}  // namespace HPNN_ISA_NS
}  // namespace hpnn
