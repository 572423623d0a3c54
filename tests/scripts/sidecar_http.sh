#!/usr/bin/env bash
# The sidecar's HTTP contract driven with real curl and checked with the real promtool.
set -euo pipefail
SIDECAR=$1
source "$(dirname "$0")/lib.sh"

start_sidecar s --cluster 'prod "east"' --node-id broker-a
now_ms=$(($(date +%s) * 1000))

post() { curl -sS -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' "$@"; }
expect() {
  local want=$1 got=$2 what=$3
  [ "$got" = "$want" ] || fail "$what: HTTP $got, want $want: $(cat "$TMP/body")"
}

code=$(post --data-binary "[
  {\"type\":\"topic.created\",\"topic\":\"orders\"},
  {\"type\":\"timer.enqueued\",\"topic\":\"orders\",\"id\":\"A1\",\"deliverAtMs\":$((now_ms + 30000))},
  {\"type\":\"timer.enqueued\",\"topic\":\"orders\",\"id\":\"A2\",\"deliverAtMs\":$((now_ms + 7200000))},
  {\"type\":\"timer.enqueued\",\"topic\":\"doomed\",\"id\":\"B1\",\"deliverAtMs\":$((now_ms + 30000))}
]" "$s_WEBHOOK/v1/events")
expect 200 "$code" "valid batch"
[ "$(jq -c . "$TMP/body")" = '{"accepted":4,"ignored":0}' ] || fail "reply $(cat "$TMP/body")"

code=$(post --data-binary '{"type":"topic.deleted","topic":"doomed"}' "$s_WEBHOOK/v1/events")
expect 200 "$code" "delete"
code=$(post --data-binary '{"events":[{"type":"timer.dequeued","topic":"doomed","id":"B1"}]}' \
  "$s_WEBHOOK/v1/events")
expect 200 "$code" "late dequeue"
[ "$(jq -c . "$TMP/body")" = '{"accepted":0,"ignored":1}' ] || fail "late dequeue not ignored"

# Bad input: a 4xx naming what and where, and nothing changes.
code=$(post --data-binary '{"type":"timer.enqueued","topic":"orders"' "$s_WEBHOOK/v1/events")
expect 400 "$code" "malformed JSON"
code=$(post --data-binary '[{"type":"topic.created","topic":"ok"},{"type":"timer.enqueued","topic":"orders","id":"X"}]' \
  "$s_WEBHOOK/v1/events")
expect 400 "$code" "missing field"
grep -q 'events\[1\].deliverAtMs' "$TMP/body" || fail "error does not name the field: $(cat "$TMP/body")"
code=$(post --data-binary '{"type":"topic.created","topic":"bad topic"}' "$s_WEBHOOK/v1/events")
expect 400 "$code" "invalid topic"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$TMP/big"
code=$(post --data-binary @"$TMP/big" "$s_WEBHOOK/v1/events")
expect 413 "$code" "oversized body"
code=$(post -H 'Transfer-Encoding: chunked' --data-binary '{"type":"topic.created","topic":"c"}' \
  "$s_WEBHOOK/v1/events")
expect 411 "$code" "chunked body"
code=$(post -H 'Content-Encoding: gzip' --data-binary '{"type":"topic.created","topic":"c"}' \
  "$s_WEBHOOK/v1/events")
expect 415 "$code" "compressed body"

curl -sS -D "$TMP/headers" -o "$TMP/metrics" "$s_WEB/metrics"
grep -qi '^content-type: text/plain; version=0.0.4; charset=utf-8' "$TMP/headers" ||
  fail "content type: $(cat "$TMP/headers")"
promtool check metrics <"$TMP/metrics" >"$TMP/promtool.out" 2>&1 ||
  fail "promtool check metrics: $(cat "$TMP/promtool.out")"
[ ! -s "$TMP/promtool.out" ] || fail "promtool reported: $(cat "$TMP/promtool.out")"

labels='cluster="prod \"east\"",node_id="broker-a",topic="orders"'
grep -qF "rocketmq_timing_messages{$labels} 2" "$TMP/metrics" || fail "orders pending"
grep -qF "rocketmq_timer_message_snapshot{$labels,timer_bound_s=\"60\"} 1" "$TMP/metrics" ||
  fail "orders snapshot 60"
grep -qF "rocketmq_timer_message_snapshot{$labels,timer_bound_s=\"14400\"} 1" "$TMP/metrics" ||
  fail "orders snapshot 14400"
! grep -q 'topic="doomed"' "$TMP/metrics" || fail "deleted topic still exposed"
! grep -q 'topic="ok"' "$TMP/metrics" || fail "a rejected batch was partly applied"
grep -q '^timing_sidecar_events_rejected_total{.*reason="too_large"} 1' "$TMP/metrics" ||
  fail "too_large not counted"
grep -q '^timing_sidecar_series_removed_total{.*reason="deleted"} 13' "$TMP/metrics" ||
  fail "removed series not counted"
grep -q '^process_resident_memory_bytes ' "$TMP/metrics" || fail "no process metrics"

curl -sS --compressed -H 'Accept-Encoding: gzip' -D "$TMP/gzip-headers" -o "$TMP/gunzipped" \
  "$s_WEB/metrics"
grep -qi '^content-encoding: gzip' "$TMP/gzip-headers" || fail "no gzip when asked"
grep -q '^rocketmq_timing_messages{' "$TMP/gunzipped" || fail "gzip body"

[ "$(curl -sS "$s_WEB/v1/topics" | jq -c '[.topics[] | {name, pending}]')" = \
  '[{"name":"orders","pending":2}]' ] || fail "/v1/topics"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$s_WEB/healthz")" = 200 ] || fail healthz
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$s_WEB/readyz")" = 200 ] || fail readyz
# The web listener does not take events.
[ "$(curl -sS -o /dev/null -w '%{http_code}' -d '{}' "$s_WEB/v1/events")" = 404 ] ||
  fail "web listener accepted a POST"

kill -TERM "${PIDS[0]}"
wait "${PIDS[0]}" || fail "sidecar exited non-zero on SIGTERM"
grep -q 'msg="shutting down" signal=SIGTERM' "$TMP/s.log" || fail "no shutdown log line"
echo "sidecar_http: all checks passed"
