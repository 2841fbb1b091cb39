// Stride-1 convolutions on a zero-padded grid, compiled once per ISA.
//
// Each image is copied with its zero padding into Hp x Wp planes (plus a spare row). On an
// output grid of OH rows x Wp columns, row (c, i, j) of im2col is then the contiguous slice of
// the padded image starting at c * plane + i * dh * Wp + j * dw: the GEMM's B panels are plain
// copies with no bounds checks. The Wp - OW extra columns of each grid row are computed and
// dropped (the spare row keeps their reads inside the buffer). Small images are batched,
// several to a GEMM, so the panels fill and the weights are packed once for all of them.
#include "kernels/conv/padded_grid.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// GEMM columns to aim for when batching images: past this, bigger batches gain little.
constexpr index_t kGridColumns = 2048;

index_t images_per_gemm(const ConvShape& s, const PaddedGrid& grid) {
  return imax(1, imin(s.n, kGridColumns / grid.size));
}

// Grid positions [j0, j0 + count) of a batch split at image boundaries: segment r covers
// `length` positions starting at grid position `start` of image `image`.
struct Segments {
  static constexpr int kMax = 64;
  int count = 0;
  index_t offset[kMax], image[kMax], start[kMax], length[kMax];
};

// count <= 64 positions (an NR panel), or any count when a grid holds at least that many.
void split_images(const PaddedGrid& grid, index_t j0, index_t count, Segments* segs) {
  segs->count = 0;
  for (index_t offset = 0; offset < count && segs->count < Segments::kMax;) {
    const int r = segs->count++;
    const index_t j = j0 + offset;
    segs->offset[r] = offset, segs->image[r] = j / grid.size, segs->start[r] = j % grid.size;
    segs->length[r] = imin(count - offset, grid.size - segs->start[r]);
    offset += segs->length[r];
  }
}

// Forward B source: im2col row p at grid column j is padded[image(j) + offset(p) + j % size].
// Full panels inside one image are read in place (row p at base + offset(p)), the rest packed.
struct ShiftedRows {
  const ConvShape* s;
  PaddedGrid grid;
  const float* padded;
  bool row_offsets(index_t pc, index_t kc, index_t* offsets) const {
    Tap tap = tap_of(*s, pc);
    for (index_t p = 0; p < kc; ++p, tap.next(*s)) offsets[p] = tap_offset(*s, grid, tap);
    return true;
  }
  const float* panel_in_place(index_t j0, int cols) const {
    const index_t image = j0 / grid.size, start = j0 % grid.size;
    if (cols < NR || start + NR > grid.size) return nullptr;
    return padded + image * grid.image + start;
  }
  void operator()(index_t pc, index_t kc, index_t j0, int cols, float* out) const {
    Segments segs;
    split_images(grid, j0, cols, &segs);
    const float* base[Segments::kMax];
    for (int r = 0; r < segs.count; ++r) base[r] = padded + segs.image[r] * grid.image + segs.start[r];
    Tap tap = tap_of(*s, pc);
    for (index_t p = 0; p < kc; ++p, tap.next(*s), out += NR) {
      const index_t shift = tap_offset(*s, grid, tap);
      if (cols == NR && segs.count == 1) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) vstore(out + v * kLanes, vload(base[0] + shift + v * kLanes));
        continue;
      }
      for (int r = 0; r < segs.count; ++r)
        for (index_t t = 0; t < segs.length[r]; ++t) out[segs.offset[r] + t] = base[r][shift + t];
      fill(out + cols, NR - cols, 0.0f);
    }
  }
};

// Weight-gradient B packer: op(B)(p, tap) = padded[image(p) + offset(tap) + p % size], NR taps
// per panel; each tap is contiguous along p within an image, packed with 4 x 4 transposes.
struct TapColumns {
  const ConvShape* s;
  PaddedGrid grid;
  const float* padded;

