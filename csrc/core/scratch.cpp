#include "core/scratch.h"

#include <cstdlib>
#include <new>

namespace hpnn {
namespace {

struct ScratchBuffer {
  float* data = nullptr;
  std::size_t capacity = 0;
  ~ScratchBuffer() { std::free(data); }
};

thread_local ScratchBuffer t_buffers[kScratchSlots];

}  // namespace

float* thread_scratch(int slot, std::size_t count) {
  ScratchBuffer& buffer = t_buffers[slot];
  if (count > buffer.capacity) {
    std::free(buffer.data);
    buffer.data = nullptr;
    buffer.capacity = 0;
    const std::size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
    buffer.data = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!buffer.data) throw std::bad_alloc();
    buffer.capacity = count;
  }
  return buffer.data;
}

}  // namespace hpnn
