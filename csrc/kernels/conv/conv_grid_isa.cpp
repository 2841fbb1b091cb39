// Stride-1 convolutions on a zero-padded grid, compiled once per ISA.
//
// Each image is copied with its zero padding into Hp x Wp planes (plus a spare row). On an
// output grid of OH rows x Wp columns, row (c, i, j) of im2col is then the contiguous slice of
// the padded image starting at c * plane + i * dh * Wp + j * dw: the GEMM's B panels are plain
// copies with no bounds checks. The Wp - OW extra columns of each grid row are computed and
// dropped (the spare row keeps their reads inside the buffer). Small images are batched,
// several to a GEMM, so the panels fill and the weights are packed once for all of them.
#include "kernels/conv/conv_common.h"
#include "kernels/common/vec_ops.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// GEMM columns to aim for when batching images: past this, bigger batches gain little.
constexpr index_t kGridColumns = 2048;

struct PaddedGrid {
  index_t wp, plane;  // padded width, floats per padded channel
  index_t size;       // OH * Wp grid positions per image
  index_t image;      // floats per padded image (all channels of a group)
};

PaddedGrid padded_grid(const ConvShape& s) {
  const index_t wp = s.w + 2 * s.pad_w, hp = s.h + 2 * s.pad_h;
  const index_t plane = (hp + 1) * wp;
  return {wp, plane, s.oh * wp, s.c / s.groups * plane};
}

index_t images_per_gemm(const ConvShape& s, const PaddedGrid& grid) {
  return imax(1, imin(s.n, kGridColumns / grid.size));
}

index_t tap_offset(const ConvShape& s, const PaddedGrid& grid, const Tap& tap) {
  return tap.c * grid.plane + tap.i * s.dilation_h * grid.wp + tap.j * s.dilation_w;
}

