// Depthwise convolutions (groups == C == K: one filter per channel, as in MobileNet blocks),
// compiled once per ISA. Each (image, channel) plane is its own small convolution: a plane of a
// few KB that stays in L1, so these paths run at the speed of reading and writing the tensors,
// where the grouped GEMM path (one tiny GEMM per channel) ran at a fraction of it.
//
// A plane is copied, zero-padded, into a grid whose rows are split by column phase modulo the
// horizontal stride (stride 2: even columns, then odd columns), so that every tap of every
// output vector is one contiguous load: padded column ox * sw + j * dw is phase (j * dw) % sw,
// index ox + (j * dw) / sw. Forward and weight gradient read that grid; the input gradient is
// the transposed correlation, computed per padded-grid row and phase from a zero-margined copy
// of dy, then interleaved back into dx's columns.
#include "kernels/conv/conv_common.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

constexpr index_t kMaxDepthwiseTaps = 49;  // up to 7 x 7: the taps' offsets and broadcasts
constexpr int kBlockVectors = 4;           // accumulators per block: FMA latency x 2 ports / 2
constexpr int kGradTapBlock = 9;           // weight-gradient accumulators per pass (3 x 3)
// Planes per parallel work item: at least this many output floats, so that a 4 x 4 plane
// does not cost a scheduling step of its own.
constexpr index_t kPlaneGrainFloats = 2048;

index_t round_up(index_t a, index_t b) { return ceil_div(a, b) * b; }

// The phase-split padded grid of one plane: hp rows of sw phase rows of `len` floats.
struct PhaseGrid {
  index_t sw, len, hp;
  index_t row() const { return sw * len; }
  index_t size() const { return hp * row(); }
};

PhaseGrid phase_grid(const ConvShape& s) {
  const index_t sw = s.stride_w, wp = s.w + 2 * s.pad_w;
  // Block loads run up to kBlockVectors whole vectors past the first output column of a block.
  const index_t reach = round_up(s.ow, kLanes) + kBlockVectors * kLanes + (s.kw - 1) * s.dilation_w / sw;
  return {sw, round_up(imax(ceil_div(wp, sw), reach), kLanes), s.h + 2 * s.pad_h};
}

// Offsets of the taps in a phase grid, relative to the output row's first grid row.
void grid_offsets(const ConvShape& s, const PhaseGrid& g, index_t* offsets) {
  for (index_t i = 0; i < s.kh; ++i)
    for (index_t j = 0; j < s.kw; ++j) {
      const index_t col = j * s.dilation_w;
      offsets[i * s.kw + j] = i * s.dilation_h * g.row() + col % g.sw * g.len + col / g.sw;
    }
}

// line[0, count) = the padded row: zeros, row[0, w), zeros.
void padded_line(const ConvShape& s, const float* row, index_t count, float* line) {
  fill(line, s.pad_w, 0.0f);
  for (index_t t = 0; t < s.w; ++t) line[s.pad_w + t] = row[t];
  fill(line + s.pad_w + s.w, count - s.pad_w - s.w, 0.0f);
}

// The plane x (h x w) into its phase grid; `line` is scratch of sw * len floats.
void pad_plane(const ConvShape& s, const PhaseGrid& g, const float* x, float* line, float* grid) {
  fill(grid, s.pad_h * g.row(), 0.0f);
  float* dst = grid + s.pad_h * g.row();
  for (index_t y = 0; y < s.h; ++y, dst += g.row(), x += s.w) {
    if (g.sw == 1) {
      padded_line(s, x, g.len, dst);
      continue;
    }
    padded_line(s, x, g.row(), line);
    if (g.sw == 2 && g.len % kLanes == 0) {
      for (index_t v = 0; v < g.len; v += kLanes) {
        vfloat even, odd;
        deinterleave(vload(line + 2 * v), vload(line + 2 * v + kLanes), &even, &odd);
        vstore(dst + v, even), vstore(dst + g.len + v, odd);
      }
      continue;
    }
    for (index_t q = 0; q < g.row(); ++q) dst[q % g.sw * g.len + q / g.sw] = line[q];
  }
  fill(dst, (g.hp - s.pad_h - s.h) * g.row(), 0.0f);
}

