#!/usr/bin/env bash
# The shipped configs really start the sidecar: deploy/config.example.toml (the .deb's
# /etc/timing-sidecar/config.toml) and the Kubernetes ConfigMap's config.toml are given to the
# built binary (first argument), with only the listen addresses moved to free loopback ports and
# the store paths pointed at the sample store tests/deploy/store. It must accept every key, come
# up (/healthz) and serve /metrics with the configured labels; a config with a key the binary
# does not know must be refused (so acceptance means something).
# CTest runs it as `bash tests/scripts/deploy_config.sh <timing-sidecar> <broker-sim>` from the
# repository root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/scripts/lib.sh
binary=${1:-}
if [[ -z "$binary" ]]; then
  echo "usage: $0 <timing-sidecar binary> [broker-sim]  (CTest passes it)" >&2
  exit 2
fi
[[ -x "$binary" ]] || fail "$binary is not an executable"


# the ConfigMap's config.toml as a file
"$PY" - deploy/kubernetes/configmap.yaml "$TMP/configmap.toml" <<'PY'
import sys

import yaml

for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc["kind"] == "ConfigMap" and "config.toml" in (doc.get("data") or {}):
        open(sys.argv[2], "w").write(doc["data"]["config.toml"])
        break
else:
    sys.exit("no ConfigMap with config.toml")
PY

store=$PWD/tests/deploy/store
run_config() {  # $1: name, $2: config file, $3...: extra flags
  local name=$1 config=$2 web hook dead
  shift 2
  web=$(free_port); hook=$(free_port); dead=$(free_port)
  # keep every key, move only what must differ on a test machine
  sed -e "s|^web.listen-address = .*|web.listen-address = \"127.0.0.1:$web\"|" \
      -e "s|^webhook.listen-address = .*|webhook.listen-address = \"127.0.0.1:$hook\"|" \
      -e "s|^broker.url = .*|broker.url = \"http://127.0.0.1:$dead\"|" \
      -e "s|/home/rocketmq/store|$store|g" \
      -e "s|^state.dir = .*|state.dir = \"$TMP/state\"|" \
      "$config" >"$TMP/$name.run.toml"
  for key in web.listen-address webhook.listen-address broker.url topics.file; do
    grep -q "^$key = " "$TMP/$name.run.toml" || fail "$name sets no $key"
  done
  mkdir -p "$TMP/state"
  "$binary" --config "$TMP/$name.run.toml" "$@" >"$TMP/$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  local up=0
  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$TMP/$name.log" >&2; fail "timing-sidecar exited with the $name config"
    fi
    if curl -fsS -m 2 "http://127.0.0.1:$web/healthz" >/dev/null 2>&1; then up=1; break; fi
    sleep 0.2
  done
  [[ $up == 1 ]] || { cat "$TMP/$name.log" >&2; fail "no /healthz within 20s ($name)"; }
  curl -fsS -m 5 "http://127.0.0.1:$web/metrics" >"$TMP/$name.metrics"
  grep -q '^timing_sidecar_build_info{' "$TMP/$name.metrics" \
    || fail "/metrics has no timing_sidecar_build_info ($name)"
  grep -q 'cluster="DefaultCluster"' "$TMP/$name.metrics" \
    || fail "the config's cluster label is not on the series ($name)"
  kill "$pid"
  wait "$pid" || true
  echo "ok: $name config: accepted, /healthz up, /metrics served with its labels"
}

echo "== deploy/config.example.toml"
run_config example deploy/config.example.toml
echo "== the Kubernetes ConfigMap's config.toml (with --node-id as the pod passes it)"
run_config configmap "$TMP/configmap.toml" --node-id=rocketmq-broker-0
grep -q 'node_id="rocketmq-broker-0"' "$TMP/configmap.metrics" \
  || fail "--node-id from the pod args is not on the series"

echo "== a key the binary does not know is refused"
printf 'web.listen-addres = "127.0.0.1:1"\n' >"$TMP/typo.toml"
if "$binary" --config "$TMP/typo.toml" >"$TMP/typo.log" 2>&1; then
  fail "timing-sidecar accepted an unknown config key"
fi

echo "deploy_config: all checks passed"
