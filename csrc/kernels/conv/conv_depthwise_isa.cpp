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
// Planes per parallel work item: at least this many floats, so that a 4 x 4 plane does not
// cost a scheduling step and a zeroing of the grid's padding of its own.
constexpr index_t kPlaneGrainFloats = 8192;

index_t round_up(index_t a, index_t b) { return ceil_div(a, b) * b; }

// dst[0, count) = src[0, count) in vectors and a scalar tail: a plane's rows are a few
// vectors, where a memcpy call costs more than the copy, and a masked store (microcoded on
// AMD) more still.
void copy_row(float* dst, const float* src, index_t count) {
  index_t i = 0;
  for (; i + kLanes <= count; i += kLanes) vstore(dst + i, vload(src + i));
  for (; i < count; ++i) dst[i] = src[i];
}

alignas(64) constexpr float kLaneIndex[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// The first `count` (0 < count <= kLanes) floats at p, zero in the other lanes. `readable`:
// the whole vector at p may be read (a plain load and a select, cheaper than a masked load).
vfloat load_lanes(const float* p, int count, bool readable) {
  if (!readable) return vload_first(p, count);
  return vload(kLaneIndex) < static_cast<float>(count) ? vload(p) : vfloat{};
}

// The phase-split padded grid of one plane: hp rows of sw phase rows of `len` floats packed
// tightly, then `slack` floats. Lanes past a row's last output read on into the next row or
// the slack: the forward discards them, the weight gradient masks them off.
struct PhaseGrid {
  index_t sw, len, hp, slack;
  index_t row() const { return sw * len; }
  index_t rows_size() const { return hp * row(); }
  index_t size() const { return rows_size() + slack; }
  // The padded-line scratch of pad_plane: whole vectors of each phase.
  index_t line() const { return sw * round_up(len, kLanes); }
};

PhaseGrid phase_grid(const ConvShape& s) {
  const index_t sw = s.stride_w, wp = s.w + 2 * s.pad_w;
  // A block's loads end at the output row's last whole vector, plus the taps' reach;
  // pad_plane's vector stores end at most a vector past a phase row.
  const index_t slack = round_up(s.ow, kLanes) + 2 * kLanes + (s.kw - 1) * s.dilation_w / sw;
  return {sw, ceil_div(wp, sw), s.h + 2 * s.pad_h, slack};
}

// Offsets of the taps in a phase grid, relative to the output row's first grid row.
void grid_offsets(const ConvShape& s, const PhaseGrid& g, index_t* offsets) {
  for (index_t i = 0; i < s.kh; ++i)
    for (index_t j = 0; j < s.kw; ++j) {
      const index_t col = j * s.dilation_w;
      offsets[i * s.kw + j] = i * s.dilation_h * g.row() + col % g.sw * g.len + col / g.sw;
    }
}

// The plane x (h x w) into its phase grid, whose padding (and `line`'s) is already zero:
// only the image's rows are written, so the zeros are written once per work item, not once
// per plane (a few floats at a time, they cost more than the plane's copy).
void pad_plane(const ConvShape& s, const PhaseGrid& g, const float* x, float* line, float* grid) {
  float* dst = grid + s.pad_h * g.row();
  for (index_t y = 0; y < s.h; ++y, dst += g.row(), x += s.w) {
    if (g.sw == 1) {
      copy_row(dst + s.pad_w, x, s.w);
      continue;
    }
    if (g.sw == 2) {  // x's column ix is padded column ix + pw: phase (ix + pw) % 2
      float* even = dst + s.pad_w % 2 * g.len + s.pad_w / 2;  // where x[2u] goes, at u
      float* odd = dst + (s.pad_w + 1) % 2 * g.len + (s.pad_w + 1) / 2;  // and x[2u + 1]
      index_t ix = 0;
      for (; ix + 2 * kLanes <= s.w; ix += 2 * kLanes) {
        vfloat e, o;
        deinterleave(vload(x + ix), vload(x + ix + kLanes), &e, &o);
        vstore(even + ix / 2, e), vstore(odd + ix / 2, o);
      }
      for (; ix + 8 <= s.w; ix += 8) {  // half a vector of each: an 8-wide image on AVX2
        const vfloat4 a = *reinterpret_cast<const vfloat4u*>(x + ix);
        const vfloat4 b = *reinterpret_cast<const vfloat4u*>(x + ix + 4);
        *reinterpret_cast<vfloat4u*>(even + ix / 2) = __builtin_shufflevector(a, b, 0, 2, 4, 6);
        *reinterpret_cast<vfloat4u*>(odd + ix / 2) = __builtin_shufflevector(a, b, 1, 3, 5, 7);
      }
      for (; ix < s.w; ++ix) (ix % 2 ? odd : even)[ix / 2] = x[ix];
      continue;
    }
    copy_row(line + s.pad_w, x, s.w);  // line: zeros around the image's columns
    for (index_t q = 0; q < g.row(); ++q) dst[q % g.sw * g.len + q / g.sw] = line[q];
  }
}

// Stores R rows x V vectors of accumulators at output (oy, ox), up to the row's end.
template <int R, int V>
void store_block(const ConvShape& s, vfloat (&acc)[R][V], bool relu_out, index_t oy, index_t ox,
                 float* y, index_t spill_end) {
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      const index_t col = ox + v * kLanes;
      if (col >= s.ow) continue;
      const vfloat out = relu_out ? relu(acc[r][v]) : acc[r][v];
      const index_t at = (oy + r) * s.ow + col;
      // A vector past the row's end runs into rows written after it (when the row is one
      // block of columns): this plane's, or up to spill_end, the next plane's of this work
      // item; past that, a scalar tail (the next plane may be another thread's).
      const bool spill_ok = s.ow <= kBlockVectors * kLanes && at + kLanes <= spill_end;
      if (s.ow - col >= kLanes || spill_ok) {
        vstore(y + at, out);
      } else {
        float lanes[kLanes];
        vstore(lanes, out);
        for (index_t t = 0; t < s.ow - col; ++t) y[at + t] = lanes[t];
      }
    }
}

