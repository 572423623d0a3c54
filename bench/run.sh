#!/usr/bin/env bash
# Builds Release into build-perf/ and runs the scale benchmarks, printing their Markdown tables:
#
#   bench/run.sh [--quick]
#
# scale_bench: delete storm, scrape, reconcile and memory against prometheus-cpp used the plain
# way (about 4 minutes). http_bench: the real binary over loopback, ingestion and a concurrent
# scraper (about 2 minutes). --quick runs smaller sizes, for checking that everything still works.
# The machine and its load average come first and last: other processes sharing the cores stretch
# wall times.
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

echo "## machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "## scale_bench"
build-perf/scale_bench "${scale_args[@]}"
echo
echo "## http_bench"
build-perf/http_bench "${http_args[@]}"
echo
echo "## load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
