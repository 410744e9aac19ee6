#!/usr/bin/env bash
# Build a musl-linked CPython 3.11 from Debian's source packages and cache it
# outside the repository, so tests can run pip under a real musl interpreter.
#
# Usage:
#   tools/build-musl-python.sh               build if needed; last stdout line
#                                            is the interpreter's absolute path
#   tools/build-musl-python.sh --print-path  print the interpreter's path if it
#                                            is built (exit 0), else exit 1
#
#   PY=$(bash tools/build-musl-python.sh | tail -n1)
#
# Cache: ${PIP_MUSL_CACHE:-$HOME/.cache/pip-musl}
#   cpython-<pyver>-<key>/          the installed interpreter (final --prefix);
#                                   complete only when .pip-musl-complete exists
#   cpython-<pyver>-<key>.tools/    compiler wrapper, kernel-header dir and the
#                                   static zlib/OpenSSL/libffi/bzip2/liblzma the
#                                   interpreter was linked with (sysconfig's CC
#                                   points here, so C extensions can be built
#                                   with the interpreter later)
#   cpython-<pyver>-<key>.log       build log
#   src/<pkg>_<version>/            downloaded Debian source packages
# <key> hashes the Debian source versions used and this script (plus any files
# in tools/musl-python/), so changing either builds a new interpreter.
#
# Only the upstream (orig) tarballs are built; no Debian patch is needed.
# Everything but libc is linked statically, so the interpreter and its
# extension modules need nothing at run time but /lib/ld-musl-x86_64.so.1
# (Debian's `musl` package).
set -euo pipefail

PROG=build-musl-python
SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
HELPERS=$(dirname "$SCRIPT")/musl-python
CACHE=${PIP_MUSL_CACHE:-$HOME/.cache/pip-musl}
JOBS=2
# Debian source packages: the interpreter, then its static dependencies.
SRC_PKGS=(python3.11 zlib openssl libffi bzip2 xz-utils)
MUSL_LOADER=/lib/ld-musl-x86_64.so.1
MUSL_TRIPLET=x86_64-pc-linux-musl

say() { echo "$PROG: $*" >&2; }
die() { say "error: $*"; exit 1; }

mode=build
case ${1:-} in
    "") ;;
    --print-path) mode=print ;;
    -h|--help) sed -n '2,/^set -euo/p' "$SCRIPT" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (use --print-path or nothing)" ;;
esac

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root for: $*"
    fi
}

apt_updated=0
apt_update() {
    ((apt_updated)) && return 0
    say "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
}

# ---------------------------------------------------------------- versions ---

