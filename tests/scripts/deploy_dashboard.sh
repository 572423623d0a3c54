#!/usr/bin/env bash
# Grafana dashboard of timing-sidecar: structure (tools/check_dashboard.py), metric names, the
# provisioning files, and every panel query (tools/dashboard_queries.py) run against a real
# Prometheus started here on 127.0.0.1 with the alert and recording rules loaded, scraping a
# sample /metrics page (tests/deploy/sample_metrics.prom): each query must parse and return data.
# CTest runs it as `bash tests/scripts/deploy_dashboard.sh <timing-sidecar> <broker-sim>` from the
# repository root; the arguments are not needed here.
# shellcheck disable=SC2016  # Python and PromQL in single quotes: their $ are literal
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/scripts/lib.sh
"$PY" -c 'import yaml' || fail "python3 with PyYAML needed (Debian package python3-yaml)"
repo=$PWD
dashboard=dashboards/timing-sidecar.json

need prometheus curl jq


echo "== structure"
"$PY" tools/check_dashboard.py "$dashboard"

echo "== the structural check rejects broken copies"
broken() {  # $1: description, $2: python statement on `d` (the dashboard)
  "$PY" - "$dashboard" "$TMP/broken.json" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
panels = [p for p in d["panels"] if p["type"] != "row"]
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"), indent=2)
PY
  if "$PY" tools/check_dashboard.py "$TMP/broken.json" >/dev/null 2>&1; then
    fail "check_dashboard.py accepted a dashboard with $1"
  fi
  echo "ok: rejected: $1"
}
broken "a panel without unit" 'del panels[3]["fieldConfig"]["defaults"]["unit"]'
broken "a panel without description" 'panels[5]["description"] = ""'
broken "a DS_PROMETHEUS placeholder" 'panels[0]["datasource"]["uid"] = "${DS_PROMETHEUS}"'
broken "no datasource variable" 'd["templating"]["list"] = [v for v in d["templating"]["list"] if v["type"] != "datasource"]'
broken "a target without expr" 'panels[2]["targets"][0]["expr"] = ""'
broken "a fixed rate window" 'panels[2]["targets"][0]["expr"] = panels[2]["targets"][0]["expr"].replace("$__rate_interval", "5m")'
broken "topic variable without includeAll" 'next(v for v in d["templating"]["list"] if v["name"] == "topic")["includeAll"] = False'
broken "an undefined variable" 'panels[0]["targets"][0]["expr"] = panels[0]["targets"][0]["expr"].replace("$cluster", "$clustr")'

echo "== metric names used by the dashboard exist"
"$PY" tools/check_metric_names.py --metrics tests/deploy/metrics.txt \
  --rules deploy/prometheus/recording.yml --dashboard "$dashboard"

echo "== provisioning files"
"$PY" - "$dashboard" <<'PY'
import json
import sys

import yaml

errors = []
ds = yaml.safe_load(open("dashboards/provisioning/datasources/prometheus.yml"))
if ds.get("apiVersion") != 1 or not ds.get("datasources"):
    errors.append("datasources/prometheus.yml: apiVersion 1 with a datasources list expected")
for d in ds.get("datasources", []):
    if d.get("type") != "prometheus" or not d.get("url") or not d.get("name"):
        errors.append(f"datasource {d.get('name')!r}: needs name, type prometheus and url")
prov = yaml.safe_load(open("dashboards/provisioning/dashboards/timing-sidecar.yml"))
if prov.get("apiVersion") != 1 or not prov.get("providers"):
    errors.append("dashboards/timing-sidecar.yml: apiVersion 1 with a providers list expected")
for p in prov.get("providers", []):
    if p.get("type") != "file" or not (p.get("options") or {}).get("path"):
        errors.append(f"provider {p.get('name')!r}: type file with options.path expected")
