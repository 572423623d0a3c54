#!/usr/bin/env bash
# Live reloads of a running sidecar, with real openssl and curl: a certificate rotated in place is
# presented at the next handshake, a broken one keeps the last good one and sets the reload gauge
# to 0, basic-auth users and webhook secrets rotate, and SIGHUP reloads --config without killing.
set -euo pipefail
SIDECAR=$1
source "$(dirname "$0")/lib.sh"

# A CA the clients trust throughout; the server certificates it signs carry chosen serials.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=reload-test-ca \
  -keyout "$TMP/ca.key" -out "$TMP/ca.crt" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$TMP/san.ext"
# issue SERIAL NAME: NAME.crt and NAME.key, a fresh key pair signed by the CA.
issue() {
  openssl req -new -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$TMP/$2.key" \
    -out "$TMP/$2.csr" 2>/dev/null
  openssl x509 -req -in "$TMP/$2.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" -set_serial "$1" \
    -days 2 -extfile "$TMP/san.ext" -out "$TMP/$2.crt" 2>/dev/null
}
# install NAME: NAME.crt and NAME.key renamed over the files the web config names.
install_pair() {
  cp "$TMP/$1.crt" "$TMP/server.crt.new" && mv "$TMP/server.crt.new" "$TMP/server.crt"
  cp "$TMP/$1.key" "$TMP/server.key.new" && mv "$TMP/server.key.new" "$TMP/server.key"
}
bcrypt() {
  python3 -c 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))' "$1" 2>/dev/null
}
# web_config USER PASSWORD: the web config, renamed into place.
web_config() {
  printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  %s: %s\n' \
    "$1" "'$(bcrypt "$2")'" >"$TMP/web.yml.new"
  mv "$TMP/web.yml.new" "$TMP/web.yml"
}
# eventually DESCRIPTION COMMAND...: COMMAND succeeds within 5 s, or the test fails.
eventually() {
  local what=$1
  shift
  for _ in $(seq 1 50); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  fail "$what (within 5 s)"
}

issue 0x1001 first
issue 0x2002 second
issue 0x3003 third
install_pair first
web_config alice alice-pw
printf 'old-secret\n' >"$TMP/secret"
cat >"$TMP/config.toml" <<'TOML'
log.level = "info"
log.format = "text"
TOML

start_sidecar s --config "$TMP/config.toml" --web.config.file "$TMP/web.yml" \
  --webhook.secret-file "$TMP/secret"
