#pragma once

// glibc malloc settings for a long-running server process with bursts of parse buffers on a few
// worker threads. Called from main only: the model never depends on them.

namespace timing_sidecar {

// Before any thread starts. Each setting is left to glibc when its MALLOC_* environment variable
// is set, so an operator can still tune it.
// - At most 2 arenas (MALLOC_ARENA_MAX): glibc gives up to 8 per core, one per thread that meets
//   a locked one, and each keeps megabytes of freed parse buffers for its thread.
// - Fixed mmap and trim thresholds (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_): glibc raises
//   both after a large block is freed (a scrape body, a webhook body), up to 32 and 64 MiB, and
//   from then on keeps such blocks in the heap instead of returning them.
void tune_allocator();

// Returns the free pages of every arena to the system (malloc_trim): freed memory in the middle of
// a heap, which no threshold reaches. Cheap enough to run every few seconds.
void release_free_memory();

}  // namespace timing_sidecar
