#!/usr/bin/env bash
# e2e_remoting.sh SIDECAR [VERSION]: a real, unmodified RocketMQ broker (VERSION from Maven
# Central, default 5.3.3; no plugin) and a sidecar with only --broker.remoting-address on its
# remoting port, side by side with the broker's own Prometheus exporter:
#   1. topics created with mqadmin and timing messages sent: the sidecar exports the broker's
#      counts, and the timer's runtime gauges;
#   2. mqadmin deleteTopic on a topic with soon-due and long messages: gone from the sidecar
#      within one poll interval, and never back while the late deliveries re-create it in the
#      broker's timer metrics with a negative count;
#   3. the broker restarted: source_up 0 meanwhile, every series kept, then back by itself.
# With E2E_REMOTING_OUT=DIR, the scrapes before and after the delete and the broker's raw response
# frames (tests/remoting/capture_frames.py) are kept there.
# Last line: e2e_remoting: rocketmq=<v> delete_to_gone_ms=<n> broker_negative=<yes|no>
# restart_recovery_s=<n> counts_match=<yes|no>
set -euo pipefail
SIDECAR=$(realpath "$1")
VERSION=${2:-5.3.3}
cd "$(dirname "$0")/../.."
source tests/scripts/lib.sh
source tests/scripts/lib_rocketmq.sh
[[ $VERSION =~ ^5\.[0-9]+\.[0-9]+$ ]] || fail "VERSION must be a RocketMQ 5.x version, got $VERSION"
require_java
mkdir -p "$TMP/home" "$TMP/rocketmq-home"
now_ms() { date +%s%3N; }
POLL_MS=1000

build_harness "$VERSION"
echo "e2e_remoting: RocketMQ $VERSION resolved and built in $SECONDS s"
start_namesrv
write_broker_conf "" none
start_broker
REMOTING=127.0.0.1:$BROKER_PORT
echo "e2e_remoting: broker up after $SECONDS s; remoting $REMOTING, broker metrics $BROKER_METRICS"

start_sidecar s --broker.remoting-address "$REMOTING" --sources.poll-interval "${POLL_MS}ms"
WEB=$s_WEB
wait_for 30 "the sidecar's first list" 'curl -sf "$WEB/readyz" >/dev/null'
scrape() { curl -sf --max-time 10 "$WEB/metrics"; }
sidecar_gauge() { gauge "$WEB/metrics" rocketmq_timing_messages "$1"; }
broker_gauge() { gauge "$BROKER_METRICS" rocketmq_timing_messages "$1"; }
sample() { { scrape || true; } | awk -v s="$1" 'index($0, s " ") == 1 { print $2; found = 1 } END { if (!found) print "absent" }'; }
up() { sample 'timing_sidecar_source_up{source="remoting"}'; }

# 1. Topics and timing messages.
for topic in rm_orders rm_doomed; do
  mqadmin updateTopic -c DefaultCluster -t "$topic" >>"$TMP/mqadmin.log" 2>&1 || fail "mqadmin updateTopic $topic"
done
send_timing rm_orders 30 300000 600000 0
send_timing rm_doomed 10 300000 600000 0
send_timing rm_doomed 10 20000 30000 0
wait_for 30 "the broker's counts in the sidecar" \
  'test "$(sidecar_gauge rm_orders)-$(sidecar_gauge rm_doomed)" = 30-20'
COUNTS_MATCH=yes
[ "$(broker_gauge rm_orders)" = 30 ] || COUNTS_MATCH=no
[ "$(sample rocketmq_timer_read_behind_seconds)" != absent ] || fail "no rocketmq_timer_read_behind_seconds"
[ "$(sample rocketmq_timer_offset_behind_messages)" != absent ] || fail "no rocketmq_timer_offset_behind_messages"
[ "$(up)" = 1 ] || fail "source_up is not 1"
echo "e2e_remoting: step 1: rm_orders 30, rm_doomed 20 in the sidecar (broker's exporter: $(broker_gauge rm_orders), $(broker_gauge rm_doomed))"
if [ -n "${E2E_REMOTING_OUT:-}" ]; then
  mkdir -p "$E2E_REMOTING_OUT"
  python3 tests/remoting/capture_frames.py "$REMOTING" "$E2E_REMOTING_OUT" >"$E2E_REMOTING_OUT/headers.txt"
  scrape >"$E2E_REMOTING_OUT/scrape-before-delete.prom"
fi

# 2. The delete: gone within a poll interval, never back while late deliveries go negative.
mqadmin deleteTopic -c DefaultCluster -t rm_doomed >>"$TMP/mqadmin.log" 2>&1 || fail "mqadmin deleteTopic"
deleted_ms=$(now_ms)
until [ "$(sidecar_gauge rm_doomed)" = absent ]; do
  [ $(($(now_ms) - deleted_ms)) -lt 5000 ] || break
  sleep 0.05
done
DELETE_TO_GONE_MS=$(($(now_ms) - deleted_ms))
# One poll interval, plus a scrape's and a request's time on two busy cores.
[ "$DELETE_TO_GONE_MS" -le $((POLL_MS + 500)) ] || fail "rm_doomed still shown ${DELETE_TO_GONE_MS} ms after the delete"
[ -z "${E2E_REMOTING_OUT:-}" ] || scrape >"$E2E_REMOTING_OUT/scrape-after-delete.prom"
BROKER_NEGATIVE=no
for _ in $(seq 1 35); do
  [ "$(sidecar_gauge rm_doomed)" = absent ] || fail "rm_doomed came back in the sidecar: $(sidecar_gauge rm_doomed)"
  b=$(broker_gauge rm_doomed)
  [ "$b" != absent ] && [ "$b" -lt 0 ] && BROKER_NEGATIVE=yes
  sleep 1
done
[ -z "${E2E_REMOTING_OUT:-}" ] || scrape >"$E2E_REMOTING_OUT/scrape-after-late-deliveries.prom"
echo "e2e_remoting: step 2: rm_doomed gone ${DELETE_TO_GONE_MS} ms after mqadmin returned, not back in 35 s;" \
  "the broker's own exporter: rm_doomed $(broker_gauge rm_doomed) (negative seen: $BROKER_NEGATIVE)"

# 3. The broker restarted.
BEFORE=$(scrape | grep -E '^rocketmq_timing_messages\{' | sort)
stop_broker
wait_for 20 "source_up 0 with the broker down" '[ "$(up)" = 0 ]'
[ "$(scrape | grep -E '^rocketmq_timing_messages\{' | sort)" = "$BEFORE" ] || fail "the series changed with the broker down"
restarted=$SECONDS
start_broker
wait_for 60 "recovery after the broker's restart" '[ "$(up)" = 1 ]'
RECOVERY_S=$((SECONDS - restarted))
wait_for 20 "rm_orders after the restart" 'test "$(sidecar_gauge rm_orders)" = 30'
[ "$(sidecar_gauge rm_doomed)" = absent ] || fail "rm_doomed back after the broker's restart"
errors=$(scrape | grep -E '^timing_sidecar_source_errors_total\{.*source="remoting"' || true)
echo "e2e_remoting: step 3: up again ${RECOVERY_S} s after the broker was started; errors: $(echo $errors)"
echo "e2e_remoting: rocketmq=$VERSION delete_to_gone_ms=$DELETE_TO_GONE_MS broker_negative=$BROKER_NEGATIVE" \
  "restart_recovery_s=$RECOVERY_S counts_match=$COUNTS_MATCH total_s=$SECONDS"
[ "$COUNTS_MATCH" = yes ] || fail "the broker's exporter and the sidecar disagree"
