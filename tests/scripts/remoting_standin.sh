#!/usr/bin/env bash
# remoting_standin.sh SIDECAR: the sidecar with only --broker.remoting-address against the
# stand-in broker (tests/remoting/standin_broker.py, frames exactly as RocketMQ's protocol says):
#   - the topic table is the list, the timer counts are exported for live topics only, never
#     negative, the runtime figures become gauges;
#   - a broker that closes, stalls 30 s, answers an error code, sends garbage or is gone leaves
#     every series in place with source_up 0, counts the reason, and the source recovers by
#     itself;
#   - a topic deleted from the table is gone within a poll; a new count is exported.
set -euo pipefail
SIDECAR=$(realpath "$1")
cd "$(dirname "$0")/../.."
source tests/scripts/lib.sh
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
CONTROL=$TMP/standin
mkdir -p "$CONTROL"
echo normal >"$CONTROL/mode"
write_state() { # COUNTER JSON-TOPICS JSON-COUNTED
  printf '{"counter":%s,"topics":%s,"counted":%s}\n' "$1" "$2" "$3" >"$CONTROL/state.tmp"
  mv "$CONTROL/state.tmp" "$CONTROL/state.json"
}
write_state 1 '{"alpha":5,"beta":0,"gamma":-3,"rmq_sys_wheel_timer":9}' '{"gone":-4}'

start_standin() { # [PORT]
  rm -f "$TMP/standin.port"
  python3 tests/remoting/standin_broker.py --control "$CONTROL" --port-file "$TMP/standin.port" \
    --port "${1:-0}" 2>>"$TMP/standin.log" &
  STANDIN_PID=$!
  PIDS+=($STANDIN_PID)
  for _ in $(seq 1 100); do [ -s "$TMP/standin.port" ] && break; sleep 0.05; done
  [ -s "$TMP/standin.port" ] || fail "the stand-in broker did not start"
  PORT=$(cat "$TMP/standin.port")
}
start_standin
start_sidecar s --broker.remoting-address "127.0.0.1:$PORT" --sources.poll-interval 200ms
for _ in $(seq 1 100); do curl -sf "$s_WEB/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$s_WEB/readyz" >/dev/null || fail "not ready against the stand-in"

scrape() { curl -sf "$s_WEB/metrics"; }
series() { scrape | grep -E '^(rocketmq_timing_messages|rocketmq_timer_[a-z_]+(seconds|messages|second))[{ ]' | sort; }
sample() { scrape | awk -v s="$1" 'index($0, s " ") == 1 { print $2; found = 1 } END { if (!found) print "absent" }'; }
up() { sample 'timing_sidecar_source_up{source="remoting"}'; }
errors() { local n; n=$(sample "timing_sidecar_source_errors_total{reason=\"$1\",source=\"remoting\"}"); [ "$n" = absent ] && echo 0 || echo "$n"; }
await() { # SECONDS WHAT COMMAND
  local deadline=$((SECONDS + $1))
  until eval "$3"; do
    [ $SECONDS -lt $deadline ] || { tail -20 "$TMP/s.log" >&2; fail "$2 within $1 s"; }
    sleep 0.1
  done
}

# The export rules of --timer-metrics.file: live topics only, a negative count shows as nothing
# pending, a system topic never.
[ "$(sample 'rocketmq_timing_messages{topic="alpha"}')" = 5 ] || fail "alpha: $(series)"
[ "$(sample 'rocketmq_timing_messages{topic="beta"}')" = 0 ] || fail "beta: $(series)"
[ "$(sample 'rocketmq_timing_messages{topic="gamma"}')" = 0 ] || fail "gamma (broker -3): $(series)"
[ "$(sample 'rocketmq_timing_messages{topic="gone"}')" = absent ] || fail "a topic outside the table shows"
scrape | grep -q 'topic="rmq_sys_wheel_timer"' && fail "a system topic shows"
[ "$(sample rocketmq_timer_read_behind_seconds)" = 2 ] || fail "read behind: $(series)"
[ "$(sample rocketmq_timer_offset_behind_messages)" = 17 ] || fail "offset behind"
[ "$(sample rocketmq_timer_enqueue_messages_per_second)" = 12.5 ] || fail "enqueue tps"
[ "$(up)" = 1 ] || fail "source_up is not 1"
BEFORE=$(series)
echo "remoting_standin: normal: $(echo "$BEFORE" | wc -l) series"

# Each bad mode: source_up 0, the reason counted, every series as it was; then it recovers.
check_mode() { # MODE REASON SECONDS
  local mode=$1 reason=$2 seconds=$3 started=$SECONDS count
  count=$(errors "$reason")
  echo "$mode" >"$CONTROL/mode"
  await "$seconds" "$mode: source_up 0" '[ "$(up)" = 0 ]'
  await 10 "$mode: reason $reason counted" '[ "$(errors "$reason")" != "$count" ]'
  [ "$(series)" = "$BEFORE" ] || fail "$mode changed the series: $(diff <(echo "$BEFORE") <(series))"
  echo normal >"$CONTROL/mode"
  await 40 "$mode: recovery" '[ "$(up)" = 1 ]'
  [ "$(series)" = "$BEFORE" ] || fail "after $mode the series differ"
  echo "remoting_standin: $mode: source_up 0, reason $reason, series kept, recovered ($((SECONDS - started)) s)"
}
check_mode close connection_lost 10
check_mode stall timeout 15
check_mode error broker_error 10
check_mode garbage malformed 10

# The broker gone (connect refused), then back on the same port.
kill "$STANDIN_PID"
wait "$STANDIN_PID" 2>/dev/null || true
count=$(errors connect)
await 10 "gone: source_up 0" '[ "$(up)" = 0 ]'
await 10 "gone: reason connect counted" '[ "$(errors connect)" != "$count" ]'
[ "$(series)" = "$BEFORE" ] || fail "an unreachable broker changed the series"
start_standin "$PORT"
await 40 "recovery after the broker came back" '[ "$(up)" = 1 ]'
echo "remoting_standin: gone: source_up 0, reason connect, series kept, recovered"

# A topic deleted from the table: gone within a poll; a new count shows.
write_state 2 '{"alpha":7,"gamma":-3}' '{"beta":-2,"gone":-4}'
await 5 "beta dropped" '[ "$(sample "rocketmq_timing_messages{topic=\"beta\"}")" = absent ]'
await 5 "alpha's new count" '[ "$(sample "rocketmq_timing_messages{topic=\"alpha\"}")" = 7 ]'
echo "remoting_standin: passed in $SECONDS s"
