// The output side of Winograd F(2x2, 3x3)'s forward (conv_winograd_isa.cpp): a chunk's
// products through the output transform y = A^T M A into staged rows, then copied out with the
// bias and relu; or, with a 2x2 stride-2 max pool after the relu, pooled as they are
// transformed (each output tile is one window), and only the pooled values and their argmax
// copied out. Included by that per-ISA source only; everything is in an anonymous namespace.
#pragma once
#include "kernels/common/vec_ops.h"
#include "kernels/conv/winograd_tiles.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// dst[0, n) = src[0, n) + b (then relu'd when with_relu), where dst is followed by
// `room` - n floats of the same plane that are written later: whole vectors then, which may
// write into them (short rows would otherwise spend their time in loop tails). src may be read
// past n.
void copy_row(const float* src, index_t n, float b, bool with_relu, index_t room, float* dst) {
  if (ceil_div(n, kLanes) * kLanes <= room) {
    const vfloat vb = vbroadcast(b);
    for (index_t i = 0; i < n; i += kLanes) {
      const vfloat v = vload(src + i) + vb;
      vstore(dst + i, with_relu ? relu(v) : v);
    }
    return;
  }
  for (index_t i = 0; i < n; ++i) {
    const float v = src[i] + b;
    dst[i] = with_relu ? relu(v) : v;
  }
}

// The output transform A^T M A of a vector of tiles from its 16 products mm[xi], A^T =
// [1 1 1 0; 0 1 -1 -1]: out[i][j], output (i, j) of each tile.
void output_tiles(const vfloat (&mm)[kPoints], vfloat (&out)[2][2]) {
  vfloat cols[4][2];  // M A, row a, column j
  for (int a = 0; a < 4; ++a) {
    cols[a][0] = mm[4 * a] + mm[4 * a + 1] + mm[4 * a + 2];
    cols[a][1] = mm[4 * a + 1] - mm[4 * a + 2] - mm[4 * a + 3];
  }
  for (int j = 0; j < 2; ++j) {
    out[0][j] = cols[0][j] + cols[1][j] + cols[2][j];
    out[1][j] = cols[1][j] - cols[2][j] - cols[3][j];
  }
}

// output_tiles as output rows: row i of the tiles, their two columns interleaved (lo: tiles
// 0 .. kLanes/2 - 1, hi: the rest).
void output_tile_rows(const vfloat (&mm)[kPoints], vfloat (&lo)[2], vfloat (&hi)[2]) {
  vfloat out[2][2];
  output_tiles(mm, out);
  for (int i = 0; i < 2; ++i) interleave(out[i][0], out[i][1], &lo[i], &hi[i]);
}

// Floats from one staged output row to the next: two per tile of the block, rounded up to
// whole GEMM tiles (the last tile's stores run that far), and a vector of copy_row's over-read.
index_t staged_row_stride(index_t tiles) { return 2 * ceil_div(tiles, NR) * NR + 2 * kLanes; }

// y (+ bias) of the block's tiles from the staged output rows, channel k's output row i of the
// tiles at stage + (2 * k + i) * stride (position 2t + j for tile t's column j): copied a tile
// row at a time.
void copy_staged_output(const ConvShape& s, const TileGrid& grid, const float* stage,
                        index_t stride, const float* bias, bool with_relu, index_t first,
                        index_t count, float* y) {
  for (index_t k = 0; k < s.k; ++k) {
    const float b = bias ? bias[k] : 0.0f;
    for_each_segment(grid, first, count, [&](const Segment& seg) {
      for (index_t ty = seg.ty0; ty < seg.ty1; ++ty)
        for (index_t i = 0; i < 2 && 2 * ty + i < s.oh; ++i) {
          const float* src = stage + (2 * k + i) * stride + 2 * (seg.row + ty - seg.ty0) * grid.row_tiles;
          const index_t oy = 2 * ty + i;
          // Room: the segment's rows below, which this thread writes next (the rows after
          // them may be another block's, on another thread).
          const index_t room = (imin(s.oh, 2 * seg.ty1) - oy) * s.ow;
          copy_row(src, s.ow, b, with_relu, room, y + ((seg.n * s.k + k) * s.oh + oy) * s.ow);
        }
    });
  }
}

