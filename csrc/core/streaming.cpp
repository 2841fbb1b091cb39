#include "core/streaming.h"

#include <atomic>
#include <stdexcept>
#include <string>

namespace hpnn {
namespace {

// About half a server's last-level cache: most of what a plain store leaves there would be
// evicted before the next kernel reads it.
constexpr index_t kDefaultStreamMinBytes = index_t{16} << 20;

std::atomic<index_t> g_stream_min_bytes{kDefaultStreamMinBytes};

}  // namespace

index_t stream_min_bytes() { return g_stream_min_bytes.load(std::memory_order_relaxed); }

index_t set_stream_min_bytes(index_t bytes) {
  if (bytes < 0)
    throw std::invalid_argument("_set_stream_min_bytes: bytes must be >= 0, got " +
                                std::to_string(bytes));
  return g_stream_min_bytes.exchange(bytes, std::memory_order_relaxed);
}

}  // namespace hpnn