// Copies `count` images' channels of group g, with zero padding, one image after another.
// Each float is written once: the padding (top rows, left and right columns, bottom rows and
// the spare row) is zeroed around the copied rows rather than by a fill of the whole buffer.
void pad_images(const ConvShape& s, const PaddedGrid& grid, const float* x, index_t first,
                index_t count, index_t g, float* padded) {
  const index_t cg = s.c / s.groups, right = grid.wp - s.pad_w - s.w;
  const index_t bottom = grid.plane - (s.pad_h + s.h) * grid.wp;  // bottom rows + spare row
  for (index_t n = 0; n < count; ++n)
    for (index_t c = 0; c < cg; ++c) {
      const float* src = x + ((first + n) * s.c + g * cg + c) * s.h * s.w;
      float* dst = padded + n * grid.image + c * grid.plane;
      fill(dst, s.pad_h * grid.wp, 0.0f);
      dst += s.pad_h * grid.wp;
      for (index_t y = 0; y < s.h; ++y, dst += grid.wp, src += s.w) {
        fill(dst, s.pad_w, 0.0f);
        for (index_t t = 0; t < s.w; ++t) dst[s.pad_w + t] = src[t];
        fill(dst + s.pad_w + s.w, right, 0.0f);
      }
      fill(dst, bottom, 0.0f);
    }
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

// ---- direct paths for few taps ------------------------------------------------------------------
//
// A first layer (1-3 input channels) has a GEMM depth of a few taps: too short to pay for its
// tile writes and the grid's copies. These paths compute output rows in vectors straight from
// the padded image: a register block of filters over vectors of columns, one FMA per tap. Rows
// of their grid are wide enough that whole vectors past the output's width still read the same
// padded row (zeros, or columns no output uses).
constexpr index_t kMaxDirectTaps = 27;  // 3 channels of 3 x 3
constexpr int kForwardFilters = kLanes >= 16 ? 8 : 4;  // forward register block: filters x 2 vectors
// Weight gradient register block: filters x taps accumulators, plus per filter a vector of dy
// and its running sum (the bias gradient), and one of x (21 of AVX-512's 32 registers, 11 of
// AVX2's 16).
constexpr int kGradFilters = kLanes >= 16 ? 4 : 2;
constexpr int kGradTaps = 3;

PaddedGrid direct_grid(const ConvShape& s) {
  const index_t span = 2 * kLanes;
  const index_t wp = imax(s.w + 2 * s.pad_w,
                          ceil_div(s.ow, span) * span + (s.kw - 1) * s.dilation_w);
  const index_t plane = (s.h + 2 * s.pad_h + 1) * wp;
  return {wp, plane, s.oh * wp, s.c * plane};
}

void store_columns(float* dst, vfloat lo, vfloat hi, index_t columns, bool relu) {
  if (relu) lo = hpnn::HPNN_ISA_NS::relu(lo), hi = hpnn::HPNN_ISA_NS::relu(hi);
  if (columns >= 2 * kLanes) return vstore(dst, lo), vstore(dst + kLanes, hi);
  if (columns <= kLanes) return vstore_first(dst, lo, static_cast<int>(columns));
  vstore(dst, lo);
  vstore_first(dst + kLanes, hi, static_cast<int>(columns - kLanes));
}

// offsets[t] for the taps, then 0 up to the next whole kGradTaps.
void tap_offsets(const ConvShape& s, const PaddedGrid& grid, index_t* offsets) {
  Tap tap = tap_of(s, 0);
  for (index_t t = 0; t < taps_of(s); ++t, tap.next(s)) offsets[t] = tap_offset(s, grid, tap);
  for (index_t t = taps_of(s); t < ceil_div(taps_of(s), kGradTaps) * kGradTaps; ++t) offsets[t] = 0;
}

// The weights as blocks of `block` filters, tap-major within a block (a block's broadcasts for
// one tap are adjacent), zero past the last filter.
void pack_filter_blocks(const ConvShape& s, const float* weight, int block, float* packed) {
  const index_t taps = taps_of(s);
  for (index_t k0 = 0; k0 < s.k; k0 += block)
    for (index_t t = 0; t < taps; ++t)
      for (int f = 0; f < block; ++f)
        *packed++ = k0 + f < s.k ? weight[(k0 + f) * taps + t] : 0.0f;
}

float* packed_filter_blocks(const ConvShape& s, const float* weight, int block) {
  float* packed = thread_scratch(kScratchConvFilters, static_cast<std::size_t>(
      ceil_div(s.k, block) * block * taps_of(s)));
  pack_filter_blocks(s, weight, block, packed);
  return packed;
}

// Filters [k_begin, k_end) of one image (k_begin a multiple of kForwardFilters).
void direct_forward_image(const ConvShape& s, const PaddedGrid& grid, const index_t* offsets,
                          const float* packed, const float* bias, bool relu, const float* padded,
                          index_t k_begin, index_t k_end, float* y) {
  const index_t taps = taps_of(s);
  packed += k_begin * taps;
  for (index_t k0 = k_begin; k0 < k_end; k0 += kForwardFilters, packed += taps * kForwardFilters) {
    const int filters = static_cast<int>(imin(kForwardFilters, k_end - k0));
    for (index_t oy = 0; oy < s.oh; ++oy)
      for (index_t ox = 0; ox < s.ow; ox += 2 * kLanes) {
        const float* src = padded + oy * grid.wp + ox;
        vfloat lo[kForwardFilters], hi[kForwardFilters];
#pragma GCC unroll 8
        for (int f = 0; f < kForwardFilters; ++f)
          lo[f] = hi[f] = vbroadcast(bias && f < filters ? bias[k0 + f] : 0.0f);
        for (index_t t = 0; t < taps; ++t) {
          const vfloat x0 = vload(src + offsets[t]), x1 = vload(src + offsets[t] + kLanes);
          const float* w = packed + t * kForwardFilters;
#pragma GCC unroll 8
          for (int f = 0; f < kForwardFilters; ++f)
            lo[f] += vbroadcast(w[f]) * x0, hi[f] += vbroadcast(w[f]) * x1;
        }
#pragma GCC unroll 8
        for (int f = 0; f < kForwardFilters; ++f)  // constant indices: lo and hi stay in registers
          if (f < filters)
            store_columns(y + ((k0 + f) * s.oh + oy) * s.ow + ox, lo[f], hi[f], s.ow - ox, relu);
      }
  }
}

// max_pool2d(relu(conv)), 2x2 windows with stride 2 (floor), of filters [k_begin, k_end) of one
// image: conv rows 2py and 2py + 1 of a register block of kPoolFilters filters over 2 vectors of
// columns, relu'd and pooled in registers (window_max_2x2: the pool kernel's order and NaN
// rule); only the pooled values and their int32 positions in the conv plane are stored.
constexpr int kPoolFilters = kLanes >= 16 ? 4 : 2;  // x 2 rows x 2 vectors of accumulators

void direct_pooled_image(const ConvShape& s, const PaddedGrid& grid, const index_t* offsets,
                         const float* packed, const float* bias, const float* padded,
                         index_t k_begin, index_t k_end, float* y, std::int32_t* indices) {
  const index_t taps = taps_of(s), ph = s.oh / 2, pw = s.ow / 2;
  packed += k_begin * taps;
  for (index_t k0 = k_begin; k0 < k_end; k0 += kPoolFilters, packed += taps * kPoolFilters) {
    const int filters = static_cast<int>(imin(kPoolFilters, k_end - k0));
    for (index_t py = 0; py < ph; ++py)
      for (index_t ox = 0; ox < 2 * pw; ox += 2 * kLanes) {
        const float* src = padded + 2 * py * grid.wp + ox;
        vfloat acc[kPoolFilters][2][2];  // filter, row, vector
#pragma GCC unroll 4
        for (int f = 0; f < kPoolFilters; ++f) {
          const vfloat b = vbroadcast(bias && f < filters ? bias[k0 + f] : 0.0f);
          acc[f][0][0] = acc[f][0][1] = acc[f][1][0] = acc[f][1][1] = b;
        }
        for (index_t t = 0; t < taps; ++t) {
          const float* top = src + offsets[t];
          const vfloat x00 = vload(top), x01 = vload(top + kLanes);
          const vfloat x10 = vload(top + grid.wp), x11 = vload(top + grid.wp + kLanes);
          const float* w = packed + t * kPoolFilters;
#pragma GCC unroll 4
          for (int f = 0; f < kPoolFilters; ++f) {
            const vfloat wf = vbroadcast(w[f]);
            acc[f][0][0] += wf * x00, acc[f][0][1] += wf * x01;
            acc[f][1][0] += wf * x10, acc[f][1][1] += wf * x11;
          }
        }
        const int columns = static_cast<int>(imin(kLanes, pw - ox / 2));
#pragma GCC unroll 4
        for (int f = 0; f < kPoolFilters; ++f) {  // constant indices: acc stays in registers
          if (f >= filters) continue;
          vfloat best;
          vint at;
          window_max_2x2(relu(acc[f][0][0]), relu(acc[f][0][1]), relu(acc[f][1][0]),
                         relu(acc[f][1][1]), s.ow, 2 * py * s.ow + ox, best, at);
          const index_t out = ((k0 + f) * ph + py) * pw + ox / 2;
          vstore_first(y + out, best, columns);
          vstore_first(reinterpret_cast<float*>(indices + out),
                       reinterpret_cast<const vfloat&>(at), columns);
        }
      }
  }
}

// sums[f][t] = one image's dy rows of filter f (dy_rows[f], oh rows of ow) correlated with its
// padded x under tap t (src + offsets[t]); with kDySums also dy_sums[f], their plain sums (the
// bias gradient, while dy is in registers). Every load is masked to the row's columns, so lanes
// past the output's width are zero on both sides (an infinite x there cannot turn a sum into
// NaN).
template <bool kDySums>
void correlate_block(const ConvShape& s, const PaddedGrid& grid, const float* const* dy_rows,
                     const float* src, const index_t* offsets,
                     float (&sums)[kGradFilters][kGradTaps], float (&dy_sums)[kGradFilters]) {
  vfloat acc[kGradFilters][kGradTaps], dy_acc[kGradFilters];
#pragma GCC unroll 4
  for (int f = 0; f < kGradFilters; ++f) {
    dy_acc[f] = vfloat{};
#pragma GCC unroll 3
    for (int t = 0; t < kGradTaps; ++t) acc[f][t] = vfloat{};
  }
  for (index_t oy = 0; oy < s.oh; ++oy, src += grid.wp)
    for (index_t ox = 0; ox < s.ow; ox += kLanes) {
      const int columns = static_cast<int>(imin(kLanes, s.ow - ox));
      vfloat g[kGradFilters];
#pragma GCC unroll 4
      for (int f = 0; f < kGradFilters; ++f) {
        g[f] = vload_first(dy_rows[f] + oy * s.ow + ox, columns);
        if (kDySums) dy_acc[f] += g[f];
      }
#pragma GCC unroll 3
      for (int t = 0; t < kGradTaps; ++t) {
        const vfloat xv = vload_first(src + offsets[t] + ox, columns);
#pragma GCC unroll 4
        for (int f = 0; f < kGradFilters; ++f) acc[f][t] += g[f] * xv;
      }
    }
#pragma GCC unroll 4
  for (int f = 0; f < kGradFilters; ++f) {
    dy_sums[f] = horizontal_sum(dy_acc[f]);
#pragma GCC unroll 3
    for (int t = 0; t < kGradTaps; ++t) sums[f][t] = horizontal_sum(acc[f][t]);
  }
}

// grad_w (k x taps) += one image's dy (k x oh x ow) correlated with its padded x, and with_bias
// dy's channel sums into the k floats after it. A block's filters past the last read the last
// filter's dy again, its taps past the last offset 0; their sums are dropped.
void direct_weight_grad_image(const ConvShape& s, const PaddedGrid& grid, const index_t* offsets,
                              const float* dy, const float* padded, index_t k_begin,
                              index_t k_end, float* grad_w, bool with_bias) {
  const index_t taps = taps_of(s), pixels = s.oh * s.ow;
  for (index_t k0 = k_begin; k0 < k_end; k0 += kGradFilters) {
    const index_t filters = imin(kGradFilters, k_end - k0);
    const float* dy_rows[kGradFilters];
    for (int f = 0; f < kGradFilters; ++f) dy_rows[f] = dy + imin(k0 + f, s.k - 1) * pixels;
    for (index_t t0 = 0; t0 < taps; t0 += kGradTaps) {
      float sums[kGradFilters][kGradTaps], dy_sums[kGradFilters];
      if (with_bias && t0 == 0)
        correlate_block<true>(s, grid, dy_rows, padded, offsets + t0, sums, dy_sums);
      else
        correlate_block<false>(s, grid, dy_rows, padded, offsets + t0, sums, dy_sums);
      for (index_t f = 0; f < filters; ++f)
        for (index_t t = 0; t < imin(kGradTaps, taps - t0); ++t)
          grad_w[(k0 + f) * taps + t0 + t] += sums[f][t];
      if (with_bias && t0 == 0)
        for (index_t f = 0; f < filters; ++f) grad_w[s.k * taps + k0 + f] += dy_sums[f];
    }
  }
}

}  // namespace

