// The tile transforms of Winograd F(2x2, 3x3) (conv_winograd_isa.cpp): the tile grid and its
// blocks, the input transform V = B^T d B and the output-gradient transform dM = A dy A^T, on
// vectors of tiles (the output transform y = A^T M A: winograd_output.h). Included by that
// per-ISA source only; everything is in an anonymous namespace.
#pragma once
#include "kernels/conv/pooled_grad.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

constexpr int kPoints = 16;  // transformed positions per tile (4 x 4)

// Tiles per block at most (a whole image is one block up to this many).
constexpr index_t kMaxBlockTiles = 1024;

// Tiles are numbered along tile rows. A row narrower than a vector would leave most lanes of
// the transforms idle, so such rows are chained: each stores one extra tile, straddling the
// row's end (its output is dropped and its output gradient is zero), which makes the tiles of a
// whole block evenly spaced in the row-pass buffer, for the column pass to run over at once.
struct TileGrid {
  index_t th, tw;            // tile rows and columns of one image
  index_t rows;              // tile rows of the batch: n * th
  index_t rows_per_block;
  bool chained;
  index_t row_tiles;         // tiles stored per tile row: tw, or tw + 1 when chained
  index_t row_width;         // columns a tile row's buffers hold: 2 * tw + 2, or whole vectors
};

// Tiles stored per tile row of tw tiles: one more when the row is narrower than a vector, so
// that rows can be chained (see TileGrid).
index_t stored_row_tiles(index_t tw) { return tw < kLanes ? tw + 1 : tw; }

// Rows per block, a multiple of `unit` (1, or an image's tile rows) and at most `most` (but one
// unit), over at least as many blocks as threads where there are enough units, and a multiple
// of the thread count where there are more: every thread then takes as many blocks.
index_t balanced_block_rows(index_t rows, index_t most, index_t unit, int nt) {
  const index_t units = ceil_div(rows, unit);
  index_t blocks = imax(ceil_div(units, imax(1, most / unit)), imin(nt, units));
  if (blocks > nt) blocks = ceil_div(blocks, nt) * nt;
  return ceil_div(units, blocks) * unit;
}

// The tile grid of s's output in blocks of about block_tiles tiles (whole tile rows; whole
// images when `whole_images`).
TileGrid tile_grid(const ConvShape& s, index_t block_tiles, int nt, bool whole_images = false) {
  TileGrid grid;
  grid.th = ceil_div(s.oh, 2), grid.tw = ceil_div(s.ow, 2);
  grid.rows = s.n * grid.th;
  // Whole images where they are not too large: a block then reads x[n] in one sequential
  // sweep (measured 15% faster at 56 x 56 than blocks of a few tile rows).
  block_tiles = imax(block_tiles, imin(grid.th * grid.tw, kMaxBlockTiles));
  grid.rows_per_block =
      balanced_block_rows(grid.rows, block_tiles / grid.tw, whole_images ? grid.th : 1, nt);
  grid.row_tiles = stored_row_tiles(grid.tw);
  grid.chained = grid.row_tiles > grid.tw;
  grid.row_width = grid.chained ? 2 * grid.tw + 2 : 2 * ceil_div(grid.tw, kLanes) * kLanes + 2;
  return grid;
}

// Floats per array of a row pass: the block's rows plus a vector's over-read.
index_t pass_size(const TileGrid& grid, index_t count) {
  return count * grid.row_width + 2 * kLanes + 2;
}

// Floats from one channel's tiles to the next in V, M and dM: the tiles, room for a GEMM tile's
// overrun (a chunk of NR tiles read from the last one's start), and never a multiple of 4 KiB
// (B rows read in place that far apart would share L1 sets).
index_t tile_stride(index_t tiles) {
  const index_t stride = ceil_div(tiles + NR, 16) * 16;
  return stride % 1024 == 0 ? stride + 16 : stride;
}

// Floats of each of a segment's even and odd row buffers (split_rows), slack included.
index_t split_size(const TileGrid& grid, index_t count) {
  return (imin(grid.th, count) + 1) * grid.row_width + kLanes;
}