// Output rows [oy, oy + R) x vectors [ox, ox + V * kLanes) of one plane: R * V independent
// accumulators, one broadcast weight per tap.
template <int R, int V>
void forward_block(const ConvShape& s, const PhaseGrid& g, const index_t* offsets,
                   const vfloat* w, float bias, bool relu_out, const float* grid, index_t oy,
                   index_t ox, float* y, index_t spill_end) {
  vfloat acc[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[r][v] = vbroadcast(bias);
  const float* src = grid + oy * s.stride_h * g.row() + ox;
  const index_t row_step = s.stride_h * g.row(), taps = s.kh * s.kw;
  for (index_t t = 0; t < taps; ++t) {
    const float* p = src + offsets[t];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[r][v] += w[t] * vload(p + r * row_step + v * kLanes);
  }
  store_block<R, V>(s, acc, relu_out, oy, ox, y, spill_end);
}

// forward_block for 3 x 3 kernels with vertical stride SH (1 or 2) and no vertical dilation:
// each grid row's vectors are loaded once and used by every output row whose window covers
// it (3 at stride 1), a third of the loads (many of them split across cache lines).
template <int R, int V, int SH>
void forward_block_3x3(const ConvShape& s, const PhaseGrid& g, const index_t* offsets,
                       const vfloat* w, float bias, bool relu_out, const float* grid,
                       index_t oy, index_t ox, float* y, index_t spill_end) {
  vfloat acc[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[r][v] = vbroadcast(bias);
  const float* src = grid + oy * SH * g.row() + ox;
  constexpr int kRows = (R - 1) * SH + 3;
#pragma GCC unroll 32
  for (int q = 0; q < kRows; ++q)
#pragma GCC unroll 3
    for (int j = 0; j < 3; ++j)
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) {
        const vfloat xv = vload(src + q * g.row() + offsets[j] + v * kLanes);
#pragma GCC unroll 3
        for (int i = 0; i < 3; ++i) {
          const int d = q - i;
          if (d >= 0 && d % SH == 0 && d / SH < R) acc[d / SH][v] += w[i * 3 + j] * xv;
        }
      }
  store_block<R, V>(s, acc, relu_out, oy, ox, y, spill_end);
}

// Which forward_block: 0 any kernel; 1, 2: 3 x 3, undilated vertically, stride_h 1 or 2.
int forward_kind(const ConvShape& s) {
  if (s.kh != 3 || s.kw != 3 || s.dilation_h != 1 || s.stride_h > 2) return 0;
  return static_cast<int>(s.stride_h);
}

// Rows [oy, end) at columns [ox, ox + V * kLanes): blocks of R rows, then R / 2, ... for the
// rest.
template <int kKind, int R, int V>
void forward_rows(const ConvShape& s, const PhaseGrid& g, const index_t* offsets,
                  const vfloat* w, float bias, bool relu_out, const float* grid, index_t oy,
                  index_t end, index_t ox, float* y, index_t spill_end) {
  for (; oy + R <= end; oy += R) {
    if constexpr (kKind == 0)
      forward_block<R, V>(s, g, offsets, w, bias, relu_out, grid, oy, ox, y, spill_end);
    else
      forward_block_3x3<R, V, kKind>(s, g, offsets, w, bias, relu_out, grid, oy, ox, y,
                                     spill_end);
  }
  if constexpr (R > 1)
    if (oy < end)
      forward_rows<kKind, R / 2, V>(s, g, offsets, w, bias, relu_out, grid, oy, end, ox, y,
                                    spill_end);
}

// One plane's output in blocks of about 8 accumulators (FMA latency x 2 ports, as the loads
// allow): 8 rows of one vector, 4 of two, 2 of three or four.
template <int kKind>
void forward_plane(const ConvShape& s, const PhaseGrid& g, const index_t* offsets,
                   const vfloat* w, float bias, bool relu_out, const float* grid, float* y,
                   index_t spill_end) {
  for (index_t ox = 0; ox < s.ow; ox += kBlockVectors * kLanes) {
    const index_t vectors = imin(kBlockVectors, ceil_div(s.ow - ox, kLanes));
    if (vectors == 1)
      forward_rows<kKind, 8, 1>(s, g, offsets, w, bias, relu_out, grid, 0, s.oh, ox, y,
                                 spill_end);
    else if (vectors == 2)
      forward_rows<kKind, 4, 2>(s, g, offsets, w, bias, relu_out, grid, 0, s.oh, ox, y,
                                 spill_end);
    else if (vectors == 3)
      forward_rows<kKind, 2, 3>(s, g, offsets, w, bias, relu_out, grid, 0, s.oh, ox, y,
                                 spill_end);
    else
      forward_rows<kKind, 2, 4>(s, g, offsets, w, bias, relu_out, grid, 0, s.oh, ox, y,
                                 spill_end);
  }
}

// Planes per work item (see kPlaneGrainFloats).
index_t plane_chunk(const ConvShape& s) {
  return imax(1, kPlaneGrainFloats / imax(1, imax(s.oh * s.ow, s.h * s.w)));
}

// Scratch of one thread: the plane's grid, then pad_plane's line, zeroed (the padding, and
// the slack: lanes read there are discarded, but zeros cannot be slow denormals).
float* grid_scratch(const PhaseGrid& g) {
  float* grid = thread_scratch(kScratchConvColumns, static_cast<std::size_t>(g.size() + g.line()));
  fill(grid, g.size() + g.line(), 0.0f);
  return grid;
}

// gw[0, count) += the correlation of one plane's dy with its grid under taps [t0, t0 + count);
// with `bias`, also *bias += dy's sum. dy and x are read masked past the row's end, so lanes
// past the output's width are zero on both sides (an infinite x there cannot make a NaN).
void weight_grad_taps(const ConvShape& s, const PhaseGrid& g, const index_t* offsets,
                      const float* dy, const float* dy_end, const float* grid, index_t count,
                      float* gw, float* bias) {
  vfloat acc[kGradTapBlock], dy_acc = vfloat{};
#pragma GCC unroll 9
  for (int t = 0; t < kGradTapBlock; ++t) acc[t] = vfloat{};
  for (index_t oy = 0; oy < s.oh; ++oy, dy += s.ow) {
    const float* src = grid + oy * s.stride_h * g.row();
    for (index_t ox = 0; ox < s.ow; ox += kLanes) {
      const int columns = static_cast<int>(imin(kLanes, s.ow - ox));
      const bool whole = columns == kLanes;
      const bool readable = dy + ox + kLanes <= dy_end;
      const vfloat d = whole ? vload(dy + ox) : load_lanes(dy + ox, columns, readable);
      if (bias) dy_acc += d;
#pragma GCC unroll 9
      for (int t = 0; t < kGradTapBlock; ++t) {
        if (t >= count) break;
        const float* p = src + offsets[t] + ox;
        acc[t] += d * (whole ? vload(p) : load_lanes(p, columns, true));  // the grid's slack
      }
    }
  }
#pragma GCC unroll 9
  for (int t = 0; t < kGradTapBlock; ++t)
    if (t < count) gw[t] += horizontal_sum(acc[t]);
  if (bias) *bias += horizontal_sum(dy_acc);
}

// weight_grad_taps for a 3 x 3 kernel with vertical stride SH (1 or 2), undilated vertically:
// output rows in pairs, each grid row's vectors loaded once for both (14 loads for 18 FMAs at
// stride 1, against 20).
template <int R, int SH>
void weight_grad_rows_3x3(const ConvShape& s, const PhaseGrid& g, const index_t* offsets,
                          const float* dy, const float* dy_end, const float* grid, index_t oy,
                          vfloat (&acc)[9], vfloat& dy_acc) {
  const float* src = grid + oy * SH * g.row();
  dy += oy * s.ow;
  for (index_t ox = 0; ox < s.ow; ox += kLanes) {
    const int columns = static_cast<int>(imin(kLanes, s.ow - ox));
    const bool whole = columns == kLanes;
    vfloat d[R];
#pragma GCC unroll 2
    for (int r = 0; r < R; ++r) {
      const float* p = dy + r * s.ow + ox;
      d[r] = whole ? vload(p) : load_lanes(p, columns, p + kLanes <= dy_end);
      dy_acc += d[r];
    }
#pragma GCC unroll 8
    for (int q = 0; q < (R - 1) * SH + 3; ++q)
#pragma GCC unroll 3
      for (int j = 0; j < 3; ++j) {
        const float* p = src + q * g.row() + offsets[j] + ox;
        const vfloat xv = whole ? vload(p) : load_lanes(p, columns, true);  // the grid's slack
#pragma GCC unroll 2
        for (int r = 0; r < R; ++r) {
          const int i = q - r * SH;
          if (i >= 0 && i < 3) acc[i * 3 + j] += d[r] * xv;
        }
      }
  }
}

template <int SH>
void weight_grad_3x3(const ConvShape& s, const PhaseGrid& g, const index_t* offsets,
                     const float* dy, const float* dy_end, const float* grid, float* gw,
                     float* bias) {
  vfloat acc[9], dy_acc = vfloat{};
#pragma GCC unroll 9
  for (int t = 0; t < 9; ++t) acc[t] = vfloat{};
  index_t oy = 0;
  for (; oy + 2 <= s.oh; oy += 2)
    weight_grad_rows_3x3<2, SH>(s, g, offsets, dy, dy_end, grid, oy, acc, dy_acc);
  if (oy < s.oh) weight_grad_rows_3x3<1, SH>(s, g, offsets, dy, dy_end, grid, oy, acc, dy_acc);
#pragma GCC unroll 9
  for (int t = 0; t < 9; ++t) gw[t] += horizontal_sum(acc[t]);
  if (bias) *bias += horizontal_sum(dy_acc);
}

// dy's plane (oh x ow) into rows of `len` floats from `margin` on; the rest is already zero.
void margin_plane(const ConvShape& s, const float* dy, index_t margin, index_t len, float* out) {
  for (index_t oy = 0; oy < s.oh; ++oy, dy += s.ow, out += len) copy_row(out + margin, dy, s.ow);
}

// Input gradient geometry: padded-grid column q = v * sw + p (phase p) takes tap j when
// (j * dw) % sw == p, from dy column v - (j * dw) / sw; dy rows carry `margin` zeros on the
// left and zeros on the right to the last column the grid indices [v0, v1) read, packed
// tightly: a block's lanes past v1 read on into the next row or the slack, and are dropped.
struct InputGradPlan {
  index_t margin, len;  // dy rows: len floats, dy's columns from `margin`
  index_t slack;        // after the last row
  index_t v0, v1;       // grid column indices [v0, v1) cover dx's columns
  index_t line;         // floats of the interleaved row buffer
  explicit InputGradPlan(const ConvShape& s) {
    const index_t sw = s.stride_w;
    margin = (s.kw - 1) * s.dilation_w / sw;
    v0 = s.pad_w / sw, v1 = ceil_div(s.pad_w + s.w, sw);
    len = margin + imax(s.ow, v1);
    slack = (kBlockVectors + 1) * kLanes;
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
    index_t at = r - i * s.dilation_h;
    bool hit = at >= 0;
    // (a division per tap row costs as much as its FMAs: none at strides 1 and 2)
    if (s.stride_h == 2) {
      hit = hit && (at & 1) == 0;
      at >>= 1;
    } else if (s.stride_h != 1) {
      hit = hit && at % s.stride_h == 0;
      at /= s.stride_h;
    }
    rows[i] = hit && at < s.oh ? dy_plane + at * plan.len : nullptr;
  }
  for (index_t v = plan.v0; v < plan.v1; v += kBlockVectors * kLanes) {
    const index_t vectors = ceil_div(plan.v1 - v, kLanes);
    if (vectors > 3)
      input_grad_block<kSw, 4>(s, plan, rows, w, v, line);
    else if (vectors == 3)
      input_grad_block<kSw, 3>(s, plan, rows, w, v, line);
    else if (vectors > 1)
      input_grad_block<kSw, 2>(s, plan, rows, w, v, line);
    else
      input_grad_block<kSw, 1>(s, plan, rows, w, v, line);
  }
  const float* src = line + s.pad_w - kSw * plan.v0;
  copy_row(dx_row, src, s.w);
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
  const int kind = forward_kind(s);
  for_each_chunk(planes, plane_chunk(s), nt, [&](index_t first, index_t count, int) {
    float* grid = grid_scratch(g);
    vfloat w[kMaxDepthwiseTaps];
    for (index_t plane = first; plane < first + count; ++plane) {
      const index_t c = plane % s.c;
      for (index_t t = 0; t < taps; ++t) w[t] = vbroadcast(weight[c * taps + t]);
      pad_plane(s, g, x + plane * s.h * s.w, grid + g.size(), grid);
      const float b = bias ? bias[c] : 0.0f;
      float* out = y + plane * s.oh * s.ow;
      const index_t spill = (first + count - plane) * s.oh * s.ow;  // this item's planes
      if (kind == 1)
        forward_plane<1>(s, g, offsets, w, b, relu_out, grid, out, spill);
      else if (kind == 2)
        forward_plane<2>(s, g, offsets, w, b, relu_out, grid, out, spill);
      else
        forward_plane<0>(s, g, offsets, w, b, relu_out, grid, out, spill);
    }
  });
}

// grad_params: the weight gradient (C x taps), then with_bias the bias gradient (C). Summed
// over images by sum_over_items: deterministic mode cuts the images into fixed chunks, each
// summed in image and channel order, the chunks added in order.
void depthwise_weight_grad(const ConvShape& s, const float* grad_y, const float* x,
                           float* grad_params, bool with_bias, int nt) {
  const PhaseGrid g = phase_grid(s);
  index_t offsets[kMaxDepthwiseTaps];
  grid_offsets(s, g, offsets);
  const index_t taps = s.kh * s.kw, size = s.c * taps + (with_bias ? s.c : 0);
  const float* dy_end = grad_y + s.n * s.c * s.oh * s.ow;
  const int kind = forward_kind(s);  // the same 3 x 3 cases
  sum_over_items(s.n, size, nt, grad_params, [&](index_t n, float* out, int) {
    float* grid = grid_scratch(g);
    for (index_t c = 0; c < s.c; ++c) {
      const index_t plane = n * s.c + c;
      pad_plane(s, g, x + plane * s.h * s.w, grid + g.size(), grid);
      const float* dy = grad_y + plane * s.oh * s.ow;
      float* bias = with_bias ? out + s.c * taps + c : nullptr;
      if (kind == 1) {
        weight_grad_3x3<1>(s, g, offsets, dy, dy_end, grid, out + c * taps, bias);
        continue;
      }
      if (kind == 2) {
        weight_grad_3x3<2>(s, g, offsets, dy, dy_end, grid, out + c * taps, bias);
        continue;
      }
      for (index_t t0 = 0; t0 < taps; t0 += kGradTapBlock)
        weight_grad_taps(s, g, offsets + t0, dy, dy_end, grid, imin(kGradTapBlock, taps - t0),
                         out + c * taps + t0,
                         with_bias && t0 == 0 ? out + s.c * taps + c : nullptr);
    }
  });
}

// With stride 1 the input gradient is the forward correlation of dy with the kernels
// flipped, padded dilation * (kernel - 1) - padding: the forward's larger register blocks.
static bool input_grad_as_forward(const ConvShape& s) {
  return s.stride_h == 1 && s.stride_w == 1 && s.pad_h <= s.dilation_h * (s.kh - 1) &&
         s.pad_w <= s.dilation_w * (s.kw - 1);
}

void depthwise_input_grad(const ConvShape& s, const float* grad_y, const float* weight,
                          float* grad_x, int nt) {
  if (input_grad_as_forward(s)) {
    const index_t taps = s.kh * s.kw;
    float* flipped = thread_scratch(kScratchConvWork, static_cast<std::size_t>(s.c * taps));
    for (index_t c = 0; c < s.c; ++c)
      for (index_t t = 0; t < taps; ++t) flipped[c * taps + t] = weight[c * taps + taps - 1 - t];
    ConvShape t = s;
    t.h = s.oh, t.w = s.ow, t.oh = s.h, t.ow = s.w;
    t.pad_h = s.dilation_h * (s.kh - 1) - s.pad_h;
    t.pad_w = s.dilation_w * (s.kw - 1) - s.pad_w;
    return depthwise_forward(t, grad_y, flipped, nullptr, false, grad_x, nt);
  }
  const InputGradPlan plan(s);
  const index_t taps = s.kh * s.kw;
  for_each_chunk(s.n * s.c, plane_chunk(s), nt, [&](index_t first, index_t count, int) {
    const index_t floats = s.oh * plan.len + plan.slack + plan.line;
    float* dy_plane = thread_scratch(kScratchConvColumns, static_cast<std::size_t>(floats));
    fill(dy_plane, floats, 0.0f);  // the margins and slack, for every plane of this item
    float* line = dy_plane + s.oh * plan.len + plan.slack;
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
