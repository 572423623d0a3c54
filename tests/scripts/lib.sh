# Shared by the script tests: start a sidecar on free loopback ports and clean up after it.
# Sourced, not run (CTest runs only the *.sh files that do not start with "lib").

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# need TOOL...: fails naming each tool the test needs that is missing; scripts/setup.sh installs
# them all, so a missing one is a broken setup, not a reason to skip.
need() {
  local tool
  for tool; do command -v "$tool" >/dev/null || fail "$tool not found (scripts/setup.sh installs it)"; done
}

# Debian's python3 (with python3-yaml beside it) starts faster than a pyenv one found first.
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

# free_port: a loopback port nobody listens on now.
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_sidecar NAME ARGS...: starts the sidecar with ports chosen by the kernel and sets
# ${NAME}_WEB and ${NAME}_WEBHOOK to their base URLs, read from its start-up log line.
start_sidecar() {
  local name=$1
  shift
  "$SIDECAR" --web.listen-address 127.0.0.1:0 --webhook.listen-address 127.0.0.1:0 \
    "$@" 2>"$TMP/$name.log" &
  PIDS+=($!)
  local line=""
  for _ in $(seq 1 100); do
    line=$(grep -m1 'msg="timing-sidecar started"' "$TMP/$name.log" || true)
    [ -n "$line" ] && break
    sleep 0.05
  done
  [ -n "$line" ] || { cat "$TMP/$name.log" >&2; fail "sidecar $name did not start"; }
  printf -v "${name}_WEB" '%s' "$(sed -E 's/.* web=([^ ]+).*/\1/' <<<"$line")"
  printf -v "${name}_WEBHOOK" '%s' "$(sed -E 's/.* webhook=([^ ]+).*/\1/' <<<"$line")"
}
