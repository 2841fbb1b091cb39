// 2-d convolutions as GEMMs per image and group, compiled once per ISA (taps = Cg * kh * kw):
//   forward          y[n, g] (Kg x OH*OW) = W[g] (Kg x taps) @ im2col(x[n, g]) (taps x OH*OW)
//   backward weight  dW[g] (Kg x taps)   += dy[n, g] @ im2col(x[n, g])^T, summed over images
//   backward input   stride 1: the forward convolution of dy with W flipped and transposed;
//                    otherwise dcol = W[g]^T @ dy[n, g], scattered back onto dx (col2im)
// The forward never materialises im2col: the GEMM's B panels are packed straight from the
// image (implicit GEMM), and a 1x1 stride-1 unpadded convolution reads x[n, g] as B directly.
// Images are spread over threads, each running single-threaded GEMMs; a batch smaller than
// the thread count threads inside the GEMM instead.
#include "kernels/gemm/gemm_driver.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

index_t taps_of(const ConvShape& s) { return s.c / s.groups * s.kh * s.kw; }

void fill(float* dst, index_t count, float value) {
  for (index_t i = 0; i < count; ++i) dst[i] = value;
}

// dst[t] = row[ix0 + t * step] for t < count; 0 where ix0 + t * step leaves [0, width).
void gather_row(float* dst, const float* row, index_t ix0, index_t step, index_t count,
                index_t width) {
  if (step != 1) {
    for (index_t t = 0; t < count; ++t) {
      const index_t ix = ix0 + t * step;
      dst[t] = ix >= 0 && ix < width ? row[ix] : 0.0f;
    }
    return;
  }
  const index_t first = imin(count, imax(0, -ix0)), end = imax(first, imin(count, width - ix0));
  fill(dst, first, 0.0f);
  for (index_t t = first; t < end; ++t) dst[t] = row[ix0 + t];
  fill(dst + end, count - end, 0.0f);
}

// row[ix0 + t * step] += src[t] wherever that index lies in [0, width).
void scatter_add_row(float* row, const float* src, index_t ix0, index_t step, index_t count,
                     index_t width) {
  for (index_t t = 0; t < count; ++t) {
    const index_t ix = ix0 + t * step;
    if (ix >= 0 && ix < width) row[ix] += src[t];
  }
}

// One tap: input channel c and kernel offset (i, j) of row p of the im2col matrix.
struct Tap {
  index_t c, i, j;
  void next(const ConvShape& s) {
    if (++j < s.kw) return;
    j = 0;
    if (++i < s.kh) return;
    i = 0, ++c;
  }
};

Tap tap_of(const ConvShape& s, index_t p) {
  return {p / (s.kh * s.kw), p / s.kw % s.kh, p % s.kw};
}

// Output positions [j0, j0 + count) split into runs that stay on one output row.
struct RowRuns {
  static constexpr int kMaxRuns = 64;
  int count = 0;
  index_t offset[kMaxRuns], length[kMaxRuns], oy[kMaxRuns], ox[kMaxRuns];
};

// Runs of at most kMaxRuns (callers pass count <= NR, which is at most 64 positions).
void split_rows(const ConvShape& s, index_t j0, index_t count, RowRuns* runs) {
  index_t oy = j0 / s.ow, ox = j0 % s.ow, offset = 0;
  runs->count = 0;
  while (offset < count) {
    const int r = runs->count++;
    runs->offset[r] = offset, runs->oy[r] = oy, runs->ox[r] = ox;
    runs->length[r] = imin(count - offset, s.ow - ox);
    offset += runs->length[r], ox = 0, ++oy;
  }
}

// dst[t] = im2col row `tap` at output position runs' t-th position.
void gather_tap(const ConvShape& s, const float* x, const Tap& tap, const RowRuns& runs, float* dst) {
  for (int r = 0; r < runs.count; ++r) {
    const index_t iy = runs.oy[r] * s.stride_h - s.pad_h + tap.i * s.dilation_h;
    float* out = dst + runs.offset[r];
    if (iy < 0 || iy >= s.h)
      fill(out, runs.length[r], 0.0f);
    else
      gather_row(out, x + (tap.c * s.h + iy) * s.w,
                 runs.ox[r] * s.stride_w - s.pad_w + tap.j * s.dilation_w, s.stride_w,
                 runs.length[r], s.w);
  }
}

