#!/usr/bin/env bash
# tests/deploy/metrics.txt is what the alerts, recording rules and dashboard are checked against:
# here it is compared with what the real binary emits with every source and --state.dir on, both
# ways (a family missing from the list, a listed family the binary no longer has), types too.
set -euo pipefail
SIDECAR=$1
BROKER_SIM=$2
source "$(dirname "$0")/lib.sh"

"$BROKER_SIM" --listen 127.0.0.1:0 --port-file "$TMP/broker.port" 2>"$TMP/broker.log" &
PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$TMP/broker.port" ] && break; sleep 0.05; done
[ -s "$TMP/broker.port" ] || fail "broker-sim did not start"
broker="http://127.0.0.1:$(cat "$TMP/broker.port")"

start_sidecar s --broker.url "$broker" --topics.file tests/fixtures/topics.json \
  --timer-metrics.file tests/fixtures/timermetrics --topics.dashboard-url "$broker" \
  --state.dir "$TMP/state"
curl -sS "$s_WEB/metrics" >"$TMP/metrics"
sed -n 's/^# TYPE \([^ ]*\) \([^ ]*\)$/\1 \2/p' "$TMP/metrics" | sort >"$TMP/emitted"
# `up` is Prometheus's own series of each scrape target, listed for the rules that use it.
grep -vE '^(#|$|up )' tests/deploy/metrics.txt | sort >"$TMP/listed"
if ! diff -u "$TMP/listed" "$TMP/emitted" >"$TMP/diff"; then
  cat "$TMP/diff" >&2
  fail "tests/deploy/metrics.txt (-) and the families the binary emits (+) differ"
fi
echo "metrics_list: $(wc -l <"$TMP/emitted") families emitted, all listed with their types"
