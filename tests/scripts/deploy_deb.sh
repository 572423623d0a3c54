#!/usr/bin/env bash
# The Debian package: configure a separate build directory from the repository root
# (-DBUILD_TESTING=OFF), build the binary, `cpack -G DEB`, then check the .deb with dpkg-deb:
# the files (binary, systemd unit, conffile config, dashboard, rules), Depends, conffiles, the
# maintainer scripts, that the packaged files are the repository's, and that the packaged
# binary runs and finds its libraries.
# CTest runs it as `bash tests/scripts/deploy_deb.sh <timing-sidecar> <broker-sim>` from the
# repository root; the arguments are not needed (it builds its own, as the package does).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/scripts/lib.sh
repo=$PWD
need cmake cpack dpkg-deb dpkg readelf ldd


# Until the top-level CMakeLists.txt includes cmake/Packaging.cmake itself, inject it
# (include_guard keeps it from being included twice once it does).
extra=()
if ! grep -Eq '^[[:space:]]*include\((\$\{CMAKE_CURRENT_SOURCE_DIR\}/|\$\{PROJECT_SOURCE_DIR\}/)?cmake/Packaging(\.cmake)?\)' CMakeLists.txt; then
  echo "NOTE: CMakeLists.txt does not include cmake/Packaging.cmake yet: injected with CMAKE_PROJECT_INCLUDE"
  extra+=("-DCMAKE_PROJECT_INCLUDE=$repo/cmake/Packaging.cmake")
fi

echo "== configure and build in $TMP/build"
cmake -S "$repo" -B "$TMP/build" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON "${extra[@]}" >"$TMP/configure.log" 2>&1 \
  || { cat "$TMP/configure.log" >&2; fail "cmake configure"; }
cmake --build "$TMP/build" --target timing-sidecar -j "$(nproc)" >"$TMP/build.log" 2>&1 \
  || { tail -n 50 "$TMP/build.log" >&2; fail "cmake build"; }

