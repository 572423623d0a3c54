#!/usr/bin/env bash
# systemd unit of timing-sidecar: the hardening directives the deployment relies on, the
# example config it starts with, `systemd-analyze verify` (warnings count as failures) and
# `systemd-analyze security --offline` under an exposure threshold, when systemd-analyze exists.
# CTest runs it as `bash tests/scripts/deploy_systemd.sh <timing-sidecar> <broker-sim>` from the
# repository root; the arguments are not needed here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/scripts/lib.sh
unit=deploy/systemd/timing-sidecar.service

echo "== directives"
"$PY" - "$unit" <<'PY'
import re
import sys

path = sys.argv[1]
entries = []  # (section, key, value)
section = None
for number, line in enumerate(open(path), 1):
    line = line.strip()
    if not line or line.startswith(("#", ";")):
        continue
    m = re.fullmatch(r"\[(\w+)\]", line)
    if m:
        section = m.group(1)
        continue
    key, sep, value = line.partition("=")
    if not sep or section is None:
        sys.exit(f"{path}:{number}: not a key=value line in a section: {line}")
    entries.append((section, key.strip(), value.strip()))

def values(section, key):
    return [v for s, k, v in entries if s == section and k == key]

required = {
    ("Service", "ExecStart"): "/usr/bin/timing-sidecar --config /etc/timing-sidecar/config.toml",
    ("Service", "Restart"): "on-failure",
    ("Service", "ExecReload"): "/bin/kill -HUP $MAINPID",
    ("Service", "DynamicUser"): "yes",
    ("Service", "StateDirectory"): "timing-sidecar",
    ("Service", "ProtectSystem"): "strict",
    ("Service", "ReadWritePaths"): "/var/lib/timing-sidecar",
    ("Service", "NoNewPrivileges"): "yes",
    ("Service", "PrivateTmp"): "yes",
    ("Service", "RestrictAddressFamilies"): "AF_INET AF_INET6 AF_UNIX",
    ("Service", "CapabilityBoundingSet"): "",
    ("Install", "WantedBy"): "multi-user.target",
}
errors = []
for (section, key), want in required.items():
    got = values(section, key)
    if want not in got:
        errors.append(f"[{section}] {key}={want} expected (found {got})")
if not set(values("Service", "ProtectHome")) & {"yes", "read-only", "tmpfs"}:
    errors.append("[Service] ProtectHome must be set")
if "yes" in values("Service", "ProtectHome"):
    errors.append("[Service] ProtectHome=yes hides /home/rocketmq/store: use read-only")
if "@system-service" not in values("Service", "SystemCallFilter"):
    errors.append("[Service] SystemCallFilter=@system-service expected")
if "pid" in values("Service", "ProcSubset"):
    errors.append("[Service] ProcSubset=pid hides /proc/stat (process_start_time_seconds)")
if values("Service", "User"):
    errors.append("[Service] User= conflicts with DynamicUser=yes")
for e in errors:
    print("ERROR:", e, file=sys.stderr)
print(f"{len(entries)} directives, {len(errors)} problems")
sys.exit(1 if errors else 0)
PY

echo "== the example config it starts with"
"$PY" tools/check_config.py --require topics.file --require timer-metrics.file --require broker.url \
  deploy/config.example.toml
# its state directory, when it sets one, is the unit's StateDirectory=
state=$(sed -n 's/^state\.dir *= *"\(.*\)"/\1/p' deploy/config.example.toml)
if [[ -n "$state" && "$state" != /var/lib/timing-sidecar ]]; then
  fail "state.dir $state is not the unit's StateDirectory /var/lib/timing-sidecar"
fi

if ! command -v systemd-analyze >/dev/null; then
  # ctest's skip code (SKIP_RETURN_CODE in tests/CMakeLists.txt): not run is not passed.
  echo "SKIP: systemd-analyze not installed (scripts/setup.sh installs systemd)"
  exit 77
fi

# verify wants ExecStart's binary to exist: point it at a stub, keep everything else
printf '#!/bin/sh\nexit 0\n' >"$TMP/timing-sidecar"
chmod +x "$TMP/timing-sidecar"
sed "s|^ExecStart=/usr/bin/timing-sidecar |ExecStart=$TMP/timing-sidecar |" "$unit" >"$TMP/timing-sidecar.service"
grep -q "^ExecStart=$TMP/timing-sidecar " "$TMP/timing-sidecar.service"

analyze_verify() {  # systemd-analyze verify exits 0 on unknown keys: any output is a failure
  local out
  out=$(systemd-analyze verify "$1" 2>&1) || { echo "$out" >&2; return 1; }
  [[ -z "$out" ]] || { echo "$out" >&2; return 1; }
}

echo "== systemd-analyze verify"
analyze_verify "$TMP/timing-sidecar.service"
echo "verify: clean"

echo "== verify does catch a broken unit"
mkdir -p "$TMP/broken"
sed 's/^ProtectSystem=strict/ProtectSytem=strict/' "$TMP/timing-sidecar.service" >"$TMP/broken/timing-sidecar.service"
if analyze_verify "$TMP/broken/timing-sidecar.service" 2>/dev/null; then
  fail "a misspelt directive passed verify"
fi

echo "== systemd-analyze security (offline): exposure at most 2.0"
systemd-analyze security --offline=yes --threshold=20 "$TMP/timing-sidecar.service" | tail -n 1
echo "== and a unit without the hardening is over that threshold"
grep -E '^(\[|ExecStart=|Restart=|Description=|WantedBy=)' "$TMP/timing-sidecar.service" >"$TMP/broken/timing-sidecar.service"
if systemd-analyze security --offline=yes --threshold=20 "$TMP/broken/timing-sidecar.service" >/dev/null 2>&1; then
  fail "an unhardened unit passed the exposure threshold"
fi

echo "deploy_systemd: all checks passed"
