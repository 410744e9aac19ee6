#!/usr/bin/env bash
# Install the Debian packages the test suite needs (idempotent, quiet when present).
set -euo pipefail
# gcc-12-multilib, not gcc-multilib: Debian's gcc-multilib (only an
# /usr/include/asm link) conflicts with the aarch64 cross compiler; `gcc -m32`
# works without it. The aarch64 ones build the aarch64 musl host and the
# aarch64 test extensions (tools/musl-python/aarch64.sh, tests/e2e/test_aarch64.py).
packages=(musl musl-dev musl-tools gcc gcc-12-multilib gcc-aarch64-linux-gnu libc6-dev-arm64-cross linux-libc-dev-arm64-cross binutils file dpkg-dev qemu-user patchelf busybox tcl build-essential pkg-config libssl-dev zlib1g-dev libffi-dev libbz2-dev liblzma-dev libsqlite3-dev uuid-dev)
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
