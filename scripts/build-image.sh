#!/usr/bin/env bash
# Builds the container image localhost/timing-sidecar:<version> (the version of CMakeLists.txt's
# project()) from deploy/container/Containerfile with podman, as root:
#
#   scripts/build-image.sh [--save FILE] [--print-image]
#
#   --save FILE     also write the image to FILE as an archive that `podman load`, `docker load`
#                   and `kind load image-archive` take
#   --print-image   print the image reference the script builds and exit
#
# The name is written in full: podman names a bare timing-sidecar:<version> localhost/..., and
# so does containerd (kind) and Docker when they load the archive, whereas Kubernetes would read
# a bare name in a manifest as docker.io/library/timing-sidecar.
#
# No image registry is needed: the base, localhost/debian-base:bookworm, is a Debian 12 minbase
# made with debootstrap from the Debian mirror apt uses on this machine (or DEBIAN_MIRROR),
# without documentation, manual pages, locales and package lists (the licences in
# /usr/share/doc/*/copyright are kept). Its root filesystem is cached in
# ${XDG_CACHE_HOME:-~/.cache}/timing-sidecar/debian-base-bookworm and imported when podman does
# not have the base; podman's layer cache makes a rebuild from an unchanged tree take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

version=$(sed -n 's/^project(timing-sidecar VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "build-image: no project version in CMakeLists.txt" >&2; exit 1; }
image=localhost/timing-sidecar:$version
base=localhost/debian-base:bookworm

save=""
while [ $# -gt 0 ]; do
  case $1 in
    --save) [ $# -ge 2 ] || { echo "build-image: --save needs a file" >&2; exit 2; }
            save=$2; shift 2 ;;
    --print-image) echo "$image"; exit 0 ;;
    *) echo "build-image: unknown argument '$1' (--save FILE, --print-image)" >&2; exit 2 ;;
  esac
done

for tool in podman debootstrap; do
  command -v "$tool" >/dev/null ||
    { echo "build-image: $tool not found (Debian packages podman, runc, debootstrap)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "build-image: run as root (podman's rootful mode)" >&2; exit 1; }
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/deploy/container/containers.conf}

# The host's Debian bookworm sources as apt has them (by codename, so that a sources.list naming
# "oldstable" counts too): "URI CODENAME COMPONENT" per line.
debian_sources() {
  apt-get indextargets --format '$(ORIGIN) $(REPO_URI) $(CODENAME) $(COMPONENT)' \
    'Created-By: Packages' | awk '$1 == "Debian" && $3 ~ /^bookworm(-updates|-security)?$/ {
      print $2, $3, $4 }' | sort -u
}

make_rootfs() {
  local rootfs=$1 mirror sources
  sources=$(debian_sources)
  mirror=${DEBIAN_MIRROR:-$(awk '$2 == "bookworm" {print $1; exit}' <<<"$sources")}
  [ -n "$mirror" ] || {
    echo "build-image: apt knows no Debian bookworm source here (after apt-get update);" \
      "set DEBIAN_MIRROR" >&2
    exit 1
  }
  rm -rf "$rootfs.tmp"
  echo "build-image: debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs.tmp" "$mirror" >"$rootfs.log" 2>&1 ||
    { tail -n 20 "$rootfs.log" >&2; exit 1; }
  # the same suites as the host's apt (updates and security too)
  if [ -n "${DEBIAN_MIRROR:-}" ]; then
    echo "deb $mirror bookworm main" >"$rootfs.tmp/etc/apt/sources.list"
  else
    awk '{print "deb " $1 " " $2 " " $3}' <<<"$sources" >"$rootfs.tmp/etc/apt/sources.list"
  fi
  # Slim, as Debian's own -slim images: dpkg leaves these out of every later install too.
  cat >"$rootfs.tmp/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
EOF
  # the fixes of -updates and -security that debootstrap (bookworm only) did not take
  DEBIAN_FRONTEND=noninteractive chroot "$rootfs.tmp" sh -c 'apt-get update && apt-get -y upgrade' \
    >>"$rootfs.log" 2>&1 ||
    { tail -n 20 "$rootfs.log" >&2; exit 1; }
  # the build machine's name and resolver stay out (podman and Kubernetes mount their own)
  rm -f "$rootfs.tmp/etc/resolv.conf" "$rootfs.tmp/etc/hostname"
  find "$rootfs.tmp/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$rootfs.tmp/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs.tmp"/usr/share/{man,info,locale,groff,lintian}/* \
    "$rootfs.tmp"/var/lib/apt/lists/* "$rootfs.tmp"/var/cache/apt/* "$rootfs.tmp"/var/log/*.log \
    "$rootfs.tmp"/var/log/apt/*
  mv "$rootfs.tmp" "$rootfs"
}

started=$SECONDS
if ! podman image exists "$base"; then
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/timing-sidecar
  mkdir -p "$cache"
  [ -d "$cache/debian-base-bookworm" ] || make_rootfs "$cache/debian-base-bookworm"
  echo "build-image: importing $base"
  tar -C "$cache/debian-base-bookworm" -c . | podman import -q - "$base" >/dev/null
fi
echo "build-image: base ready after $((SECONDS - started)) s"

labels=()
if revision=$(git rev-parse HEAD 2>/dev/null); then
  git diff --quiet HEAD 2>/dev/null || revision+="-dirty"
  labels+=(--label "org.opencontainers.image.revision=$revision")
fi
if source_url=$(git remote get-url origin 2>/dev/null); then
  labels+=(--label "org.opencontainers.image.source=$source_url")
fi

# The broker plugin's jar goes into the image too, for the init container that copies it into the
# broker's classpath (deploy/kubernetes/statefulset.yaml): Maven builds it (its tests run in
# ctest's `broker-plugin: mvn package`).
mvn -B -q -f broker-plugin/pom.xml package -DskipTests >/dev/null
podman build --network=host -f deploy/container/Containerfile --build-arg "VERSION=$version" \
  "${labels[@]}" -t "$image" .
echo "build-image: built $image in $((SECONDS - started)) s," \
  "$(podman image inspect --format '{{.Size}}' "$image") bytes uncompressed"

# docker-archive, not oci-archive: `docker load` with Docker's classic image store reads only the
# archive's manifest.json (which names the image), and an OCI archive has none; podman and
# containerd (kind) load either.
if [ -n "$save" ]; then
  rm -f "$save"
  podman save --format docker-archive -o "$save" "$image"
  echo "build-image: saved $image to $save ($(stat -c %s "$save") bytes)"
fi
