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

}  // namespace hpnn
