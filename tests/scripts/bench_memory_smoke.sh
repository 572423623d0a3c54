#!/usr/bin/env bash
# The memory benchmarks still run against the real binary: bench/process_memory.py and
# bench/memory_soak.py at tiny sizes (a few seconds). Their figures are not checked here (the
# benchmarks are run by hand, see README Performance); only that they complete and print them.
set -euo pipefail
SIDECAR=$1
source "$(dirname "$0")/lib.sh"

python3 bench/process_memory.py "$SIDECAR" --topics 3000 --timers 20000 >"$TMP/memory.md" ||
  fail "process_memory.py failed"
grep -q '^| bytes per tracked topic | [0-9]* | 200 |$' "$TMP/memory.md" ||
  { cat "$TMP/memory.md" >&2; fail "process_memory.py printed no bytes per topic"; }
grep -q '^| bytes per pending timer | -\?[0-9]* | 64 |$' "$TMP/memory.md" ||
  { cat "$TMP/memory.md" >&2; fail "process_memory.py printed no bytes per timer"; }
python3 bench/memory_soak.py "$SIDECAR" --minutes 0.1 >"$TMP/soak.md" || fail "memory_soak.py failed"
grep -q '^from minute 2: ' "$TMP/soak.md" || { cat "$TMP/soak.md" >&2; fail "memory_soak.py printed no summary"; }
echo "ok: both memory benchmarks run"; cat "$TMP/memory.md" "$TMP/soak.md"
