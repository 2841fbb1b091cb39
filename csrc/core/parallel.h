// Thread count shared by all kernels. A global (not omp_set_num_threads, whose setting is
// per calling thread) so that set_num_threads applies to kernels called from any Python thread.
#pragma once
#include "core/isa.h"

namespace hpnn {

int get_num_threads();
void set_num_threads(int n);

// Threads worth using for `work` units when each thread needs at least `grain` units to gain
// more than the cost of waking it: never more than get_num_threads(), at least 1.
int threads_for(double work, double grain);

// Deterministic mode (hpnn.use_deterministic_algorithms; on by default): every reduction that
// threads share is split at boundaries fixed by the problem's size, never by the thread count,
// and its partials are added in a fixed order, so results are bit-identical across runs and
// across thread counts. Off, a few kernels split their sums by thread instead.
bool deterministic_algorithms();
void set_deterministic_algorithms(bool on);

// At most this many partial sums per deterministic reduction, and at most this many floats in
// all of them: enough partials for 8 threads to share the items, while the partials' fill and
// final sum (one pass each) stay small against the work summed into them.
constexpr int kMaxReductionParts = 8;
constexpr double kReductionPartsFloats = 1 << 22;

// Partials a deterministic reduction of `units` units into `size` floats is split into.
int reduction_parts(double units, double size);

}  // namespace hpnn