// Scratch floats of a block's input transforms: 4 row-pass arrays and a segment's even and odd
// rows.
index_t work_size(const TileGrid& grid, index_t count) {
  return 4 * pass_size(grid, count) + 2 * split_size(grid, count);
}

// A run of one image's tile rows [ty0, ty1) inside a block, the first at block row `row`.
struct Segment {
  index_t n, ty0, ty1, row;
};

template <class Visit>
void for_each_segment(const TileGrid& grid, index_t first, index_t count, const Visit& visit) {
  for (index_t r = first; r < first + count;) {
    const index_t n = r / grid.th, ty0 = r % grid.th;
    const index_t ty1 = imin(grid.th, ty0 + first + count - r);
    visit(Segment{n, ty0, ty1, r - first});
    r += ty1 - ty0;
  }
}

// Floats between the 16 transformed positions of a buffer holding `floats` per position: one
// cache line more, so that the 16 streams a transform reads or writes do not all fall into
// the same L1 sets (with power-of-two sizes they would be 4 KiB multiples apart).
index_t point_stride(index_t floats) { return floats + 16; }

// Prefetches what the block's tile rows read of one channel: rows 2 * ty - pad .. 2 * ty - pad
// + patch - 1 of its plane in each image (plane at image(n) = channel + n * image_stride, h x w).
// Called for the next channel while this one is transformed: a small image's planes are runs
// too short for the hardware prefetchers to pick up.
void prefetch_channel(const TileGrid& grid, const float* channel, index_t image_stride, index_t h,
                      index_t w, index_t pad, index_t patch, index_t first, index_t count) {
  for_each_segment(grid, first, count, [&](const Segment& seg) {
    const index_t y0 = imax(0, 2 * seg.ty0 - pad), y1 = imin(h, 2 * (seg.ty1 - 1) - pad + patch);
    const char* begin = reinterpret_cast<const char*>(channel + seg.n * image_stride + y0 * w);
    const char* end = reinterpret_cast<const char*>(channel + seg.n * image_stride + y1 * w);
    for (const char* line = begin; line < end; line += 64) __builtin_prefetch(line);
  });
}

// dst[0, width) = a plane row of w floats at column pad_w (pad_w + w <= width), zero around it.
// Whole vectors where src may be read that far (before `end`): the last may spill up to a vector
// past width, into the next row of dst's buffer, which the caller writes later (or its slack).
void place_row(const float* src, index_t w, index_t pad_w, index_t width, const float* end,
               float* dst) {
  if (src + ceil_div(w, kLanes) * kLanes > end) return gather_row(dst, src, -pad_w, 1, width, w);
  fill(dst, pad_w, 0.0f);
  for (index_t i = 0; i < w; i += kLanes) vstore(dst + pad_w + i, vload(src + i));
  fill(dst + pad_w + w, width - pad_w - w, 0.0f);
}

// Rows y0, y0 + 1, ... y0 + 2 * rows - 1 of a zero-padded plane (h x w, part of a tensor ending
// at `end`), the even ones to even[j] and the odd ones to odd[j], `width` columns each; padded
// row p and column q are the plane's row p - pad_h and column q - pad_w (zero outside). Split
// so that a tile row's 4 input rows are even[r], odd[r], even[r + 1], odd[r + 1]: evenly spaced
// in r, for one long row pass. Each buffer needs a vector of slack after its rows.
void split_rows(const float* plane, index_t h, index_t w, index_t pad_h, index_t pad_w,
                const float* end, index_t y0, index_t rows, index_t width, float* even,
                float* odd) {
  for (index_t j = 0; j < 2 * rows; ++j) {
    float* dst = (j % 2 ? odd : even) + j / 2 * width;
    const index_t y = y0 + j - pad_h;
    if (y < 0 || y >= h)
      fill(dst, width, 0.0f);
    else
      place_row(plane + y * w, w, pad_w, width, end, dst);
  }
}

