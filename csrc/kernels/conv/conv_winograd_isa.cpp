// Winograd F(2x2, 3x3) for stride-1, undilated 3x3 convolutions, compiled once per ISA (Lavin
// and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). A 2 x 2 output tile is
//
//   y = A^T [(G g G^T) . (B^T d B)] A      d: its 4 x 4 input patch, g: a 3 x 3 filter
//
// 16 multiplications per channel pair instead of 36. Summed over input channels, the 16
// element-wise products are 16 GEMMs, one per transformed position xi:
//
//   forward          M[xi] (tiles x K) = V[xi]^T (tiles x C) @ U[xi] (C x K)
//   weight gradient  dU[xi] (K x C)   += dM[xi] (K x tiles) @ V[xi]^T (tiles x C)
//
// with V = B^T d B of every tile and channel, U = G g G^T of every filter, dM = A dy A^T of
// every output-gradient tile, and dW = G^T dU G at the end. The input gradient is the forward
// convolution with flipped filters (conv_isa.cpp), so it comes here too. Tiles go in blocks of
// whole tile rows (of several images when images are small), so that a block's V and M stay in
// the caches between the transforms and the GEMMs.
//
// F(2x2) rather than F(4x4, 3x3): its transforms hold only 0, +-1 and 1/2, so results are as
// accurate as the direct GEMM's (F(4x4) measured ~10x its error on 256 channels), for 2.25x
// fewer multiplications instead of 4x.
#include "kernels/conv/conv_common.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

constexpr int kPoints = 16;  // transformed positions per tile (4 x 4)

// Tiles per block to aim for: enough rows for the GEMMs (tiles are their M or K dimension),
// few enough that a block's transformed tiles and products stay in L2/L3.
constexpr index_t kForwardBlockTiles = 144;
constexpr index_t kWeightGradBlockTiles = 144;
constexpr index_t kMaxBlockTiles = 1024;

struct TileGrid {
  index_t th, tw;            // tile rows and columns of one image
  index_t rows;              // tile rows of the batch: n * th
  index_t rows_per_block;
  index_t row_width;         // input columns a tile row reads (2 * tw + 2), whole vectors
};

TileGrid tile_grid(const ConvShape& s, index_t block_tiles, int nt) {
  TileGrid grid;
  grid.th = ceil_div(s.oh, 2), grid.tw = ceil_div(s.ow, 2);
  grid.rows = s.n * grid.th;
  // Whole images where they are not too large: a block then reads x[n] in one sequential
  // sweep (measured 15% faster at 56 x 56 than blocks of a few tile rows).
  block_tiles = imax(block_tiles, imin(grid.th * grid.tw, kMaxBlockTiles));
  grid.rows_per_block = imax(1, imin(block_tiles / grid.tw, ceil_div(grid.rows, nt)));
  grid.row_width = 2 * ceil_div(grid.tw, kLanes) * kLanes + 2;
  return grid;
}

// Floats between the 16 transformed positions of a buffer holding `floats` per position: one
// cache line more, so that the 16 streams a transform reads or writes do not all fall into
// the same L1 sets (with power-of-two sizes they would be 4 KiB multiples apart).
index_t point_stride(index_t floats) { return floats + 16; }

// K rounded up to whole NR panels: U is stored as zero-padded NR-column panels.
index_t padded_k(const ConvShape& s) { return ceil_div(s.k, NR) * NR; }

// One xi's U as the GEMM's B: NR-column panels of C rows, one after another, read in place.
struct PackedPanels {
  const float* u;
  index_t depth;
  bool row_offsets(index_t pc, index_t kc, index_t* offsets) const {
    for (index_t p = 0; p < kc; ++p) offsets[p] = (pc + p) * NR;
    return true;
  }
  const float* panel_in_place(index_t j0, int) const { return u + j0 / NR * depth * NR; }
  void operator()(index_t pc, index_t kc, index_t j0, int, float* out) const {
    const float* panel = panel_in_place(j0, NR) + pc * NR;
    for (index_t i = 0; i < kc * NR; ++i) out[i] = panel[i];
  }
};

