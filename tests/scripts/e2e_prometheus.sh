#!/usr/bin/env bash
# End to end with the real Prometheus: three broker-sims, three sidecars tailing them (a cluster),
# one Prometheus scraping all three every second with the rules in deploy/prometheus/. Checks the
# series against the brokers' truth, that a deleted topic leaves an instant query within two
# scrape intervals, on one broker and across the cluster, that `up` stayed 1, and that every
# dashboard panel's query parses and returns data.
set -euo pipefail
SIDECAR=$1
BROKER_SIM=$2
REPO=$(pwd)
source "$(dirname "$0")/lib.sh"
SCRAPE_S=1

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: polls until COMMAND succeeds
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq 1 $((seconds * 10))); do
    "$@" && return 0
    sleep 0.1
  done
  fail "timed out after ${seconds}s waiting for $what"
}
now_ms() { date +%s%3N; }

declare -A BROKER
for node in a b c; do
  "$BROKER_SIM" --listen 127.0.0.1:0 --port-file "$TMP/broker-$node.port" 2>"$TMP/broker-$node.log" &
  PIDS+=($!)
  wait_for 10 "broker-sim $node" test -s "$TMP/broker-$node.port"
  BROKER[$node]="http://127.0.0.1:$(cat "$TMP/broker-$node.port")"
done
admin() { curl -sS --fail -H 'Content-Type: application/json' "$@"; }
enqueue() {  # enqueue NODE TOPIC DELAY_MS -> prints the id
  admin -d "{\"topic\":\"$2\",\"delayMs\":$3}" "${BROKER[$1]}/admin/enqueue" | jq -r .id
}
for node in a b c; do
  for topic in orders shared; do admin -d "{\"name\":\"$topic\"}" "${BROKER[$node]}/admin/topics" >/dev/null; done
  for _ in 1 2; do enqueue "$node" shared 300000 >/dev/null; done
done
for _ in 1 2 3 4 5; do enqueue a orders 600000 >/dev/null; done
for _ in 1 2 3; do enqueue a payments 7200000 >/dev/null; done
enqueue a doomed 60000 >/dev/null
short_id=$(enqueue a orders 1500)
enqueue b stuck 500 >/dev/null  # never dequeued: overdue once --overdue.grace passes

declare -A WEB
for node in a b c; do
  start_sidecar "s$node" --broker.url "${BROKER[$node]}" --cluster e2e --node-id "broker-$node" \
    --broker.resync-interval 2s --reconcile.interval 1s --overdue.grace 1s
  web_var="s${node}_WEB"
  WEB[$node]=${!web_var}
done

PROM_PORT=$(free_port)
PROM="http://127.0.0.1:$PROM_PORT"
cat >"$TMP/prometheus.yml" <<YAML
global:
  scrape_interval: ${SCRAPE_S}s
  evaluation_interval: ${SCRAPE_S}s
rule_files:
  - $REPO/deploy/prometheus/alerts.yml
  - $REPO/deploy/prometheus/recording.yml
scrape_configs:
  - job_name: timing-sidecar
    static_configs:
      - targets: ['${WEB[a]#http://}', '${WEB[b]#http://}', '${WEB[c]#http://}']
YAML
promtool check config "$TMP/prometheus.yml" >/dev/null
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" 2>"$TMP/prometheus.log" &
PIDS+=($!)
started_s=$(date +%s)
wait_for 30 "Prometheus ready" curl -sf "$PROM/-/ready" -o /dev/null

query() { curl -sS -G --data-urlencode "query=$1" "$PROM/api/v1/query"; }
values() { query "$1" | jq -c '[.data.result[] | .value[1] | tonumber]'; }
is() { [ "$(values "$1")" = "$2" ]; }

wait_for 30 "all three sidecars up" is 'count(up{job="timing-sidecar"} == 1)' '[3]'
wait_for 30 "orders on broker-a" is 'rocketmq_timing_messages{node_id="broker-a",topic="orders"}' '[6]'

