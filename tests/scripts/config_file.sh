#!/usr/bin/env bash
# The --config file is TOML as TOML is written: a file with [web] and [webhook] tables starts the
# real binary on the addresses it names (real curl on both), a SIGHUP re-reads it, and a misspelt
# key stops the start with the file, line and column and the closest flag.
set -euo pipefail
SIDECAR=$1
source "$(dirname "$0")/lib.sh"

web_port=$(free_port)
webhook_port=$(free_port)
cat >"$TMP/tables.toml" <<TOML
# Tables, as a TOML writer would lay them out.
cluster = "tables-cluster"

[web]
listen-address = "127.0.0.1:$web_port"

[webhook]
listen-address = "127.0.0.1:$webhook_port"
max-body = "64KiB"

[log]
level = "info"
TOML
"$SIDECAR" --config "$TMP/tables.toml" 2>"$TMP/tables.log" &
pid=$!
PIDS+=("$pid")
for _ in $(seq 1 100); do
  curl -fsS -m 2 "http://127.0.0.1:$web_port/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$TMP/tables.log" >&2; fail "the sidecar exited"; }
  sleep 0.05
done
curl -fsS -m 2 "http://127.0.0.1:$web_port/healthz" >/dev/null ||
  { cat "$TMP/tables.log" >&2; fail "no /healthz on the [web] address 127.0.0.1:$web_port"; }
code=$(curl -sS -m 5 -o "$TMP/reply.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  --data '[{"type":"topic.created","topic":"from-tables"}]' \
  "http://127.0.0.1:$webhook_port/v1/events")
[ "$code" = 200 ] || fail "POST /v1/events on the [webhook] address answered $code: $(cat "$TMP/reply.json")"
curl -fsS -m 5 "http://127.0.0.1:$web_port/metrics" >"$TMP/metrics"
grep -q 'topic="from-tables"' "$TMP/metrics" || fail "the posted topic is not in /metrics"
grep -q 'cluster="tables-cluster"' "$TMP/metrics" || fail "the file's cluster label is missing"
code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary @<(head -c 70000 /dev/zero | tr '\0' ' ') "http://127.0.0.1:$webhook_port/v1/events")
[ "$code" = 413 ] || fail "a body over [webhook] max-body answered $code, not 413"
echo "ok: [web] and [webhook] tables: listening where the file says"

# SIGHUP re-reads the file: a changed [log] level is applied.
sed -i 's/^level = "info"/level = "debug"/' "$TMP/tables.toml"
kill -HUP "$pid"
for _ in $(seq 1 100); do
  grep -q 'msg="config reloaded" applied=--log.level' "$TMP/tables.log" && break
  sleep 0.05
done
grep -q 'msg="config reloaded" applied=--log.level' "$TMP/tables.log" ||
  { cat "$TMP/tables.log" >&2; fail "SIGHUP did not apply the file's new [log] level"; }
echo "ok: SIGHUP re-read the tables"

# A misspelt key: no start, and the message names the file, the line and the closest flag.
cat >"$TMP/typo.toml" <<'TOML'
cluster = "typo"
# the second key is misspelt
web.listen-adress = "127.0.0.1:19999"
TOML
status=0
"$SIDECAR" --config "$TMP/typo.toml" >"$TMP/typo.out" 2>"$TMP/typo.err" || status=$?
[ "$status" != 0 ] || fail "a misspelt key did not stop the start"
grep -q "$TMP/typo.toml:3:[0-9]*: unknown key web.listen-adress (did you mean web.listen-address?)" \
  "$TMP/typo.err" || { cat "$TMP/typo.err" >&2; fail "the error does not name file, line and suggestion"; }
echo "ok: $(head -1 "$TMP/typo.err")"