// The output transform of a chunk's products (m[xi] as chunk_products leaves them) into the
// staged output rows: channel k's output row r of tile t at stage + (2k + r) * stride + 2t + j.
void stage_chunk_output(const float* m, index_t channels, index_t j0, float* stage,
                        index_t stride) {
  const index_t rows_padded = ceil_div(channels, MR) * MR;
  for (index_t k = 0; k < channels; ++k)
    for (int half = 0; half < NV; ++half) {
      vfloat mm[kPoints], lo[2], hi[2];
      for (int xi = 0; xi < kPoints; ++xi)
        mm[xi] = vload(m + (xi * rows_padded + k) * NR + half * kLanes);
      output_tile_rows(mm, lo, hi);
      for (int r = 0; r < 2; ++r) {
        float* dst = stage + (2 * k + r) * stride + 2 * (j0 + half * kLanes);
        vstore(dst, lo[r]), vstore(dst + kLanes, hi[r]);
      }
    }
}

// max_pool2d(relu(y + bias)), 2x2 windows of stride 2, of a chunk's products (m as
// chunk_products leaves them): an F(2x2) tile is one pooling window. The window maxima go to
// values[k * stride + t] for channel k's tile t, and which of the window's outputs won to
// codes (0 .. 3 in window order; first maximum, last NaN, as max_pool2d picks them).
void stage_chunk_pooled(const float* m, index_t channels, const float* bias, index_t j0,
                        float* values, std::int32_t* codes, index_t stride) {
  const index_t rows_padded = ceil_div(channels, MR) * MR;
  for (index_t k = 0; k < channels; ++k) {
    const vfloat b = vbroadcast(bias ? bias[k] : 0.0f);
    for (int half = 0; half < NV; ++half) {
      vfloat mm[kPoints], out[2][2];
      for (int xi = 0; xi < kPoints; ++xi)
        mm[xi] = vload(m + (xi * rows_padded + k) * NR + half * kLanes);
      output_tiles(mm, out);
      vfloat best = relu(out[0][0] + b);
      vint code = vint{};
      take_if_better(best, code, relu(out[0][1] + b), vint{} + 1);
      take_if_better(best, code, relu(out[1][0] + b), vint{} + 2);
      take_if_better(best, code, relu(out[1][1] + b), vint{} + 3);
      const index_t at = k * stride + j0 + half * kLanes;
      vstore(values + at, best);
      *reinterpret_cast<vint*>(codes + at) = code;
    }
  }
}

// The pooled planes' rows of the block's tiles from stage_chunk_pooled's: window (py, px) is
// tile (py, px) (a last partial tile row or column has no window), and its position in the
// convolution's output plane follows from the winner's code.
void copy_staged_pooled(const ConvShape& s, const TileGrid& grid, const float* values,
                        const std::int32_t* codes, index_t stride, index_t first, index_t count,
                        float* y, std::int32_t* indices) {
  const index_t ph = s.oh / 2, pw = s.ow / 2;
  const vint ow = vint{} + static_cast<int>(s.ow);
  for (index_t k = 0; k < s.k; ++k)
    for_each_segment(grid, first, count, [&](const Segment& seg) {
      for (index_t ty = seg.ty0; ty < imin(seg.ty1, ph); ++ty) {
        const index_t from = k * stride + (seg.row + ty - seg.ty0) * grid.row_tiles;
        const index_t to = ((seg.n * s.k + k) * ph + ty) * pw;
        for (index_t px = 0; px < pw; px += kLanes) {
          const int lanes = static_cast<int>(imin(kLanes, pw - px));
          // Only the row's `lanes` codes: the lanes past them were never staged, and their
          // garbage would overflow the int arithmetic below (undefined, although dropped).
          const vint code = vload_first(codes + from + px, lanes);
          const vint column = 2 * (lane_iota() + static_cast<int>(px)) + (code & 1);
          const vint at = (code >> 1) * ow + column + static_cast<int>(2 * ty * s.ow);
          vstore_first(y + to + px, vload(values + from + px), lanes);
          vstore_first(indices + to + px, at, lanes);
        }
      }
    });
}

}  // namespace
}  // namespace HPNN_ISA_NS
}  // namespace hpnn