# Every topic of broker a equals the broker's own truth.
admin "${BROKER[a]}/admin/truth" >"$TMP/truth-a.json"
for topic in $(jq -r '.topics | keys[]' "$TMP/truth-a.json"); do
  want=$(jq ".topics[\"$topic\"].pending" "$TMP/truth-a.json")
  is "rocketmq_timing_messages{node_id=\"broker-a\",topic=\"$topic\"}" "[$want]" ||
    fail "$topic: Prometheus has $(values "rocketmq_timing_messages{node_id=\"broker-a\",topic=\"$topic\"}"), broker has $want"
done

# A delivery (lateness histogram) and a rejected webhook request, for the dashboard's panels.
sleep 1.6
admin -d "{\"topic\":\"orders\",\"id\":\"$short_id\"}" "${BROKER[a]}/admin/dequeue" >/dev/null
curl -sS -o /dev/null -d '{"type":"nope"}' "$sa_WEBHOOK/v1/events"

# A topic deleted on one broker leaves the instant query within two scrape intervals.
wait_for 10 "doomed visible" is 'count(rocketmq_timing_messages{topic="doomed"})' '[1]'
deleted_ms=$(now_ms)
admin -X DELETE "${BROKER[a]}/admin/topics/doomed" >/dev/null
wait_for 10 "doomed gone" is 'count(rocketmq_timing_messages{topic="doomed"})' '[]'
gone_ms=$(($(now_ms) - deleted_ms))
echo "single broker: deleted topic gone from Prometheus after ${gone_ms} ms"
[ "$gone_ms" -le $((2 * SCRAPE_S * 1000)) ] || fail "took ${gone_ms} ms, more than two scrape intervals"

# Across the cluster: deleted on every broker, gone from the aggregate.
is 'sum by (topic) (rocketmq_timing_messages{topic="shared"})' '[6]' || fail "shared sum"
# Timed from when the last broker has deleted it: before that the topic still exists somewhere.
for node in a b c; do admin -X DELETE "${BROKER[$node]}/admin/topics/shared" >/dev/null; done
deleted_ms=$(now_ms)
wait_for 10 "shared gone" is 'sum by (topic) (rocketmq_timing_messages{topic="shared"})' '[]'
gone_ms=$(($(now_ms) - deleted_ms))
echo "cluster: deleted topic gone from the sum after ${gone_ms} ms"
[ "$gone_ms" -le $((2 * SCRAPE_S * 1000)) ] || fail "took ${gone_ms} ms, more than two scrape intervals"
is 'sum by (node_id) (rocketmq_timing_messages_overdue{topic="stuck"})' '[1]' || fail "stuck not overdue"

# Give rate() windows enough samples, then every dashboard query must parse and return data.
while [ $(($(date +%s) - started_s)) -lt 15 ]; do sleep 1; done
python3 "$REPO/tools/dashboard_queries.py" "$REPO/dashboards/timing-sidecar.json" \
  --rate-interval 10s --interval 1s --range 1m --with-titles >"$TMP/queries.tsv"
checked=0
while IFS=$'\t' read -r title expr; do
  reply=$(query "$expr")
  [ "$(jq -r .status <<<"$reply")" = success ] || fail "panel '$title': $expr: $reply"
  [ "$(jq '.data.result | length' <<<"$reply")" -gt 0 ] || fail "panel '$title' returned no data: $expr"
  checked=$((checked + 1))
done <"$TMP/queries.tsv"
[ "$checked" -gt 0 ] || fail "no dashboard queries"
echo "dashboard: $checked panel queries returned data"

# `up` stayed 1 throughout, for all three.
window=$(($(date +%s) - started_s))
is "min_over_time(up{job=\"timing-sidecar\"}[${window}s])" '[1,1,1]' || fail "up was not 1 throughout"
echo "e2e_prometheus: all checks passed"
