#include "timing_sidecar/allocator.hpp"

#include <malloc.h>

#include <cstdlib>

namespace timing_sidecar {

namespace {

constexpr int kArenas = 2;
// Blocks from this size on are mmapped, and unmapped when freed: the webhook's batch bodies (about
// 100 KB for 1,000 events) and the scrape bodies. At 256 KiB, the bodies left holes in the heap
// between long-lived state: 220 against 193 bytes per topic in bench/process_memory.py.
constexpr int kMmapThresholdBytes = 64 << 10;
// Free memory at the top of a heap beyond this goes back to the system at once.
constexpr int kTrimThresholdBytes = 1 << 20;

void set_unless_in_environment(const char* variable, int parameter, int value) {
  if (std::getenv(variable) == nullptr) mallopt(parameter, value);
}

}  // namespace

void tune_allocator() {
  set_unless_in_environment("MALLOC_ARENA_MAX", M_ARENA_MAX, kArenas);
  set_unless_in_environment("MALLOC_MMAP_THRESHOLD_", M_MMAP_THRESHOLD, kMmapThresholdBytes);
  set_unless_in_environment("MALLOC_TRIM_THRESHOLD_", M_TRIM_THRESHOLD, kTrimThresholdBytes);
}

void release_free_memory() {
  malloc_trim(0);
}

}  // namespace timing_sidecar
