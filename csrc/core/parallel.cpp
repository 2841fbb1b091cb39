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
std::atomic<bool> g_deterministic{true};

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

bool deterministic_algorithms() { return g_deterministic.load(std::memory_order_relaxed); }

void set_deterministic_algorithms(bool on) { g_deterministic.store(on, std::memory_order_relaxed); }

int reduction_parts(double units, double size) {
  double parts = kMaxReductionParts;
  if (parts * size > kReductionPartsFloats) parts = kReductionPartsFloats / (size > 1 ? size : 1);
  if (parts > units) parts = units;
  return parts < 1 ? 1 : static_cast<int>(parts);
}

}  // namespace hpnn