// The GEMM's B packer for the forward pass: NR-column panels of im2col(x) read from the image.
struct ImplicitIm2col {
  const ConvShape* s;
  const float* x;
  void operator()(index_t pc, index_t kc, index_t j0, int cols, float* out) const {
    RowRuns runs;
    split_rows(*s, j0, cols, &runs);
    Tap tap = tap_of(*s, pc);
    for (index_t p = 0; p < kc; ++p, tap.next(*s), out += NR) {
      gather_tap(*s, x, tap, runs, out);
      fill(out + cols, NR - cols, 0.0f);
    }
  }
};

// Stride-1 convolutions run on a zero-padded copy of the image (Hp x Wp per channel plus a
// spare row). On an output grid of OH rows x Wp columns, im2col row (c, i, j) is then the
// contiguous slice of the padded image starting at c * plane + i * dh * Wp + j * dw: B panels
// are plain copies without bounds checks. The Wp - OW extra columns of each grid row are
// computed and dropped (the spare row keeps their reads inside the buffer).
struct PaddedGrid {
  index_t wp, plane, size;  // padded width, floats per padded channel, OH * Wp
};

bool use_padded_grid(const ConvShape& s) { return s.stride_h == 1 && s.stride_w == 1; }

PaddedGrid padded_grid(const ConvShape& s) {
  const index_t wp = s.w + 2 * s.pad_w, hp = s.h + 2 * s.pad_h;
  return {wp, (hp + 1) * wp, s.oh * wp};
}

index_t tap_offset(const ConvShape& s, const PaddedGrid& grid, const Tap& tap) {
  return tap.c * grid.plane + tap.i * s.dilation_h * grid.wp + tap.j * s.dilation_w;
}

void pad_image(const ConvShape& s, const PaddedGrid& grid, const float* x, index_t channels,
               float* padded) {
  for (index_t c = 0; c < channels; ++c, x += s.h * s.w, padded += grid.plane) {
    fill(padded, grid.plane, 0.0f);
    for (index_t y = 0; y < s.h; ++y) {
      float* row = padded + (y + s.pad_h) * grid.wp + s.pad_w;
      for (index_t t = 0; t < s.w; ++t) row[t] = x[y * s.w + t];
    }
  }
}

// Forward B packer on the grid: row p of im2col is padded[offset(p) + j].
struct ShiftedRows {
  const ConvShape* s;
  PaddedGrid grid;
  const float* padded;
  void operator()(index_t pc, index_t kc, index_t j0, int cols, float* out) const {
    Tap tap = tap_of(*s, pc);
    for (index_t p = 0; p < kc; ++p, tap.next(*s), out += NR) {
      const float* src = padded + tap_offset(*s, grid, tap) + j0;
      if (cols == NR) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) vstore(out + v * kLanes, vload(src + v * kLanes));
        continue;
      }
      for (int l = 0; l < cols; ++l) out[l] = src[l];
      fill(out + cols, NR - cols, 0.0f);
    }
  }
};

// Weight-gradient B packer on the grid: op(B)(p, tap) = padded[offset(tap) + p], NR taps per
// panel, each contiguous along p -- packed with 4 x 4 transposes.
struct TapColumns {
  const ConvShape* s;
  PaddedGrid grid;
  const float* padded;
  void operator()(index_t pc, index_t kc, index_t j0, int cols, float* out) const {
    const float* lane[NR];
    Tap tap = tap_of(*s, j0);
    for (int l = 0; l < cols; ++l, tap.next(*s)) lane[l] = padded + tap_offset(*s, grid, tap) + pc;
    const index_t kc4 = kc - kc % 4;
    int l = 0;
    for (; l + 4 <= cols; l += 4) {
      for (index_t p = 0; p < kc4; p += 4)
        transpose_4x4_rows(lane[l] + p, lane[l + 1] + p, lane[l + 2] + p, lane[l + 3] + p,
                           out + p * NR + l, NR);
      for (index_t p = kc4; p < kc; ++p)
        for (int i = 0; i < 4; ++i) out[p * NR + l + i] = lane[l + i][p];
    }
    for (; l < cols; ++l)
      for (index_t p = 0; p < kc; ++p) out[p * NR + l] = lane[l][p];
    for (l = cols; l < NR; ++l)
      for (index_t p = 0; p < kc; ++p) out[p * NR + l] = 0.0f;
  }
};