// The row pass B^T d of `rows` tile rows, from their split input rows, into the 4 arrays
// pass + a * size. B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
void row_pass(const float* even, const float* odd, index_t rows, index_t width,
              float* __restrict pass, index_t size) {
  float *t0 = pass, *t1 = pass + size, *t2 = pass + 2 * size, *t3 = pass + 3 * size;
  for (index_t q = 0; q < rows * width; ++q) {
    const float d0 = even[q], d1 = odd[q], d2 = even[q + width], d3 = odd[q + width];
    t0[q] = d0 - d2, t1[q] = d1 + d2, t2[q] = d2 - d1, t3[q] = d1 - d3;
  }
}

// The column pass (the right-hand B): v[xi * point + t] for `tiles` tiles t, tile t reading
// columns 2t .. 2t + 3 of the 4 row-pass arrays (pass + a * size). Vectors of tiles, their
// even and odd columns split apart; the last vector may run past `tiles` into the slots of the
// next tile row, written later, or into the spare slots after the channel's (tile_stride).
void column_pass(const float* pass, index_t size, index_t tiles, float* __restrict v,
                 index_t point) {
  for (int a = 0; a < 4; ++a) {
    const float* t = pass + a * size;
    float* va = v + 4 * a * point;
    for (index_t tx = 0; tx < tiles; tx += kLanes) {
      vfloat e0, o0, e1, o1;
      deinterleave(vload(t + 2 * tx), vload(t + 2 * tx + kLanes), &e0, &o0);
      deinterleave(vload(t + 2 * tx + 2), vload(t + 2 * tx + 2 + kLanes), &e1, &o1);
      vstore(va + tx, e0 - e1), vstore(va + point + tx, o0 + e1);
      vstore(va + 2 * point + tx, e1 - o0), vstore(va + 3 * point + tx, o0 - o1);
    }
  }
}

// Runs a column pass over the block's tiles of one channel: at once when rows are chained,
// else row by row.
template <class Pass>
void for_each_column_pass(const TileGrid& grid, index_t count, const Pass& pass) {
  if (grid.chained) return pass(0, count * grid.row_tiles);
  for (index_t r = 0; r < count; ++r) pass(r, grid.tw);
}

// Zeroes the over-read tail of the row-pass arrays (never written otherwise).
void clear_pass_tails(const TileGrid& grid, index_t count, float* pass) {
  const index_t size = pass_size(grid, count), used = count * grid.row_width;
  for (int a = 0; a < 4; ++a) fill(pass + a * size + used, size - used, 0.0f);
}

// The row pass A dy of `rows` tile rows of split output-gradient rows, into pass + a * size:
// (dy0, dy0 + dy1, dy0 - dy1, -dy1) down each column; each tile row reads 2 rows.
void grad_row_pass(const float* even, const float* odd, index_t rows, index_t width,
                   float* __restrict pass, index_t size) {
  float *u0 = pass, *u1 = pass + size, *u2 = pass + 2 * size, *u3 = pass + 3 * size;
  for (index_t q = 0; q < rows * width; ++q)
    u0[q] = even[q], u1[q] = even[q] + odd[q], u2[q] = even[q] - odd[q], u3[q] = -odd[q];
}

// The column pass of dM = A dy A^T: tile t reads columns 2t and 2t + 1 of the 4 arrays of
// A dy (pass + a * size); vectors of tiles as in column_pass.
void grad_column_pass(const float* pass, index_t size, index_t tiles, float* __restrict dm,
                      index_t point) {
  for (int a = 0; a < 4; ++a) {
    const float* u = pass + a * size;
    float* dst = dm + 4 * a * point;
    for (index_t tx = 0; tx < tiles; tx += kLanes) {
      vfloat e, o;
      deinterleave(vload(u + 2 * tx), vload(u + 2 * tx + kLanes), &e, &o);
      vstore(dst + tx, e), vstore(dst + point + tx, e + o);
      vstore(dst + 2 * point + tx, e - o), vstore(dst + 3 * point + tx, -o);
    }
  }
}

