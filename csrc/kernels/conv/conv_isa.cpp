// 2-d convolutions as GEMMs, compiled once per ISA (taps = Cg * kh * kw):
//   forward          y[n, g] (Kg x OH*OW) = W[g] (Kg x taps) @ im2col(x[n, g]) (taps x OH*OW)
//   backward weight  dW[g] (Kg x taps)   += dy[n, g] @ im2col(x[n, g])^T, summed over images
//   backward input   stride 1: the forward convolution of dy with W flipped and transposed
//                    (or Winograd's adjoint transforms, conv_winograd_isa.cpp);
//                    otherwise dcol = W[g]^T @ dy[n, g], scattered back onto dx (col2im)
// im2col is never materialised on the forward pass: stride-1 convolutions run on a padded grid
// (conv_grid_isa.cpp), strided ones pack B panels straight from the image, and pointwise ones
// read x[n, g] as B. Images are spread over threads, each running single-threaded GEMMs; a
// batch smaller than the thread count threads inside the GEMMs instead.
#include "kernels/conv/conv_common.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// row[ix0 + t * step] += src[t] wherever that index lies in [0, width).
void scatter_add_row(float* row, const float* src, index_t ix0, index_t step, index_t count,
                     index_t width) {
  for (index_t t = 0; t < count; ++t) {
    const index_t ix = ix0 + t * step;
    if (ix >= 0 && ix < width) row[ix] += src[t];
  }
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

bool stride_one(const ConvShape& s) { return s.stride_h == 1 && s.stride_w == 1; }

bool pointwise(const ConvShape& s) {
  return s.kh == 1 && s.kw == 1 && stride_one(s) && s.pad_h == 0 && s.pad_w == 0;
}

// One image through the direct paths: a pointwise convolution reads x[n, g] as B; any other
// convolution (strided ones, as stride 1 goes through the grid) packs B from the image.
void forward_image(const ConvShape& s, index_t n, const float* x, const float* weight,
                   const float* bias, bool relu, float* y, int nt) {
  const index_t cg = s.c / s.groups, kg = s.k / s.groups, taps = taps_of(s);
  const index_t pixels = s.oh * s.ow;
  for (index_t g = 0; g < s.groups; ++g) {
    const float* x_g = x + (n * s.c + g * cg) * s.h * s.w;
    float* y_g = y + (n * s.k + g * kg) * pixels;
    GemmArgs args = product(kg, pixels, taps, weight + g * kg * taps, taps, 1, x_g, pixels, 1,
                            y_g, 0.0f, nt);
    args.row_bias = bias ? bias + g * kg : nullptr;
    args.relu = relu;
    args.stream_c = worth_streaming(s.n * s.k * pixels * index_t{sizeof(float)});
    if (pointwise(s))
      gemm_run(args, kBlocking, StridedB{x_g, pixels, 1});
    else
      gemm_run(args, kBlocking, ImplicitIm2col{&s, x_g});
  }
}

void conv2d_forward(const ConvShape& s, const float* x, const float* weight, const float* bias,
                    bool relu, float* y, int nt) {
  if (winograd_suits(s)) return winograd_forward(s, x, weight, bias, relu, y, nt);
  if (direct_suits(s)) return direct_forward(s, x, weight, bias, relu, y, nt);
  if (stride_one(s) && !pointwise(s)) return grid_forward(s, x, weight, bias, relu, y, nt);
  for_each_chunk(s.n, 1, nt, [&](index_t n, index_t, int inner) {
    forward_image(s, n, x, weight, bias, relu, y, inner);
  });
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
  conv2d_forward(t, grad_y, flipped, nullptr, false, grad_x, nt);
}

void backward_input_col2im(const ConvShape& s, const float* grad_y, const float* weight,
                           float* grad_x, int nt) {
  const index_t cg = s.c / s.groups, kg = s.k / s.groups, taps = taps_of(s);
  const index_t pixels = s.oh * s.ow;
  for_each_chunk(s.n, 1, nt, [&](index_t n, index_t, int inner) {
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
  if (winograd_input_grad_suits(s)) return winograd_input_grad(s, grad_y, weight, grad_x, nt);
  const bool padding_fits = s.pad_h <= s.dilation_h * (s.kh - 1) && s.pad_w <= s.dilation_w * (s.kw - 1);
  // As a forward convolution the GEMM has Cg rows: too few (a first layer) wastes the tiles.
  const bool enough_channels = s.c / s.groups >= kBlocking.mr;
  if (stride_one(s) && padding_fits && enough_channels)
    backward_input_as_forward(s, grad_y, weight, grad_x, nt);
  else
    backward_input_col2im(s, grad_y, weight, grad_x, nt);
}

// dW[g] += dy[n, g] @ im2col(x[n, g])^T for one image, into grad_w (k x taps), and with_bias
// dy[n]'s channel sums into the k floats after it. A pointwise convolution's im2col is x[n, g].
void accumulate_weight_grad(const ConvShape& s, index_t n, const float* grad_y, const float* x,
                            float* grad_w, bool with_bias, int nt) {
  const index_t cg = s.c / s.groups, kg = s.k / s.groups, taps = taps_of(s);
  const index_t pixels = s.oh * s.ow;
  float* scratch = pointwise(s) ? nullptr : thread_scratch(
      kScratchConvColumns, static_cast<std::size_t>(taps * pixels));
  for (index_t g = 0; g < s.groups; ++g) {
    const float* x_g = x + (n * s.c + g * cg) * s.h * s.w;
    const float* columns = scratch ? scratch : x_g;
    if (scratch) im2col(s, x_g, scratch);
    const float* dy_g = grad_y + (n * s.k + g * kg) * pixels;
    const GemmArgs args = product(kg, taps, pixels, dy_g, pixels, 1, columns, 1, pixels,
                                  grad_w + g * kg * taps, 1.0f, nt);
    gemm_run(args, kBlocking, StridedB{columns, 1, pixels});
    if (with_bias) add_row_sums(dy_g, kg, pixels, pixels, grad_w + s.k * taps + g * kg);
  }
}

void conv2d_backward_weight(const ConvShape& s, const float* grad_y, const float* x,
                            float* grad_params, bool with_bias, int nt) {
  if (winograd_suits(s)) return winograd_weight_grad(s, grad_y, x, grad_params, with_bias, nt);
  if (direct_suits(s)) return direct_weight_grad(s, grad_y, x, grad_params, with_bias, nt);
  if (stride_one(s) && !pointwise(s))
    return grid_weight_grad(s, grad_y, x, grad_params, with_bias, nt);
  const index_t size = s.k * taps_of(s) + (with_bias ? s.k : 0);
  sum_over_items(s.n, size, nt, grad_params, [&](index_t n, float* out, int inner) {
    accumulate_weight_grad(s, n, grad_y, x, out, with_bias, inner);
  });
}

// Both gradients: through Winograd's transposed transforms together, sharing dM = A dy A^T,
// where the input gradient takes that route; else one after the other.
void conv2d_backward(const ConvShape& s, const float* grad_y, const float* x, const float* weight,
                     float* grad_x, float* grad_params, int nt) {
  if (winograd_input_grad_suits(s))
    return winograd_backward(s, grad_y, x, weight, grad_x, grad_params, nt);
  conv2d_backward_input(s, grad_y, weight, grad_x, nt);
  conv2d_backward_weight(s, grad_y, x, grad_params, true, nt);
}

// max_pool2d(relu(conv)) 2x2 / 2 in one pass where the direct few-tap path suits (the output
// then never leaves the registers unpooled) or Winograd's (each 2 x 2 output tile is a pooling
// window, pooled as it is transformed).
bool conv2d_relu_max_pool2x2(const ConvShape& s, const float* x, const float* weight,
                             const float* bias, float* y, std::int32_t* indices, int nt) {
  if (s.oh < 2 || s.ow < 2) return false;
  if (direct_suits(s))
    direct_relu_max_pool2x2(s, x, weight, bias, y, indices, nt);
  else if (winograd_suits(s))
    winograd_relu_max_pool2x2(s, x, weight, bias, y, indices, nt);
  else
    return false;
  return true;
}

// Its backward, dy unpooled as it is read: both gradients where Winograd's transposed
// transforms take them, the parameters' alone (grad_x null) where the direct few-tap path does.
bool conv2d_relu_max_pool2x2_backward(const ConvShape& s, const float* grad,
                                      const std::int32_t* indices, const float* output,
                                      const float* x, const float* weight, float* grad_x,
                                      float* grad_params, int nt) {
  if (s.oh < 2 || s.ow < 2) return false;
  if (grad_x && winograd_input_grad_suits(s))
    return winograd_relu_max_pool2x2_backward(s, grad, indices, output, x, weight, grad_x,
                                              grad_params, nt);
  if (!grad_x && direct_suits(s))
    return direct_relu_max_pool2x2_weight_grad(s, grad, indices, output, x, grad_params, nt);
  return false;
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_conv)(KernelTable& table) {
  table.conv2d_forward = HPNN_ISA_NS::conv2d_forward;
  table.conv2d_backward_input = HPNN_ISA_NS::conv2d_backward_input;
  table.conv2d_backward_weight = HPNN_ISA_NS::conv2d_backward_weight;
  table.conv2d_backward = HPNN_ISA_NS::conv2d_backward;
  table.conv2d_relu_max_pool2x2 = HPNN_ISA_NS::conv2d_relu_max_pool2x2;
  table.conv2d_relu_max_pool2x2_backward = HPNN_ISA_NS::conv2d_relu_max_pool2x2_backward;
}

}  // namespace hpnn
