// 2-d max pooling over contiguous H x W planes, compiled per ISA.
//
// Forward: each output row goes through one window iterator (for_each_window) that clips the
// window to the input; the common kernel = stride = 2 case without padding or dilation takes a
// vector fast path for the columns it covers (pairs of input columns deinterleaved into even/odd
// lanes), the iterator finishes the row. Backward: disjoint 2x2 windows write each input cell
// once (the gradient or zero), any other layout fills with zeros and adds at the indices.
// A large grad_x is staged and streamed (pool_common.h).
#include "kernels/pool/pool_common.h"

#include <type_traits>

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

constexpr float kNegInf = -__builtin_inff();

// PyTorch's CPU rule, in window order: a value replaces the best so far if it is greater or
// NaN, so ties keep the first maximum and NaNs the last NaN.
// take_if_better for one value, with masks: GCC turns the plain ternaries into branches.
void select_if_better(float& best, index_t& best_at, float v, index_t at) {
  const index_t take = -static_cast<index_t>((v > best) | (v != v));
  best_at ^= (best_at ^ at) & take;
  std::uint32_t best_bits, v_bits;
  __builtin_memcpy(&best_bits, &best, 4), __builtin_memcpy(&v_bits, &v, 4);
  best_bits ^= (best_bits ^ v_bits) & static_cast<std::uint32_t>(take);
  __builtin_memcpy(&best, &best_bits, 4);
}

template <class IndexT>
void max_pool_row_general(const PoolArgs& a, const float* x, index_t oh, index_t ow0, float* y,
                          IndexT* indices) {
  for_each_window(a, oh, ow0, [&](index_t ow, const Taps& rows, const Taps& cols) {
    if (rows.begin == rows.end || cols.begin == cols.end) {  // only padding (dilated windows)
      y[ow] = kNegInf, indices[ow] = -1;
      return;
    }
    // Starting from the first tap and revisiting it changes nothing, and keeps the loop free
    // of branches (random data mispredicts "new maximum" often).
    index_t best_at = (rows.first + rows.begin * a.dilation_h) * a.width + cols.first +
                      cols.begin * a.dilation_w;
    float best = x[best_at];
    for (index_t i = rows.begin; i < rows.end; ++i) {
      const index_t h = rows.first + i * a.dilation_h;
      for (index_t j = cols.begin; j < cols.end; ++j) {
        const index_t at = h * a.width + cols.first + j * a.dilation_w;
        const float v = x[at];
        select_if_better(best, best_at, v, at);
      }
    }
    y[ow] = best, indices[ow] = static_cast<IndexT>(best_at);
  });
}

template <class IndexT>
void max_pool_row_2x2(const PoolArgs& a, const float* x, index_t oh, index_t columns, float* y,
                      IndexT* indices) {
  const float* top = x + 2 * oh * a.width;
  const float* bottom = top + a.width;
  for_each_vector(columns, [&](index_t ow) {
    vfloat best;
    vint at;
    window_max_2x2(vload(top + 2 * ow), vload(top + 2 * ow + kLanes), vload(bottom + 2 * ow),
                   vload(bottom + 2 * ow + kLanes), a.width, 2 * oh * a.width + 2 * ow, best, at);
    vstore(y + ow, best);
    store_index(indices + ow, at);
  });
}

// A row of fewer than kLanes whole windows (`columns` of them), int32 indices: one step with
// masked loads and stores, straight into the plane -- nothing past the row's windows is read or
// written, so the row needs no staging.
void max_pool_row_2x2_masked(const PoolArgs& a, const float* x, index_t oh, int columns,
                             float* y, std::int32_t* indices) {
  const float* top = x + 2 * oh * a.width;
  const float* bottom = top + a.width;
  const int first = imin(2 * columns, kLanes), second = 2 * columns - first;
  const auto upper = [&](const float* row) {
    return second > 0 ? vload_first(row + kLanes, second) : vfloat{};
  };
  vfloat best;
  vint at;
  window_max_2x2(vload_first(top, first), upper(top), vload_first(bottom, first), upper(bottom),
                 a.width, 2 * oh * a.width, best, at);
  vstore_first(y, best, columns);
  vstore_first(indices, at, columns);
}

