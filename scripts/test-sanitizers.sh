#!/usr/bin/env bash
# The test suite under sanitizers, and every libFuzzer target for a bounded time. Run after
# scripts/setup.sh (which installs clang and libclang-rt-14-dev); CI runs it after the normal
# suite (.ci/run). Exits non-zero on any test failure, sanitizer report or fuzzer finding.
#
#   ASan+UBSan (build-asan, gcc, Debug): every CTest test but `script: deploy_deb` and
#     `script: container_image`, which build and package their own unsanitized binary, and the
#     Java-only or repeated ones: the plugin's `mvn package` and the real-broker test for any
#     version but 5.3.3 (the sidecar under ASan meets a real broker once).
#   TSan (build-tsan, gcc, RelWithDebInfo): every unit test, and the integration tests tagged
#     [concurrency] (a sidecar under concurrent scrapes and webhook batches). tests/tsan.supp
#     has the suppressions, all for false positives from the uninstrumented libcpp-httplib.
#   libFuzzer (build-fuzz, clang, with ASan+UBSan): each fuzz/fuzz_<name>.cpp for FUZZ_SECONDS
#     (default 60), seeded from fuzz/corpus/<name>/. Crashing inputs are kept in
#     build-fuzz/crashes/<fuzzer>/.
#
# The sanitizers write their reports to files (log_path) rather than stderr, so that a report
# from a process a test started (the sidecar, broker-sim), whose stderr a test may never look
# at, fails the run too.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-60}
reports=$(mktemp -d "${TMPDIR:-/tmp}/sanitizer-reports.XXXXXX")
trap 'rm -rf "$reports" "$reports".*' EXIT

timings=()
phase_name=
phase_started=0
begin() {
  phase_name=$1
  phase_started=$SECONDS
  echo "=== $phase_name"
}
end() {
  local seconds=$((SECONDS - phase_started))
  timings+=("$(printf '%-34s %5d s' "$phase_name" "$seconds")")
  echo "=== $phase_name: ${seconds} s"
}

# Runs a command; fails if it fails or if any process left a sanitizer report.
checked() {
  local status=0
  "$@" || status=$?
  if compgen -G "$reports/*" >/dev/null; then
    local all=("$reports"/*)
    echo "FAIL: ${#all[@]} sanitizer report(s) during: $*" >&2
    for report in "${all[@]:0:10}"; do
      echo "--- $(basename "$report") (file.pid)" >&2
      cat "$report" >&2
    done
    [ "${#all[@]}" -le 10 ] || echo "... and $((${#all[@]} - 10)) more" >&2
    exit 1
  fi
  if [ "$status" -ne 0 ]; then
    echo "FAIL ($status): $*" >&2
    exit "$status"
  fi
}

# Runs a test binary with its output in a log: the last lines when it passes, all when it fails.
quiet() {
  local log
  log=$(mktemp "$reports.log.XXXXXX")
  if "$@" >"$log" 2>&1; then
    tail -n 3 "$log"
    rm -f "$log"
  else
    local status=$?
    cat "$log"
    rm -f "$log"
    return "$status"
  fi
}

begin "asan: build"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTIMING_SIDECAR_SANITIZE=address >/dev/null
cmake --build build-asan -j"$jobs" --target unit_tests integration_tests timing-sidecar broker-sim
end

begin "asan: tests"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:check_initialization_order=1:log_path=$reports/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
checked ctest --test-dir build-asan --output-on-failure -j2 \
  -E '^(script: deploy_deb|script: container_image|broker-plugin: mvn package|script: e2e_rocketmq 5\.[4-9]\..*)$'
unset ASAN_OPTIONS UBSAN_OPTIONS
end

begin "tsan: build"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIMING_SIDECAR_SANITIZE=thread >/dev/null
cmake --build build-tsan -j"$jobs" --target unit_tests integration_tests
end

begin "tsan: tests"
tsan_options="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/tsan"
tsan_options+=":suppressions=$root/tests/tsan.supp"
TSAN_OPTIONS=$tsan_options checked quiet build-tsan/tests/unit_tests
# intercept_memcmp=0: a sidecar serving both listeners trips over a static of libcpp-httplib
# that only memcmp reads (tests/tsan.supp says why).
TSAN_OPTIONS=$tsan_options:intercept_memcmp=0 \
  checked quiet build-tsan/tests/integration_tests '[concurrency]'
end

begin "fuzz: build"
fuzzers=()
for source in fuzz/fuzz_*.cpp; do fuzzers+=("$(basename "$source" .cpp)"); done
CXX=clang++ cmake -S . -B build-fuzz -DTIMING_SIDECAR_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target "${fuzzers[@]}"
end

for name in "${fuzzers[@]}"; do
  begin "fuzz: $name (${fuzz_seconds} s)"
  corpus=$(mktemp -d "$reports.corpus.XXXXXX")
  crashes=build-fuzz/crashes/$name
  rm -rf "$crashes"
  mkdir -p "$crashes"
  log=build-fuzz/$name.log
  args=(-max_total_time="$fuzz_seconds" -timeout=10 -print_final_stats=1
        -artifact_prefix="$crashes/" "$corpus")
  seeds=fuzz/corpus/${name#fuzz_}
  [ -d "$seeds" ] && args+=("$seeds")
  status=0
  "build-fuzz/$name" "${args[@]}" >"$log" 2>&1 || status=$?
  rm -rf "$corpus"
  if [ "$status" -ne 0 ]; then
    tail -n 80 "$log"
    echo "FAIL: $name exited with $status; its input(s), to add to $seeds/ once fixed:" >&2
    for input in "$crashes"/*; do
      [ -e "$input" ] || continue
      echo "--- $input" >&2
      od -A d -c "$input" | head -n 20 >&2
    done
    exit 1
  fi
  rmdir --ignore-fail-on-non-empty "$crashes"  # slow-unit-* inputs stay
  grep -E '^#[0-9]+[[:space:]]+DONE' "$log" || true
  grep '^stat::' "$log"
  end
done

echo "=== wall time per phase"
printf '%s\n' "${timings[@]}"
echo "sanitizers and fuzzers: passed"