// The explicit im2col matrix (taps x OH*OW), built a row chunk at a time.
void im2col(const ConvShape& s, const float* x, float* columns) {
  const index_t pixels = s.oh * s.ow, chunk = RowRuns::kMaxRuns;
  RowRuns runs;
  for (index_t j0 = 0; j0 < pixels; j0 += chunk) {
    const index_t count = imin(chunk, pixels - j0);
    split_rows(s, j0, count, &runs);
    Tap tap = tap_of(s, 0);
    for (index_t p = 0; p < taps_of(s); ++p, tap.next(s)) gather_tap(s, x, tap, runs, columns + p * pixels + j0);
  }
}

void col2im_add(const ConvShape& s, const float* columns, float* x) {
  Tap tap = tap_of(s, 0);
  for (index_t p = 0; p < taps_of(s); ++p, tap.next(s)) {
    const float* src = columns + p * s.oh * s.ow;
    for (index_t oy = 0; oy < s.oh; ++oy, src += s.ow) {
      const index_t iy = oy * s.stride_h - s.pad_h + tap.i * s.dilation_h;
      if (iy >= 0 && iy < s.h)
        scatter_add_row(x + (tap.c * s.h + iy) * s.w, src,
                        -s.pad_w + tap.j * s.dilation_w, s.stride_w, s.ow, s.w);
    }
  }
}

// Row-major matrix views for GemmArgs.
GemmArgs product(index_t m, index_t n, index_t k, const float* a, index_t rs_a, index_t cs_a,
                 const float* b, index_t rs_b, index_t cs_b, float* c, float beta, int nt) {
  GemmArgs g;
  g.m = m, g.n = n, g.k = k;
  g.a = a, g.rs_a = rs_a, g.cs_a = cs_a;
  g.b = b, g.rs_b = rs_b, g.cs_b = cs_b;
  g.c = c, g.rs_c = n, g.cs_c = 1;
  g.alpha = 1.0f, g.beta = beta, g.num_threads = nt;
  return g;
}

void forward_image(const ConvShape& s, index_t n, const float* x, const float* weight,
                   const float* bias, float* y, int nt) {
  const index_t cg = s.c / s.groups, kg = s.k / s.groups, taps = taps_of(s);
  const index_t pixels = s.oh * s.ow;
  const bool pointwise = s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1 &&
                         s.pad_h == 0 && s.pad_w == 0;
  const bool on_grid = !pointwise && use_padded_grid(s);
  const PaddedGrid grid = padded_grid(s);
  float* padded = on_grid ? thread_scratch(kScratchConvColumns, static_cast<std::size_t>(cg * grid.plane)) : nullptr;
  float* grid_out = on_grid ? thread_scratch(kScratchConvGrid, static_cast<std::size_t>(kg * grid.size)) : nullptr;
  for (index_t g = 0; g < s.groups; ++g) {
    const float* x_g = x + (n * s.c + g * cg) * s.h * s.w;
    float* y_g = y + (n * s.k + g * kg) * pixels;
    const index_t columns = on_grid ? grid.size : pixels;
    float* out = on_grid ? grid_out : y_g;
    if (bias)
      for (index_t r = 0; r < kg; ++r) fill(out + r * columns, columns, bias[g * kg + r]);
    const GemmArgs args = product(kg, columns, taps, weight + g * kg * taps, taps, 1, x_g, pixels,
                                  1, out, bias ? 1.0f : 0.0f, nt);
    if (pointwise) {
      gemm_run(args, kBlocking, StridedB{x_g, pixels, 1});
    } else if (on_grid) {
      pad_image(s, grid, x_g, cg, padded);
      gemm_run(args, kBlocking, ShiftedRows{&s, grid, padded});
      for (index_t r = 0; r < kg; ++r)
        for (index_t oy = 0; oy < s.oh; ++oy) {
          const float* src = grid_out + r * grid.size + oy * grid.wp;
          float* dst = y_g + r * pixels + oy * s.ow;
          for (index_t ox = 0; ox < s.ow; ++ox) dst[ox] = src[ox];
        }
    } else {
      gemm_run(args, kBlocking, ImplicitIm2col{&s, x_g});
    }
  }
}

