#!/usr/bin/env bash
# Prometheus rules of timing-sidecar: syntax (promtool check), behaviour (promtool test rules on
# tests/deploy/*_test.yml), conventions (every alert has for/severity/summary/description and a
# firing and a quiet test case), metric names, and that the unit tests do catch a broken rule.
# CTest runs it as `bash tests/scripts/deploy_rules.sh <timing-sidecar> <broker-sim>` from the
# repository root; the arguments are not needed here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/scripts/lib.sh
"$PY" -c 'import yaml' || fail "python3 with PyYAML needed (Debian package python3-yaml)"

need promtool

rules=(deploy/prometheus/alerts.yml deploy/prometheus/recording.yml)
tests=(tests/deploy/alerts_test.yml tests/deploy/recording_test.yml)

echo "== promtool check rules"
promtool check rules "${rules[@]}"

echo "== promtool check config (example scrape config, loads the rule files too)"
promtool check config deploy/prometheus/prometheus.yml

echo "== the commented hashmod sharding example is a valid config once uncommented"
cp deploy/prometheus/*.yml "$TMP/"
sed -i '/^    # relabel_configs:/,/^    #     action: keep/ s/^    # /    /' "$TMP/prometheus.yml"
grep -q '^    relabel_configs:' "$TMP/prometheus.yml" || fail "hashmod example not found"
grep -q 'action: hashmod' "$TMP/prometheus.yml"
promtool check config "$TMP/prometheus.yml"

echo "== promtool test rules"
promtool test rules "${tests[@]}"

echo "== conventions and test coverage of every alert"
"$PY" - "${rules[0]}" "${tests[0]}" <<'PY'
import re
import sys

import yaml

alerts_path, test_path = sys.argv[1], sys.argv[2]
required = {"TimingSidecarReconcilerNotRunning", "TimingSidecarBrokerFeedDown",
            "RocketMQTimingMessagesOverdue", "TimingSidecarTopicsNearLimit", "TimingSidecarDown"}
errors = []
alerts = {}
for group in yaml.safe_load(open(alerts_path))["groups"]:
    for rule in group["rules"]:
        if "alert" not in rule:
            continue
        name = rule["alert"]
        alerts[name] = rule
        if not re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))):
            errors.append(f"{name}: no `for:` duration")
        if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
            errors.append(f"{name}: severity label must be critical, warning or info")
        ann = rule.get("annotations", {})
        for key in ("summary", "description"):
            if not str(ann.get(key, "")).strip():
                errors.append(f"{name}: missing annotation {key}")
        if "{{" not in str(ann.get("description", "")):
            errors.append(f"{name}: description has no templated value")
for name in sorted(required - alerts.keys()):
    errors.append(f"required alert {name} missing")

firing, quiet = set(), set()
for test in yaml.safe_load(open(test_path))["tests"]:
    for case in test.get("alert_rule_test", []):
        (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
for name in sorted(alerts):
    if name not in firing:
        errors.append(f"{name}: no test case where it fires")
    if name not in quiet:
        errors.append(f"{name}: no test case where it stays quiet")
for e in errors:
    print("ERROR:", e, file=sys.stderr)
print(f"{len(alerts)} alerts checked, {len(errors)} problems")
sys.exit(1 if errors else 0)
PY

echo "== metric names used by the rules exist"
"$PY" tools/check_metric_names.py --metrics tests/deploy/metrics.txt --rules "${rules[@]}"

echo "== the unit tests catch broken rules (mutants must fail)"
rm -rf "${TMP:?}"/*
mkdir -p "$TMP/deploy/prometheus" "$TMP/tests/deploy"
cp "${tests[@]}" "$TMP/tests/deploy/"
mutants=(
  's/rocketmq_timing_messages_overdue > 0/rocketmq_timing_messages_overdue > 5/'
  's/increase(timing_sidecar_reconcile_runs_total{trigger="sweep"}\[5m\]))/increase(timing_sidecar_reconcile_runs_total{trigger="scrape"}[5m]))/'
  's/reconcile_last_success_timestamp_seconds > 600/reconcile_last_success_timestamp_seconds > 6000/'
  's/timing_sidecar_feed_up == 0/timing_sidecar_feed_up == 2/'
  's/timing_sidecar_topics \/ timing_sidecar_max_topics > 0.9/timing_sidecar_topics \/ timing_sidecar_max_topics > 0.96/'
  's/^          absent(up{job="timing-sidecar"})/          absent(up{job="timing-sidecar-typo"})/'
  's/^        for: 5m/        for: 1m/'
  's/sum by (cluster, topic) (rate(rocketmq_timer_enqueue_total\[5m\]))/sum by (cluster, topic) (irate(rocketmq_timer_enqueue_total[5m])) * 2/'
)
for mutant in "${mutants[@]}"; do
  cp "${rules[@]}" "$TMP/deploy/prometheus/"
  sed -i "$mutant" "$TMP/deploy/prometheus/alerts.yml" "$TMP/deploy/prometheus/recording.yml"
  if cat "${rules[@]}" | cmp -s - <(cat "$TMP/deploy/prometheus/alerts.yml" "$TMP/deploy/prometheus/recording.yml"); then
    fail "mutant '$mutant' did not change the rules (stale pattern?)"
  fi
  if promtool test rules "$TMP/tests/deploy/alerts_test.yml" "$TMP/tests/deploy/recording_test.yml" >"$TMP/out" 2>&1; then
    fail "the unit tests still pass with mutant '$mutant'"
  fi
  echo "ok: mutant caught: $mutant"
done

echo "deploy_rules: all checks passed"
