#!/usr/bin/env bash
# The container image: builds it with scripts/build-image.sh (podman's layer cache makes this
# seconds when an earlier run in the same CI job or session built the same sources), checks the
# archive --save writes, its labels and size, then runs it with podman on free loopback ports:
# posts events to the webhook, reads /metrics, /healthz and /readyz, checks that the process
# runs as uid 65532 (the manifests' runAsUser) and, on a read-only root filesystem, keeps its
# journal in the image's state volume, and that SIGTERM stops it cleanly within a second.
# CTest runs it as `bash tests/scripts/container_image.sh <timing-sidecar> <broker-sim>` from the
# repository root; the arguments are not used (the image builds its own binary). Exits 77, which
# tests/CMakeLists.txt declares as the skip code, where podman cannot run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/container/containers.conf}

skip() {
  echo "SKIP: $*"
  exit 77
}
for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null || skip "$tool not installed (scripts/setup.sh installs it)"
done
[ "$(id -u)" -eq 0 ] || skip "not root: the image is built and run with rootful podman"
podman info >/dev/null 2>&1 || skip "podman cannot run here: $(podman info 2>&1 | tail -n 1)"

source tests/scripts/lib.sh
name=timing-sidecar-test-$$
trap 'cleanup; podman rm -f -t 0 "$name" >/dev/null 2>&1 || true' EXIT
version=$(sed -n 's/^project(timing-sidecar VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
image=$(scripts/build-image.sh --print-image)
[[ "$image" == */timing-sidecar:"$version" ]] || fail "the script builds $image, not version $version"

echo "== scripts/build-image.sh --save"
started=$SECONDS
scripts/build-image.sh --save "$TMP/image.tar"
echo "build: $((SECONDS - started)) s"

echo "== the archive names the image"
repo_tags=$(tar -xOf "$TMP/image.tar" manifest.json | jq -c '[.[].RepoTags[]]')
[[ "$repo_tags" == "[\"$image\"]" ]] || fail "archive RepoTags $repo_tags, not [\"$image\"]"
echo "archive: $(stat -c %s "$TMP/image.tar") bytes, RepoTags $repo_tags"

echo "== labels, size, user"
label() { podman image inspect --format "{{index .Labels \"org.opencontainers.image.$1\"}}" "$image"; }
[[ "$(label version)" == "$version" ]] || fail "label version '$(label version)', not $version"
if git rev-parse HEAD >/dev/null 2>&1; then
  [[ "$(label revision)" == "$(git rev-parse HEAD)"* ]] || fail "label revision '$(label revision)'"
fi
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "image size: $size bytes uncompressed ($((size / 1000000)) MB)"
((size < 100000000)) || fail "the image is $size bytes, the goal is under 100 MB"
user=$(podman image inspect --format '{{.Config.User}}' "$image")
[[ "$user" == 65532:65532 ]] || fail "image user '$user', not 65532:65532 (the manifests' runAsUser)"
out=$(podman run --rm --network=host "$image" --version)
[[ "$out" == *"$version"* ]] || fail "--version in the image says '$out'"
echo "$out"

echo "== the broker plugin's jar, as the Kubernetes init container copies it"
jar=/usr/share/timing-sidecar/broker-plugin/timing-sidecar-rocketmq-plugin.jar
in_image=$(podman run --rm --network=host --entrypoint sha256sum "$image" "$jar" | cut -d' ' -f1)
built=$(sha256sum broker-plugin/target/timing-sidecar-rocketmq-plugin.jar | cut -d' ' -f1)
[[ -n "$in_image" && "$in_image" == "$built" ]] ||
  fail "$jar in the image ($in_image) is not the jar Maven built ($built)"
echo "$jar: the jar Maven built"

echo "== run it on free loopback ports"
# start_sidecar (lib.sh) runs $SIDECAR with its listen flags; podman run stays attached, passes
# the container's stderr through and forwards signals to it. Hardened as the manifests run it:
# read-only root filesystem, no capabilities, no privilege escalation.
cat >"$TMP/sidecar-in-container" <<EOF
#!/bin/sh
exec podman run --rm --name $name --network=host --read-only --cap-drop=all \\
  --security-opt=no-new-privileges $image "\$@"
EOF
chmod +x "$TMP/sidecar-in-container"
SIDECAR=$TMP/sidecar-in-container
start_sidecar box
echo "web $box_WEB, webhook $box_WEBHOOK"
pid=$(podman inspect --format '{{.State.Pid}}' "$name")
[[ "$(cat "/proc/$pid/comm")" == timing-sidecar ]] || fail "PID 1 of the container is $(cat "/proc/$pid/comm")"
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
[[ "$uid" == 65532 ]] || fail "the sidecar runs as uid $uid, not 65532"
echo "the sidecar is the container's PID 1 (host pid $pid) and runs as uid $uid"

for path in /healthz /readyz; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$box_WEB$path")
  [[ "$code" == 200 ]] || fail "GET $path: $code"
done
now_ms=$(($(date +%s) * 1000))
reply=$(curl -sf -H 'Content-Type: application/json' --data-binary @- "$box_WEBHOOK/v1/events" <<EOF
[{"type":"topic.created","topic":"orders"},
 {"type":"timer.enqueued","topic":"orders","id":"a","deliverAtMs":$((now_ms + 600000))},
 {"type":"timer.enqueued","topic":"orders","id":"b","deliverAtMs":$((now_ms + 600000))},
 {"type":"timer.enqueued","topic":"gone","id":"c","deliverAtMs":$((now_ms + 600000))},
 {"type":"topic.deleted","topic":"gone"}]
EOF
) || fail "POST /v1/events failed"
[[ "$reply" == '{"accepted":5,"ignored":0}' ]] || fail "POST /v1/events replied $reply"
curl -sf "$box_WEB/metrics" >"$TMP/metrics" || fail "GET /metrics failed"
grep -qx 'rocketmq_timing_messages{topic="orders"} 2' "$TMP/metrics" ||
  fail "no pending count 2 for orders: $(grep '^rocketmq_timing_messages' "$TMP/metrics")"
if grep -q 'topic="gone"' "$TMP/metrics"; then fail "the deleted topic still has series"; fi
journal=$(awk '$1 == "timing_sidecar_journal_bytes" {print $2}' "$TMP/metrics")
[[ -n "$journal" && "$journal" != 0 ]] || fail "no journal in the state volume (journal_bytes '$journal')"
echo "events applied; /metrics, /healthz, /readyz answer; journal $journal bytes in the volume"

echo "== SIGTERM"
# sent to the process itself, so that the time is the sidecar's, not the podman command's
started_ns=$(date +%s%N)
kill -TERM "$pid"
while [ -e "/proc/$pid" ] && (($(date +%s%N) - started_ns < 5000000000)); do sleep 0.01; done
stop_ms=$((($(date +%s%N) - started_ns) / 1000000))
[ ! -e "/proc/$pid" ] || fail "still running 5 s after SIGTERM"
echo "stopped $stop_ms ms after SIGTERM"
((stop_ms < 1000)) || fail "SIGTERM took $stop_ms ms, over a second"
status=0
wait "${PIDS[0]}" || status=$?
PIDS=()
[[ "$status" == 0 ]] || { cat "$TMP/box.log" >&2; fail "exit status $status after SIGTERM"; }
tail -n 2 "$TMP/box.log"

echo "container_image: all checks passed"