// What a transform reads: `channels` planes of h x w per image, zero-padded by pad_h and pad_w,
// a tile row reading `patch` rows of them (4 of the input, 2 of the output gradient).
struct Planes {
  const float* data;
  index_t channels, h, w, pad_h, pad_w, patch;
  const PooledGrad* pool = nullptr;  // data is null and dy is unpooled from here instead
};

// dy's rows 2 * ty0 .. 2 * (ty0 + rows) - 1 of plane `plane` (image n, channel k: n * K + k)
// from the pool's gradient, split as split_rows (row 2 * ty to even[ty - ty0], 2 * ty + 1 to
// odd), `width` columns each.
void unpool_rows(const PooledGrad& pool, const Planes& dy, index_t plane, index_t ty0,
                 index_t rows, index_t width, float* even, float* odd) {
  vint stray = vint{};
  for (index_t j = 0; j < rows; ++j)
    unpool_row_pair(pool, plane, ty0 + j, dy.h, dy.w, width, even + j * width, odd + j * width,
                    stray);
  report_stray(pool, stray);
}

// out[xi][c][t] for the block's tiles (tile rows [first, first + count)) and every channel c:
// the planes' rows split (split_rows), row_pass over them, column_pass over the result.
// Channel by channel, so that each plane is read in order.
template <class RowPass, class ColumnPass>
void transform_planes(const TileGrid& grid, const Planes& in, index_t first, index_t count,
                      RowPass row_pass, ColumnPass column_pass, float* out, float* work) {
  const index_t ts = tile_stride(count * grid.row_tiles), point = point_stride(in.channels * ts);
  const index_t width = grid.row_width, size = pass_size(grid, count), plane = in.h * in.w;
  float *pass = work, *even = work + 4 * size, *odd = even + split_size(grid, count);
  // Past the last image (split_rows reads no further); the planes of `pool` have no data.
  const float* end = in.pool ? nullptr : in.data + grid.rows / grid.th * in.channels * plane;
  clear_pass_tails(grid, count, pass);
  for (index_t c = 0; c < in.channels; ++c) {
    if (c + 1 < in.channels && !in.pool)
      prefetch_channel(grid, in.data + (c + 1) * plane, in.channels * plane, in.h, in.w, in.pad_h,
                       in.patch, first, count);
    for_each_segment(grid, first, count, [&](const Segment& seg) {
      const index_t rows = seg.ty1 - seg.ty0;
      if (in.pool) {
        unpool_rows(*in.pool, in, seg.n * in.channels + c, seg.ty0, rows, width, even, odd);
      } else {
        split_rows(in.data + (seg.n * in.channels + c) * plane, in.h, in.w, in.pad_h, in.pad_w,
                   end, 2 * seg.ty0, rows + in.patch / 2 - 1, width, even, odd);
      }
      row_pass(even, odd, rows, width, pass + seg.row * width, size);
    });
    for_each_column_pass(grid, count, [&](index_t r, index_t n) {
      column_pass(pass + r * width, size, n, out + c * ts + r * grid.row_tiles, point);
    });
  }
}

// V[xi][c][t] = (B^T d B)[xi] for the block's tiles.
void transform_input(const ConvShape& s, const TileGrid& grid, const float* x, index_t first,
                     index_t count, float* v, float* work) {
  transform_planes(grid, Planes{x, s.c, s.h, s.w, s.pad_h, s.pad_w, 4}, first, count, row_pass,
                   column_pass, v, work);
}

// dM[xi][k][t] = (A dy A^T)[xi] of the block's output-gradient tiles (zero past the output,
// so chained rows' extra tiles get zero).
void transform_grad_output(const ConvShape& s, const TileGrid& grid, const float* grad_y,
                           index_t first, index_t count, float* dm, float* work,
                           const PooledGrad* pool = nullptr) {
  transform_planes(grid, Planes{grad_y, s.k, s.oh, s.ow, 0, 0, 2, pool}, first, count,
                   grad_row_pass, grad_column_pass, dm, work);
}