bool direct_suits(const ConvShape& s) {
  return s.stride_h == 1 && s.stride_w == 1 && s.groups == 1 && taps_of(s) <= kMaxDirectTaps &&
         s.ow >= kLanes;
}

// The direct paths' work items: whole images, or with fewer images than threads, each image's
// filters in parts (whole register blocks of `block` filters), so that a batch of one still
// uses every thread. run(s, i, item) calls item(n, k_begin, k_end) for item i < count(s).
struct DirectItems {
  index_t parts, part_filters;
  index_t count(const ConvShape& s) const { return s.n * parts; }
  template <class Item>
  void run(const ConvShape& s, index_t i, const Item& item) const {
    const index_t k_begin = i % parts * part_filters;
    item(i / parts, k_begin, imin(s.k, k_begin + part_filters));
  }
};

DirectItems direct_items(const ConvShape& s, index_t block, int nt) {
  const index_t blocks = ceil_div(s.k, block);
  const index_t parts = s.n >= nt ? 1 : imin(blocks, ceil_div(nt, s.n));
  return {parts, ceil_div(blocks, parts) * block};
}

void direct_forward(const ConvShape& s, const float* x, const float* weight, const float* bias,
                    bool relu, float* y, int nt) {
  const PaddedGrid wide = direct_grid(s);
  index_t offsets[kMaxDirectTaps + kGradTaps];  // room for the zero offsets past the taps
  tap_offsets(s, wide, offsets);
  const float* packed = packed_filter_blocks(s, weight, kForwardFilters);
  const DirectItems items = direct_items(s, kForwardFilters, nt);
  for_each_chunk(items.count(s), 1, nt, [&](index_t i, index_t, int) {
    items.run(s, i, [&](index_t n, index_t k_begin, index_t k_end) {
      float* padded = thread_scratch(kScratchConvColumns, static_cast<std::size_t>(wide.image));
      pad_images(s, wide, x, n, 1, 0, padded);
      direct_forward_image(s, wide, offsets, packed, bias, relu, padded, k_begin, k_end,
                           y + n * s.k * s.oh * s.ow);
    });
  });
}

