#!/usr/bin/env python3
"""Check that the PromQL of rule files and dashboards only uses known metric names.

A query with a misspelt metric name parses and returns an empty result, so neither promtool nor
Prometheus notices. This compares every metric-like name in the expressions with the product's
list (tests/deploy/metrics.txt: `name type` per line; histograms expand to _bucket/_sum/_count)
plus the series recorded by the given rule files.

  tools/check_metric_names.py --metrics tests/deploy/metrics.txt \
      --rules deploy/prometheus/recording.yml deploy/prometheus/alerts.yml \
      --dashboard dashboards/timing-sidecar.json
"""

import argparse
import json
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboard_queries  # noqa: E402

# Names the checked families start with; anything else (functions, label names, keywords) is
# not a metric of this product. Recorded names are recognised by their colons.
PREFIXES = ("rocketmq_", "timing_sidecar_", "process_")
TOKEN = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def known_metrics(path):
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, _, kind = line.partition(" ")
            kind = kind.strip()
            names.add(name)
            if kind == "histogram":
                names.update({name + "_bucket", name + "_sum", name + "_count"})
            elif kind == "summary":
                names.update({name + "_sum", name + "_count"})
    return names


def metric_names(expr):
    # drop string literals (label values, template strings) and [range:step] brackets
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    expr = re.sub(r"\[[^\]]*\]", "[]", expr)
    for token in TOKEN.findall(expr):
        if token == "up" or token.startswith(PREFIXES) or ":" in token:
            yield token


def rule_exprs(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("record") or rule.get("alert")
            yield name, rule["expr"], rule.get("record")
            # queries run by annotation templates: {{ with printf "QUERY" ... | query }}
            for key, text in (rule.get("annotations") or {}).items():
                for query in re.findall(r'printf\s+"((?:[^"\\]|\\.)*)"', text):
                    yield f"{name} annotation {key}", query, None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--rules", nargs="*", default=[])
    ap.add_argument("--dashboard", nargs="*", default=[])
    args = ap.parse_args(argv)

    known = known_metrics(args.metrics)
    exprs = []
    for path in args.rules:
        for name, expr, record in rule_exprs(path):
            if record:
                known.add(record)
            exprs.append((f"{path}: {name}", expr))
    for path in args.dashboard:
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
        for panel in dashboard_queries.iter_panels(dashboard.get("panels")):
            for target in panel.get("targets") or []:
                if target.get("expr"):
                    exprs.append((f"{path}: panel {panel.get('title')!r}", target["expr"]))
        for var in dashboard.get("templating", {}).get("list", []):
            query = var.get("query")
            if isinstance(query, dict):
                query = query.get("query")
            if var.get("type") == "query" and query:
                exprs.append((f"{path}: variable {var.get('name')!r}", query))

    bad = 0
    for where, expr in exprs:
        for name in metric_names(expr):
            if name not in known:
                print(f"{where}: unknown metric {name!r}", file=sys.stderr)
                bad += 1
    print(f"checked {len(exprs)} expressions against {len(known)} metric names: "
          f"{bad} unknown")
    return 1 if bad or not exprs else 0


if __name__ == "__main__":
    sys.exit(main())