pid=${PIDS[-1]}
hostport=${s_WEB#https://}

serial() {
  openssl s_client -connect "$hostport" -CAfile "$TMP/ca.crt" </dev/null 2>/dev/null |
    openssl x509 -noout -serial | cut -d= -f2
}
get() { curl -sS --cacert "$TMP/ca.crt" -o "$TMP/body" -w '%{http_code}' "$@"; }
scrape() { get -u "${1:-alice}:${2:-alice-pw}" "$s_WEB/metrics" >/dev/null; }
gauge() {
  scrape "$@"
  sed -n 's/^timing_sidecar_config_last_reload_successful \(.*\)$/\1/p' "$TMP/body"
}
# Predicates for `eventually`, evaluated afresh at each try.
serial_is() { [ "$(serial)" = "$1" ]; }
gauge_is() { [ "$(gauge "${@:2}")" = "$1" ]; }
answers() { [ "$("${@:2}")" = "$1" ]; }

echo "== certificate rotation"
[ "$(serial)" = 1001 ] || fail "serial at start: $(serial)"
echo "serial before rotation: $(serial)"
install_pair second
eventually "the rotated certificate (serial 2002) at a new handshake" serial_is 2002
echo "serial after rotation: $(serial)"
eventually "reload gauge 1 after the rotation" gauge_is 1

echo "== broken certificate"
# Renaming the pair into place may have been seen half done (a key that does not match), once.
logged_before=$(grep -c 'msg="web config not reloaded' "$TMP/s.log" || true)
printf -- '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n' \
  >"$TMP/server.crt.new"
mv "$TMP/server.crt.new" "$TMP/server.crt"
eventually "reload gauge 0 after a broken certificate" gauge_is 0
[ "$(serial)" = 2002 ] || fail "a broken certificate replaced the good one: $(serial)"
scrape
grep '^timing_sidecar_config_last_reload' "$TMP/body" | tee "$TMP/broken.metrics"
sleep 2.5  # more than two looks at the unchanged broken file
[ "$(grep -c 'msg="web config not reloaded' "$TMP/s.log")" = $((logged_before + 1)) ] ||
  fail "the broken certificate is not logged exactly once: $(grep 'not reloaded' "$TMP/s.log")"
grep 'msg="web config not reloaded' "$TMP/s.log" | tail -1 | grep -q 'server.crt is not a PEM' ||
  fail "the log line does not name the certificate"

echo "== mismatched pair"
install_pair second
eventually "reload gauge 1 once the good pair is back" gauge_is 1
mismatches() { grep -c 'does not match certificate' "$TMP/s.log" || true; }
mismatches_before=$(mismatches)
cp "$TMP/third.crt" "$TMP/server.crt.new" && mv "$TMP/server.crt.new" "$TMP/server.crt"
mismatch_logged() { [ "$(mismatches)" -gt "$mismatches_before" ]; }
eventually "a key that does not match is reported" mismatch_logged
eventually "reload gauge 0 with a mismatched pair" gauge_is 0
[ "$(serial)" = 2002 ] || fail "a mismatched pair replaced the good one: $(serial)"
cp "$TMP/third.key" "$TMP/server.key.new" && mv "$TMP/server.key.new" "$TMP/server.key"
eventually "the fixed pair (serial 3003)" serial_is 3003
eventually "reload gauge back to 1" gauge_is 1

echo "== basic-auth users"
[ "$(get -u alice:alice-pw "$s_WEB/metrics")" = 200 ] || fail "alice before the change"
web_config bob bob-pw
eventually "bob accepted once added" answers 200 get -u bob:bob-pw "$s_WEB/metrics"
[ "$(get -u alice:alice-pw "$s_WEB/metrics")" = 401 ] || fail "alice still accepted once removed"
[ "$(gauge bob bob-pw)" = 1 ] || fail "reload gauge after the users changed"

echo "== webhook secrets"
body='{"type":"topic.created","topic":"rotated"}'
post_signed() {
  local now sig
  now=$(date +%s)
  sig=$(printf '%s' "$now.$body" | openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1)
  get -H 'Content-Type: application/json' -H "X-Timing-Signature: t=$now,v1=$sig" \
    --data-binary "$body" "$s_WEBHOOK/v1/events"
}
[ "$(post_signed old-secret)" = 200 ] || fail "old secret at start"
[ "$(post_signed new-secret)" = 401 ] || fail "new secret before it is added"
printf 'new-secret\nold-secret\n' >"$TMP/secret"
eventually "new secret once added" answers 200 post_signed new-secret
[ "$(post_signed old-secret)" = 200 ] || fail "old secret while both are listed"
printf 'new-secret\n' >"$TMP/secret"
eventually "old secret refused once removed" answers 401 post_signed old-secret
[ "$(post_signed new-secret)" = 200 ] || fail "new secret after the old one is removed"
"$SIDECAR" notify --url "$s_WEBHOOK" --cacert "$TMP/ca.crt" --secret-file "$TMP/secret" \
  --data "$body" >/dev/null || fail "notify with the rotated secret file"
! grep -q -- '-secret' "$TMP/s.log" || fail "a secret appears in the log"

echo "== SIGHUP"
unsigned() { get -H 'Content-Type: application/json' --data-binary "$body" "$s_WEBHOOK/v1/events"; }
[ "$(unsigned)" = 401 ] || fail "unsigned request"
! grep -q 'request rejected' "$TMP/s.log" || fail "a debug line at log level info"
printf 'log.level = "debug"\nlog.format = "json"\nmax-topics = 5\n' >"$TMP/config.toml"
kill -HUP "$pid"
eventually "the reload logged" grep -q '"msg":"config reloaded"' "$TMP/s.log"
kill -0 "$pid" 2>/dev/null || fail "SIGHUP ended the sidecar"
grep '"msg":"config reloaded"' "$TMP/s.log" | grep -q '"applied":"--log.level,--log.format"' ||
  fail "applied settings: $(grep 'config reloaded' "$TMP/s.log")"
grep -q '"msg":"config changes need a restart: left as they are until then","flags":"--max-topics"' \
  "$TMP/s.log" || fail "a setting that needs a restart is not reported"
[ "$(unsigned)" = 401 ] || fail "unsigned request after SIGHUP"
eventually "a debug line at the new log level" grep -q '"msg":"request rejected"' "$TMP/s.log"
[ "$(gauge bob bob-pw)" = 1 ] || fail "reload gauge after a good SIGHUP"

printf 'log.level = "verbose"\n' >"$TMP/config.toml"
kill -HUP "$pid"
eventually "a broken --config reported" grep -q '"msg":"config not reloaded: keeping the running one"' "$TMP/s.log"
kill -0 "$pid" 2>/dev/null || fail "SIGHUP with a broken config ended the sidecar"
[ "$(gauge bob bob-pw)" = 0 ] || fail "reload gauge after a broken --config"
printf 'log.level = "info"\n' >"$TMP/config.toml"
kill -HUP "$pid"
eventually "reload gauge back to 1 after the --config is fixed" gauge_is 1 bob bob-pw
kill -0 "$pid" 2>/dev/null || fail "the sidecar ended"
echo "reload: all checks passed"