// Output rows [oy, oy + R) x vectors [ox, ox + V * kLanes) of one plane, stored up to the
// row's end: R * V independent accumulators, one broadcast weight per tap.
template <int R, int V>
void forward_block(const ConvShape& s, const PhaseGrid& g, const index_t* offsets,
                   const vfloat* w, index_t taps, float bias, bool relu_out, const float* grid,
                   index_t oy, index_t ox, float* y) {
  vfloat acc[R][V];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[r][v] = vbroadcast(bias);
  const float* src = grid + oy * s.stride_h * g.row() + ox;
  const index_t row_step = s.stride_h * g.row();
  for (index_t t = 0; t < taps; ++t) {
    const float* p = src + offsets[t];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[r][v] += w[t] * vload(p + r * row_step + v * kLanes);
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      const index_t col = ox + v * kLanes;
      if (col >= s.ow) continue;
      const vfloat out = relu_out ? relu(acc[r][v]) : acc[r][v];
      float* dst = y + (oy + r) * s.ow + col;
      if (s.ow - col >= kLanes)
        vstore(dst, out);
      else
        vstore_first(dst, out, static_cast<int>(s.ow - col));
    }
}

// One plane's output: narrow rows in blocks of 4 rows (or 2 rows of 2 vectors), wide rows in
// blocks of 4 vectors.
void forward_plane(const ConvShape& s, const PhaseGrid& g, const index_t* offsets,
                   const vfloat* w, float bias, bool relu_out, const float* grid, float* y) {
  const index_t taps = s.kh * s.kw, vectors = ceil_div(s.ow, kLanes);
  index_t oy = 0;
  if (vectors == 1)
    for (; oy + 4 <= s.oh; oy += 4)
      forward_block<4, 1>(s, g, offsets, w, taps, bias, relu_out, grid, oy, 0, y);
  else if (vectors == 2)
    for (; oy + 2 <= s.oh; oy += 2)
      forward_block<2, 2>(s, g, offsets, w, taps, bias, relu_out, grid, oy, 0, y);
  for (; oy < s.oh; ++oy)
    for (index_t ox = 0; ox < s.ow; ox += kBlockVectors * kLanes) {
      if (s.ow - ox > 2 * kLanes)
        forward_block<1, 4>(s, g, offsets, w, taps, bias, relu_out, grid, oy, ox, y);
      else if (s.ow - ox > kLanes)
        forward_block<1, 2>(s, g, offsets, w, taps, bias, relu_out, grid, oy, ox, y);
      else
        forward_block<1, 1>(s, g, offsets, w, taps, bias, relu_out, grid, oy, ox, y);
    }
}

// Planes per work item (see kPlaneGrainFloats).
index_t plane_chunk(const ConvShape& s) {
  return imax(1, kPlaneGrainFloats / imax(1, imax(s.oh * s.ow, s.h * s.w)));
}

// Scratch of one thread: the plane's grid, then a line of sw * len floats.
float* grid_scratch(const PhaseGrid& g) {
  return thread_scratch(kScratchConvColumns, static_cast<std::size_t>(g.size() + g.row()));
}

// gw[0, count) += the correlation of one plane's dy with its grid under taps [t0, t0 + count);
// with `bias`, also *bias += dy's sum. dy and x are read masked past the row's end, so lanes
// past the output's width are zero on both sides (an infinite x there cannot make a NaN).
void weight_grad_taps(const ConvShape& s, const PhaseGrid& g, const index_t* offsets,
                      const float* dy, const float* grid, index_t count, float* gw, float* bias) {
  vfloat acc[kGradTapBlock], dy_acc = vfloat{};
#pragma GCC unroll 9
  for (int t = 0; t < kGradTapBlock; ++t) acc[t] = vfloat{};
  for (index_t oy = 0; oy < s.oh; ++oy, dy += s.ow) {
    const float* src = grid + oy * s.stride_h * g.row();
    for (index_t ox = 0; ox < s.ow; ox += kLanes) {
      const int columns = static_cast<int>(imin(kLanes, s.ow - ox));
      const bool whole = columns == kLanes;
      const vfloat d = whole ? vload(dy + ox) : vload_first(dy + ox, columns);
      if (bias) dy_acc += d;
#pragma GCC unroll 9
      for (int t = 0; t < kGradTapBlock; ++t) {
        if (t >= count) break;
        const float* p = src + offsets[t] + ox;
        acc[t] += d * (whole ? vload(p) : vload_first(p, columns));
      }
    }
  }
#pragma GCC unroll 9
  for (int t = 0; t < kGradTapBlock; ++t)
    if (t < count) gw[t] += horizontal_sum(acc[t]);
  if (bias) *bias += horizontal_sum(dy_acc);
}

