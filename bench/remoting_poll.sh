#!/usr/bin/env bash
# What one poll of --broker.remoting-address costs the sidecar, at 1,000 and 10,000 topics:
#
#   bench/remoting_poll.sh SIDECAR [SECONDS]
#
# The stand-in broker (tests/remoting/standin_broker.py) serves N topics, each with a count; the
# sidecar polls it every 100 ms for SECONDS (default 20). The sidecar's CPU time (utime + stime
# from /proc/PID/stat) over the window divided by the polls the stand-in answered is the CPU per
# poll. Two cases per size: an unchanged table (the steady state: the bytes are compared, nothing
# is parsed or applied) and a table whose dataVersion changes at every answer (every poll parses
# and applies the whole table and all counts). An idle sidecar's CPU over the same window is
# printed first, as the floor.
set -euo pipefail
SIDECAR=$(realpath "$1")
SECONDS_PER_RUN=${2:-20}
cd "$(dirname "$0")/.."
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
TICKS=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$TICKS" '{ printf "%d\n", ($14 + $15) * 1000 / t }' "/proc/$1/stat"; }

# run TOPICS CHURN: prints "polls cpu_ms"
run() {
  local topics=$1 churn=$2 dir=$TMP/run-$1-$2 standin sidecar port
  mkdir -p "$dir"
  echo normal >"$dir/mode"
  python3 tests/remoting/standin_broker.py --control "$dir" --port-file "$dir/port" \
    --topics "$topics" $churn 2>"$dir/standin.log" &
  standin=$!
  PIDS+=($standin)
  for _ in $(seq 1 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
  port=$(cat "$dir/port")
  local args=(--web.listen-address 127.0.0.1:0 --webhook.listen-address 127.0.0.1:0)
  [ "$topics" = 0 ] || args+=(--broker.remoting-address "127.0.0.1:$port" --sources.poll-interval 100ms)
  "$SIDECAR" "${args[@]}" 2>"$dir/sidecar.log" &
  sidecar=$!
  PIDS+=($sidecar)
  sleep 3 # the first list applied, the sidecar settled
  local polls0 cpu0 polls1 cpu1
  polls0=$(cat "$dir/served" 2>/dev/null || echo 0)
  cpu0=$(cpu_ms $sidecar)
  sleep "$SECONDS_PER_RUN"
  polls1=$(cat "$dir/served" 2>/dev/null || echo 0)
  cpu1=$(cpu_ms $sidecar)
  kill $sidecar $standin
  wait $sidecar $standin 2>/dev/null || true
  echo "$((polls1 - polls0)) $((cpu1 - cpu0))"
}

echo "## remoting poll cost: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), ${SECONDS_PER_RUN} s per run"
read -r _ idle_cpu < <(run 0 "")
echo "idle sidecar: ${idle_cpu} ms CPU in ${SECONDS_PER_RUN} s"
echo
echo "| topics | table | polls | sidecar CPU ms | CPU ms per poll |"
echo "|---:|---|---:|---:|---:|"
for topics in 1000 10000; do
  for churn in "" --churn; do
    read -r polls cpu < <(run $topics "$churn")
    per_poll=$(awk -v c="$cpu" -v i="$idle_cpu" -v p="$polls" 'BEGIN { printf "%.2f", p ? (c - i) / p : 0 }')
    echo "| $topics | $([ -n "$churn" ] && echo "changed every poll" || echo unchanged) | $polls | $cpu | $per_poll |"
  done
done
