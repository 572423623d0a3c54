#!/usr/bin/env bash
# Builds Release into build-perf/ and runs the scale benchmarks, printing their Markdown tables:
#
#   bench/run.sh [--quick]
#
# scale_bench: delete storm, scrape, reconcile and memory against prometheus-cpp used the plain
# way (about 4 minutes). http_bench: the real binary over loopback, ingestion and a concurrent
# scraper, once as started today and once with glibc keeping freed memory for reuse (about 2
# minutes each). --quick runs smaller sizes, for checking that everything still works.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake -S . -B build-perf -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-perf -j2 --target scale_bench http_bench timing-sidecar >/dev/null

if [[ "${1:-}" == "--quick" ]]; then
  scale_args=(--topics 20000 --deletes 2000 --baseline-deletes 2 --list-topics 100000
              --memory-topics 20000 --repeats 3)
  http_args=(--topics 10000 --seconds 3 --scrape-pause-ms 200)
else
  scale_args=()
  http_args=()
fi

echo "## scale_bench"
build-perf/scale_bench "${scale_args[@]}"
echo
echo "## http_bench: the sidecar as started today"
build-perf/http_bench "${http_args[@]}"
echo
# One malloc arena that never hands large blocks back to the kernel: each scrape reuses the pages
# of the last one instead of faulting in some 200 MB of fresh pages, which costs more here than
# rendering the body.
echo "## http_bench: GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184"
GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184 \
  build-perf/http_bench "${http_args[@]}"
