#!/usr/bin/env bash
# bench/rocketmq_overhead.sh [VERSION] [SECONDS] [ROUNDS]: what the broker plugin costs a real
# RocketMQ broker (default 5.3.3): timing-message send throughput and p99 send latency of the same
# broker configuration bare, with the plugin (nobody reading its feed), and with the plugin and a
# sidecar reading it, and the broker's CPU time per send; each for SECONDS (default 30) of two
# producer threads sending flat out, ROUNDS (default 2) rounds in turn, each on a fresh store, each
# round starting with another configuration. Not a test: figures for the README.
# Run it under the heavy-job lock; it needs build/timing-sidecar, Java 17 and Maven.
set -euo pipefail
VERSION=${1:-5.3.3}
DURATION=${2:-30}
ROUNDS=${3:-2}
cd "$(dirname "$0")/.."
source tests/scripts/lib.sh
source tests/scripts/lib_rocketmq.sh
require_java
SIDECAR=$PWD/build/timing-sidecar
[ -x "$SIDECAR" ] || fail "build/timing-sidecar is missing: run scripts/setup.sh"
mkdir -p "$TMP/home" "$TMP/rocketmq-home"
openssl rand -hex 32 >"$TMP/secret"
build_harness "$VERSION"
start_namesrv
HOOK=127.0.0.1:$(free_port)
WEB=127.0.0.1:$(free_port)

# broker_cpu_ticks: the CPU time (user + system, in clock ticks) the broker's JVM has used so far.
# Its CPU per send includes the broker's background threads (flush, timer wheel), which take what
# the cores leave them: on 2 cores under flat-out sends it mostly mirrors the throughput.
broker_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$BROKER_PID/stat"; }
TICK=$(getconf CLK_TCK)

# run_config NAME: one round of one configuration; appends "NAME sent=.. failed=.. p50_ms=..
# p99_ms=.." to the results.
run_config() {
  local name=$1 sidecar_pid="" line
  rm -rf "$TMP/store"
  if [ "$name" = bare ]; then
    write_broker_conf "http://$HOOK/v1/events" none
  else
    write_broker_conf "http://$HOOK/v1/events"
  fi
  start_broker
  if [ "$name" = plugin+sidecar ]; then
    "$SIDECAR" --web.listen-address "$WEB" --webhook.listen-address "$HOOK" \
      --webhook.secret-file "$TMP/secret" --broker.url "$FEED" >"$TMP/sidecar.log" 2>&1 &
    sidecar_pid=$!
    PIDS+=($sidecar_pid)
    wait_for 60 "the sidecar" 'curl -sf "http://$WEB/readyz" >/dev/null'
  fi
  mqadmin updateTopic -c DefaultCluster -t bench >/dev/null 2>&1 || fail "updateTopic"
  # A warm-up, so that the JIT and a fresh store's page faults weigh the same in each run.
  # A fresh topic's route can reach the producer a moment late: the warm-up may retry.
  local tries=0
  until "${DRIVER[@]}" load "$NAMESRV" bench 5 2 "$TMP/warm" >"$TMP/warm.log" 2>&1; do
    tries=$((tries + 1))
    [ $tries -lt 3 ] || { tail -20 "$TMP/warm.log" >&2; fail "warm-up of $name failed 3 times"; }
    sleep 2
  done
  # The last line is the summary; RocketMQ's logging set-up prints its own lines first.
  cpu_before=$(broker_cpu_ticks)
  line=$("${DRIVER[@]}" load "$NAMESRV" bench "$DURATION" 2 "$TMP/rate" | tail -1) || fail "load: $line"
  echo "$name $line broker_cpu_ticks=$(($(broker_cpu_ticks) - cpu_before))" | tee -a "$TMP/results"
  if [ -n "$sidecar_pid" ]; then
    kill "$sidecar_pid"
    wait "$sidecar_pid" 2>/dev/null || true
  fi
  stop_broker
}

# Each round starts with a different configuration, so that a drift of the shared machine (a
# neighbour's job, the page cache warming up) does not always fall on the same one.
CONFIGS=(bare plugin plugin+sidecar)
for round in $(seq 0 $((ROUNDS - 1))); do
  for i in 0 1 2; do run_config "${CONFIGS[$(((round + i) % 3))]}"; done
done
echo "RocketMQ $VERSION, $ROUNDS rounds of $DURATION s, 2 producer threads, means over rounds" \
  "(sends/s range: the slowest and fastest round):"
awk -v duration="$DURATION" -v tick="$TICK" '
  {
    split($2, sent, "="); split($4, p50, "="); split($5, p99, "="); split($NF, ticks, "=")
    total[$1] += sent[2]; q50[$1] += p50[2]; q99[$1] += p99[2]; n[$1]++; cpu[$1] += ticks[2]
    if (!($1 in low) || sent[2] < low[$1]) low[$1] = sent[2]
    if (!($1 in high) || sent[2] > high[$1]) high[$1] = sent[2]
  }
  END {
    printf "%-15s %9s %13s %8s %8s %11s %9s %14s %9s\n", "config", "sends/s", "range", "p50 ms",
      "p99 ms", "vs bare", "p99", "broker us/send", "vs bare"
    split("bare plugin plugin+sidecar", order, " ")
    for (i = 1; i <= 3; i++) {
      c = order[i]
      rate[c] = total[c] / n[c] / duration; tail[c] = q99[c] / n[c]
      us[c] = 1e6 * cpu[c] / tick / total[c]
      printf "%-15s %9.0f %6.0f-%-6.0f %8.2f %8.2f %10.1f%% %+8.1f%% %14.0f %+8.1f%%\n", c, rate[c],
        low[c] / duration, high[c] / duration, q50[c] / n[c], tail[c],
        100 * rate[c] / rate["bare"], 100 * (tail[c] / tail["bare"] - 1), us[c],
        100 * (us[c] / us["bare"] - 1)
    }
  }' "$TMP/results"
