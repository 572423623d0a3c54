#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer, the concurrency tests under
# ThreadSanitizer, and every libFuzzer target for a bounded time. Run after scripts/setup.sh.
# FUZZ_SECONDS (default 60) bounds each fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTIMING_SIDECAR_SANITIZE=address >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j2 -R '^(unit|integration): '

cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIMING_SIDECAR_SANITIZE=thread >/dev/null
cmake --build build-tsan -j"$jobs" --target unit_tests
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build-tsan/tests/unit_tests '[concurrency]'

CXX=clang++ cmake -S . -B build-fuzz -DTIMING_SIDECAR_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build build-fuzz -j"$jobs"
for fuzzer in build-fuzz/fuzz_*; do
  name=$(basename "$fuzzer")
  corpus=$(mktemp -d)
  seeds=fuzz/corpus/${name#fuzz_}
  [ -d "$seeds" ] || seeds=
  echo "fuzzing $name for ${FUZZ_SECONDS:-60} s"
  "$fuzzer" -max_total_time="${FUZZ_SECONDS:-60}" -print_final_stats=1 "$corpus" $seeds 2>&1 |
    tail -n 12
  rm -rf "$corpus"
done
echo "sanitizers and fuzzers: passed"
