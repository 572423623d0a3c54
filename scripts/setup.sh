#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests and the benchmarks need (only those
# missing), then configures and builds into build/. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # build
  cmake g++ make pkg-config
  prometheus-cpp-dev libcpp-httplib-dev nlohmann-json3-dev libcli11-dev catch2
  zlib1g-dev libssl-dev libyaml-cpp-dev libcrypt-dev libtomlplusplus-dev libre2-dev
  # tests: the real Prometheus and promtool, curl, jq, YAML lint, python3 for the tools
  prometheus curl jq yamllint python3 python3-yaml dpkg-dev openssl
  # browser_pages: headless Chromium renders the web pages
  chromium
  # deploy_deb: CPack's shlibdeps runs `file`; deploy_systemd: systemd-analyze verify
  file systemd
  # sanitizers and fuzzing (clang's runtime; llvm-symbolizer for the fuzzers' stack traces),
  # benchmarks and profiling
  clang libclang-rt-14-dev llvm wrk hyperfine valgrind
  # the formatting check of .ci/run
  clang-format
  # the container image (scripts/build-image.sh, tests/scripts/container_image.sh): podman runs
  # containers here with runc only; debootstrap makes the Debian base
  podman runc debootstrap
)

# The broker plugin and the real-broker test: a JDK (17 or newer) and Maven, unless already there.
command -v java >/dev/null || PACKAGES+=(default-jdk-headless)
command -v mvn >/dev/null || PACKAGES+=(maven)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

werror=OFF
[ "${CI:-}" = true ] && werror=ON
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIMING_SIDECAR_WERROR="$werror"
cmake --build build -j"$(nproc)"
