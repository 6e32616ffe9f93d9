#!/usr/bin/env bash
# Make a fresh CI runner look like our machines before `make test`: the Debian packages
# (scripts/install_system_deps.sh) and the Terraform provider mirror at /opt/tf-plugins that the
# tests and mk/30-infra.mk use. Idempotent; needs terraform on PATH and root or sudo.
set -euo pipefail
cd "$(dirname "$0")/../.."

AWS_PROVIDER_VERSION="5.100.0"   # the version in our machines' mirror (TOOLBOX)
MIRROR=/opt/tf-plugins

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

"${sudo_cmd[@]}" bash scripts/install_system_deps.sh

# The mirror's first folder is the provider registry's host; match any so none is named here.
if compgen -G "$MIRROR/*/hashicorp/aws/$AWS_PROVIDER_VERSION" >/dev/null; then
  echo "provider mirror: hashicorp/aws $AWS_PROVIDER_VERSION present in $MIRROR"
  exit 0
fi
command -v terraform >/dev/null || { echo "provision_runner: terraform is not on PATH" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/versions.tf" <<TF
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "$AWS_PROVIDER_VERSION"
    }
  }
}
TF
"${sudo_cmd[@]}" mkdir -p "$MIRROR"
"${sudo_cmd[@]}" chown "$(id -u):$(id -g)" "$MIRROR"
terraform -chdir="$work" providers mirror -platform=linux_amd64 "$MIRROR"
echo "provider mirror: hashicorp/aws $AWS_PROVIDER_VERSION written to $MIRROR"
