#!/usr/bin/env bash
# Tombstones expire (README, "Tombstones"), checked over the real binary: 100,000 churned topics
# (one timing message each, then deleted) leave 100,000 tombstones; a late event inside
# --tombstone.retention is still ignored; a few seconds later none is left and resident memory
# has not grown with them; a live topic's counts are untouched throughout.
set -euo pipefail
SIDECAR=$1
source "$(dirname "$0")/lib.sh"

start_sidecar s --tombstone.retention 2s --reconcile.interval 500ms --webhook.max-body 8MiB
sample() {
  curl -sS "$s_WEB/metrics" | awk -v s="$1" '$1 == s { print $2; found = 1 } END { if (!found) print "absent" }'
}
post() {
  [ "$(curl -sS -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$1" "$s_WEBHOOK/v1/events")" = 200 ] || fail "POST $1: $(cat "$TMP/body")"
}
now_ms=$(($(date +%s) * 1000))
printf '[%s]' "$(for i in 1 2 3; do
  printf '{"type":"timer.enqueued","topic":"live","id":"L%d","deliverAtMs":%d}\n' "$i" $((now_ms + 3600000))
done | paste -sd,)" >"$TMP/live.json"
post "$TMP/live.json"

# Ten batches of 10,000 topics, written first so that the churn itself takes well under 2 s.
python3 - "$TMP" "$now_ms" <<'PY'
import json, sys
tmp, now = sys.argv[1], int(sys.argv[2])
for batch in range(10):
    events = []
    for i in range(10000):
        topic = f"churn-{batch}-{i}"
        events.append({"type": "timer.enqueued", "topic": topic, "id": "m", "deliverAtMs": now + 600000})
        events.append({"type": "topic.deleted", "topic": topic})
    with open(f"{tmp}/churn-{batch}.json", "w") as out:
        json.dump(events, out)
PY
rss_before=$(sample process_resident_memory_bytes)
start=$(date +%s%N)
for batch in $(seq 0 9); do post "$TMP/churn-$batch.json"; done
churn_ms=$((($(date +%s%N) - start) / 1000000))
# Late: the broker's timer wheel delivers a message of a topic deleted a moment ago.
printf '{"type":"timer.dequeued","topic":"churn-9-9999","id":"m"}' >"$TMP/late.json"
post "$TMP/late.json"
[ "$(jq -c . "$TMP/body")" = '{"accepted":0,"ignored":1}' ] ||
  fail "a late event inside the retention was not ignored: $(cat "$TMP/body")"
tombstones=$(sample timing_sidecar_tombstones)
expired=$(sample timing_sidecar_tombstones_expired_total)
echo "churned 100000 topics in ${churn_ms} ms: tombstones=$tombstones expired=$expired"
# Every churned topic is either still remembered or expired, never lost or kept twice.
[ "$((${tombstones%.*} + ${expired%.*}))" = 100000 ] ||
  fail "tombstones $tombstones + expired $expired != 100000"
if [ "$churn_ms" -lt 1500 ]; then
  [ "${tombstones%.*}" = 100000 ] || fail "tombstones right after the churn: $tombstones"
fi

for _ in $(seq 1 100); do
  [ "$(sample timing_sidecar_tombstones)" = 0 ] && break
  sleep 0.1
done
tombstones=$(sample timing_sidecar_tombstones)
[ "$tombstones" = 0 ] || fail "tombstones 10 s after the churn: $tombstones"
[ "$(sample timing_sidecar_tombstones_expired_total)" = 100000 ] ||
  fail "expired_total $(sample timing_sidecar_tombstones_expired_total), want 100000"
[ "$(sample 'rocketmq_timing_messages{topic="live"}')" = 3 ] || fail "live topic pending changed"
[ "$(sample 'rocketmq_timer_enqueue_total{topic="live"}')" = 3 ] || fail "live topic enqueued"
# Past the retention the same late event starts a new life: the documented cost of forgetting.
post "$TMP/late.json"
[ "$(jq -c . "$TMP/body")" = '{"accepted":1,"ignored":0}' ] ||
  fail "an event past the retention was not applied: $(cat "$TMP/body")"
echo "tombstone_retention: 0 tombstones after expiry; rss before=$rss_before after=$(sample process_resident_memory_bytes)"