  void pack_segment(const index_t* shift, int cols, const float* image_base, index_t len,
                    float* out) const {
    const index_t len4 = len - len % 4;
    int l = 0;
    for (; l + 4 <= cols; l += 4) {
      const float* r0 = image_base + shift[l];
      const float* r1 = image_base + shift[l + 1];
      const float* r2 = image_base + shift[l + 2];
      const float* r3 = image_base + shift[l + 3];
      for (index_t p = 0; p < len4; p += 4)
        transpose_4x4_rows(r0 + p, r1 + p, r2 + p, r3 + p, out + p * NR + l, NR);
      for (index_t p = len4; p < len; ++p)
        for (int i = 0; i < 4; ++i) out[p * NR + l + i] = image_base[shift[l + i] + p];
    }
    for (; l < cols; ++l)
      for (index_t p = 0; p < len; ++p) out[p * NR + l] = image_base[shift[l] + p];
  }

  void operator()(index_t pc, index_t kc, index_t j0, int cols, float* out) const {
    index_t shift[NR];
    Tap tap = tap_of(*s, j0);
    for (int l = 0; l < cols; ++l, tap.next(*s)) shift[l] = tap_offset(*s, grid, tap);
    for (index_t p0 = 0; p0 < kc;) {  // one image at a time along p
      const index_t image = (pc + p0) / grid.size, start = (pc + p0) % grid.size;
      const index_t len = imin(kc - p0, grid.size - start);
      pack_segment(shift, cols, padded + image * grid.image + start, len, out + p0 * NR);
      p0 += len;
    }
    for (index_t p = 0; p < kc; ++p) fill(out + p * NR + cols, NR - cols, 0.0f);
  }
};

// y[first .. first + count) of group g from the grid output (kg rows of count * size).
void grid_to_output(const ConvShape& s, const PaddedGrid& grid, const float* grid_out,
                    index_t first, index_t count, index_t g, float* y) {
  const index_t kg = s.k / s.groups, columns = count * grid.size;
  for (index_t n = 0; n < count; ++n)
    for (index_t r = 0; r < kg; ++r)
      for (index_t oy = 0; oy < s.oh; ++oy) {
        const float* src = grid_out + r * columns + n * grid.size + oy * grid.wp;
        float* dst = y + (((first + n) * s.k + g * kg + r) * s.oh + oy) * s.ow;
        for (index_t ox = 0; ox < s.ow; ++ox) dst[ox] = src[ox];
      }
}

// The inverse spread for dy: the grid's extra columns are zero.
void output_to_grid(const ConvShape& s, const PaddedGrid& grid, const float* y, index_t first,
                    index_t count, index_t g, float* grid_out) {
  const index_t kg = s.k / s.groups, columns = count * grid.size;
  for (index_t n = 0; n < count; ++n)
    for (index_t r = 0; r < kg; ++r)
      for (index_t oy = 0; oy < s.oh; ++oy) {
        float* dst = grid_out + r * columns + n * grid.size + oy * grid.wp;
        const float* src = y + (((first + n) * s.k + g * kg + r) * s.oh + oy) * s.ow;
        for (index_t ox = 0; ox < s.ow; ++ox) dst[ox] = src[ox];
        fill(dst + s.ow, grid.wp - s.ow, 0.0f);
      }
}

void forward_batch(const ConvShape& s, const PaddedGrid& grid, const float* x,
                   const float* weight, const float* bias, bool relu, float* y, index_t first,
                   index_t count, int nt) {
  const index_t kg = s.k / s.groups, taps = taps_of(s), columns = count * grid.size;
  float* padded = thread_scratch(kScratchConvColumns, static_cast<std::size_t>(count * grid.image));
  float* grid_out = thread_scratch(kScratchConvGrid, static_cast<std::size_t>(kg * columns));
  for (index_t g = 0; g < s.groups; ++g) {
    pad_images(s, grid, x, first, count, g, padded);
    GemmArgs args = product(kg, columns, taps, weight + g * kg * taps, taps, 1, nullptr, 0, 0,
                            grid_out, 0.0f, nt);
    args.row_bias = bias ? bias + g * kg : nullptr;
    args.relu = relu;
    gemm_run(args, kBlocking, ShiftedRows{&s, grid, padded});
    grid_to_output(s, grid, grid_out, first, count, g, y);
  }
}

