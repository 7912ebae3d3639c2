#!/usr/bin/env bash
# Build the images we ship (bot, load generator) with podman from the same Dockerfiles CI uses.
# No image registry is reachable here, so the base images are made locally (../shared/INFRA.md,
# "Containers on these machines"): a Debian bookworm rootfs with Python 3.11 from debootstrap,
# imported with `podman import`, and a FROM-scratch image holding the `uv` binary of the uv wheel
# uv.lock's toolchain pins. Both reach the Dockerfiles as build arguments (PYTHON_IMAGE, UV_IMAGE).
# Everything built lands under build/images/ (gitignored). Prints each image's size.
#
# Usage: infra/images/build.sh [TAG]   (default tag: local)
set -euo pipefail

TAG="${1:-local}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$ROOT/build/images"
PYTHON_IMAGE="localhost/python:3.11-bookworm"
UV_VERSION="$(uv --version | awk '{print $2}')"
UV_IMAGE="localhost/uv:$UV_VERSION"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$WORK"

# podman on these machines: runc (crun refuses hybrid cgroups), cgroupfs, no default ulimits.
printf '[containers]\ndefault_ulimits = []\n' >"$WORK/containers.conf"
export CONTAINERS_CONF="$WORK/containers.conf"
podman_() { podman --runtime runc --cgroup-manager cgroupfs "$@"; }

if ! podman_ image exists "$PYTHON_IMAGE"; then
  if [ ! -x "$WORK/rootfs-python/usr/bin/python3" ]; then
    rm -rf "$WORK/rootfs-python"
    debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates \
      bookworm "$WORK/rootfs-python" "$MIRROR" >"$WORK/debootstrap.log"
  fi
  # This machine reaches PyPI through a TLS proxy whose CA only the host's bundle holds: the
  # local base image trusts that bundle, and uv reads the system store (CI's python:3.11-slim
  # needs neither).
  cp /etc/ssl/certs/ca-certificates.crt "$WORK/rootfs-python/etc/ssl/certs/ca-certificates.crt"
  tar -C "$WORK/rootfs-python" -c . |
    podman_ import --change 'CMD ["python3"]' --change 'ENV UV_NATIVE_TLS=1' - "$PYTHON_IMAGE"
fi

if ! podman_ image exists "$UV_IMAGE"; then
  rm -rf "$WORK/uv" && mkdir -p "$WORK/uv"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$WORK/uv" "uv==$UV_VERSION"
  python3 -m zipfile -e "$WORK"/uv/uv-*.whl "$WORK/uv/wheel"
  cp "$WORK"/uv/wheel/uv-*.data/scripts/uv "$WORK/uv/uv" && chmod 0755 "$WORK/uv/uv"
  printf 'FROM scratch\nCOPY uv /uv\n' >"$WORK/uv/Containerfile"
  podman_ build --quiet -f "$WORK/uv/Containerfile" -t "$UV_IMAGE" "$WORK/uv" >/dev/null
fi

build() { # dockerfile image
  podman_ build --network host --layers \
    --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" --build-arg "UV_IMAGE=$UV_IMAGE" \
    -f "$ROOT/$1" -t "$2" "$ROOT"
}
build bot/Dockerfile "localhost/tgscale-bot:$TAG"
build loadtest/Dockerfile "localhost/tgscale-loadtest:$TAG"
podman_ images --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
  --filter reference="localhost/tgscale-*:$TAG"
