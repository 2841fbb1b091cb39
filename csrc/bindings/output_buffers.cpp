#include "bindings/output_buffers.h"

#include "core/streaming.h"

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace hpnn {
namespace {

// Below this numpy's own allocation is cheap: glibc serves it from the heap, not a new mapping.
constexpr std::size_t kMinCachedBytes = std::size_t{256} << 10;
// Sizes are rounded up to this, so arrays of nearly equal size share blocks.
constexpr std::size_t kSizeClassBytes = std::size_t{64} << 10;
constexpr std::size_t kBlocksPerSize = 8;
constexpr std::size_t kDefaultLimitBytes = std::size_t{1} << 30;
// Each block starts with a header that records its size class (the capsule's destructor gets
// only a pointer); the data follows at the next cache line, so it is 64-byte aligned too.
constexpr std::size_t kHeaderBytes = 64;

struct Block {
  void* raw;
  std::size_t bytes;  // its size class: the data bytes after the header
};

std::size_t size_class(std::size_t bytes) {
  return (bytes + kSizeClassBytes - 1) / kSizeClassBytes * kSizeClassBytes;
}

void* allocate_block(std::size_t class_bytes) {
  void* raw = std::aligned_alloc(kHeaderBytes, kHeaderBytes + class_bytes);
  if (!raw) throw std::bad_alloc();
  *static_cast<std::size_t*>(raw) = class_bytes;
  return raw;
}

std::size_t block_bytes(void* raw) { return *static_cast<std::size_t*>(raw); }

void* block_data(void* raw) { return static_cast<unsigned char*>(raw) + kHeaderBytes; }

// Idle blocks, most recently returned last. Every member runs under the mutex: blocks come back
// from capsule destructors on whichever thread drops the last reference.
class BlockCache {
 public:
  // A block of `class_bytes`: the most recently returned one of that size, else a new one.
  void* take(std::size_t class_bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (std::size_t i = idle_.size(); i-- > 0;)
        if (idle_[i].bytes == class_bytes) {
          void* raw = idle_[i].raw;
          idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
          idle_bytes_ -= class_bytes;
          return raw;
        }
    }
    return allocate_block(class_bytes);
  }

  // Keeps a released block for reuse, unless its size has enough spares; evicts the oldest
  // blocks while the total is over the limit. (Freeing under the lock is fine: every caller
  // holds the GIL as well, so nobody waits on it.)
  void give_back(void* raw) {
    const Block block{raw, block_bytes(raw)};
    std::lock_guard<std::mutex> lock(mutex_);
    if (count_of(block.bytes) >= kBlocksPerSize || block.bytes > limit_) {
      std::free(raw);
      return;
    }
    idle_.push_back(block);
    idle_bytes_ += block.bytes;
    evict_over_limit();
  }

  std::size_t set_limit(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::size_t previous = limit_;
    limit_ = bytes;
    evict_over_limit();
    return previous;
  }

  OutputCacheInfo info() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {idle_bytes_, idle_.size(), limit_, kBlocksPerSize, kMinCachedBytes};
  }

 private:
  std::size_t count_of(std::size_t class_bytes) const {
    std::size_t n = 0;
    for (const Block& b : idle_) n += b.bytes == class_bytes;
    return n;
  }

  void evict_over_limit() {
    std::size_t evicted = 0;
    while (idle_bytes_ > limit_) {
      idle_bytes_ -= idle_[evicted].bytes;
      std::free(idle_[evicted++].raw);
    }
    idle_.erase(idle_.begin(), idle_.begin() + static_cast<std::ptrdiff_t>(evicted));
  }

  std::mutex mutex_;
  std::vector<Block> idle_;
  std::size_t idle_bytes_ = 0;
  std::size_t limit_ = kDefaultLimitBytes;
};

// Never destroyed: capsules may still release blocks while the interpreter shuts down, after
// static destructors would have run.
BlockCache& cache() {
  static BlockCache* const instance = new BlockCache;
  return *instance;
}

void release_block(void* raw) { cache().give_back(raw); }

}  // namespace

std::size_t array_bytes(const py::ssize_t* shape, int ndim, std::size_t item_bytes) {
  std::size_t bytes = item_bytes;
  for (int i = 0; i < ndim; ++i)
    if (shape[i] < 0 || __builtin_mul_overflow(bytes, static_cast<std::size_t>(shape[i]), &bytes))
      return 0;
  return bytes;
}

void* output_block(std::size_t bytes, py::capsule* owner) {
  if (bytes < kMinCachedBytes) return nullptr;
  void* raw = cache().take(size_class(bytes));
  // The capsule owns the block from here on, so an exception in the caller still returns it.
  *owner = py::capsule(raw, &release_block);
  return block_data(raw);
}

OutputCacheInfo output_cache_info() { return cache().info(); }

std::size_t set_output_cache_limit(std::size_t bytes) { return cache().set_limit(bytes); }

void bind_output_cache(py::module_& m) {
  m.def("_output_cache_info", [] {
    const OutputCacheInfo info = output_cache_info();
    py::dict out;
    out["cached_bytes"] = info.cached_bytes, out["cached_blocks"] = info.cached_blocks;
    out["limit_bytes"] = info.limit_bytes, out["blocks_per_size"] = info.blocks_per_size;
    out["min_bytes"] = info.min_bytes;
    return out;
  }, "Idle output blocks held for reuse and the cache's limits.");
  m.def("_set_output_cache_limit", &set_output_cache_limit, py::arg("bytes"),
        "Cap the idle output bytes kept for reuse (0: none); returns the previous cap.");
  m.def("_set_stream_min_bytes", &set_stream_min_bytes, py::arg("bytes"),
        "Output size from which pooling and batch norm stream their stores past the caches "
        "(0: always); returns the previous size.");
}

}  // namespace hpnn
