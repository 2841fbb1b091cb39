#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "core/kernel_table.h"

namespace hpnn {

// Each per-ISA source defines register_<family>_<isa>(KernelTable&). A new op family adds
// its name to HPNN_KERNEL_FAMILIES; CMakeLists.txt picks up csrc/kernels/<family>/*_isa.cpp.
#define HPNN_KERNEL_FAMILIES(X, isa) \
  X(gemm, isa)                       \
  X(conv, isa)                       \
  X(pool, isa)                       \
  X(activation, isa)                 \
  X(norm, isa)                       \
  X(row_norm, isa)                   \
  X(embedding, isa)                  \
  X(attention, isa)                  \
  X(loss, isa)                       \
  X(optim, isa)                      \
  X(dropout, isa)                    \
  X(rnn, isa)                        \
  X(probe, isa)

#define HPNN_DECLARE_REGISTER(family, isa) void register_##family##_##isa(KernelTable&);
#define HPNN_CALL_REGISTER(family, isa) register_##family##_##isa(table);

#ifdef HPNN_HAVE_GENERIC
HPNN_KERNEL_FAMILIES(HPNN_DECLARE_REGISTER, generic)
#endif
#ifdef HPNN_HAVE_AVX2
HPNN_KERNEL_FAMILIES(HPNN_DECLARE_REGISTER, avx2)
#endif
#ifdef HPNN_HAVE_AVX512
HPNN_KERNEL_FAMILIES(HPNN_DECLARE_REGISTER, avx512)
#endif

namespace {

struct IsaEntry {
  KernelTable table;
  bool supported;
};

bool cpu_has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool cpu_has_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && cpu_has_avx2();
#else
  return false;
#endif
}

// Best first.
std::vector<IsaEntry> build_entries() {
  std::vector<IsaEntry> entries;
#ifdef HPNN_HAVE_AVX512
  {
    KernelTable table;
    table.isa = "avx512";
    HPNN_KERNEL_FAMILIES(HPNN_CALL_REGISTER, avx512)
    entries.push_back({table, cpu_has_avx512()});
  }
#endif
#ifdef HPNN_HAVE_AVX2
  {
    KernelTable table;
    table.isa = "avx2";
    HPNN_KERNEL_FAMILIES(HPNN_CALL_REGISTER, avx2)
    entries.push_back({table, cpu_has_avx2()});
  }
#endif
  {
    KernelTable table;
    table.isa = "generic";
    HPNN_KERNEL_FAMILIES(HPNN_CALL_REGISTER, generic)
    entries.push_back({table, true});
  }
  return entries;
}

std::vector<IsaEntry>& entries() {
  static std::vector<IsaEntry> all = build_entries();
  return all;
}

IsaEntry* find_entry(const std::string& name) {
  for (IsaEntry& entry : entries())
    if (name == entry.table.isa) return &entry;
  return nullptr;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::atomic<const KernelTable*> g_active{nullptr};

}  // namespace

std::vector<std::string> compiled_isas() {
  std::vector<std::string> names;
  for (const IsaEntry& entry : entries()) names.push_back(entry.table.isa);
  return names;
}

std::vector<std::string> available_isas() {
  std::vector<std::string> names;
  for (const IsaEntry& entry : entries())
    if (entry.supported) names.push_back(entry.table.isa);
  return names;
}

void select_isa(const std::string& name) {
  IsaEntry* entry = find_entry(name);
  if (!entry)
    throw std::invalid_argument("unknown ISA '" + name + "'; compiled in: " + join(compiled_isas()));
  if (!entry->supported)
    throw std::invalid_argument("ISA '" + name + "' is not supported by this CPU; available: " +
                                join(available_isas()));
  g_active.store(&entry->table);
}

const KernelTable& active_kernels() {
  const KernelTable* table = g_active.load();
  if (!table) {
    // First use (at import): pick the best supported ISA unless HPNN_ISA names one.
    for (IsaEntry& entry : entries())
      if (entry.supported) { table = &entry.table; break; }
    const char* requested = std::getenv("HPNN_ISA");
    if (requested && *requested) select_isa(requested), table = g_active.load();
    else g_active.store(table);
  }
  return *table;
}

const char* active_isa() { return active_kernels().isa; }

void set_gemm_blocking(index_t kc, index_t mc, index_t nc) {
  const KernelTable& active = active_kernels();
  IsaEntry* entry = find_entry(active.isa);
  GemmBlocking& blocking = entry->table.gemm_blocking;
  if (kc < 1 || mc < blocking.mr || nc < blocking.nr)
    throw std::invalid_argument("set_gemm_blocking: need kc >= 1, mc >= mr, nc >= nr");
  blocking.kc = kc;
  blocking.mc = mc - mc % blocking.mr;
  blocking.nc = nc - nc % blocking.nr;
}

}  // namespace hpnn
