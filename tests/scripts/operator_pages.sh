#!/usr/bin/env bash
# The operator surfaces over the real binary and real curl, written from the README alone: the
# drill-down (GET /v1/topics/{topic}) names an overdue message, says a deleted topic was deleted
# and refuses a name RocketMQ would refuse; the landing page (GET /) lists the topics and links
# /metrics; --topics.exclude keeps a topic out of every series, counted as filtered, and a restart
# with --state.dir and a new filter drops the topics it now excludes.
set -euo pipefail
SIDECAR=$1
source "$(dirname "$0")/lib.sh"

get() { curl -sS -o "$TMP/body" -w '%{http_code}' "$@"; }
post() {
  [ "$(curl -sS -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$2" "$1/v1/events")" = 200 ] || fail "POST $2: $(cat "$TMP/body")"
}
sample() {
  curl -sS "$1/metrics" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "absent" }'
}

start_sidecar s --overdue.grace 1s --topics.exclude 'tmp-.*'
now_ms=$(($(date +%s%3N)))
post "$s_WEBHOOK" "[
  {\"type\":\"timer.enqueued\",\"topic\":\"orders\",\"id\":\"stuck-1\",\"deliverAtMs\":$((now_ms - 5000))},
  {\"type\":\"timer.enqueued\",\"topic\":\"orders\",\"id\":\"soon-1\",\"deliverAtMs\":$((now_ms + 60000))},
  {\"type\":\"timer.enqueued\",\"topic\":\"doomed\",\"id\":\"d-1\",\"deliverAtMs\":$((now_ms + 60000))},
  {\"type\":\"topic.created\",\"topic\":\"tmp-scratch\"},
  {\"type\":\"timer.enqueued\",\"topic\":\"tmp-scratch\",\"id\":\"t-1\",\"deliverAtMs\":$((now_ms + 60000))}
]"
[ "$(jq -c . "$TMP/body")" = '{"accepted":3,"ignored":2}' ] || fail "batch: $(cat "$TMP/body")"
post "$s_WEBHOOK" '{"type":"topic.deleted","topic":"doomed","revision":17}'

# The drill-down names the overdue message, oldest first, with how long it has been due.
[ "$(get "$s_WEB/v1/topics/orders")" = 200 ] || fail "drill-down: $(cat "$TMP/body")"
jq -e '.name == "orders" and .pending == 2 and .overdue == 1' "$TMP/body" >/dev/null ||
  fail "drill-down counts: $(cat "$TMP/body")"
jq -e '.overdueMessages[0].id == "stuck-1" and .overdueMessages[0].overdueMs >= 4000' \
  "$TMP/body" >/dev/null || fail "overdueMessages: $(cat "$TMP/body")"
jq -e ".overdueMessages[0].deliverAtMs == $((now_ms - 5000)) and .next[0].id == \"soon-1\"" \
  "$TMP/body" >/dev/null || fail "next: $(cat "$TMP/body")"
[ "$(get "$s_WEB/v1/topics/orders?limit=0")" = 400 ] || fail "limit=0 accepted"

# A deleted topic: 404 saying so, with its revision; unknown 404; a refused name 400.
[ "$(get "$s_WEB/v1/topics/doomed")" = 404 ] || fail "deleted topic: $(cat "$TMP/body")"
jq -e '.error | test("deleted") and test("17")' "$TMP/body" >/dev/null ||
  fail "deleted topic's error: $(cat "$TMP/body")"
[ "$(get "$s_WEB/v1/topics/nobody")" = 404 ] || fail "unknown topic: $(cat "$TMP/body")"
[ "$(get "$s_WEB/v1/topics/bad%20name")" = 400 ] || fail "refused name: $(cat "$TMP/body")"

# The landing page lists the topics and links /metrics; the drill-down has an HTML view.
[ "$(get "$s_WEB/")" = 200 ] || fail "landing page: $(cat "$TMP/body")"
grep -q 'href="/metrics"' "$TMP/body" || fail "landing page does not link /metrics"
grep -q 'href="/topics/orders">orders<' "$TMP/body" || fail "landing page does not list orders"
grep -q 'tmp-scratch' "$TMP/body" && fail "the landing page lists a filtered topic"
[ "$(get "$s_WEB/topics/orders")" = 200 ] || fail "HTML drill-down: $(cat "$TMP/body")"
grep -q '<td>stuck-1</td>' "$TMP/body" || fail "HTML drill-down does not name stuck-1"

# Filtered: no series, counted.
curl -sS "$s_WEB/metrics" >"$TMP/metrics"
grep -q 'tmp-scratch' "$TMP/metrics" && fail "a series of tmp-scratch: $(grep tmp-scratch "$TMP/metrics")"
[ "$(sample "$s_WEB" 'timing_sidecar_events_ignored_total{reason="filtered"}')" = 2 ] ||
  fail "filtered events: $(grep events_ignored "$TMP/metrics")"
[ "$(get "$s_WEB/v1/topics/tmp-scratch")" = 404 ] || fail "filtered topic tracked"

# Bad filters stop the start with the flag named.
if "$SIDECAR" --topics.include 'orders-(' >"$TMP/bad.out" 2>&1; then fail "bad regex accepted"; fi
grep -q -- '--topics.include "orders-("' "$TMP/bad.out" || fail "bad regex: $(cat "$TMP/bad.out")"

# Restart with --state.dir: first without filters, then excluding what is now unwanted.
start_sidecar r --state.dir "$TMP/state"
post "$r_WEBHOOK" "[
  {\"type\":\"timer.enqueued\",\"topic\":\"keep-me\",\"id\":\"k\",\"deliverAtMs\":$((now_ms + 600000))},
  {\"type\":\"timer.enqueued\",\"topic\":\"scratch-1\",\"id\":\"s\",\"deliverAtMs\":$((now_ms + 600000))},
  {\"type\":\"topic.deleted\",\"topic\":\"scratch-2\"}
]"
[ "$(sample "$r_WEB" 'rocketmq_timing_messages{topic="scratch-1"}')" = 1 ] || fail "scratch-1 not tracked"
[ "$(sample "$r_WEB" timing_sidecar_tombstones)" = 1 ] || fail "scratch-2's tombstone missing"
kill -TERM "${PIDS[-1]}"
wait "${PIDS[-1]}" || true
start_sidecar r2 --state.dir "$TMP/state" --topics.exclude 'scratch-.*'
curl -sS "$r2_WEB/metrics" >"$TMP/metrics"
grep -q 'topic="keep-me"' "$TMP/metrics" || fail "keep-me lost at recovery"
grep -q 'scratch-' "$TMP/metrics" && fail "an excluded topic survived recovery: $(grep scratch- "$TMP/metrics")"
[ "$(sample "$r2_WEB" timing_sidecar_tombstones)" = 0 ] || fail "the excluded tombstone survived"
[ "$(get "$r2_WEB/v1/topics/scratch-1")" = 404 ] || fail "scratch-1 after recovery: $(cat "$TMP/body")"
echo "operator pages: ok"