for e in errors:
    print("ERROR:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

echo "== extract the queries"
"$PY" tools/dashboard_queries.py "$dashboard" >"$TMP/queries.txt"
"$PY" tools/dashboard_queries.py "$dashboard" --var cluster=DefaultCluster --var node_id=broker-a-0 \
  --var 'topic=orders|payments' --rate-interval 2m >"$TMP/queries-selected.txt"
if grep -n '\$' "$TMP/queries.txt" "$TMP/queries-selected.txt"; then
  fail "a Grafana variable was left in a query"
fi
grep -q 'topic=~"orders|payments"' "$TMP/queries-selected.txt" || fail "--var topic not applied"
grep -q '\[2m\]' "$TMP/queries-selected.txt" || fail "--rate-interval not applied"
# variable queries: label_values(SELECTOR, label) is Grafana's; check SELECTOR as a series match
"$PY" - "$dashboard" >"$TMP/selectors.txt" <<'PY'
import json
import re
import sys

d = json.load(open(sys.argv[1]))
for v in d["templating"]["list"]:
    q = v.get("query")
    q = q.get("query") if isinstance(q, dict) else q
    if v.get("type") != "query":
        continue
    m = re.fullmatch(r"label_values\((.+), *\w+\)", q)
    if not m:
        sys.exit(f"variable {v['name']}: not a label_values(selector, label) query: {q}")
    print(re.sub(r'=~"\$\w+"', '=~".*"', m.group(1)))
PY
echo "$(wc -l <"$TMP/queries.txt") panel queries, $(wc -l <"$TMP/selectors.txt") variable selectors"

echo "== serve a sample /metrics page (tests/deploy/sample_metrics.prom) on 127.0.0.1"
mkdir -p "$TMP/www"
cp tests/deploy/sample_metrics.prom "$TMP/www/metrics"
metrics_port=$(free_port)
"$PY" -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$metrics_port" >"$TMP/http.log" 2>&1 &
http_pid=$!
PIDS+=("$http_pid")

echo "== start Prometheus on 127.0.0.1"
port=$(free_port)
# same labelling as deploy/prometheus/prometheus.yml: honor_labels + cluster/node_id target labels
cat >"$TMP/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $repo/deploy/prometheus/alerts.yml
  - $repo/deploy/prometheus/recording.yml
scrape_configs:
  - job_name: timing-sidecar
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:$metrics_port"]
        labels:
          cluster: DefaultCluster
          node_id: broker-a-0
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:$port"]
YAML
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/data" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn >"$TMP/prometheus.log" 2>&1 &
prom_pid=$!
PIDS+=("$prom_pid")
base="http://127.0.0.1:$port"
ready=0
for _ in $(seq 1 120); do
  if ! kill -0 "$prom_pid" 2>/dev/null; then
    cat "$TMP/prometheus.log" >&2; fail "prometheus exited"
  fi
  if curl -fsS -m 2 "$base/-/ready" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.5
done
[[ $ready == 1 ]] || { cat "$TMP/prometheus.log" >&2; fail "prometheus not ready after 60s"; }

echo "== the rule files load and evaluate without error"
ok=0
for _ in $(seq 1 60); do
  curl -fsS -m 5 "$base/api/v1/rules" >"$TMP/rules.json"
  total=$(jq '[.data.groups[].rules[]] | length' "$TMP/rules.json")
  evaluated=$(jq '[.data.groups[].rules[] | select(.health == "ok")] | length' "$TMP/rules.json")
  failing=$(jq -r '.data.groups[].rules[] | select(.health == "err") | "\(.name): \(.lastError)"' "$TMP/rules.json")
  if [[ -n "$failing" ]]; then echo "$failing" >&2; fail "rule evaluation errors"; fi
  if [[ "$total" -gt 0 && "$evaluated" == "$total" ]]; then ok=1; break; fi
  sleep 0.5
done
[[ $ok == 1 ]] || fail "rules not all evaluated ($evaluated of $total)"
echo "$total rules loaded and evaluated"

echo "== wait for a few scrapes of the sample page and an evaluation of the recorded series"
instant() {  # prints the number of series a PromQL query returns
  curl -fsS -m 5 --data-urlencode "query=$1" "$base/api/v1/query" | jq '.data.result | length'
}
scraped=0
for _ in $(seq 1 60); do
  if [[ $(instant 'count_over_time(up{job="timing-sidecar"}[1m]) >= 4') == 1 \
        && $(instant 'cluster:rocketmq_timer_enqueue:rate5m') -ge 1 ]]; then
    scraped=1; break
  fi
  sleep 0.5
done
[[ $scraped == 1 ]] || { cat "$TMP/prometheus.log" "$TMP/http.log" >&2; fail "the sample page was not scraped"; }

echo "== every query is accepted by Prometheus and returns the sample's data"
"$PY" tools/dashboard_queries.py "$dashboard" --var cluster=NoSuchCluster >"$TMP/queries-none.txt"
"$PY" - "$base" "$TMP" <<'PY'
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

base, tmp = sys.argv[1], sys.argv[2]


def ask(endpoint, **params):
    data = urllib.parse.urlencode(params).encode()
    try:
        with urllib.request.urlopen(f"{base}/api/v1/{endpoint}", data=data, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, json.loads(body)
        except ValueError:
            return e.code, {"status": "error", "error": body.decode(errors="replace")}


def lines(name):
    with open(f"{tmp}/{name}") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


failures = []
now = time.time()
checked = 0
for query in lines("queries.txt") + lines("queries-selected.txt"):
    for endpoint, extra in (("query", {}),
                            ("query_range", {"start": now - 3600, "end": now, "step": 15})):
        checked += 1
        code, answer = ask(endpoint, query=query, **extra)
        if code != 200 or answer.get("status") != "success":
            failures.append(f"{endpoint} HTTP {code}: {answer.get('error')}: {query}")
        elif not answer["data"]["result"]:
            failures.append(f"{endpoint}: no data for the sample page (wrong metric or label?): {query}")
for selector in lines("selectors.txt"):
    checked += 1
    code, answer = ask("series", **{"match[]": selector})
    if code != 200 or answer.get("status") != "success" or not answer.get("data"):
        failures.append(f"series HTTP {code}, or no series: {selector}")
# the variables do filter: with a cluster nobody has, queries filtered by it are empty
for query in lines("queries-none.txt"):
    if 'cluster=~"NoSuchCluster"' not in query:
        continue
    checked += 1
    code, answer = ask("query", query=query)
    if code != 200 or answer["data"]["result"]:
        failures.append(f"data despite cluster=NoSuchCluster: {query}")
# and a broken query is refused, so "success" above means something
code, answer = ask("query", query="sum(rate(up[1m])")
if code == 200:
    failures.append("a broken query was accepted")
for f in failures:
    print("FAIL:", f, file=sys.stderr)
print(f"{checked} queries checked, {len(failures)} failures")
sys.exit(1 if failures else 0)
PY

echo "deploy_dashboard: all checks passed"
