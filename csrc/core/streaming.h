// The output size from which the memory-bound kernels (pooling, batch norm, activations) and the
// direct convolutions' GEMMs write around the caches (kernels/common/stream_store.h). A setting
// rather than a constant so that tests reach the streamed paths with small arrays
// (hpnn._C._set_stream_min_bytes).
#pragma once
#include "core/isa.h"

namespace hpnn {

index_t stream_min_bytes();
// Sets the size (0: stream every output) and returns the previous one.
index_t set_stream_min_bytes(index_t bytes);

}  // namespace hpnn