// Runs per_image(n, threads_inside) over the batch: images across threads when there are
// enough of them, else one image at a time with the threads inside its GEMMs.
template <class PerImage>
void for_each_image(index_t images, int nt, const PerImage& per_image) {
  if (nt > 1 && images >= nt) {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (index_t n = 0; n < images; ++n) per_image(n, 1);
    return;
  }
  for (index_t n = 0; n < images; ++n) per_image(n, nt);
}

void conv2d_forward(const ConvShape& s, const float* x, const float* weight, const float* bias,
                    float* y, int nt) {
  for_each_image(s.n, nt, [&](index_t n, int inner) { forward_image(s, n, x, weight, bias, y, inner); });
}

// Backward input with stride 1: dx = conv(dy, W'), W'[c, k, i, j] = W[k, c, kh-1-i, kw-1-j]
// within each group, padding dilation * (kernel - 1) - padding.
void backward_input_as_forward(const ConvShape& s, const float* grad_y, const float* weight,
                               float* grad_x, int nt) {
  const index_t cg = s.c / s.groups, kg = s.k / s.groups, area = s.kh * s.kw;
  float* flipped = thread_scratch(kScratchConvWork, static_cast<std::size_t>(s.k * cg * area));
  for (index_t g = 0; g < s.groups; ++g)
    for (index_t k = 0; k < kg; ++k)
      for (index_t c = 0; c < cg; ++c) {
        const float* src = weight + ((g * kg + k) * cg + c) * area;
        float* dst = flipped + ((g * cg + c) * kg + k) * area;
        for (index_t t = 0; t < area; ++t) dst[t] = src[area - 1 - t];
      }
  ConvShape t = s;
  t.c = s.k, t.h = s.oh, t.w = s.ow;
  t.k = s.c, t.oh = s.h, t.ow = s.w;
  t.pad_h = s.dilation_h * (s.kh - 1) - s.pad_h;
  t.pad_w = s.dilation_w * (s.kw - 1) - s.pad_w;
  conv2d_forward(t, grad_y, flipped, nullptr, grad_x, nt);
}

void backward_input_col2im(const ConvShape& s, const float* grad_y, const float* weight,
                           float* grad_x, int nt) {
  const index_t cg = s.c / s.groups, kg = s.k / s.groups, taps = taps_of(s);
  const index_t pixels = s.oh * s.ow;
  for_each_image(s.n, nt, [&](index_t n, int inner) {
    float* columns = thread_scratch(kScratchConvColumns, static_cast<std::size_t>(taps * pixels));
    for (index_t g = 0; g < s.groups; ++g) {
      float* dx_g = grad_x + (n * s.c + g * cg) * s.h * s.w;
      const float* dy_g = grad_y + (n * s.k + g * kg) * pixels;
      const GemmArgs args = product(taps, pixels, kg, weight + g * kg * taps, 1, taps, dy_g,
                                    pixels, 1, columns, 0.0f, inner);
      gemm_run(args, kBlocking, StridedB{dy_g, pixels, 1});
      fill(dx_g, cg * s.h * s.w, 0.0f);
      col2im_add(s, columns, dx_g);
    }
  });
}

