#!/usr/bin/env bash
# Cross-build a musl CPython for aarch64 (arm64) from Debian's upstream
# tarballs, to run under qemu-user. Called by tools/build-musl-python.sh
# --aarch64:
#   CACHE=… PREFIX=… PYVER=3.13 BUILD_PYTHON=… CROSS_GCC=… SRC_DESC=… \
#       aarch64.sh musl-dev_arm64.deb musl_arm64.deb zlib.orig.tar.xz python.orig.tar.xz
#
# Minimal on purpose (the CI budget): the only static dependency is zlib
# (pip reads wheels, which are zip files); no OpenSSL (pip needs no `ssl` for
# an http:// index on 127.0.0.1), no libffi (pip and the fork use `ctypes`
# only where its absence is handled), no bz2/lzma/sqlite/uuid. No PGO, no LTO,
# and -O2 without -g (CPython's default OPT is -g -O3): the build's time is
# the CI's.
#
# The toolchain is Debian's cross gcc ($CROSS_GCC: gcc-12-aarch64-linux-gnu,
# unpacked by the caller; its glibc default stays usable) turned into a
# musl compiler the way musl-gcc turns gcc into one: a specs file, here the
# arm64 `musl-dev` package's own musl-gcc.specs with its /usr paths pointed
# at the package unpacked into $PREFIX/toolchain (headers, crt*.o, libc.a;
# libc.so comes from the arm64 `musl` package of the same release). The
# kernel headers are Debian's arm64 ones (`linux-libc-dev-arm64-cross`),
# added *after* musl's (-idirafter) as for the x86_64 builds. The toolchain
# stays in the prefix: sysconfig's CC names its wrapper.
#
# Output: $PREFIX (bin/python$PYVER, PT_INTERP /lib/ld-musl-aarch64.so.1, the
# path on a real Alpine arm64 system); complete when .pip-musl-complete exists.
set -euo pipefail
: "${PREFIX:?}" "${PYVER:?}" "${BUILD_PYTHON:?}" "${CROSS_GCC:?}"
TAG="aarch64 $PYVER"
LOG=$CACHE/logs/$(basename "$PREFIX").log
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
MUSL_DEV_DEB=$1 MUSL_DEB=$2 ZLIB_ORIG=$3 PY_ORIG=$4
HOST=aarch64-linux-musl
GNU=aarch64-linux-gnu
KHDR=/usr/$GNU/include
LOADER=/lib/ld-musl-aarch64.so.1
PY=$PREFIX/bin/python$PYVER
note "cross-building musl CPython $PYVER for aarch64 into $PREFIX from $SRC_DESC"

[[ -x $CROSS_GCC ]] || die "no cross gcc at $CROSS_GCC"
for d in linux asm asm-generic; do
    [[ -d $KHDR/$d ]] || die "arm64 kernel headers missing: $KHDR/$d (apt-get install linux-libc-dev-arm64-cross)"
done
"$BUILD_PYTHON" -c "import sys; assert '%d.%d' % sys.version_info[:2] == '$PYVER'" ||
    die "the build Python $BUILD_PYTHON is not CPython $PYVER"

rm -rf "$PREFIX"
T=$PREFIX/toolchain
DEPS=$PREFIX/toolchain/deps
mkdir -p "$T/bin" "$T/kinclude" "$DEPS"

stage toolchain
dpkg -x "$MUSL_DEV_DEB" "$T/musl-dev"
dpkg -x "$MUSL_DEB" "$T/musl"
INC=$T/musl-dev/usr/include/$HOST
LIB=$T/musl-dev/usr/lib/$HOST
SPECS_IN=$LIB/musl-gcc.specs
[[ -f $SPECS_IN && -f $INC/stdio.h && -f $LIB/libc.a ]] || die "$MUSL_DEV_DEB is not an arm64 musl-dev"
libc_so=$(find "$T/musl" -path "*/$HOST/libc.so" -type f | head -n1)
[[ -n $libc_so ]] || die "$MUSL_DEB has no $HOST/libc.so"
cp "$libc_so" "$LIB/libc.so"
grep -q -- "-dynamic-linker $LOADER" "$SPECS_IN" || die "$SPECS_IN does not name $LOADER"
# The package's specs with its absolute /usr paths moved into the unpacked tree.
sed -e "s#/usr/include/$HOST#$INC#g" -e "s#/usr/lib/$HOST#$LIB#g" "$SPECS_IN" >"$T/musl-gcc.specs"
for d in linux asm asm-generic; do ln -s "$KHDR/$d" "$T/kinclude/$d"; done
# The compiler wrapper; like the x86_64 one it prints nothing for
# --print-multiarch (configure compares that with the musl triplet).
# -mno-outline-atomics: Debian's (glibc) libgcc implements gcc's default
# outline atomics with a constructor that calls glibc's __getauxval, which musl
# exports only from 1.2.6; inline atomics (ARMv8.0) need no runtime support.
cat >"$T/bin/$HOST-gcc" <<EOS
#!/bin/sh
# aarch64 musl compiler wrapper written by tools/musl-python/aarch64.sh
for a in "\$@"; do
    case \$a in -print-multiarch|--print-multiarch) exit 0 ;; esac
