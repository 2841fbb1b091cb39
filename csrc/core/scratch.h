// Per-thread, 64-byte aligned scratch buffers that grow and are reused across calls: packing
// buffers are megabytes, and a fresh allocation per call would pay page faults every time.
#pragma once
#include <cstddef>

namespace hpnn {

enum ScratchSlot {
  kScratchPackA = 0,
  kScratchPackB = 1,
  kScratchConvColumns = 2,  // an im2col matrix, or a zero-padded image
  kScratchConvWork = 3,     // flipped weights, per-thread weight gradients
  kScratchConvGrid = 4,     // an output or output gradient on the padded-width grid
  kScratchRnnWeights = 5,   // recurrent weights packed once per sequence, plus per-step state
  kScratchRnnGrads = 6,     // the gate gradients of every time step (backward through time)
  kScratchRnnPackA = 7,     // per-thread packed inputs or gate gradients of one step; a B^T
  kScratchPackBViews = 8,   // GEMM: row offsets and panel descriptors of an in-place B block
  kScratchWinogradWeights = 9,  // Winograd: transformed weights (or their gradient)
  kScratchWinogradTiles = 10,   // Winograd: transformed input tiles of one block
  kScratchWinogradProducts = 11,  // Winograd: their products (a chunk's, then the staged
                                  // output rows), or dy tiles
  kScratchConvTapRows = 12,       // the im2col rows of a few-tap convolution's batch
  kScratchConvFilters = 13,       // a few-tap convolution's filters in register blocks
  kScratchWinogradGrads = 14,     // Winograd: the transformed weight gradient of a combined backward
  kScratchSlots = 15
};

// A buffer of at least `count` floats owned by the calling thread, valid until its next call
// with the same slot.
float* thread_scratch(int slot, std::size_t count);

}  // namespace hpnn