void conv2d_backward_input(const ConvShape& s, const float* grad_y, const float* weight,
                           float* grad_x, int nt) {
  const bool stride_one = s.stride_h == 1 && s.stride_w == 1;
  const bool padding_fits = s.pad_h <= s.dilation_h * (s.kh - 1) && s.pad_w <= s.dilation_w * (s.kw - 1);
  // As a forward convolution the GEMM has Cg rows: too few (a first layer) wastes the tiles.
  const bool enough_channels = s.c / s.groups >= kBlocking.mr;
  if (stride_one && padding_fits && enough_channels)
    backward_input_as_forward(s, grad_y, weight, grad_x, nt);
  else
    backward_input_col2im(s, grad_y, weight, grad_x, nt);
}

// dW[g] += dy[n, g] @ im2col(x[n, g])^T for one image, into grad_w (k x taps). On the padded
// grid, dy is spread onto OH x Wp with zeros in the extra columns.
void accumulate_weight_grad(const ConvShape& s, index_t n, const float* grad_y, const float* x,
                            float* grad_w, int nt) {
  const index_t cg = s.c / s.groups, kg = s.k / s.groups, taps = taps_of(s);
  const index_t pixels = s.oh * s.ow;
  const PaddedGrid grid = padded_grid(s);
  for (index_t g = 0; g < s.groups; ++g) {
    const float* x_g = x + (n * s.c + g * cg) * s.h * s.w;
    const float* dy_g = grad_y + (n * s.k + g * kg) * pixels;
    float* dw_g = grad_w + g * kg * taps;
    if (use_padded_grid(s)) {
      float* padded = thread_scratch(kScratchConvColumns, static_cast<std::size_t>(cg * grid.plane));
      float* dy_grid = thread_scratch(kScratchConvGrid, static_cast<std::size_t>(kg * grid.size));
      pad_image(s, grid, x_g, cg, padded);
      for (index_t r = 0; r < kg; ++r)
        for (index_t oy = 0; oy < s.oh; ++oy) {
          float* dst = dy_grid + r * grid.size + oy * grid.wp;
          const float* src = dy_g + r * pixels + oy * s.ow;
          for (index_t ox = 0; ox < s.ow; ++ox) dst[ox] = src[ox];
          fill(dst + s.ow, grid.wp - s.ow, 0.0f);
        }
      const GemmArgs args = product(kg, taps, grid.size, dy_grid, grid.size, 1, nullptr, 0, 0,
                                    dw_g, 1.0f, nt);
      gemm_run(args, kBlocking, TapColumns{&s, grid, padded});
      continue;
    }
    float* columns = thread_scratch(kScratchConvColumns, static_cast<std::size_t>(taps * pixels));
    im2col(s, x_g, columns);
    const GemmArgs args = product(kg, taps, pixels, dy_g, pixels, 1, columns, 1, pixels, dw_g,
                                  1.0f, nt);
    gemm_run(args, kBlocking, StridedB{columns, 1, pixels});
  }
}

void conv2d_backward_weight(const ConvShape& s, const float* grad_y, const float* x,
                            float* grad_weight, int nt) {
  const index_t size = s.k * taps_of(s);
  fill(grad_weight, size, 0.0f);
  if (nt <= 1 || s.n < nt) {
    for (index_t n = 0; n < s.n; ++n) accumulate_weight_grad(s, n, grad_y, x, grad_weight, nt);
    return;
  }
  // One partial gradient per thread over its share of the images, summed at the end.
  float* partials = thread_scratch(kScratchConvWork, static_cast<std::size_t>(nt * size));
#pragma omp parallel num_threads(nt)
  {
    const int tid = thread_id();
    float* mine = partials + tid * size;
    fill(mine, size, 0.0f);
#pragma omp for schedule(static)
    for (index_t n = 0; n < s.n; ++n) accumulate_weight_grad(s, n, grad_y, x, mine, 1);
  }
  for (int t = 0; t < nt; ++t)
    for (index_t i = 0; i < size; ++i) grad_weight[i] += partials[t * size + i];
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_conv)(KernelTable& table) {
  table.conv2d_forward = HPNN_ISA_NS::conv2d_forward;
  table.conv2d_backward_input = HPNN_ISA_NS::conv2d_backward_input;
  table.conv2d_backward_weight = HPNN_ISA_NS::conv2d_backward_weight;
}

}  // namespace hpnn