done
exec $CROSS_GCC -specs="$T/musl-gcc.specs" -mno-outline-atomics "\$@" -idirafter "$T/kinclude"
EOS
chmod +x "$T/bin/$HOST-gcc"
# The plain cross gcc (glibc), for tests that build glibc aarch64 files.
ln -s "$CROSS_GCC" "$T/bin/$GNU-gcc"
# binutils under the triplet configure asks for ($HOST-ar, -readelf, …).
for tool in ar ranlib readelf strip nm objcopy objdump ld as; do
    ln -s "$(command -v "$GNU-$tool")" "$T/bin/$HOST-$tool"
done
export PATH="$T/bin:$PATH"
CC=$T/bin/$HOST-gcc
printf '#include <stdio.h>\n#include <linux/limits.h>\nint main(void){puts("ok");return 0;}\n' >"$WORK/t.c"
"$CC" -O2 "$WORK/t.c" -o "$WORK/t"
interp=$(readelf -l "$WORK/t" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
[[ $interp == "$LOADER" ]] || die "the toolchain links with interpreter '$interp', expected $LOADER"
readelf -h "$WORK/t" | grep -q 'AArch64' || die "the toolchain does not produce AArch64 code"
stage_done

stage zlib
unpack "$ZLIB_ORIG" "$WORK/zlib"
( cd "$WORK/zlib"
  CC=$CC AR=$HOST-ar RANLIB=$HOST-ranlib CFLAGS="-O2 -fPIC" \
      ./configure --static --prefix="$DEPS" --libdir="$DEPS/lib"
  make -j"$JOBS" libz.a
  make install )
stage_done

stage unpack
unpack "$PY_ORIG" "$WORK/python"
stage_done

# What configure cannot find out without running aarch64 code.
cat >"$WORK/config.site" <<'EOS'
ac_cv_file__dev_ptmx=yes
ac_cv_file__dev_ptc=no
ac_cv_buggy_getaddrinfo=no
ac_cv_libatomic_needed=no
EOS
# Modules left out: their libraries are not built (see the header).
na=(_tkinter _dbm _gdbm readline _curses _curses_panel nis _zstd
    _ctypes _ssl _hashlib _bz2 _lzma _sqlite3 _uuid)
cv=()
for m in "${na[@]}"; do cv+=("py_cv_module_$m=n/a"); done

stage configure
cd "$WORK/python"
CONFIG_SITE=$WORK/config.site ./configure \
    --build=x86_64-pc-linux-gnu --host="$HOST" --prefix="$PREFIX" \
    --with-build-python="$BUILD_PYTHON" \
    --without-ensurepip --disable-test-modules \
    CC="$CC" OPT="-DNDEBUG -O2 -Wall" CPPFLAGS="-I$DEPS/include" LDFLAGS="-L$DEPS/lib" \
    PKG_CONFIG_LIBDIR="$DEPS/lib/pkgconfig" PKG_CONFIG_PATH= \
    "${cv[@]}"
stage_done

stage make
make -j"$JOBS"
stage_done

stage install
STAGE_DIR=$WORK/stage
make install DESTDIR="$STAGE_DIR"
[[ -x $STAGE_DIR$PY ]] || die "install produced no $STAGE_DIR$PY"
for d in "$STAGE_DIR$PREFIX"/*; do mv "$d" "$PREFIX/"; done
stage_done

stage checks
interp=$(readelf -l "$PY" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
[[ $interp == "$LOADER" ]] || die "$PY: PT_INTERP is '$interp', expected $LOADER"
readelf -h "$PY" | grep -q AArch64 || die "$PY is not an AArch64 executable"
bad=0
check_needed() {  # the only shared library allowed is musl's libc.so
    local f=$1 n
    while read -r n; do
        if [[ $n != libc.so ]]; then echo "$f: unexpected NEEDED $n"; bad=1; fi
    done < <(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
}
check_needed "$PY"
shopt -s nullglob
dynload=("$PREFIX"/lib/python"$PYVER"/lib-dynload/*.so)
shopt -u nullglob
((${#dynload[@]})) || die "no extension modules in lib-dynload"
for f in "${dynload[@]}"; do check_needed "$f"; done
((bad == 0)) || die "some binaries link libraries other than musl's libc.so (see $LOG)"
# Running it is the caller's part (it needs a loader and qemu-aarch64).
mkdir -p "$PREFIX/syslibs"
stage_done

{
    echo "sources=$SRC_DESC"
    echo "python=$PY"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) in $((SECONDS - T0)) s"
} >"$PREFIX/.pip-musl-complete.tmp"
mv "$PREFIX/.pip-musl-complete.tmp" "$PREFIX/.pip-musl-complete"
echo "[musl-python $TAG] all: $((SECONDS - T0)) s -> $PY" >&3
