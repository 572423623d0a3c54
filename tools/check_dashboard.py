#!/usr/bin/env python3
"""Structural check of the timing-sidecar Grafana dashboard JSON model.

Checks what Grafana itself would only show at display time:
  * a `datasource` variable of type datasource (query "prometheus"), every panel and target
    using it as ${datasource}; no `${DS_...}` import placeholders anywhere;
  * `cluster`, `node_id`, `topic` query variables using label_values(...) with multi/includeAll;
  * every panel (rows aside) has a title, a description, a unit in fieldConfig.defaults.unit and
    targets that all have an expr; ids are unique, gridPos fits the 24-column grid;
  * every rate()/irate()/increase() uses [$__rate_interval], every histogram_quantile() a
    rate of a _bucket series;
  * the panels the operators need are there (pending, overdue, snapshot ranges, enqueue and
    dequeue rates, lateness quantiles, reconciler age, series removed, feed, rejections, memory).

  tools/check_dashboard.py dashboards/timing-sidecar.json
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboard_queries  # noqa: E402

DS_UID = "${datasource}"

# (what, regex every matching dashboard must have in some target expr)
REQUIRED_PANELS = [
    ("pending by topic", r"by \(topic\) \(rocketmq_timing_messages\{"),
    ("overdue by topic", r"topic\) \(rocketmq_timing_messages_overdue\{"),
    ("snapshot ranges by topic", r"by \(topic, timer_bound_s\) \(rocketmq_timer_message_snapshot\{"),
    ("enqueue rate", r"rate\(rocketmq_timer_enqueue_total\{[^}]*\}\[\$__rate_interval\]\)"),
    ("dequeue rate", r"rate\(rocketmq_timer_dequeue_total\{[^}]*\}\[\$__rate_interval\]\)"),
    ("lateness quantiles",
     r"histogram_quantile\(0\.\d+, sum by \([^)]*le\) \(rate\(rocketmq_timer_delivery_lateness_seconds_bucket"),
    ("reconciler last run", r"time\(\) - timing_sidecar_reconcile_last_success_timestamp_seconds"),
    ("series removed by reason", r"by \(reason\) \(rate\(timing_sidecar_series_removed_total"),
    ("feed up", r"timing_sidecar_feed_up\{"),
    ("feed revision", r"timing_sidecar_feed_revision\{"),
    ("feed relists", r"timing_sidecar_feed_relists_total\{"),
    ("feed errors", r"timing_sidecar_feed_errors_total\{"),
    ("events rejected by reason", r"by \(reason\) \(rate\(timing_sidecar_events_rejected_total"),
    ("process resident memory", r"process_resident_memory_bytes\{"),
]


def check(path):
    errors = []
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    try:
        dash = json.loads(raw)
    except json.JSONDecodeError as e:
        return [f"not JSON: {e}"]

    if "${DS_" in raw:
        errors.append("contains a ${DS_...} import placeholder: use the datasource variable")
    if dash.get("__inputs"):
        errors.append("__inputs must be empty (file provisioning does not fill them)")
    if not isinstance(dash.get("schemaVersion"), int) or not 30 <= dash["schemaVersion"] <= 39:
        errors.append(f"schemaVersion {dash.get('schemaVersion')!r} is not a Grafana 8/9/10 one")
    for key in ("uid", "title"):
        if not dash.get(key):
            errors.append(f"dashboard has no {key}")
    if dash.get("id") is not None:
        errors.append("dashboard id must be null (Grafana assigns it)")

    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        errors.append('no variable "datasource" of type datasource with query "prometheus"')
    for name in ("cluster", "node_id", "topic"):
        var = variables.get(name)
        if not var:
            errors.append(f"variable {name} missing")
            continue
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if var.get("type") != "query" or not re.fullmatch(r"label_values\(.+, *%s\)" % name, query or ""):
            errors.append(f"variable {name}: must be a query variable label_values(..., {name})")
        if not (var.get("multi") and var.get("includeAll")):
            errors.append(f"variable {name}: multi and includeAll must be on")
        if (var.get("datasource") or {}).get("uid") != DS_UID:
            errors.append(f"variable {name}: datasource must be {DS_UID}")
    for name, var in variables.items():
        if var.get("type") == "query" and var.get("multi") and var.get("includeAll") \
                and var.get("allValue") != ".*":
            errors.append(f"variable {name}: allValue should be .* (a regex over all values)")

    ids = set()
    exprs = []
    panels = list(dashboard_queries.iter_panels(dash.get("panels")))
    for panel in panels:
        title = panel.get("title")
        where = f"panel {panel.get('id')} {title!r}"
        if panel.get("id") in ids:
            errors.append(f"{where}: duplicate id")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos") or {}
        if not all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")) \
                or grid["x"] + grid["w"] > 24:
            errors.append(f"{where}: gridPos missing or wider than 24 columns")
        if panel.get("type") == "row":
            if not title:
                errors.append(f"{where}: row without title")
            if not panel.get("collapsed") and panel.get("panels"):
                errors.append(f"{where}: an expanded row must not nest panels")
            continue
        if not title:
            errors.append(f"{where}: no title")
        if not str(panel.get("description", "")).strip():
            errors.append(f"{where}: no description")
        if not (panel.get("fieldConfig", {}).get("defaults", {}).get("unit")):
            errors.append(f"{where}: no unit in fieldConfig.defaults.unit")
        if (panel.get("datasource") or {}).get("uid") != DS_UID:
            errors.append(f"{where}: datasource must be {DS_UID}")
        targets = panel.get("targets") or []
        if not targets:
            errors.append(f"{where}: no targets")
        for target in targets:
            expr = target.get("expr")
            if not expr or not expr.strip():
                errors.append(f"{where}: target {target.get('refId')} has no expr")
                continue
            if (target.get("datasource") or {}).get("uid") != DS_UID:
                errors.append(f"{where}: target {target.get('refId')}: datasource must be {DS_UID}")
            exprs.append(expr)
            for fn, rng in re.findall(r"\b(rate|irate|increase)\([^\[\]()]*\[([^\]]+)\]", expr):
                if rng != "$__rate_interval":
                    errors.append(f"{where}: {fn}(...[{rng}]) should use [$__rate_interval]")
            for arg in re.findall(r"histogram_quantile\(([^,]+),(.*)", expr):
                if not re.search(r"\brate\(\w+_bucket\{", arg[1]):
                    errors.append(f"{where}: histogram_quantile over something else than rate(..._bucket)")
            for name in re.findall(r"\$\{?(\w+)", expr):
                if not name.startswith("__") and name not in variables:
                    errors.append(f"{where}: unknown variable ${name}")
    if not exprs:
        errors.append("no panel has a query")
    joined = "\n".join(exprs)
    for what, pattern in REQUIRED_PANELS:
        if not re.search(pattern, joined):
            errors.append(f"no panel shows {what} (expected a query matching /{pattern}/)")
    return errors


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    failed = False
    for path in argv[1:]:
        errors = check(path)
        for e in errors:
            print(f"{path}: {e}", file=sys.stderr)
        print(f"{path}: {'FAILED' if errors else 'ok'} ({len(errors)} problems)")
        failed |= bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