// Floats of each of transform_input_grad's row arrays: two per tile and a vector's slack.
index_t scatter_array(index_t tiles) { return 2 * tiles + 2 * kLanes; }

// Scratch floats of transform_input_grad: its 4 row arrays.
index_t scatter_work_size(const TileGrid& grid, index_t count) {
  return 4 * scatter_array(count * grid.row_tiles);
}

// grad_x of the block's images (whole ones, rows chained) from dv[xi][c][t] = dV of their
// tiles: each tile's patch B dV B^T (the adjoint of V = B^T d B) added onto its 4 x 4 window
// of the zero-padded input, where the windows of neighbouring tiles overlap by two rows or
// columns; the padding is then dropped. B = [1 0 0 0; 0 1 -1 1; -1 1 1 0; 0 0 0 -1].
// On vectors of tiles: patch row i's columns 0 and 1 plus the previous tile's columns 2 and 3
// give padded columns 2t and 2t + 1 of row array i; as a chained row's extra tile has zero dV,
// tile rows need no special case (its slot takes the last tile's columns 2 and 3). Padded row
// 2 ty + a is then row array a of tile row ty plus row array a + 2 of tile row ty - 1.
void transform_input_grad(const ConvShape& s, const TileGrid& grid, const float* dv, index_t first,
                          index_t count, float* grad_x, float* rows) {
  const index_t tiles = count * grid.row_tiles, ts = tile_stride(tiles);
  const index_t point = point_stride(s.c * ts), size = scatter_array(tiles), pw = grid.row_width;
  for (index_t c = 0; c < s.c; ++c) {
    vfloat carry[4][2] = {};  // patch row i's columns 2 and 3 of the previous vector of tiles
    for (index_t t = 0; t < tiles; t += kLanes) {
      vfloat z[4][4];  // dV B^T, row a
      for (int a = 0; a < 4; ++a) {
        const float* d = dv + 4 * a * point + c * ts + t;
        const vfloat d0 = vload(d), d1 = vload(d + point), d2 = vload(d + 2 * point);
        const vfloat d3 = vload(d + 3 * point);
        z[a][0] = d0, z[a][1] = d1 - d2 + d3, z[a][2] = d1 + d2 - d0, z[a][3] = -d3;
      }
      vfloat p[4][4];  // the patch B z, row i
      for (int b = 0; b < 4; ++b) {
        p[0][b] = z[0][b], p[1][b] = z[1][b] - z[2][b] + z[3][b];
        p[2][b] = z[1][b] + z[2][b] - z[0][b], p[3][b] = -z[3][b];
      }
      for (int i = 0; i < 4; ++i) {
        vfloat lo, hi;
        interleave(p[i][0] + shift_in(carry[i][0], p[i][2]),
                   p[i][1] + shift_in(carry[i][1], p[i][3]), &lo, &hi);
        carry[i][0] = p[i][2], carry[i][1] = p[i][3];
        vstore(rows + i * size + 2 * t, lo), vstore(rows + i * size + 2 * t + kLanes, hi);
      }
    }
    for (index_t image = 0; image < count / grid.th; ++image) {
      float* dst = grad_x + ((first / grid.th + image) * s.c + c) * s.h * s.w;
      for (index_t y = 0; y < s.h; ++y, dst += s.w) {
        const index_t py = y + s.pad_h, ty = py / 2, a = py % 2;
        const float* upper = rows + a * size + (image * grid.th + ty) * pw + s.pad_w;
        const float* lower = upper + 2 * size - pw;  // row array a + 2, one tile row up
        if (ty == 0)
          for (index_t x = 0; x < s.w; ++x) dst[x] = upper[x];
        else if (ty == grid.th)
          for (index_t x = 0; x < s.w; ++x) dst[x] = lower[x];
        else
          for (index_t x = 0; x < s.w; ++x) dst[x] = upper[x] + lower[x];
      }
    }
  }
}

}  // namespace
}  // namespace HPNN_ISA_NS
}  // namespace hpnn