# Debian source versions known to apt for package $1, newest first.
src_versions() {
    local v sorted=() i j tmp
    mapfile -t sorted < <(apt-cache showsrc --only-source "$1" 2>/dev/null |
        sed -n 's/^Version: //p' | sort -u)
    # insertion sort with dpkg's version ordering (a handful of entries)
    for ((i = 1; i < ${#sorted[@]}; i++)); do
        for ((j = i; j > 0; j--)); do
            if dpkg --compare-versions "${sorted[j]}" gt "${sorted[j-1]}"; then
                tmp=${sorted[j]}; sorted[j]=${sorted[j-1]}; sorted[j-1]=$tmp
            else
                break
            fi
        done
    done
    for v in "${sorted[@]}"; do printf '%s\n' "$v"; done
}

srcdir_of() { echo "$CACHE/src/$1_${2//:/%}"; }

# The version of $1 to build: the newest one not known to be missing from the
# archive (a 404 recorded by an earlier fetch, see fetch_src).
pick_version() {
    local v
    while read -r v; do
        [[ -n $v ]] || continue
        [[ -e "$(srcdir_of "$1" "$v").unavailable" ]] && continue
        echo "$v"
        return 0
    done < <(src_versions "$1")
    return 1
}

declare -A VER
resolve_versions() {
    local p
    for p in "${SRC_PKGS[@]}"; do
        VER[$p]=$(pick_version "$p") || return 1
    done
}

compute_key() {
    local p desc=""
    for p in "${SRC_PKGS[@]}"; do desc+="$p=${VER[$p]} "; done
    VERSIONS_DESC=${desc% }
    local self
    self=$( { sha256sum "$SCRIPT"
              if [[ -d $HELPERS ]]; then
                  (cd "$HELPERS" && find . -type f -print0 | sort -z | xargs -0r sha256sum)
              fi } | sha256sum | cut -c1-64)
    KEY=$(printf '%s\n%s\n' "$VERSIONS_DESC" "$self" | sha256sum | cut -c1-12)
    local up=${VER[python3.11]#*:}
    PYVER=${up%%-*}
    NAME=cpython-$PYVER-$KEY
    PREFIX=$CACHE/$NAME
    TOOLS=$CACHE/$NAME.tools
    LOG=$CACHE/$NAME.log
    PY=$PREFIX/bin/python3.11
    STAMP=$PREFIX/.pip-musl-complete
}

is_built() { [[ -f $STAMP && -x $PY ]]; }

# ------------------------------------------------------------ fast paths ---

if [[ $mode == print ]]; then
    if resolve_versions 2>/dev/null; then
        compute_key
        echo "$PY"
        is_built && exit 0
        say "not built yet (run tools/build-musl-python.sh)"
    else
        say "no Debian source versions known (deb-src not configured?); not built"
    fi
    exit 1
fi

if resolve_versions 2>/dev/null; then
    compute_key
    if is_built; then echo "$PY"; exit 0; fi
fi

# ------------------------------------------------------------- slow path ---

mkdir -p "$CACHE/src"
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
    say "waiting for another build ($CACHE/.lock)"
    flock 9
fi

CURRENT_LOG=$CACHE/setup.log
WORK=
ERRFD=2
on_exit() {
    local rc=$?
    if ((rc != 0)); then
        {
            echo "$PROG: FAILED (exit $rc); log: $CURRENT_LOG"
            if [[ -f $CURRENT_LOG ]]; then
                echo "----- last 60 lines of $CURRENT_LOG -----"
                tail -n 60 "$CURRENT_LOG"
            fi
        } >&"$ERRFD"
    fi
    if [[ -n $WORK && -d $WORK && -z ${PIP_MUSL_KEEP_BUILD:-} ]]; then
        rm -rf "$WORK"
    fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Debian packages the build needs (installed only when missing).
need_pkgs=(musl musl-dev musl-tools build-essential dpkg-dev linux-libc-dev
           perl make pkg-config xz-utils bzip2 binutils)
missing=()
for p in "${need_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
    apt_update
    say "apt-get install ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$CURRENT_LOG" 2>&1
fi
[[ -x $MUSL_LOADER ]] || die "$MUSL_LOADER is missing although musl is installed"

# --- deb-src entries: copy the existing deb entries with Types: deb-src.
has_deb_src() {
    grep -Eqs '^[[:space:]]*Types:.*(^|[[:space:]])deb-src([[:space:]]|$)' \
        /etc/apt/sources.list.d/*.sources ||
    grep -Eqs '^[[:space:]]*deb-src[[:space:]]' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list
}
add_deb_src() {
    local f out
    shopt -s nullglob
    local d822=(/etc/apt/sources.list.d/*.sources)
    shopt -u nullglob
    if ((${#d822[@]})); then
        out=/etc/apt/sources.list.d/pip-musl-src.sources
        say "adding deb-src entries: $out"
        for f in "${d822[@]}"; do
            # Same URIs/Suites/Components/Signed-By, only the Types change.
            sed -E 's/^([[:space:]]*)Types:.*/\1Types: deb-src/' "$f"
            echo
        done | as_root tee "$out" >/dev/null
    else
        out=/etc/apt/sources.list.d/pip-musl-src.list
        say "adding deb-src entries: $out"
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            sed -nE 's/^[[:space:]]*deb[[:space:]]/deb-src /p' | as_root tee "$out" >/dev/null
    fi
}
if ! resolve_versions 2>/dev/null; then
    has_deb_src || add_deb_src
    apt_update
    resolve_versions || die "apt knows no source package for one of: ${SRC_PKGS[*]}"
fi

# Fetch the Debian source package $1=$2 into the source cache; succeed when its
# upstream (orig) tarball is there. apt checks every downloaded file against the
# Sources index, so an orig tarball fetched without its .dsc (this archive
# mirror sometimes 404s on the .dsc of security updates) is still verified.
# A 404 on the orig tarball itself marks that version unavailable.
orig_of() {
    find "$1" -maxdepth 1 -type f -name '*.orig.tar.*' ! -name '*.asc' | sort | head -n1
}
fetch_src() {
    local pkg=$1 ver=$2 dir tmp out
    dir=$(srcdir_of "$pkg" "$ver")
    [[ -d $dir ]] && return 0
    tmp=$dir.tmp
    rm -rf "$tmp"; mkdir -p "$tmp"
    say "fetching Debian source $pkg $ver"
    out=$( cd "$tmp" && apt-get source --download-only "$pkg=$ver" 2>&1 ) || true
    printf '%s\n' "$out" >>"$CURRENT_LOG"
    if [[ -n $(orig_of "$tmp") ]]; then
        mv "$tmp" "$dir"
        return 0
    fi
    rm -rf "$tmp"
    if grep -q '404' <<<"$out" && ! grep -Eqi 'temporary failure|could not resolve|connection' <<<"$out"; then
        say "$pkg $ver: not in the archive (404), trying an older version"
        echo "$out" >"$dir.unavailable"
        return 2
    fi
    die "apt-get source $pkg=$ver failed (see $CURRENT_LOG)"
}
for p in "${SRC_PKGS[@]}"; do
    while :; do
        rc=0; fetch_src "$p" "${VER[$p]}" || rc=$?
        ((rc == 0)) && break
        VER[$p]=$(pick_version "$p") || die "no fetchable version of $p"
    done
done
compute_key
if is_built; then echo "$PY"; exit 0; fi

# ----------------------------------------------------------------- build ---

: >"$LOG"
CURRENT_LOG=$LOG
exec 3>&1 4>&2 >>"$LOG" 2>&1
ERRFD=4
say() { echo "$PROG: $*" >&4; echo "=== $PROG: $*"; }
T0=$SECONDS

say "building musl CPython $PYVER into $PREFIX (log: $LOG)"
say "sources: $VERSIONS_DESC"

# A half-done build of the same key (killed earlier): start over. Scratch dirs
# of builds killed too hard to clean up after themselves go too (we hold the
# lock, so no build is running).
rm -rf "$PREFIX" "$TOOLS" "$CACHE"/cpython-*.work.*
WORK=$(mktemp -d "$CACHE/$NAME.work.XXXXXX")
DEPS=$TOOLS/deps
mkdir -p "$TOOLS/bin" "$TOOLS/include" "$TOOLS/fakebin" "$DEPS/include" "$DEPS/lib"

# Compiler wrapper.
#  * CPython's configure runs `$CC --print-multiarch` and insists it equals the
#    platform triplet (x86_64-linux-musl); musl-gcc is gcc with a specs file and
#    answers x86_64-linux-gnu. setup.py asks `$CC -print-multiarch` too and would
#    then add /usr/include/x86_64-linux-gnu. Print nothing for either spelling.
#  * musl-gcc's specs use -nostdinc, so the kernel headers (linux/, asm/,
#    asm-generic/) are invisible; add a private dir holding only those three,
#    *after* musl's own headers (-idirafter) so libc headers always win.
CCW=$TOOLS/bin/x86_64-linux-musl-gcc
cat >"$CCW" <<EOF
#!/bin/sh
# musl-gcc wrapper written by tools/build-musl-python.sh
for a in "\$@"; do
    case \$a in -print-multiarch|--print-multiarch) exit 0 ;; esac
done
exec /usr/bin/musl-gcc "\$@" -idirafter "$TOOLS/include"
EOF
chmod +x "$CCW"
ln -s /usr/include/linux "$TOOLS/include/linux"
ln -s /usr/include/asm-generic "$TOOLS/include/asm-generic"
ln -s /usr/include/x86_64-linux-gnu/asm "$TOOLS/include/asm"
for d in linux asm asm-generic; do
    [[ -e $TOOLS/include/$d/. ]] || die "kernel headers missing: $TOOLS/include/$d (linux-libc-dev)"
done

# 3.11's setup.py (add_multiarch_paths), when `$CC -print-multiarch` prints
# nothing, asks `dpkg-architecture -qDEB_HOST_MULTIARCH` and adds
# /usr/include/x86_64-linux-gnu and /usr/lib/x86_64-linux-gnu to every
# extension module's search paths: glibc's headers and libraries mixed into a
# musl build. A dpkg-architecture that fails, first on PATH during the CPython
# build, makes setup.py skip that (it ignores a non-zero exit) without patching
# CPython's sources.
printf '#!/bin/sh\n# see tools/build-musl-python.sh\nexit 1\n' >"$TOOLS/fakebin/dpkg-architecture"
chmod +x "$TOOLS/fakebin/dpkg-architecture"

unpack() {  # unpack <pkg> <destdir>: the orig tarball of the chosen version
    local orig
    orig=$(orig_of "$(srcdir_of "$1" "${VER[$1]}")")
    mkdir -p "$2"
    tar -xf "$orig" -C "$2" --strip-components=1
}

export CC=$CCW
export PKG_CONFIG_LIBDIR=$DEPS/lib/pkgconfig PKG_CONFIG_PATH=
DEP_CFLAGS="-O2 -fPIC"

step_start() { STEP_T=$SECONDS; say "$*"; }
step_done() { say "  done in $((SECONDS - STEP_T))s"; }

step_start "zlib ${VER[zlib]}"
unpack zlib "$WORK/zlib"
( cd "$WORK/zlib"
  CFLAGS="$DEP_CFLAGS" ./configure --static --prefix="$DEPS" --libdir="$DEPS/lib"
  make -j"$JOBS" libz.a
  make install )
step_done

step_start "bzip2 ${VER[bzip2]}"
unpack bzip2 "$WORK/bzip2"
( cd "$WORK/bzip2"
  make -j"$JOBS" libbz2.a CC="$CC" CFLAGS="$DEP_CFLAGS -D_FILE_OFFSET_BITS=64"
  install -m 644 libbz2.a "$DEPS/lib/"
  install -m 644 bzlib.h "$DEPS/include/" )
step_done

step_start "liblzma (xz-utils ${VER[xz-utils]})"
unpack xz-utils "$WORK/xz"
( cd "$WORK/xz"
  CFLAGS="$DEP_CFLAGS" ./configure --build="$MUSL_TRIPLET" --prefix="$DEPS" --libdir="$DEPS/lib" \
      --disable-shared --enable-static --with-pic --disable-nls --disable-doc \
      --disable-xz --disable-xzdec --disable-lzmadec --disable-lzmainfo \
      --disable-lzma-links --disable-scripts
  make -j"$JOBS"
  make install )
step_done

step_start "libffi ${VER[libffi]}"
unpack libffi "$WORK/libffi"
( cd "$WORK/libffi"
  CFLAGS="$DEP_CFLAGS" ./configure --build="$MUSL_TRIPLET" --prefix="$DEPS" --libdir="$DEPS/lib" \
      --disable-shared --enable-static --with-pic --disable-docs \
      --disable-multi-os-directory
  make -j"$JOBS"
  make install )
step_done

# OpenSSL: static, position-independent (it ends up inside _ssl/_hashlib .so),
# libraries only (build_libs/install_dev: no apps, tests or docs). OPENSSLDIR is
# the system's /etc/ssl so the default CA paths are Debian's.
step_start "OpenSSL ${VER[openssl]}"
unpack openssl "$WORK/openssl"
( cd "$WORK/openssl"
  ./Configure linux-x86_64 no-shared no-tests -fPIC \
      --prefix="$DEPS" --libdir=lib --openssldir=/etc/ssl
  make -j"$JOBS" build_libs
  make install_dev )
step_done

# CPython. Configured with the FINAL prefix, installed with DESTDIR into a
# staging dir, then renamed into place: a killed build never looks complete.
step_start "CPython ${VER[python3.11]}"
unpack python3.11 "$WORK/python"
STAGE=$WORK/stage
(
  cd "$WORK/python"
  export PATH="$TOOLS/fakebin:$PATH"
  # setup.py also adds /usr/local/include and /usr/local/lib to every
  # extension module's search paths; anything there was built against glibc.
  grep -q "'/usr/local/lib')" setup.py || die "setup.py: /usr/local lines not found"
  # (Replaced by `pass`, not deleted: they are the body of an `if`.)
  sed -i -E "s#add_dir_to_list\(self\.compiler\.(library|include)_dirs, '/usr/local/(lib|include)'\)#pass#" setup.py
  ! grep -q "'/usr/local/lib')" setup.py || die "setup.py: could not drop /usr/local paths"
  # Modules whose libraries we do not build: mark them n/a so nothing goes
  # looking for glibc's copies in /usr/include and /usr/lib.
  na=(_tkinter _sqlite3 _dbm _gdbm readline _curses _curses_panel _uuid nis)
  cv=()
  for m in "${na[@]}"; do cv+=("py_cv_module_$m=n/a"); done
  ./configure --build="$MUSL_TRIPLET" --prefix="$PREFIX" \
      --without-ensurepip --disable-test-modules \
      --with-openssl="$DEPS" \
      CPPFLAGS="-I$DEPS/include" LDFLAGS="-L$DEPS/lib" \
      "${cv[@]}"
  make -j"$JOBS"
  make install DESTDIR="$STAGE"
)
step_done

[[ -x $STAGE$PREFIX/bin/python3.11 ]] || die "install produced no $STAGE$PREFIX/bin/python3.11"
mv "$STAGE$PREFIX" "$PREFIX"

# ---------------------------------------------------------------- checks ---
step_start "sanity checks"
interp=$(readelf -l "$PY" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
[[ $interp == "$MUSL_LOADER" ]] || die "$PY: PT_INTERP is '$interp', expected $MUSL_LOADER"

bad=0
check_needed() {  # the only shared library allowed is musl's libc.so
    local f=$1 n
    while read -r n; do
        if [[ $n != libc.so ]]; then
            say "  $f: unexpected NEEDED $n"
            bad=1
        fi
    done < <(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
}
check_needed "$PY"
shopt -s nullglob
dynload=("$PREFIX"/lib/python3.11/lib-dynload/*.so)
shopt -u nullglob
((${#dynload[@]})) || die "no extension modules in lib-dynload"
for f in "${dynload[@]}"; do check_needed "$f"; done
((bad == 0)) || die "some binaries link libraries other than musl's libc.so"

"$PY" - <<'EOF'
import importlib, sys, sysconfig
required = ["zlib", "_ssl", "_hashlib", "_ctypes", "_socket", "_json", "_struct",
            "math", "select", "_posixsubprocess", "binascii", "_bz2", "_lzma",
            "_decimal", "pyexpat", "_ctypes", "_multiprocessing", "unicodedata"]
missing = []
for m in required:
    try:
        importlib.import_module(m)
    except ImportError as e:
        missing.append(f"{m} ({e})")
if missing:
    sys.exit("missing modules: " + ", ".join(missing))
import ctypes, hashlib, json, socket, ssl, zlib
print(ssl.OPENSSL_VERSION)
assert hashlib.sha256(b"x").hexdigest().startswith("2d711642")
ssl.create_default_context()
assert ctypes.CDLL(None).getpid() > 0
print("EXT_SUFFIX", sysconfig.get_config_var("EXT_SUFFIX"))
print("MULTIARCH", sysconfig.get_config_var("MULTIARCH"))
EOF
"$PY" -c "import zlib, json, socket, ssl, hashlib, ctypes; print(ssl.OPENSSL_VERSION)"
venv=$WORK/venv
"$PY" -m venv --without-pip "$venv"
"$venv/bin/python" -c "import sys; assert sys.prefix != sys.base_prefix; print('venv ok', sys.prefix)"
step_done

{
    echo "key=$KEY"
    echo "sources=$VERSIONS_DESC"
    echo "python=$PY"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) in $((SECONDS - T0))s"
} >"$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"   # written last: marks the build complete
say "built in $((SECONDS - T0))s: $PY"
echo "$PY" >&3
