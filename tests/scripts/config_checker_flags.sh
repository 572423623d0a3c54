#!/usr/bin/env bash
# tools/check_config.py keeps its own table of the sidecar's flags (it checks config files
# offline, without the binary): here that table is compared with the flags the real binary's
# --help lists, both ways, so that a new flag cannot be forgotten in the checker.
set -euo pipefail
SIDECAR=$1
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."

# Flags that are not config-file keys: the file itself, help, version, a boolean's negation.
"$SIDECAR" --help | grep -oE -- '--[a-z][a-z0-9.-]+' | sed 's/^--//' | sort -u |
  grep -vxE 'config|help|version|no-.*' >"$TMP/binary"
python3 -c 'import sys; sys.path.insert(0, "tools"); import check_config
print("\n".join(sorted(check_config.FLAGS)))' >"$TMP/checker"
if ! diff -u "$TMP/checker" "$TMP/binary" >"$TMP/diff"; then
  cat "$TMP/diff" >&2
  fail "tools/check_config.py's FLAGS (-) and the flags of timing-sidecar --help (+) differ"
fi
echo "config_checker_flags: $(wc -l <"$TMP/binary") flags, all known to tools/check_config.py"
