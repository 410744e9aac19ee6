#!/usr/bin/env bash
# Install the Debian packages the test suite needs (idempotent, quiet when present).
set -euo pipefail
# The aarch64 cross toolchain but for gcc's driver, which conflicts with
# gcc-multilib: tools/build-musl-python.sh --aarch64 unpacks the driver's .deb
# (gcc-12-aarch64-linux-gnu) into its cache instead.
packages=(musl musl-dev musl-tools gcc gcc-multilib binutils-aarch64-linux-gnu cpp-12-aarch64-linux-gnu libgcc-12-dev-arm64-cross libc6-dev-arm64-cross linux-libc-dev-arm64-cross binutils file dpkg-dev qemu-user patchelf busybox tcl build-essential pkg-config libssl-dev zlib1g-dev libffi-dev libbz2-dev liblzma-dev libsqlite3-dev uuid-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup-system: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
