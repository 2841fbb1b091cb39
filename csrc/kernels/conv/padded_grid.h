// The zero-padded copy of a batch's images that the stride-1 paths read (conv_grid_isa.cpp,
// conv_direct_isa.cpp): each channel's Hp x Wp plane plus a spare row, so that reads running
// past a row's end stay inside the buffer. Include only from per-ISA sources (see core/isa.h);
// everything is in an anonymous namespace.
#pragma once
#include "kernels/conv/conv_common.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

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

}  // namespace
}  // namespace HPNN_ISA_NS
}  // namespace hpnn
