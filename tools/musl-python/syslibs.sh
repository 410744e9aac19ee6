#!/usr/bin/env bash
# Shared libraries an Alpine base image has and musllinux wheels expect from the
# system (auditwheel leaves them out): today libz.so.1. Built with musl-gcc from
# bookworm's zlib into $SYSLIBS/lib; the tests put that directory on the
# hosts' LD_LIBRARY_PATH where a real wheel needs it (Pillow's _imaging).
#   CACHE=… SYSLIBS=… syslibs.sh zlib.orig.tar.xz
set -euo pipefail
: "${SYSLIBS:?}"
TAG=syslibs
LOG=$CACHE/logs/$(basename "$SYSLIBS").log
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
rm -rf "$SYSLIBS"
mkdir -p "$SYSLIBS/lib"
stage libz.so.1
unpack "$1" "$WORK/zlib"
( cd "$WORK/zlib"
  CC=musl-gcc CFLAGS="-O2 -fPIC" ./configure --shared --prefix="$WORK/inst"
  make -j"$JOBS" shared
  make install )
cp -a "$WORK"/inst/lib/libz.so* "$SYSLIBS/lib/"
[[ $(readelf -d "$SYSLIBS/lib/libz.so.1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p') == libc.so ]] ||
    die "libz.so.1 needs more than musl's libc.so"
stage_done
date -u +%Y-%m-%dT%H:%M:%SZ >"$SYSLIBS/.pip-musl-complete"
