#!/usr/bin/env bash
# Installs the Debian packages the local stack and the test suite need (idempotent).
# Terraform and its AWS provider mirror are expected on the machine (see README); everything
# Python comes from the hashed locks via `make venv`.
set -euo pipefail

packages=(
  podman runc debootstrap slirp4netns fuse-overlayfs uidmap  # container images without Docker
  chromium                                                   # browser test of the static site
  graphviz                                                   # architecture picture (make diagram)
  fonts-dejavu-core
  wrk                                                        # load generator for make bench
  valgrind                                                   # instructions per request (make bench)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "system packages missing (${missing[*]}): run this script as root or install them" >&2
  exit 1
fi

echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