// dy's plane (oh x ow) with `margin` zeros left of each row, zeros right to `len` floats.
void margin_plane(const ConvShape& s, const float* dy, index_t margin, index_t len, float* out) {
  for (index_t oy = 0; oy < s.oh; ++oy, dy += s.ow, out += len) {
    fill(out, margin, 0.0f);
    for (index_t t = 0; t < s.ow; ++t) out[margin + t] = dy[t];
    fill(out + margin + s.ow, len - margin - s.ow, 0.0f);
  }
}

// Input gradient geometry: padded-grid column q = v * sw + p (phase p) takes tap j when
// (j * dw) % sw == p, from dy column v - (j * dw) / sw; dy rows carry `margin` zeros on the left.
struct InputGradPlan {
  index_t margin, len;  // dy rows: margin + len floats
  index_t v0, v1;       // grid column indices [v0, v1) cover dx's columns
  index_t line;         // floats of the interleaved row buffer
  InputGradPlan(const ConvShape& s) {
    const index_t sw = s.stride_w;
    margin = (s.kw - 1) * s.dilation_w / sw;
    v0 = s.pad_w / sw, v1 = ceil_div(s.pad_w + s.w, sw);
    len = round_up(imax(margin + s.ow, margin + v1 + kBlockVectors * kLanes), kLanes);
    line = sw * (v1 - v0 + kBlockVectors * kLanes);
  }
};

// Grid indices [v, v + V * kLanes) of one padded-grid row, all its phases, into `line`: the
// taps (i, j) whose dy row is rows[i] (null: none), tap j adding to phase (j * dw) % kSw from
// dy column v - (j * dw) / kSw. Stride 2's two phases are interleaved back into columns.
template <int kSw, int V>
void input_grad_block(const ConvShape& s, const InputGradPlan& plan, const float* const* rows,
                      const float* w, index_t v, float* line) {
  vfloat acc[kSw][V];
#pragma GCC unroll 2
  for (int p = 0; p < kSw; ++p)
#pragma GCC unroll 4
    for (int u = 0; u < V; ++u) acc[p][u] = vfloat{};
  for (index_t i = 0; i < s.kh; ++i) {
    if (!rows[i]) continue;
    for (index_t j = 0; j < s.kw; ++j) {
      const index_t col = j * s.dilation_w;
      const vfloat wt = vbroadcast(w[i * s.kw + j]);
      const float* src = rows[i] + plan.margin + v - col / kSw;
      if (kSw == 1 || col % kSw == 0) {
#pragma GCC unroll 4
        for (int u = 0; u < V; ++u) acc[0][u] += wt * vload(src + u * kLanes);
      } else {
#pragma GCC unroll 4
        for (int u = 0; u < V; ++u) acc[kSw - 1][u] += wt * vload(src + u * kLanes);
      }
    }
  }
  float* out = line + kSw * (v - plan.v0);
#pragma GCC unroll 4
  for (int u = 0; u < V; ++u) {
    if (kSw == 1) {
      vstore(out + u * kLanes, acc[0][u]);
    } else {
      vfloat lo, hi;
      interleave(acc[0][u], acc[kSw - 1][u], &lo, &hi);
      vstore(out + 2 * u * kLanes, lo), vstore(out + (2 * u + 1) * kLanes, hi);
    }
  }
}

// One dx row (padded-grid row r) from the margined dy plane, through `line`.
template <int kSw>
void input_grad_row(const ConvShape& s, const InputGradPlan& plan, const float* dy_plane,
                    const float* w, index_t r, float* line, float* dx_row) {
  const float* rows[kMaxDepthwiseTaps];
  for (index_t i = 0; i < s.kh; ++i) {
    const index_t at = r - i * s.dilation_h;
    const bool hit = at >= 0 && at % s.stride_h == 0 && at / s.stride_h < s.oh;
    rows[i] = hit ? dy_plane + at / s.stride_h * plan.len : nullptr;
  }
  for (index_t v = plan.v0; v < plan.v1; v += kBlockVectors * kLanes) {
    const index_t vectors = ceil_div(plan.v1 - v, kLanes);
    if (vectors > 2)
      input_grad_block<kSw, 4>(s, plan, rows, w, v, line);
    else if (vectors > 1)
      input_grad_block<kSw, 2>(s, plan, rows, w, v, line);
    else
      input_grad_block<kSw, 1>(s, plan, rows, w, v, line);
  }
  const float* src = line + s.pad_w - kSw * plan.v0;
  for (index_t t = 0; t < s.w; ++t) dx_row[t] = src[t];
}

