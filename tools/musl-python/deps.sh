#!/usr/bin/env bash
# Build the musl toolchain wrapper and the static libraries every musl CPython
# links: zlib, bzip2, liblzma, libffi, OpenSSL, SQLite, libuuid (bookworm's
# sources, musl-gcc). Called by tools/build-musl-python.sh:
#   CACHE=… DEPS_PREFIX=… DEPS_DESC=… deps.sh pkg=orig.tar.xz …
# Output: $DEPS_PREFIX/{bin,include,fakebin,deps}; complete when
# $DEPS_PREFIX/.pip-musl-complete exists.
set -euo pipefail
: "${DEPS_PREFIX:?}"
TAG=deps
LOG=$CACHE/logs/$(basename "$DEPS_PREFIX").log
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

declare -A ORIG
for a in "$@"; do ORIG[${a%%=*}]=${a#*=}; done
MUSL_TRIPLET=x86_64-pc-linux-musl
note "building the musl dependencies into $DEPS_PREFIX: $DEPS_DESC"

# Built in place (the caller holds the lock); the stamp, written last, marks
# it complete, so a killed build is started over.
rm -rf "$DEPS_PREFIX"
STAGED=$DEPS_PREFIX
DEPS=$STAGED/deps
mkdir -p "$STAGED/bin" "$STAGED/include" "$STAGED/fakebin" "$DEPS/include" "$DEPS/lib"

# Compiler wrapper.
#  * CPython's configure runs `$CC --print-multiarch` and insists it equals the
#    platform triplet (x86_64-linux-musl); musl-gcc is gcc with a specs file and
#    answers x86_64-linux-gnu. 3.11's setup.py asks `$CC -print-multiarch` too
#    and would then add /usr/include/x86_64-linux-gnu. Print nothing for either.
#  * musl-gcc's specs use -nostdinc, so the kernel headers (linux/, asm/,
#    asm-generic/) are invisible; add a private dir holding only those three,
#    *after* musl's own headers (-idirafter) so libc headers always win.
CCW=$STAGED/bin/x86_64-linux-musl-gcc
cat >"$CCW" <<EOS
#!/bin/sh
# musl-gcc wrapper written by tools/musl-python/deps.sh
for a in "\$@"; do
    case \$a in -print-multiarch|--print-multiarch) exit 0 ;; esac
done
exec /usr/bin/musl-gcc "\$@" -idirafter "$DEPS_PREFIX/include"
EOS
chmod +x "$CCW"
ln -s /usr/include/linux "$STAGED/include/linux"
ln -s /usr/include/asm-generic "$STAGED/include/asm-generic"
ln -s /usr/include/x86_64-linux-gnu/asm "$STAGED/include/asm"
for d in linux asm asm-generic; do
    [[ -e $STAGED/include/$d/. ]] || die "kernel headers missing: /usr/include/$d (linux-libc-dev)"
done
# 3.11's setup.py (add_multiarch_paths), when `$CC -print-multiarch` prints
# nothing, asks `dpkg-architecture -qDEB_HOST_MULTIARCH` and adds
# /usr/include/x86_64-linux-gnu and /usr/lib/x86_64-linux-gnu: glibc's headers
# and libraries mixed into a musl build. A failing dpkg-architecture first on
# PATH makes setup.py skip that without patching CPython's sources.
printf '#!/bin/sh\n# see tools/musl-python/deps.sh\nexit 1\n' >"$STAGED/fakebin/dpkg-architecture"
chmod +x "$STAGED/fakebin/dpkg-architecture"

export CC=$CCW
export PKG_CONFIG_LIBDIR=$DEPS/lib/pkgconfig PKG_CONFIG_PATH=
CF="-O2 -fPIC"

stage zlib
unpack "${ORIG[zlib]}" "$WORK/zlib"
( cd "$WORK/zlib"
  CFLAGS="$CF" ./configure --static --prefix="$DEPS" --libdir="$DEPS/lib"
  make -j"$JOBS" libz.a
  make install )
stage_done

stage bzip2
unpack "${ORIG[bzip2]}" "$WORK/bzip2"
( cd "$WORK/bzip2"
  make -j"$JOBS" libbz2.a CC="$CC" CFLAGS="$CF -D_FILE_OFFSET_BITS=64"
  install -m 644 libbz2.a "$DEPS/lib/"
  install -m 644 bzlib.h "$DEPS/include/" )