// The batch's im2col matrix (taps x count * size), each row a run of shifted image rows.
void tap_rows(const ConvShape& s, const PaddedGrid& grid, const float* padded, index_t count,
              float* rows) {
  const index_t columns = count * grid.size;
  Tap tap = tap_of(s, 0);
  for (index_t p = 0; p < taps_of(s); ++p, tap.next(s)) {
    const float* src = padded + tap_offset(s, grid, tap);
    for (index_t n = 0; n < count; ++n)
      for (index_t j = 0; j < grid.size; ++j)
        rows[p * columns + n * grid.size + j] = src[n * grid.image + j];
  }
}

// grad_w += the batch's contribution: dy on the grid (kg x count * size) @ TapColumns, and
// with_bias dy's channel sums into the k floats after grad_w. With
// fewer taps than filters (a first layer's 9), as dot products of dy's rows with the explicit
// tap rows instead: a kg x taps tile would leave most of the register tile's columns idle.
void weight_grad_batch(const ConvShape& s, const PaddedGrid& grid, const float* grad_y,
                       const float* x, float* grad_w, bool with_bias, index_t first,
                       index_t count, int nt) {
  const index_t kg = s.k / s.groups, taps = taps_of(s), columns = count * grid.size;
  float* padded = thread_scratch(kScratchConvColumns, static_cast<std::size_t>(count * grid.image));
  float* dy_grid = thread_scratch(kScratchConvGrid, static_cast<std::size_t>(kg * columns));
  const bool few_taps = taps < kg;
  float* rows = few_taps ? thread_scratch(kScratchConvTapRows,
                                            static_cast<std::size_t>(taps * columns)) : nullptr;
  for (index_t g = 0; g < s.groups; ++g) {
    pad_images(s, grid, x, first, count, g, padded);
    output_to_grid(s, grid, grad_y, first, count, g, dy_grid);
    float* grad_w_g = grad_w + g * kg * taps;
    if (few_taps) {
      tap_rows(s, grid, padded, count, rows);
      gemm_dot(product(kg, taps, columns, dy_grid, columns, 1, rows, 1, columns, grad_w_g, 1.0f, 1));
    } else {
      const GemmArgs args = product(kg, taps, columns, dy_grid, columns, 1, nullptr, 0, 0,
                                    grad_w_g, 1.0f, nt);
      gemm_run(args, kBlocking, TapColumns{&s, grid, padded});
    }
    if (with_bias)
      for (index_t n = first; n < first + count; ++n)
        add_row_sums(grad_y + (n * s.k + g * kg) * s.oh * s.ow, kg, s.oh * s.ow, s.oh * s.ow,
                     grad_w + s.k * taps + g * kg);
  }
}
}  // namespace

void grid_forward(const ConvShape& s, const float* x, const float* weight, const float* bias,
                  bool relu, float* y, int nt) {
  const PaddedGrid grid = padded_grid(s);
  for_each_chunk(s.n, images_per_gemm(s, grid), nt, [&](index_t first, index_t count, int inner) {
    forward_batch(s, grid, x, weight, bias, relu, y, first, count, inner);
  });
}

void grid_weight_grad(const ConvShape& s, const float* grad_y, const float* x, float* grad_w,
                      bool with_bias, int nt) {
  const PaddedGrid grid = padded_grid(s);
  const index_t batch = images_per_gemm(s, grid);
  const index_t size = s.k * taps_of(s) + (with_bias ? s.k : 0);
  sum_over_items(ceil_div(s.n, batch), size, nt, grad_w, [&](index_t i, float* out, int inner) {
    weight_grad_batch(s, grid, grad_y, x, out, with_bias, i * batch, imin(batch, s.n - i * batch),
                      inner);
  });
}

}  // namespace HPNN_ISA_NS
}  // namespace hpnn