bool phases_fit(const ConvShape& s) { return s.stride_w == 1 || s.stride_w == 2; }

}  // namespace

bool depthwise_suits(const ConvShape& s) {
  return s.groups == s.c && s.k == s.c && s.kh * s.kw <= kMaxDepthwiseTaps && phases_fit(s) &&
         s.oh > 0 && s.ow > 0;
}

void depthwise_forward(const ConvShape& s, const float* x, const float* weight,
                       const float* bias, bool relu_out, float* y, int nt) {
  const PhaseGrid g = phase_grid(s);
  index_t offsets[kMaxDepthwiseTaps];
  grid_offsets(s, g, offsets);
  const index_t planes = s.n * s.c, taps = s.kh * s.kw;
  for_each_chunk(planes, plane_chunk(s), nt, [&](index_t first, index_t count, int) {
    float* grid = grid_scratch(g);
    vfloat w[kMaxDepthwiseTaps];
    for (index_t plane = first; plane < first + count; ++plane) {
      const index_t c = plane % s.c;
      for (index_t t = 0; t < taps; ++t) w[t] = vbroadcast(weight[c * taps + t]);
      pad_plane(s, g, x + plane * s.h * s.w, grid + g.size(), grid);
      forward_plane(s, g, offsets, w, bias ? bias[c] : 0.0f, relu_out, grid,
                    y + plane * s.oh * s.ow);
    }
  });
}

// grad_params: the weight gradient (C x taps), then with_bias the bias gradient (C). Summed
// over images by sum_over_items: deterministic mode cuts the planes into fixed chunks of whole
// images, each summed in plane order, the chunks added in order.
void depthwise_weight_grad(const ConvShape& s, const float* grad_y, const float* x,
                           float* grad_params, bool with_bias, int nt) {
  const PhaseGrid g = phase_grid(s);
  index_t offsets[kMaxDepthwiseTaps];
  grid_offsets(s, g, offsets);
  const index_t taps = s.kh * s.kw, size = s.c * taps + (with_bias ? s.c : 0);
  sum_over_items(s.n * s.c, size, nt, grad_params, [&](index_t plane, float* out, int) {
    const index_t c = plane % s.c;
    float* grid = grid_scratch(g);
    pad_plane(s, g, x + plane * s.h * s.w, grid + g.size(), grid);
    const float* dy = grad_y + plane * s.oh * s.ow;
    for (index_t t0 = 0; t0 < taps; t0 += kGradTapBlock)
      weight_grad_taps(s, g, offsets + t0, dy, grid, imin(kGradTapBlock, taps - t0),
                       out + c * taps + t0, with_bias && t0 == 0 ? out + s.c * taps + c : nullptr);
  }, s.c);
}

void depthwise_input_grad(const ConvShape& s, const float* grad_y, const float* weight,
                          float* grad_x, int nt) {
  const InputGradPlan plan(s);
  const index_t taps = s.kh * s.kw;
  for_each_chunk(s.n * s.c, plane_chunk(s), nt, [&](index_t first, index_t count, int) {
    float* dy_plane = thread_scratch(kScratchConvColumns, static_cast<std::size_t>(
        s.oh * plan.len + plan.line));
    float* line = dy_plane + s.oh * plan.len;
    for (index_t plane = first; plane < first + count; ++plane) {
      const float* w = weight + plane % s.c * taps;
      margin_plane(s, grad_y + plane * s.oh * s.ow, plan.margin, plan.len, dy_plane);
      float* dx = grad_x + plane * s.h * s.w;
      for (index_t iy = 0; iy < s.h; ++iy, dx += s.w) {
        if (s.stride_w == 1)
          input_grad_row<1>(s, plan, dy_plane, w, iy + s.pad_h, line, dx);
        else
          input_grad_row<2>(s, plan, dy_plane, w, iy + s.pad_h, line, dx);
      }
    }
  });
}

}  // namespace HPNN_ISA_NS
}  // namespace hpnn
