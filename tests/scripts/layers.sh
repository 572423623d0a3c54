#!/usr/bin/env bash
# The layers of src/ (CMakeLists.txt, README "Where things are") see only what they may: the
# preprocessor's own list of every header each source file reads, directly or not, must name no
# HTTP (httplib), CLI (CLI11), YAML (yaml-cpp) or crypto (OpenSSL, crypt) header outside the
# layers allowed them, and the model no file or socket API either. The build already fails when
# a layer calls into one it does not link (the layer_check_* executables).
# CTest runs it as `bash tests/scripts/layers.sh <timing-sidecar> <broker-sim>` from the
# repository root; the arguments are not needed here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/scripts/lib.sh
need g++

forbidden_everywhere='/httplib\.h|/CLI/|/yaml-cpp/|/openssl/|/crypt\.h'
# layer: what its sources must not read
declare -A forbidden=(
  [model]="$forbidden_everywhere|/prometheus/|/sys/socket\.h|/netinet/|/fstream|/sys/stat\.h|/fcntl\.h"
  [service]="$forbidden_everywhere"
  [persistence]="$forbidden_everywhere"
  [demo]="$forbidden_everywhere"
  [config]='/httplib\.h|/yaml-cpp/|/openssl/|/crypt\.h'
)

checked=0
for layer in "${!forbidden[@]}"; do
  for source in src/"$layer"/*.cpp; do
    g++ -std=c++17 -M -Iinclude -I"src/$layer" "$source" >"$TMP/deps" 2>"$TMP/err" ||
      { cat "$TMP/err" >&2; fail "the preprocessor could not read $source"; }
    if tr ' \\' '\n\n' <"$TMP/deps" | grep -E "${forbidden[$layer]}" >"$TMP/seen"; then
      fail "$source (layer $layer) reads $(tr '\n' ' ' <"$TMP/seen")"
    fi
    checked=$((checked + 1))
  done
done

# The check can fail: a model source that reads httplib.h through a header is caught.
printf '#include "timing_sidecar/server.hpp"\n' >"$TMP/probe.cpp"
g++ -std=c++17 -M -Iinclude "$TMP/probe.cpp" | tr ' \\' '\n\n' | grep -Eq "${forbidden[model]}" ||
  fail "the check does not see httplib.h read through a header"
echo "layers: $checked sources read only what their layer may"
