#include "core/parallel.h"

#include <atomic>
#include <stdexcept>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace hpnn {
namespace {

int initial_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();  // honours OMP_NUM_THREADS
#else
  return 1;
#endif
}

std::atomic<int> g_num_threads{initial_threads()};

}  // namespace

int get_num_threads() { return g_num_threads.load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: n must be >= 1, got " + std::to_string(n));
  g_num_threads.store(n, std::memory_order_relaxed);
}

int threads_for(double work, double grain) {
  const int max_threads = get_num_threads();
  if (max_threads <= 1 || work < 2 * grain) return 1;
  const double useful = work / grain;
  return useful >= max_threads ? max_threads : static_cast<int>(useful);
}

}  // namespace hpnn
