#!/usr/bin/env python3
"""Check a timing-sidecar TOML config file against the sidecar's flags.

The config file's keys are the flag names without the leading dashes, written flat
(`web.listen-address = "0.0.0.0:9877"`; TOML reads the dots as tables, flattened back here).
Checks that it is TOML, that every key is a known flag and that each value has the flag's type
(addresses, durations like "30s"/"5m"/"3d", sizes like "1MiB", booleans, ratios, enums, absolute
paths, URLs). The binary itself refuses unknown keys too (CLI11 config extras are errors).

  tools/check_config.py deploy/config.example.toml
  tools/check_config.py --require topics.file --require broker.url deploy/config.example.toml
"""

import argparse
import re
import sys

try:
    import tomllib  # Python 3.11+
except ModuleNotFoundError:  # pragma: no cover
    tomllib = None

DURATION = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")
SIZE = re.compile(r"^\d+(?:B|KiB|MiB|GiB)?$")
ADDRESS = re.compile(r"^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$")
URL = re.compile(r"^https?://[^\s/]+(?:/\S*)?$")

# flag (without dashes) -> type; as `timing-sidecar --help` lists them (src/config/config.cpp);
# tests/scripts/config_checker_flags.sh fails when the two lists differ
FLAGS = {
    "web.listen-address": "address",
    "webhook.listen-address": "address",
    "webhook.max-body": "size",
    "webhook.tolerance": "duration",
    "web.threads": "count",
    "cluster": "string",
    "node-id": "string",
    "timer.precision": "duration",
    "timer.max-delay": "duration",
    "overdue.grace": "duration",
    "snapshot.per-topic": "bool",
    "reconcile.interval": "duration",
    "reconcile.max-drop-ratio": "ratio",
    "broker.url": "url",
    "broker.resync-interval": "duration",
    "broker.poll-timeout": "duration",
    "sources.poll-interval": "duration",
    "topics.file": "path",
    "timer-metrics.file": "path",
    "topics.dashboard-url": "url",
    "topics.include": "string",
    "topics.exclude": "string",
    "broker.remoting-address": "address",
    "broker.access-key": "string",
    "broker.secret-key-file": "path",
    "max-topics": "count",
    "max-tombstones": "count",
    "tombstone.retention": "duration",
    "webhook.secret-file": "path",
    "web.config.file": "path",
    "state.dir": "path",
    "state.sync": ("always", "interval"),
    "state.compact-bytes": "size",
    "log.level": ("debug", "info", "warn", "error"),
    "log.format": ("text", "json"),
    "demo": "bool",
}


def flatten(table, prefix=""):
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from flatten(value, name + ".")
        else:
            yield name, value


def check_value(name, kind, value):
    if isinstance(kind, tuple):
        return None if value in kind else f"must be one of {', '.join(kind)}"
    if kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if kind == "count":
        return None if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
            else "must be a positive integer"
    if kind == "ratio":
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) \
            and 0 <= value <= 1 else "must be a number between 0 and 1"
    if kind == "size" and isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return None
    if not isinstance(value, str):
        return "must be a string"
    if kind == "string":
        return None if value else "must not be empty"
    if kind == "duration":
        return None if DURATION.match(value) else 'must be a duration like "30s", "5m", "3d"'
    if kind == "size":
        return None if SIZE.match(value) else 'must be a size like "1MiB" or a byte count'
    if kind == "address":
        m = ADDRESS.match(value)
        return None if m and 0 < int(m.group(1)) < 65536 else 'must be "host:port"'
    if kind == "url":
        return None if URL.match(value) else "must be an http(s) URL"
    if kind == "path":
        return None if value.startswith("/") else "must be an absolute path"
    return f"unknown type {kind}"  # pragma: no cover


def parse(text):
    """Returns (flat dict of settings, list of errors)."""
    if tomllib is None:
        return {}, ["Python 3.11+ (tomllib) needed to read TOML"]
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return {}, [f"not valid TOML: {e}"]
    settings = dict(flatten(doc))
    errors = []
    for name, value in settings.items():
        kind = FLAGS.get(name)
        if kind is None:
            errors.append(f"unknown key {name!r} (not a timing-sidecar flag)")
            continue
        problem = check_value(name, kind, value)
        if problem:
            errors.append(f"{name} = {value!r}: {problem}")
    return settings, errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", nargs="+")
    ap.add_argument("--require", action="append", default=[], metavar="KEY",
                    help="key that must be set (repeatable)")
    args = ap.parse_args(argv)
    failed = False
    for path in args.config:
        with open(path, encoding="utf-8") as f:
            settings, errors = parse(f.read())
        for key in args.require:
            if key not in settings:
                errors.append(f"required key {key!r} is not set")
        for e in errors:
            print(f"{path}: {e}", file=sys.stderr)
        print(f"{path}: {len(settings)} settings, {'FAILED' if errors else 'ok'}")
        failed |= bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