// Whole 2x2 windows of a row narrower than a vector (see narrow_rows).
template <class IndexT>
void max_pool_row_2x2_narrow(const PoolArgs& a, const float* x, const float* readable_end,
                             index_t oh, index_t columns, float* y, IndexT* indices) {
  float padded[2 * kNarrowWidth], row_y[kLanes];
  index_t row_at[kLanes];
  const NarrowRows rows = narrow_rows(a, x, readable_end, oh, columns, padded);
  max_pool_row_2x2(rows.args, rows.x, rows.oh, kLanes, row_y, row_at);
  if (rows.copied)
    for (index_t ow = 0; ow < columns; ++ow)  // back to positions in the real plane
      row_at[ow] += 2 * oh * a.width + (row_at[ow] >= kNarrowWidth ? a.width - kNarrowWidth : 0);
  for (index_t ow = 0; ow < columns; ++ow)
    y[ow] = row_y[ow], indices[ow] = static_cast<IndexT>(row_at[ow]);
}

// With int64 indices, output planes up to this size (with a vector's room after them) are
// computed into a buffer on the stack and copied out: every narrow row's vector step may then
// spill past its row (an 11 x 11 -> 5 x 5 plane's last rows took the padded-copy path, at 2.5x
// the time per output). int32 indices take the masked step instead.
constexpr index_t kStagedPlane = 256;

// Plain stores, even for large outputs: staging and streaming y and the indices measured slower
// (3.3 against 3.05 ms for a (64, 64, 56, 56) batch, 1 thread), unlike the backward's grad_x.
template <class IndexT>
void max_pool_planes(const PoolArgs& a, const float* x, float* y, IndexT* indices) {
  const index_t in_plane = a.height * a.width, out_plane = a.out_height * a.out_width;
  const bool int32_positions = in_plane < (index_t{1} << 31);
  // int32 indices: narrow rows take the masked step, which needs no staging.
  constexpr bool kMasked = std::is_same<IndexT, std::int32_t>::value;
  const bool staged = !kMasked && out_plane + kLanes <= kStagedPlane;
  const float* x_end = x + a.planes * in_plane;
  for_each_plane(a.planes, a.num_threads, [&](index_t p) {
    const float* xp = x + p * in_plane;
    float y_stage[kStagedPlane];
    IndexT i_stage[kStagedPlane];
    float* yp = staged ? y_stage : y + p * out_plane;
    IndexT* ip = staged ? i_stage : indices + p * out_plane;
    for (index_t oh = 0; oh < a.out_height; ++oh) {
      float* yr = yp + oh * a.out_width;
      IndexT* ir = ip + oh * a.out_width;
      const index_t whole = int32_positions ? whole_2x2_columns(a, oh) : 0;
      // A narrow row's vector step may also write straight into the plane when its extra lanes
      // land in the rows below (or the stage's room), which are written after it, and its
      // reads stay in the array.
      const bool spill_fits = (staged || (a.out_height - oh) * a.out_width >= kLanes) &&
                              xp + 2 * oh * a.width + a.width + kNarrowWidth <= x_end;
      if (whole >= kLanes)
        max_pool_row_2x2(a, xp, oh, whole, yr, ir);
      else if (whole > 0 && kMasked)
        max_pool_row_2x2_masked(a, xp, oh, static_cast<int>(whole), yr,
                                reinterpret_cast<std::int32_t*>(ir));
      else if (whole > 0 && spill_fits)
        max_pool_row_2x2(a, xp, oh, kLanes, yr, ir);
      else if (whole > 0)
        max_pool_row_2x2_narrow(a, xp, x_end, oh, whole, yr, ir);
      max_pool_row_general(a, xp, oh, whole, yr, ir);
    }
    if (staged)
      for (index_t i = 0; i < out_plane; ++i)
        y[p * out_plane + i] = y_stage[i], indices[p * out_plane + i] = i_stage[i];
  });
}

}  // namespace

void max_pool2d_forward(const PoolArgs& a, const float* x, float* y, void* indices) {
  if (a.int32_indices)
    max_pool_planes(a, x, y, static_cast<std::int32_t*>(indices));
  else
    max_pool_planes(a, x, y, static_cast<index_t*>(indices));
}

