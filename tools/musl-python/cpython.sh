#!/usr/bin/env bash
# Build one CPython from Debian's upstream (orig) tarball. Called by
# tools/build-musl-python.sh:
#   CACHE=… FLAVOR=musl|glibc PYVER=X.Y PREFIX=… [DEPS_PREFIX=…] SRC_DESC=… \
#       cpython.sh python.orig.tar.xz
# musl: compiled with the musl-gcc wrapper of $DEPS_PREFIX, every dependency
# but libc linked statically, so the interpreter and its extension modules need
# nothing at run time but musl's loader (which is musl's libc).
# glibc: plain gcc against the system's -dev packages.
# Configured with the final prefix, installed with DESTDIR into a staging dir
# and renamed into place; $PREFIX/.pip-musl-complete, written last, marks it
# complete. Fails unless `import ssl, ctypes, zlib, bz2, lzma, sqlite3, uuid`
# (and _uuid, the C part of uuid) work.
set -euo pipefail
: "${FLAVOR:?}" "${PYVER:?}" "${PREFIX:?}"
TAG=$PYVER
[[ $FLAVOR == glibc ]] && TAG="glibc $PYVER"
LOG=$CACHE/logs/$(basename "$PREFIX").log
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ORIG=$1
MUSL_TRIPLET=x86_64-pc-linux-musl
MUSL_LOADER=/lib/ld-musl-x86_64.so.1
PY=$PREFIX/bin/python$PYVER
note "building $FLAVOR CPython $PYVER into $PREFIX from $SRC_DESC"
rm -rf "$PREFIX"

stage unpack
unpack "$ORIG" "$WORK/python"
stage_done

cd "$WORK/python"
# Modules whose libraries are not built (Tk, dbm, readline, curses, NIS,
# zstd): n/a, so nothing goes looking for glibc's copies in /usr/include.
na=(_tkinter _dbm _gdbm readline _curses _curses_panel nis _zstd)
cv=()
for m in "${na[@]}"; do cv+=("py_cv_module_$m=n/a"); done

stage configure
if [[ $FLAVOR == musl ]]; then
    : "${DEPS_PREFIX:?}"
    DEPS=$DEPS_PREFIX/deps
    export CC=$DEPS_PREFIX/bin/x86_64-linux-musl-gcc
    export PATH="$DEPS_PREFIX/fakebin:$PATH"
    export PKG_CONFIG_LIBDIR=$DEPS/lib/pkgconfig PKG_CONFIG_PATH=
    if [[ -f setup.py ]]; then
        # 3.11: setup.py adds /usr/local/include and /usr/local/lib to every
        # extension module's search paths; anything there was built against
        # glibc. (Replaced by `pass`: they are the body of an `if`.) 3.13 and
        # later have no setup.py: configure and Modules/Setup.stdlib decide,
        # from pkg-config, which here sees only $DEPS.
        grep -q "'/usr/local/lib')" setup.py || die "setup.py: /usr/local lines not found"
        sed -i -E "s#add_dir_to_list\(self\.compiler\.(library|include)_dirs, '/usr/local/(lib|include)'\)#pass#" setup.py
        ! grep -q "'/usr/local/lib')" setup.py || die "setup.py: could not drop /usr/local paths"
    fi
    ./configure --build="$MUSL_TRIPLET" --prefix="$PREFIX" \
        --without-ensurepip --disable-test-modules \
        --with-openssl="$DEPS" \
        CPPFLAGS="-I$DEPS/include" LDFLAGS="-L$DEPS/lib" \
        "${cv[@]}"
else
    export CC=gcc
    ./configure --prefix="$PREFIX" --without-ensurepip --disable-test-modules "${cv[@]}"
fi
stage_done

stage make
make -j"$JOBS"
stage_done

stage install
STAGE_DIR=$WORK/stage
make install DESTDIR="$STAGE_DIR"
[[ -x $STAGE_DIR$PY ]] || die "install produced no $STAGE_DIR$PY"
mv "$STAGE_DIR$PREFIX" "$PREFIX"
stage_done

stage checks
if [[ $FLAVOR == musl ]]; then
    interp=$(readelf -l "$PY" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
    [[ $interp == "$MUSL_LOADER" ]] || die "$PY: PT_INTERP is '$interp', expected $MUSL_LOADER"
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
fi
"$PY" - <<'EOS' || die "$PY lacks a module a python:3.x-alpine image has (see $LOG)"
import importlib, sys, sysconfig
required = ["ssl", "ctypes", "zlib", "bz2", "lzma", "sqlite3", "uuid",
            "_ssl", "_hashlib", "_ctypes", "_bz2", "_lzma", "_sqlite3", "_uuid",
            "_socket", "_json", "_struct", "math", "select", "_posixsubprocess",
            "binascii", "_decimal", "pyexpat", "_multiprocessing", "unicodedata"]
missing = []
for m in required:
    try:
        importlib.import_module(m)
    except ImportError as e:
        missing.append(f"{m} ({e})")
if missing:
    sys.exit("missing modules: " + ", ".join(missing))
import ctypes, hashlib, sqlite3, ssl, uuid
assert hashlib.sha256(b"x").hexdigest().startswith("2d711642")
ssl.create_default_context()
assert ctypes.CDLL(None).getpid() > 0
assert sqlite3.connect(":memory:").execute("select 1 + 1").fetchone() == (2,)
assert uuid.uuid4().version == 4 and uuid._uuid is not None
print(ssl.OPENSSL_VERSION, "sqlite", sqlite3.sqlite_version)
print("EXT_SUFFIX", sysconfig.get_config_var("EXT_SUFFIX"))
print("SOABI", sysconfig.get_config_var("SOABI"))
EOS
"$PY" -m venv --without-pip "$WORK/venv"
"$WORK/venv/bin/python" -c "import sys; assert sys.prefix != sys.base_prefix"
stage_done

{
    echo "sources=$SRC_DESC"
    echo "python=$PY"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) in $((SECONDS - T0)) s"
} >"$PREFIX/.pip-musl-complete.tmp"
mv "$PREFIX/.pip-musl-complete.tmp" "$PREFIX/.pip-musl-complete"
echo "[musl-python $TAG] all: $((SECONDS - T0)) s -> $PY" >&3
