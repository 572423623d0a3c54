#!/usr/bin/env bash
# YAML of the deployment artifacts: yamllint (deploy/.yamllint, warnings count), the Kubernetes
# manifests' cross references (tools/check_k8s.py), the sidecar's TOML configs
# (tools/check_config.py), and that the checker rejects deliberately broken copies.
# CTest runs it as `bash tests/scripts/deploy_yaml.sh <timing-sidecar> <broker-sim>` from the
# repository root; the arguments are not needed here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/scripts/lib.sh
"$PY" -c 'import yaml, tomllib' || fail "python3 >= 3.11 with PyYAML needed (python3-yaml)"
need yamllint

echo "== yamllint"
yamllint --strict -c deploy/.yamllint deploy dashboards/provisioning tests/deploy
echo "yamllint: clean"

echo "== the lint does catch problems"
printf -- '---\nkey: value\nkey: again\nlist:\n- a\n' >"$TMP/bad.yaml"
if yamllint --strict -c deploy/.yamllint "$TMP/bad.yaml" >/dev/null; then
  fail "yamllint accepted duplicate keys"
fi

echo "== sidecar TOML configs"
"$PY" tools/check_config.py --require topics.file --require timer-metrics.file --require broker.url \
  --require cluster deploy/config.example.toml

echo "== Kubernetes manifests, naming the image scripts/build-image.sh builds"
image=$(scripts/build-image.sh --print-image)
"$PY" tools/check_k8s.py --sidecar-image "$image" deploy/kubernetes

echo "== the checker rejects broken manifests"
# mutate NAME 'python statements on docs' 'expected message': docs = every YAML document of the
# copied deploy/kubernetes, by kind; helpers sts (the StatefulSet), pod, sidecar, broker.
mutate() {
  local name=$1 code=$2 expect=$3
  rm -rf "$TMP/k8s"
  cp -r deploy/kubernetes "$TMP/k8s"
  "$PY" - "$TMP/k8s" "$code" <<'PY'
import glob
import sys

import yaml

files = {p: list(yaml.safe_load_all(open(p))) for p in glob.glob(sys.argv[1] + "/*.yaml")}
docs = [d for ds in files.values() for d in ds if d]
def one(kind, name=None):
    return next(d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name))
sts = one("StatefulSet")
pod = sts["spec"]["template"]["spec"]
sidecar = next(c for c in pod["containers"] if c["name"] == "timing-sidecar")
broker = next(c for c in pod["containers"] if c["name"] == "broker")
exec(sys.argv[2])
for p, ds in files.items():
    with open(p, "w") as f:
        yaml.safe_dump_all(ds, f, sort_keys=False)
PY
  if "$PY" tools/check_k8s.py --sidecar-image "$image" "$TMP/k8s" >"$TMP/out" 2>&1; then
    cat "$TMP/out" >&2; fail "check_k8s.py accepted: $name"
  fi
  if ! grep -qF -- "$expect" "$TMP/out"; then
    cat "$TMP/out" >&2; fail "$name: rejected, but without '$expect':"
  fi
  echo "ok: rejected: $name"
}
# control: an unmodified round-trip copy passes
mutate_ok() {
  rm -rf "$TMP/k8s"; cp -r deploy/kubernetes "$TMP/k8s"
  "$PY" tools/check_k8s.py --sidecar-image "$image" "$TMP/k8s" >/dev/null
}
mutate_ok
mutate "liveness probe on an undeclared port name" \
  'sidecar["livenessProbe"]["httpGet"]["port"] = "metricz"' "livenessProbe.httpGet.port 'metricz'"
mutate "readiness probe on an undeclared port number" \
  'sidecar["readinessProbe"]["httpGet"]["port"] = 9999' "readinessProbe.httpGet.port 9999"
mutate "broker probe on another container's port" \
  'broker["readinessProbe"]["tcpSocket"]["port"] = "metrics"' "readinessProbe.tcpSocket.port 'metrics'"
mutate "volumeMount of an undeclared volume" \
  'sidecar["volumeMounts"][2]["name"] = "state"' "volumeMount 'state'"
mutate "configMap volume of an undefined ConfigMap" \
  'pod["volumes"][1]["configMap"]["name"] = "timing-sidecar-conf"' "ConfigMap 'timing-sidecar-conf' is not defined"
mutate "Service targetPort that no container declares" \
  'one("Service", "rocketmq-broker-timing-sidecar")["spec"]["ports"][0]["targetPort"] = "metric"' "targetPort 'metric'"
mutate "Service selector matching no pod" \
  'one("Service", "rocketmq-broker-timing-sidecar")["spec"]["selector"]["app.kubernetes.io/instance"] = "other"' "matches no pod template"
mutate "PodMonitor port that no container declares" \
  'one("PodMonitor")["spec"]["podMetricsEndpoints"][0]["port"] = "http-metrics"' "port 'http-metrics'"
mutate "StatefulSet selector not matching its pod labels" \
  'sts["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = "broker"' "does not match the pod template labels"
mutate "prometheus.io/port annotation on no container port" \
  'sts["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] = "9090"' "prometheus.io/port '9090'"
mutate "sidecar with a writable root filesystem" \
  'sidecar["securityContext"]["readOnlyRootFilesystem"] = False' "readOnlyRootFilesystem must be true"
mutate "sidecar writing to the broker store" \
  'del sidecar["volumeMounts"][0]["readOnly"]' "must be mounted readOnly"
mutate "sidecar without memory limit" \
  'del sidecar["resources"]["limits"]["memory"]' "resources.limits.memory"
mutate "\$(POD_NAME) without the env var" \
  'sidecar["env"] = []' "\$(POD_NAME)"
mutate "a typo in the sidecar's TOML" \
  'cm = one("ConfigMap", "timing-sidecar-config"); cm["data"]["config.toml"] = cm["data"]["config.toml"].replace("topics.file", "topic.file")' \
  "unknown key 'topic.file'"
mutate "metrics address on loopback" \
  'cm = one("ConfigMap", "timing-sidecar-config"); cm["data"]["config.toml"] = cm["data"]["config.toml"].replace("0.0.0.0:9877", "127.0.0.1:9877")' \
  "is loopback"
mutate "topics.file outside the mounted store" \
  'cm = one("ConfigMap", "timing-sidecar-config"); cm["data"]["config.toml"] = cm["data"]["config.toml"].replace("/home/rocketmq/store/config/topics.json", "/opt/rocketmq/store/config/topics.json")' \
  "is on no volumeMount"
mutate "--config path missing from the ConfigMap" \
  'sidecar["args"][0] = "--config=/etc/timing-sidecar/sidecar.toml"' "no such file in ConfigMap"
mutate "StatefulSet governed by an undefined Service" \
  'sts["spec"]["serviceName"] = "broker"' "serviceName 'broker'"
mutate "sidecar image of another version" \
  'sidecar["image"] = sidecar["image"].rsplit(":", 1)[0] + ":0.0.1"' "the image scripts/build-image.sh builds"
mutate "sidecar image by its bare name (Kubernetes reads docker.io/library/...)" \
  'sidecar["image"] = sidecar["image"].split("/", 1)[1]' "the image scripts/build-image.sh builds"

echo "deploy_yaml: all checks passed"