void direct_relu_max_pool2x2(const ConvShape& s, const float* x, const float* weight,
                             const float* bias, float* y, std::int32_t* indices, int nt) {
  const PaddedGrid wide = direct_grid(s);
  index_t offsets[kMaxDirectTaps + kGradTaps];
  tap_offsets(s, wide, offsets);
  const float* packed = packed_filter_blocks(s, weight, kPoolFilters);
  const index_t pooled = (s.oh / 2) * (s.ow / 2);
  const DirectItems items = direct_items(s, kPoolFilters, nt);
  for_each_chunk(items.count(s), 1, nt, [&](index_t i, index_t, int) {
    items.run(s, i, [&](index_t n, index_t k_begin, index_t k_end) {
      float* padded = thread_scratch(kScratchConvColumns, static_cast<std::size_t>(wide.image));
      pad_images(s, wide, x, n, 1, 0, padded);
      direct_pooled_image(s, wide, offsets, packed, bias, padded, k_begin, k_end,
                          y + n * s.k * pooled, indices + n * s.k * pooled);
    });
  });
}

void direct_weight_grad(const ConvShape& s, const float* grad_y, const float* x, float* grad_w,
                        bool with_bias, int nt) {
  const PaddedGrid wide = direct_grid(s);
  index_t offsets[kMaxDirectTaps + kGradTaps];  // room for the zero offsets past the taps
  tap_offsets(s, wide, offsets);
  const index_t size = s.k * taps_of(s) + (with_bias ? s.k : 0);
  const DirectItems items = direct_items(s, kGradFilters, nt);
  sum_over_items(items.count(s), size, nt, grad_w, [&](index_t i, float* out, int) {
    items.run(s, i, [&](index_t n, index_t k_begin, index_t k_end) {
      float* padded = thread_scratch(kScratchConvColumns, static_cast<std::size_t>(wide.image));
      pad_images(s, wide, x, n, 1, 0, padded);
      direct_weight_grad_image(s, wide, offsets, grad_y + n * s.k * s.oh * s.ow, padded,
                               k_begin, k_end, out, with_bias);
    });
  });
}

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
