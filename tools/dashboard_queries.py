#!/usr/bin/env python3
"""Print the PromQL of every panel target of a Grafana dashboard, ready for Prometheus.

Reads a dashboard JSON model (e.g. dashboards/timing-sidecar.json) and prints each target's
`expr`, one per line (newlines inside an expression become spaces), with Grafana's variables
substituted so that the result can be sent to Prometheus's /api/v1/query as is:

  $__rate_interval -> --rate-interval (default 1m)
  $__interval      -> --interval (default 15s), $__interval_ms likewise in milliseconds
  $__range         -> --range (default 1h), $__range_s / $__range_ms likewise
  $name, ${name}, ${name:fmt}, [[name]] of a dashboard variable ->
        the value given with --var name=VALUE (inserted as is: in a =~ matcher it is a regex),
        else `.*` for a variable with "Include All" (its allValue, if one is set),
        else the variable's current value in the JSON.

Panels inside collapsed rows are included. Exits non-zero if a variable is left unresolved or
the file has no expression at all.

  tools/dashboard_queries.py dashboards/timing-sidecar.json --var cluster=prod --var topic='orders|payments'
  tools/dashboard_queries.py dashboards/timing-sidecar.json --with-titles   # "title<TAB>expr"
"""

import argparse
import json
import re
import sys

BUILTIN = re.compile(r"\$__(rate_interval|interval_ms|interval|range_ms|range_s|range)\b|"
                     r"\$\{__(rate_interval|interval_ms|interval|range_ms|range_s|range)\}")
VARIABLE = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\[\[(\w+)(?::[\w]+)?\]\]|\$(\w+)")


def parse_duration_s(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    total = 0.0
    pos = 0
    for m in re.finditer(r"(\d+)(ms|s|m|h|d|w|y)", text):
        if m.start() != pos:
            break
        total += int(m.group(1)) * units[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise argparse.ArgumentTypeError(f"not a Prometheus duration: {text!r}")
    return total


def duration(text):
    parse_duration_s(text)
    return text


def iter_panels(panels):
    for panel in panels or []:
        yield panel
        # collapsed rows keep their panels inside; old-style rows too
        yield from iter_panels(panel.get("panels"))


def variable_defaults(dashboard):
    values = {}
    for var in dashboard.get("templating", {}).get("list", []):
        name = var.get("name")
        if not name or var.get("type") == "datasource":
            continue
        if var.get("includeAll"):
            values[name] = var.get("allValue") or ".*"
            continue
        current = (var.get("current") or {}).get("value")
        if isinstance(current, list):
            current = current[0] if len(current) == 1 else "(" + "|".join(current) + ")"
        if current in (None, "", "$__all"):
            current = ".*"
        values[name] = current
    return values


def substitute(expr, variables, builtins):
    def builtin(m):
        return builtins[m.group(1) or m.group(2)]

    expr = BUILTIN.sub(builtin, expr)

    def var(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in variables:
            return variables[name]
        return m.group(0)

    return VARIABLE.sub(var, expr)


def leftover(expr):
    """Grafana variable syntax still present after substitution ($1 etc. of label_replace is fine)."""
    return [m.group(0) for m in VARIABLE.finditer(expr) if not m.group(0)[1:].isdigit()]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dashboard", help="dashboard JSON file")
    ap.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                    help="value of a dashboard variable (repeatable)")
    ap.add_argument("--rate-interval", type=duration, default="1m")
    ap.add_argument("--interval", type=duration, default="15s")
    ap.add_argument("--range", type=duration, default="1h")
    ap.add_argument("--with-titles", action="store_true",
                    help='print "panel title<TAB>expr" instead of the bare expression')
    ap.add_argument("--include-hidden", action="store_true",
                    help="also print targets disabled in Grafana (hide: true)")
    args = ap.parse_args(argv)

    with open(args.dashboard, encoding="utf-8") as f:
        dashboard = json.load(f)

    variables = variable_defaults(dashboard)
    for item in args.var:
        name, sep, value = item.partition("=")
        if not sep or not name:
            ap.error(f"--var wants NAME=VALUE, got {item!r}")
        variables[name] = value

    builtins = {
        "rate_interval": args.rate_interval,
        "interval": args.interval,
        "interval_ms": str(int(parse_duration_s(args.interval) * 1000)),
        "range": args.range,
        "range_s": str(int(parse_duration_s(args.range))),
        "range_ms": str(int(parse_duration_s(args.range) * 1000)),
    }

    count = 0
    errors = 0
    for panel in iter_panels(dashboard.get("panels")):
        for target in panel.get("targets") or []:
            expr = target.get("expr")
            if not expr or (target.get("hide") and not args.include_hidden):
                continue
            query = " ".join(substitute(expr, variables, builtins).split())
            rest = leftover(query)
            if rest:
                print(f"{args.dashboard}: panel {panel.get('title')!r}: unresolved "
                      f"variable(s) {', '.join(rest)} in: {query}", file=sys.stderr)
                errors += 1
                continue
            count += 1
            if args.with_titles:
                print(f"{panel.get('title', '')}\t{query}")
            else:
                print(query)
    if count == 0 and errors == 0:
        print(f"{args.dashboard}: no panel target has an expression", file=sys.stderr)
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