// U[xi] = G g G^T for every filter, as PackedPanels: u[xi][k / NR][c][k % NR], zero for k >= K.
// G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
void transform_weights(const ConvShape& s, const float* weight, float* u, int nt) {
  const index_t kpad = padded_k(s), point = point_stride(s.c * kpad);
#pragma omp parallel for num_threads(nt) if (nt > 1 && s.c * kpad >= 4096)
  for (index_t k = 0; k < kpad; ++k)
    for (index_t c = 0; c < s.c; ++c) {
      float g[3][3] = {};
      if (k < s.k)
        for (int i = 0; i < 9; ++i) g[i / 3][i % 3] = weight[(k * s.c + c) * 9 + i];
      float gg[4][3];  // G g
      for (int j = 0; j < 3; ++j) {
        gg[0][j] = g[0][j], gg[3][j] = g[2][j];
        gg[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
        gg[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
      }
      float* dst = u + k / NR * s.c * NR + c * NR + k % NR;
      for (int a = 0; a < 4; ++a) {
        const float* h = gg[a];
        dst[(4 * a + 0) * point] = h[0];
        dst[(4 * a + 1) * point] = 0.5f * (h[0] + h[1] + h[2]);
        dst[(4 * a + 2) * point] = 0.5f * (h[0] - h[1] + h[2]);
        dst[(4 * a + 3) * point] = h[2];
      }
    }
}

// The 4 input rows of channel c under tile row ty of image n, zero-padded, row_width each.
void gather_patch_rows(const ConvShape& s, const TileGrid& grid, const float* x_nc, index_t ty,
                       float* rows) {
  for (index_t i = 0; i < 4; ++i) {
    const index_t iy = 2 * ty - s.pad_h + i;
    float* dst = rows + i * grid.row_width;
    if (iy < 0 || iy >= s.h)
      fill(dst, grid.row_width, 0.0f);
    else
      gather_row(dst, x_nc + iy * s.w, -s.pad_w, 1, grid.row_width, s.w);
  }
}

// V of one tile row and channel: v[xi * point + tx] = (B^T d B)[xi] of tile tx, where
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. The row pass runs once over whole rows
// (neighbouring tiles share two columns), the column pass on vectors of tiles, their even and
// odd columns split apart. The last vector may run past tw into the slots of the next tile row
// or channel (or the cache line after the last), which the caller writes after this one.
void transform_tile_row(const float* rows, index_t width, index_t tw, float* __restrict pass,
                        float* __restrict v, index_t point) {
  const float *d0 = rows, *d1 = rows + width, *d2 = rows + 2 * width, *d3 = rows + 3 * width;
  float *t0 = pass, *t1 = pass + width, *t2 = pass + 2 * width, *t3 = pass + 3 * width;
  for (index_t w = 0; w < width; ++w) {
    t0[w] = d0[w] - d2[w], t1[w] = d1[w] + d2[w];
    t2[w] = d2[w] - d1[w], t3[w] = d1[w] - d3[w];
  }
  for (int a = 0; a < 4; ++a) {
    const float* t = pass + a * width;
    float* va = v + 4 * a * point;
    for (index_t tx = 0; tx < tw; tx += kLanes) {
      vfloat e0, o0, e1, o1;
      deinterleave(vload(t + 2 * tx), vload(t + 2 * tx + kLanes), &e0, &o0);
      deinterleave(vload(t + 2 * tx + 2), vload(t + 2 * tx + 2 + kLanes), &e1, &o1);
      vstore(va + tx, e0 - e1), vstore(va + point + tx, o0 + e1);
      vstore(va + 2 * point + tx, e1 - o0), vstore(va + 3 * point + tx, o0 - o1);
    }
  }
}

// V[xi][c][t] for the block's tiles (tile rows [first, first + count)).
void transform_input(const ConvShape& s, const TileGrid& grid, const float* x, index_t first,
                     index_t count, float* v, float* rows) {
  const index_t tiles = count * grid.tw, point = point_stride(s.c * tiles);
  float* pass = rows + 4 * grid.row_width;
  // Channel by channel, so that each image plane is read in order (overlapping rows from L1).
  for (index_t c = 0; c < s.c; ++c)
    for (index_t r = 0; r < count; ++r) {
      const index_t n = (first + r) / grid.th, ty = (first + r) % grid.th;
      gather_patch_rows(s, grid, x + (n * s.c + c) * s.h * s.w, ty, rows);
      transform_tile_row(rows, grid.row_width, grid.tw, pass, v + c * tiles + r * grid.tw, point);
    }
}

// y tiles = A^T M A (+ bias), A^T = [1 1 1 0; 0 1 -1 -1], from m[xi][t][k] (kpad columns):
// vectors across k, scattered to y's channels.
void transform_output(const ConvShape& s, const TileGrid& grid, const float* m, const float* bias,
                      index_t first, index_t count, float* y) {
  const index_t kpad = padded_k(s), point = point_stride(count * grid.tw * kpad);
  const index_t plane = s.oh * s.ow;
  for (index_t r = 0; r < count; ++r) {
    const index_t n = (first + r) / grid.th, ty = (first + r) % grid.th;
    const int rows = 2 * ty + 1 < s.oh ? 2 : 1;
    for (index_t tx = 0; tx < grid.tw; ++tx) {
      const int cols = 2 * tx + 1 < s.ow ? 2 : 1;
      const float* mt = m + (r * grid.tw + tx) * kpad;
      float* yt = y + n * s.k * plane + 2 * ty * s.ow + 2 * tx;
      for (index_t k0 = 0; k0 < s.k; k0 += kLanes) {
        vfloat mm[kPoints], out[2][2];
        for (int xi = 0; xi < kPoints; ++xi) mm[xi] = vload(mt + xi * point + k0);
        for (int i = 0; i < 2; ++i) {
          vfloat row[4];  // (A^T M)[i]
          for (int b = 0; b < 4; ++b)
            row[b] = i == 0 ? mm[b] + mm[4 + b] + mm[8 + b] : mm[4 + b] - mm[8 + b] - mm[12 + b];
          out[i][0] = row[0] + row[1] + row[2];
          out[i][1] = row[1] - row[2] - row[3];
        }
        const index_t lanes = imin(kLanes, s.k - k0);
        for (index_t l = 0; l < lanes; ++l) {
          const float b = bias ? bias[k0 + l] : 0.0f;
          float* dst = yt + (k0 + l) * plane;
          for (int i = 0; i < rows; ++i)
            for (int j = 0; j < cols; ++j) dst[i * s.ow + j] = out[i][j][l] + b;
        }
      }
    }
  }
}

void forward_block(const ConvShape& s, const TileGrid& grid, const float* x, const float* u,
                   const float* bias, float* y, index_t first, index_t count, int nt) {
  const index_t tiles = count * grid.tw, kpad = padded_k(s);
  const index_t v_point = point_stride(s.c * tiles), m_point = point_stride(tiles * kpad);
  const index_t u_point = point_stride(s.c * kpad);
  float* v = thread_scratch(kScratchWinogradTiles,
                            static_cast<std::size_t>(kPoints * v_point + 8 * grid.row_width));
  float* m = thread_scratch(kScratchWinogradProducts, static_cast<std::size_t>(kPoints * m_point));
  transform_input(s, grid, x, first, count, v, v + kPoints * v_point);
  for (int xi = 0; xi < kPoints; ++xi) {
    const GemmArgs args = product(tiles, kpad, s.c, v + xi * v_point, 1, tiles, nullptr, 0, 0,
                                  m + xi * m_point, 0.0f, nt);
    gemm_run(args, kBlocking, PackedPanels{u + xi * u_point, s.c});
  }
  transform_output(s, grid, m, bias, first, count, y);
}

// dM[xi][k][t] = (A dy A^T)[xi] of the block's output-gradient tiles (zero past the output),
// A dy = (dy0, dy0 + dy1, dy0 - dy1, -dy1) down each column, then the same across; channel by
// channel, vectors of tiles running past tw as in transform_tile_row.
void transform_grad_output(const ConvShape& s, const TileGrid& grid, const float* grad_y,
                           index_t first, index_t count, float* __restrict dm,
                           float* __restrict rows) {
  const index_t tiles = count * grid.tw, point = point_stride(s.k * tiles);
  const index_t width = grid.row_width;
  float *r0 = rows, *r1 = rows + width;
  for (index_t k = 0; k < s.k; ++k)
    for (index_t r = 0; r < count; ++r) {
      const index_t n = (first + r) / grid.th, ty = (first + r) % grid.th;
      const float* dy = grad_y + ((n * s.k + k) * s.oh + 2 * ty) * s.ow;
      gather_row(r0, dy, 0, 1, width, s.ow);
      if (2 * ty + 1 < s.oh)
        gather_row(r1, dy + s.ow, 0, 1, width, s.ow);
      else
        fill(r1, width, 0.0f);
      float* out = dm + k * tiles + r * grid.tw;
      for (index_t tx = 0; tx < grid.tw; tx += kLanes) {
        vfloat e0, o0, e1, o1;
        deinterleave(vload(r0 + 2 * tx), vload(r0 + 2 * tx + kLanes), &e0, &o0);
        deinterleave(vload(r1 + 2 * tx), vload(r1 + 2 * tx + kLanes), &e1, &o1);
        const vfloat u[4][2] = {{e0, o0}, {e0 + e1, o0 + o1}, {e0 - e1, o0 - o1}, {-e1, -o1}};
        for (int a = 0; a < 4; ++a) {
          float* dst = out + 4 * a * point + tx;
          vstore(dst, u[a][0]), vstore(dst + point, u[a][0] + u[a][1]);
          vstore(dst + 2 * point, u[a][0] - u[a][1]), vstore(dst + 3 * point, -u[a][1]);
        }
      }
    }
}

// du[xi] (K x C) += dM[xi] @ V[xi]^T over the block's tiles.
void weight_grad_block(const ConvShape& s, const TileGrid& grid, const float* grad_y,
                       const float* x, float* du, index_t first, index_t count, int nt) {
  const index_t tiles = count * grid.tw;
  const index_t v_point = point_stride(s.c * tiles), dm_point = point_stride(s.k * tiles);
  const index_t du_point = point_stride(s.k * s.c);
  float* v = thread_scratch(kScratchWinogradTiles,
                            static_cast<std::size_t>(kPoints * v_point + 8 * grid.row_width));
  float* dm = thread_scratch(kScratchWinogradProducts, static_cast<std::size_t>(kPoints * dm_point));
  float* rows = v + kPoints * v_point;
  transform_input(s, grid, x, first, count, v, rows);
  transform_grad_output(s, grid, grad_y, first, count, dm, rows);
  for (int xi = 0; xi < kPoints; ++xi) {
    const float* v_xi = v + xi * v_point;
    const GemmArgs args = product(s.k, s.c, tiles, dm + xi * dm_point, tiles, 1, v_xi, 1,
                                  tiles, du + xi * du_point, 1.0f, nt);
    gemm_run(args, kBlocking, StridedB{v_xi, 1, tiles});
  }
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

}  // namespace

// Undilated stride-1 3x3 with one group and enough channels on both sides to fill the GEMMs
// (a first layer's few input channels would leave them starved).
bool winograd_suits(const ConvShape& s) {
  return s.kh == 3 && s.kw == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dilation_h == 1 &&
         s.dilation_w == 1 && s.groups == 1 && s.c >= 16 && s.k >= 16;
}

void winograd_forward(const ConvShape& s, const float* x, const float* weight, const float* bias,
                      float* y, int nt) {
  const TileGrid grid = tile_grid(s, kForwardBlockTiles, nt);
  float* u = thread_scratch(kScratchWinogradWeights,
                            static_cast<std::size_t>(kPoints * point_stride(s.c * padded_k(s))));
  transform_weights(s, weight, u, nt);
  for_each_chunk(grid.rows, grid.rows_per_block, nt, [&](index_t first, index_t count, int inner) {
    forward_block(s, grid, x, u, bias, y, first, count, inner);
  });
}

void winograd_weight_grad(const ConvShape& s, const float* grad_y, const float* x, float* grad_w,
                          int nt) {
  const TileGrid grid = tile_grid(s, kWeightGradBlockTiles, nt);
  const index_t blocks = ceil_div(grid.rows, grid.rows_per_block);
  const index_t du_size = kPoints * point_stride(s.k * s.c);
  float* du = thread_scratch(kScratchWinogradWeights, static_cast<std::size_t>(du_size));
  sum_over_items(blocks, du_size, nt, du, [&](index_t b, float* out, int inner) {
    const index_t first = b * grid.rows_per_block;
    weight_grad_block(s, grid, grad_y, x, out, first, imin(grid.rows_per_block, grid.rows - first),
                      inner);
  });
  untransform_weight_grad(s, du, grad_w);
}

}  // namespace HPNN_ISA_NS
}  // namespace hpnn