namespace {

// What one row of disjoint 2x2 windows found wrong with its indices: lanes outside their own
// window, and (or-ed) 64-bit offsets, whose high bits would be lost when they are narrowed.
struct StrayIndices {
  vint outside = vint{};
  vint64 wide = vint64{};
  bool any() const {
    int found = 0;
    for (int l = 0; l < kLanes; ++l) found |= outside[l] | static_cast<int>(wide[l] >> 31 != 0);
    return found != 0;
  }
};

// One vector of a row of disjoint 2x2 windows, the first with its top-left input at `corner`:
// each gradient goes to the cell its index names and zeros to the other three, so grad_x is
// written in one pass (no zero fill, no scatter). Compares run on 32-bit lanes: 64-bit vector
// compares are split into scalar code.
// Each lane's index less its window's top-left position (`corner` for lane 0).
vint window_offsets(const index_t* idx, index_t corner, StrayIndices& stray) {
  const vint64 offset64 = *reinterpret_cast<const vint64*>(idx) -
                          (__builtin_convertvector(lane_iota(), vint64) * 2 + corner);
  stray.wide |= offset64;
  return __builtin_convertvector(offset64, vint);
}

vint window_offsets(const std::int32_t* idx, index_t corner, StrayIndices&) {
  return *reinterpret_cast<const vint*>(idx) - (lane_iota() * 2 + static_cast<int>(corner));
}

template <class IndexT>
void max_unpool_vector_2x2(const float* gy, const float* relu_out, const IndexT* idx,
                           index_t corner, index_t width, float* top, StrayIndices& stray) {
  const vint offset = window_offsets(idx, corner, stray), w = vint{} + static_cast<int>(width);
  const vint tl = offset == 0, tr = offset == 1, bl = offset == w, br = offset == w + 1;
  stray.outside |= ~(tl | tr | bl | br);
  const vfloat zero = vfloat{};
  vfloat g = vload(gy);
  if (relu_out) g = vload(relu_out) > 0.0f ? g : zero;
  vfloat lo, hi;
  interleave(tl ? g : zero, tr ? g : zero, lo, hi);
  vstore(top, lo), vstore(top + kLanes, hi);
  interleave(bl ? g : zero, br ? g : zero, lo, hi);
  vstore(top + width, lo), vstore(top + width + kLanes, hi);
}

// A row of fewer than kLanes windows (columns of them), int32 indices: one masked step
// (unpool_2x2_masked), which touches nothing past the row's windows.
void max_unpool_narrow_2x2(const float* gy, const float* relu_out, const std::int32_t* idx,
                           int columns, index_t corner, index_t width, float* top,
                           StrayIndices& stray) {
  stray.outside |= unpool_2x2_masked(gy, relu_out, idx, columns, corner, width, top, top + width);
}

void max_unpool_narrow_2x2(const float*, const float*, const index_t*, int, index_t, index_t,
                           float*, StrayIndices&) {}  // never called: narrow rows need int32

// Whether a plane's grad_y maps onto disjoint 2x2 windows from (0, 0) (what the 2x2 stride-2
// forward produces), in rows of at least a vector, or of half a vector with int32 indices (the
// masked step: a (64, 32, 13, 13) gradient 0.56 -> 0.26 ms at 1 thread; on 5 wide rows it
// measured slower than the scatter); its indices are checked as the plane is written.
bool disjoint_2x2_windows(const PoolArgs& a) {
  const bool wide = a.out_width >= kLanes || (a.int32_indices && 2 * a.out_width >= kLanes);
  return 2 * a.out_height <= a.height && 2 * a.out_width <= a.width && wide &&
         a.height * a.width < (index_t{1} << 31);
}

// Input rows [2 * oh0, 2 * oh1) of a plane's grad_x, in one pass, into rows (row 2 * oh0 first).
template <class IndexT>
void max_unpool_rows_2x2(const PoolArgs& a, const float* gy, const float* relu_out,
                         const IndexT* ip, index_t oh0, index_t oh1, float* rows,
                         StrayIndices& stray) {
  const index_t covered = 2 * a.out_width, rest = a.width - covered;
  for (index_t oh = oh0; oh < oh1; ++oh) {
    float* top = rows + 2 * (oh - oh0) * a.width;
    const index_t o = oh * a.out_width;
    if (a.out_width < kLanes) {
      max_unpool_narrow_2x2(gy + o, relu_out ? relu_out + o : nullptr, ip + o,
                            static_cast<int>(a.out_width), 2 * oh * a.width, a.width, top, stray);
    } else {
      for_each_vector(a.out_width, [&](index_t ow) {
        max_unpool_vector_2x2(gy + o + ow, relu_out ? relu_out + o + ow : nullptr, ip + o + ow,
                              2 * oh * a.width + 2 * ow, a.width, top + 2 * ow, stray);
      });
    }
    fill(top + covered, rest, 0.0f), fill(top + a.width + covered, rest, 0.0f);
  }
}

// The plane's grad_x in one pass (staged in chunks of `chunk` output rows, see pool_common.h),
// or false (a partly written plane) when some index lies outside its own window.
template <class IndexT>
bool max_pool_backward_plane_2x2(const PoolArgs& a, const float* gy, const float* relu_out,
                                 const IndexT* ip, float* gx, index_t chunk) {
  StrayIndices stray;
  float stage[kStageFloats];
  for_each_chunk(a.out_height, chunk, [&](index_t oh0, index_t oh1) {
    float* place = gx + 2 * oh0 * a.width;
    max_unpool_rows_2x2(a, gy, relu_out, ip, oh0, oh1, chunk ? stage : place, stray);
    if (chunk) stream_copy(place, stage, 2 * (oh1 - oh0) * a.width);
  });
  fill(gx + 2 * a.out_height * a.width, (a.height - 2 * a.out_height) * a.width, 0.0f);
  return !stray.any();
}

// Any layout of indices: zero fill, then add each gradient at its index. False when an index
// lies outside the plane.
template <class IndexT>
bool max_pool_backward_plane_scatter(index_t in_plane, index_t out_plane, const float* gy,
                                     const float* relu_out, const IndexT* ip, float* gx) {
  fill(gx, in_plane, 0.0f);
  bool in_range = true;
  for (index_t o = 0; o < out_plane; ++o) {
    const index_t at = ip[o];
    const float g = relu_out && !(relu_out[o] > 0.0f) ? 0.0f : gy[o];
    if (static_cast<std::uint64_t>(at) < static_cast<std::uint64_t>(in_plane)) gx[at] += g;
    else in_range = false;
  }
  return in_range;
}

template <class IndexT>
bool max_unpool_planes(const PoolArgs& a, const float* grad_y, const IndexT* indices,
                       float* grad_x) {
  const index_t in_plane = a.height * a.width, out_plane = a.out_height * a.out_width;
  const bool disjoint = disjoint_2x2_windows(a);
  const bool stream = worth_streaming(a.planes * in_plane * index_t{sizeof(float)});
  const index_t chunk = staged_rows(stream, 2 * a.width, kStageFloats);
  int bad = 0;
  for_each_plane(a.planes, a.num_threads, [&](index_t p) {
    float* gx = grad_x + p * in_plane;
    const float* gy = grad_y + p * out_plane;
    const IndexT* ip = indices + p * out_plane;
    const float* relu_out = a.relu_output ? a.relu_output + p * out_plane : nullptr;
    if (disjoint && max_pool_backward_plane_2x2(a, gy, relu_out, ip, gx, chunk)) return;
    stream_fence();  // the streamed part of the plane lands before it is overwritten
    if (!max_pool_backward_plane_scatter(in_plane, out_plane, gy, relu_out, ip, gx))
      __atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
  });
  return !bad;
}

}  // namespace

bool max_pool2d_backward(const PoolArgs& a, const float* grad_y, const void* indices,
                         float* grad_x) {
  if (a.int32_indices)
    return max_unpool_planes(a, grad_y, static_cast<const std::int32_t*>(indices), grad_x);
  return max_unpool_planes(a, grad_y, static_cast<const index_t*>(indices), grad_x);
}

}  // namespace HPNN_ISA_NS
}  // namespace hpnn