stage_done

stage liblzma
unpack "${ORIG[xz-utils]}" "$WORK/xz"
( cd "$WORK/xz"
  CFLAGS="$CF" ./configure --build="$MUSL_TRIPLET" --prefix="$DEPS" --libdir="$DEPS/lib" \
      --disable-shared --enable-static --with-pic --disable-nls --disable-doc \
      --disable-xz --disable-xzdec --disable-lzmadec --disable-lzmainfo \
      --disable-lzma-links --disable-scripts
  make -j"$JOBS"
  make install )
stage_done

stage libffi
unpack "${ORIG[libffi]}" "$WORK/libffi"
( cd "$WORK/libffi"
  CFLAGS="$CF" ./configure --build="$MUSL_TRIPLET" --prefix="$DEPS" --libdir="$DEPS/lib" \
      --disable-shared --enable-static --with-pic --disable-docs \
      --disable-multi-os-directory
  make -j"$JOBS"
  make install )
stage_done

# SQLite: Debian's orig tarball is the full source tree; its build generates
# the amalgamation with tclsh (Debian `tcl`). Only the static library and the
# headers are installed.
stage sqlite3
unpack "${ORIG[sqlite3]}" "$WORK/sqlite"
( cd "$WORK/sqlite"
  CFLAGS="$CF -DSQLITE_ENABLE_COLUMN_METADATA=1 -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_JSON1" \
  ./configure --build="$MUSL_TRIPLET" --prefix="$DEPS" --libdir="$DEPS/lib" \
      --disable-shared --enable-static --with-pic --disable-tcl --disable-readline \
      --disable-editline BUILD_CC=gcc
  make -j"$JOBS" libsqlite3.la
  install -m 644 .libs/libsqlite3.a "$DEPS/lib/"
  install -m 644 sqlite3.h src/sqlite3ext.h "$DEPS/include/"
  mkdir -p "$DEPS/lib/pkgconfig"
  sed -e "s#@prefix@#$DEPS#; s#@exec_prefix@#\${prefix}#; s#@libdir@#\${prefix}/lib#" \
      -e "s#@includedir@#\${prefix}/include#; s#@PACKAGE_VERSION@#$(cat VERSION)#" \
      -e "s#@LIBS@#-lm#; s#@[A-Z_]*@##g" sqlite3.pc.in >"$DEPS/lib/pkgconfig/sqlite3.pc" )
stage_done

# libuuid from util-linux: only the library (--disable-all-programs).
stage libuuid
unpack "${ORIG[util-linux]}" "$WORK/util-linux"
( cd "$WORK/util-linux"
  CFLAGS="$CF" ./configure --build="$MUSL_TRIPLET" --prefix="$DEPS" --libdir="$DEPS/lib" \
      --disable-all-programs --enable-libuuid --disable-shared --enable-static --with-pic \
      --disable-nls --without-python --without-systemd --without-udev --without-tinfo \
      --without-ncursesw --without-ncurses --disable-bash-completion --disable-asciidoc \
      --without-readline --without-cap-ng --without-libz --without-btrfs --without-selinux \
      --without-audit --without-smack --without-econf
  make -j"$JOBS" libuuid.la
  install -m 644 .libs/libuuid.a "$DEPS/lib/"
  mkdir -p "$DEPS/include/uuid"
  install -m 644 libuuid/src/uuid.h "$DEPS/include/uuid/"
  make libuuid/uuid.pc
  install -m 644 libuuid/uuid.pc "$DEPS/lib/pkgconfig/" )
stage_done

# OpenSSL: static, position-independent (it ends up inside _ssl/_hashlib .so),
# libraries only. OPENSSLDIR is the system's /etc/ssl so the default CA paths
# are Debian's.
stage openssl
unpack "${ORIG[openssl]}" "$WORK/openssl"
( cd "$WORK/openssl"
  ./Configure linux-x86_64 no-shared no-tests -fPIC \
      --prefix="$DEPS" --libdir=lib --openssldir=/etc/ssl
  make -j"$JOBS" build_libs
  make install_dev )
stage_done

echo "$DEPS_DESC" >"$DEPS_PREFIX/.pip-musl-complete"
echo "[musl-python $TAG] all: $((SECONDS - T0)) s" >&3