echo "== cpack -G DEB"
(cd "$TMP/build" && cpack -G DEB) >"$TMP/cpack.log" 2>&1 || { cat "$TMP/cpack.log" >&2; fail "cpack -G DEB"; }
debs=("$TMP"/build/timing-sidecar_*.deb)
[[ ${#debs[@]} == 1 && -f "${debs[0]}" ]] || { ls "$TMP/build" >&2; fail "expected one timing-sidecar_*.deb"; }
deb=${debs[0]}
echo "built $(basename "$deb")"

fail=0
check() { echo "FAIL: $*" >&2; fail=1; }

echo "== dpkg-deb -I (control)"
dpkg-deb -I "$deb" | tee "$TMP/info.txt"
field() { dpkg-deb -f "$deb" "$1"; }
[[ "$(field Package)" == timing-sidecar ]] || check "Package is not timing-sidecar"
version=$(sed -n 's/^project(timing-sidecar VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[[ "$(field Version)" == "$version"-* ]] || check "Version $(field Version) is not the project's $version"
[[ -n "$(field Maintainer)" ]] || check "no Maintainer"
[[ -n "$(field Description)" ]] || check "no Description"
[[ "$(field Architecture)" == "$(dpkg --print-architecture)" ]] || check "Architecture $(field Architecture)"
depends=$(field Depends)
has_dep() { [[ ", $depends," == *", $1 "* || ", $depends," == *", $1,"* ]]; }
for lib in libprometheus-cpp-core1.0 libcpp-httplib0.11 libstdc++6 libc6; do
  has_dep "$lib" || check "Depends lacks $lib: $depends"
done

echo "== dpkg-deb -c (files)"
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' | tee "$TMP/files.txt"
for path in \
  /usr/bin/timing-sidecar \
  /usr/lib/systemd/system/timing-sidecar.service \
  /etc/timing-sidecar/config.toml \
  /usr/share/timing-sidecar/dashboards/timing-sidecar.json \
  /usr/share/timing-sidecar/prometheus/alerts.yml \
  /usr/share/timing-sidecar/prometheus/recording.yml \
  /usr/share/timing-sidecar/prometheus/prometheus.yml \
  /usr/share/timing-sidecar/grafana/provisioning/dashboards/timing-sidecar.yml \
  /usr/share/timing-sidecar/grafana/provisioning/datasources/prometheus.yml \
  /usr/share/timing-sidecar/kubernetes/statefulset.yaml \
  /usr/share/doc/timing-sidecar/README.md \
  /usr/share/doc/timing-sidecar/config.example.toml; do
  grep -qx -- "$path" "$TMP/files.txt" || check "the package lacks $path"
done
# nothing from the build tree or a developer prefix
if grep -E '^/usr/local/|/build/|\.o$|\.a$' "$TMP/files.txt"; then check "stray files in the package"; fi

echo "== control scripts"
mkdir -p "$TMP/control" "$TMP/root"
dpkg-deb -e "$deb" "$TMP/control"
grep -qx /etc/timing-sidecar/config.toml "$TMP/control/conffiles" || check "config.toml is not a conffile"
for script in postinst prerm postrm; do
  [[ -x "$TMP/control/$script" ]] || { check "$script missing or not executable"; continue; }
  sh -n "$TMP/control/$script" || check "$script: shell syntax"
done

echo "== packaged files are the repository's"
dpkg-deb -x "$deb" "$TMP/root"
same() { cmp -s "$1" "$2" || check "$2 differs from $1"; }
same deploy/systemd/timing-sidecar.service "$TMP/root/usr/lib/systemd/system/timing-sidecar.service"
same deploy/config.example.toml "$TMP/root/etc/timing-sidecar/config.toml"
same dashboards/timing-sidecar.json "$TMP/root/usr/share/timing-sidecar/dashboards/timing-sidecar.json"
same deploy/prometheus/alerts.yml "$TMP/root/usr/share/timing-sidecar/prometheus/alerts.yml"
same deploy/prometheus/recording.yml "$TMP/root/usr/share/timing-sidecar/prometheus/recording.yml"
# what the unit and the provisioning point at is in the package
exec_start=$(sed -n 's/^ExecStart=//p' "$TMP/root/usr/lib/systemd/system/timing-sidecar.service")
read -r exec_bin exec_flag exec_config <<<"$exec_start"
[[ -x "$TMP/root$exec_bin" ]] || check "ExecStart binary $exec_bin is not in the package"
[[ "$exec_flag" == --config && -f "$TMP/root$exec_config" ]] || check "ExecStart config $exec_config is not in the package"
provisioned=$(sed -n 's/^ *path: *//p' "$TMP/root/usr/share/timing-sidecar/grafana/provisioning/dashboards/timing-sidecar.yml")
[[ -f "$TMP/root$provisioned/timing-sidecar.json" ]] || check "the provisioning path $provisioned holds no dashboard"
doc=$(sed -n 's|^Documentation=file://||p' "$TMP/root/usr/lib/systemd/system/timing-sidecar.service")
[[ -z "$doc" || -f "$TMP/root$doc" ]] || check "Documentation= $doc is not in the package"

echo "== every shared library the binary needs comes from a package in Depends"
ldd "$TMP/root/usr/bin/timing-sidecar" >"$TMP/ldd.txt" || check "ldd failed"
if grep 'not found' "$TMP/ldd.txt"; then check "unresolved libraries"; fi
owner_of() {  # the Debian package of a library path (merged /usr: try the other spellings too)
  local candidate real
  real=$(readlink -f "$1")
  for candidate in "$1" "$real" "${1#/usr}" "/usr$1" "${real#/usr}"; do
    if dpkg -S "$candidate" >"$TMP/owner" 2>/dev/null; then
      head -n 1 "$TMP/owner" | cut -d: -f1
      return 0
    fi
  done
  return 1
}
while read -r soname; do
  path=$(awk -v so="$soname" '$1 == so && $3 ~ /^\// {print $3}' "$TMP/ldd.txt")
  [[ -n "$path" ]] || { check "NEEDED $soname not resolved by ldd"; continue; }
  owner=$(owner_of "$path") || { check "no Debian package owns $path ($soname)"; continue; }
  if has_dep "$owner"; then
    echo "ok: $soname -> $owner"
  else
    check "$soname comes from $owner, which Depends lacks"
  fi
done < <(readelf -d "$TMP/root/usr/bin/timing-sidecar" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')

echo "== the packaged binary runs"
if file "$TMP/root/usr/bin/timing-sidecar" 2>/dev/null | grep -q 'not stripped'; then check "binary not stripped"; fi
out=$("$TMP/root/usr/bin/timing-sidecar" --version) || check "--version failed"
[[ "$out" == *"$version"* ]] || check "--version says '$out', not $version"
echo "$out"

[[ $fail == 0 ]] || exit 1
echo "deploy_deb: all checks passed"
