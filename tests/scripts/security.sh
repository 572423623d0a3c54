#!/usr/bin/env bash
# TLS, basic auth and signed webhooks against real curl; refusals at start; idle connections.
set -euo pipefail
SIDECAR=$1
source "$(dirname "$0")/lib.sh"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/server.key" -out "$TMP/server.crt" 2>/dev/null
hash=$(python3 -c 'import crypt; print(crypt.crypt("scrape-pw", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))' 2>/dev/null)
cat >"$TMP/web.yml" <<YAML
tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  prometheus: '$hash'
YAML
printf 'webhook-secret\n' >"$TMP/secret"

start_sidecar s --web.config.file "$TMP/web.yml" --webhook.secret-file "$TMP/secret"
[[ $s_WEB == https://* && $s_WEBHOOK == https://* ]] || fail "listeners are not TLS: $s_WEB"
get() { curl -sS --cacert "$TMP/server.crt" -o "$TMP/body" -w '%{http_code}' "$@"; }

[ "$(get "$s_WEB/metrics")" = 401 ] || fail "/metrics without credentials"
[ "$(get -u prometheus:wrong "$s_WEB/metrics")" = 401 ] || fail "/metrics with a wrong password"
[ "$(get -u prometheus:scrape-pw "$s_WEB/metrics")" = 200 ] || fail "/metrics with credentials"
[ "$(get -u prometheus:scrape-pw "$s_WEB/v1/topics")" = 200 ] || fail "/v1/topics with credentials"
[ "$(get "$s_WEB/v1/topics")" = 401 ] || fail "/v1/topics without credentials"
[ "$(get "$s_WEB/healthz")" = 200 ] || fail "/healthz must stay open for probes"
curl -sS -o /dev/null "http://${s_WEB#https://}/healthz" 2>/dev/null && fail "plain HTTP answered"

body='{"type":"topic.created","topic":"signed-topic"}'
post() { get -H 'Content-Type: application/json' --data-binary "$body" "$@" "$s_WEBHOOK/v1/events"; }
[ "$(post)" = 401 ] || fail "unsigned webhook"
grep -q 'missing X-Timing-Signature' "$TMP/body" || fail "reason for unsigned: $(cat "$TMP/body")"
[ "$(post -H 'X-Timing-Signature: nonsense')" = 401 ] || fail "malformed signature"
now=$(date +%s)
sig=$(printf '%s' "$now.$body" | openssl dgst -sha256 -hmac wrong-secret -r | cut -d' ' -f1)
[ "$(post -H "X-Timing-Signature: t=$now,v1=$sig")" = 401 ] || fail "wrong secret"
old=$((now - 3600))
sig=$(printf '%s' "$old.$body" | openssl dgst -sha256 -hmac webhook-secret -r | cut -d' ' -f1)
[ "$(post -H "X-Timing-Signature: t=$old,v1=$sig")" = 401 ] || fail "stale timestamp"
grep -q 'outside --webhook.tolerance' "$TMP/body" || fail "reason for stale: $(cat "$TMP/body")"
[ "$(get -u prometheus:scrape-pw "$s_WEB/v1/topics"; jq -c .topics "$TMP/body")" = '200[]' ] ||
  fail "a refused request changed state"

sig=$(printf '%s' "$now.$body" | openssl dgst -sha256 -hmac webhook-secret -r | cut -d' ' -f1)
[ "$(post -H "X-Timing-Signature: t=$now,v1=$sig")" = 200 ] || fail "signed with openssl"
"$SIDECAR" notify --url "$s_WEBHOOK" --cacert "$TMP/server.crt" --secret-file "$TMP/secret" \
  --data '{"type":"timer.enqueued","topic":"signed-topic","id":"m1","deliverAtMs":'"$(((now + 60) * 1000))"'}' \
  >"$TMP/notify.out" || fail "notify: $(cat "$TMP/notify.out")"
get -u prometheus:scrape-pw "$s_WEB/metrics" >/dev/null
grep -q '^rocketmq_timing_messages{topic="signed-topic"} 1' "$TMP/body" || fail "signed events not applied"
grep -q 'timing_sidecar_events_rejected_total{reason="unauthorized"} 4' "$TMP/body" ||
  fail "unauthorized requests not counted"
! grep -q 'webhook-secret' "$TMP/s.log" || fail "the secret appears in the log"

# 64 idle connections must not stop /metrics from answering within a second.
for _ in $(seq 1 64); do exec {fd}<>"/dev/tcp/127.0.0.1/${s_WEB##*:}"; done
for _ in 1 2 3; do
  curl -sS --max-time 1 --cacert "$TMP/server.crt" -u prometheus:scrape-pw -o /dev/null \
    "$s_WEB/metrics" || fail "/metrics did not answer within 1 s beside 64 idle connections"
done

# Refusals at start, with a message naming the cause.
if "$SIDECAR" --webhook.listen-address 0.0.0.0:0 --web.listen-address 127.0.0.1:0 2>"$TMP/refused"; then
  fail "an unsigned webhook on a non-loopback address started"
fi
grep -q 'is not loopback: give --webhook.secret-file' "$TMP/refused" || fail "$(cat "$TMP/refused")"
printf 'tls_server_config:\n  cert_file: x\n  key_file: y\n  min_version: TLS13\n' >"$TMP/bad.yml"
if "$SIDECAR" --web.config.file "$TMP/bad.yml" --web.listen-address 127.0.0.1:0 \
  --webhook.listen-address 127.0.0.1:0 2>"$TMP/refused"; then
  fail "an unsupported web config setting was accepted"
fi
grep -q 'tls_server_config.min_version is not supported' "$TMP/refused" || fail "$(cat "$TMP/refused")"
echo "security: all checks passed"
