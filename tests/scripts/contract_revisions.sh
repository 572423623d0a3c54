#!/usr/bin/env bash
# Written from the README alone, over the real binary: revision knowledge only moves forward (a
# deletion reported again without a revision cannot let a stale topic.created through, in either
# order), and every reason the README documents for events_ignored_total and
# events_rejected_total is exposed from the start, at 0.
set -euo pipefail
SIDECAR=$1
source "$(dirname "$0")/lib.sh"

post() {
  local url=$1 body=$2
  [ "$(curl -sS -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$body" "$url/v1/events")" = 200 ] || fail "POST $body: $(cat "$TMP/body")"
}
sample() { # sample URL SERIES: the value of one sample, or "absent"
  curl -sS "$1/metrics" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "absent" }'
}

# The documented reasons, read from the README's metrics table and its table of refusals.
ignored=$(grep -E '^\| `timing_sidecar_events_ignored_total`' README.md | cut -d'|' -f5 |
  grep -oE '`[a-z_]+`' | tr -d '`')
rejected=$(sed -n '/^| refused | status |/,/^$/p' README.md | grep -oE '\| `[a-z_]+` \|$' |
  tr -d '`| ' | sort -u)
[ "$(wc -w <<<"$ignored")" -ge 4 ] || fail "README lists too few ignored reasons: $ignored"
[ "$(wc -w <<<"$rejected")" -ge 6 ] || fail "README lists too few rejected reasons: $rejected"

start_sidecar fresh
for reason in $ignored; do
  value=$(sample "$fresh_WEB" "timing_sidecar_events_ignored_total{reason=\"$reason\"}")
  [ "$value" = 0 ] || fail "events_ignored_total{reason=\"$reason\"} on a fresh sidecar: $value"
done
for reason in $rejected; do
  value=$(sample "$fresh_WEB" "timing_sidecar_events_rejected_total{reason=\"$reason\"}")
  [ "$value" = 0 ] || fail "events_rejected_total{reason=\"$reason\"} on a fresh sidecar: $value"
done

created='{"type":"topic.created","topic":"T","revision":1500}'
deleted='{"type":"topic.deleted","topic":"T","revision":1559}'
deleted_again='{"type":"topic.deleted","topic":"T"}'
stale_create='{"type":"topic.created","topic":"T","revision":1558}'
for order in "revisioned-first" "revisionless-first"; do
  start_sidecar "$(tr - _ <<<"$order")"
  url_var="$(tr - _ <<<"$order")_WEBHOOK"
  web_var="$(tr - _ <<<"$order")_WEB"
  post "${!url_var}" "$created"
  if [ "$order" = revisioned-first ]; then
    post "${!url_var}" "$deleted"
    post "${!url_var}" "$deleted_again"
  else
    post "${!url_var}" "$deleted_again"
    post "${!url_var}" "$deleted"
  fi
  post "${!url_var}" "$stale_create"
  [ "$(jq -c . "$TMP/body")" = '{"accepted":0,"ignored":1}' ] ||
    fail "$order: the stale create was not ignored: $(cat "$TMP/body")"
  [ "$(sample "${!web_var}" 'rocketmq_timing_messages{topic="T"}')" = absent ] ||
    fail "$order: a stale topic.created brought T back"
  value=$(sample "${!web_var}" 'timing_sidecar_events_ignored_total{reason="stale_revision"}')
  [ "$value" = 1 ] || fail "$order: stale_revision counted $value, want 1"
  echo "$order: T absent, stale_revision=1"
done
echo "contract_revisions: ignored reasons at 0: $(echo $ignored); rejected: $(echo $rejected)"
