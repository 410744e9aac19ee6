#!/usr/bin/env bash
# Build musl-linked CPythons (3.11, 3.13, 3.14) from Debian's source packages,
# provide each on several real musl releases, and cache everything outside the
# repository, so tests can run pip under real musl interpreters.
#
# Usage:
#   tools/build-musl-python.sh [--python X.Y]     build if needed; the last
#                                                 stdout line is the path of
#                                                 the interpreter (default 3.11)
#   tools/build-musl-python.sh --print-path [--python X.Y]
#                                    print that path if it is built (exit 0),
#                                    else exit 1 (no network, no build)
#   tools/build-musl-python.sh --all        build every musl CPython; print
#                                           "X.Y<TAB>path" lines
#   tools/build-musl-python.sh --list       print those lines for the built
#                                           ones; exit 1 if one is missing
#   tools/build-musl-python.sh --hosts      build everything, unpack the musl
#                                           releases and make one interpreter
#                                           per (Python, musl) host; print
#                                           "name<TAB>X.Y<TAB>musl<TAB>path<TAB>loader<TAB>syslibs"
#                                           (syslibs: a dir with libz.so.1, which
#                                           an Alpine base image has)
#   tools/build-musl-python.sh --print-hosts   the same lines if all is built,
#                                              else exit 1 (no build)
#   tools/build-musl-python.sh --glibc [--python 3.13]
#                                    a glibc CPython (plain gcc) from the same
#                                    Debian sources; last line is its path
#   tools/build-musl-python.sh --print-glibc [--python 3.13]
#   tools/build-musl-python.sh --aarch64    cross-build the aarch64 musl CPython
#                                           3.13 (needs the glibc 3.13, which it
#                                           builds) and make its hosts, run
#                                           under qemu-aarch64; print
#                                           "name<TAB>X.Y<TAB>musl<TAB>path<TAB>loader<TAB>syslibs<TAB>aarch64<TAB>qemu"
#                                           (the --hosts columns plus arch and
#                                           the emulator to run it with)
#   tools/build-musl-python.sh --print-aarch64   those lines if built, else exit 1
#
#   PY=$(bash tools/build-musl-python.sh | tail -n1)
#
# Python versions and where their sources come from (Debian suites):
#   3.11 bookworm   3.13 trixie   3.14 sid
# Every musl CPython is compiled with bookworm's musl toolchain (musl-gcc,
# musl 1.2.3): musl's promise is that what builds against 1.2.3 runs on every
# later release. Its static dependencies (zlib, bzip2, liblzma, libffi,
# OpenSSL, SQLite, libuuid) come from bookworm's sources, are built once and
# shared by all three interpreters.
#
# musl releases (hosts): 1.2.3 is the system's /lib/ld-musl-x86_64.so.1
# (bookworm's `musl`); 1.2.5 (trixie) and 1.2.6 (sid) are Debian's `musl`
# .debs unpacked into the cache. A host's interpreter is a copy of the CPython
# binary whose PT_INTERP names that release's loader (patchelf
# --set-interpreter); it sits next to the original in the prefix's bin/, so
# it finds the same standard library. musl's loader is its libc, and the
# interpreter and its extension modules need nothing else, so that is all it
# takes to run on that release.
#
# Sources are fetched with a private apt configuration per suite
# (cache/apt/<suite>/): the machine's apt sources are never changed.
#
# Cache: ${PIP_MUSL_CACHE:-$HOME/.cache/pip-musl}
#   apt/<suite>/                    private apt sources, lists and archives
#   src/<pkg>_<version>/            downloaded Debian source packages
#   musl-deps-<key>/                compiler wrapper, kernel-header dir and the
#                                   static libraries (sysconfig's CC points
#                                   here, so C extensions can be built later)
#   cpython-<version>-<key>/        an installed musl interpreter; complete
#                                   only when .pip-musl-complete exists
#   glibc-cpython-<version>-<key>/  the glibc interpreter
#   musl/<deb version>/             an unpacked `musl` .deb (1.2.5, 1.2.6)
#   aarch64-cpython-<version>-<key>/  the aarch64 musl interpreter, with its
#                                   cross toolchain (toolchain/)
#   musl-arm64/<deb version>/       an unpacked arm64 `musl` .deb (1.2.3, 1.2.5)
#   apt/<suite>-arm64/, debs-arm64/ arm64 package indexes and .debs
#   logs/                           build logs
# Keys hash the Debian source versions and the stage's own script
# (tools/musl-python/*.sh), so changing a stage rebuilds only what depends on
# it. Progress: one line per stage on stderr, e.g.
#   [musl-python 3.13] openssl: 41 s
set -euo pipefail

PROG=build-musl-python
SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
HELPERS=$(dirname "$SCRIPT")/musl-python
CACHE=${PIP_MUSL_CACHE:-$HOME/.cache/pip-musl}
export JOBS=${PIP_MUSL_JOBS:-2}
DEBIAN_MIRROR=${PIP_MUSL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${PIP_MUSL_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
SYSTEM_LOADER=/lib/ld-musl-x86_64.so.1
LOADER_NAME=ld-musl-x86_64.so.1

PY_VERSIONS=(3.11 3.13 3.14)
declare -A PY_SUITE=([3.11]=bookworm [3.13]=trixie [3.14]=sid)
# musl releases: release -> suite whose `musl` package provides it.
MUSL_RELEASES=(1.2.3 1.2.5 1.2.6)
declare -A MUSL_SUITE=([1.2.3]=system [1.2.5]=trixie [1.2.6]=sid)
DEP_PKGS=(zlib bzip2 xz-utils libffi openssl sqlite3 util-linux)

say() { echo "$PROG: $*" >&2; }
die() { say "error: $*"; exit 1; }

mode=build
pyver=3.11
while (($#)); do
    case $1 in
        --print-path) mode=print ;;
        --all) mode=all ;;
        --list) mode=list ;;
        --hosts) mode=hosts ;;
        --print-hosts) mode=print-hosts ;;
        --glibc) mode=glibc ;;
        --print-glibc) mode=print-glibc ;;
        --aarch64) mode=aarch64 ;;
        --print-aarch64) mode=print-aarch64 ;;
        --python)
            (($# >= 2)) || die "--python needs a version (${PY_VERSIONS[*]})"
            pyver=$2; shift ;;
        --python=*) pyver=${1#--python=} ;;
        -h|--help) sed -n '2,/^set -euo/p' "$SCRIPT" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done
[[ -n ${PY_SUITE[$pyver]:-} ]] || die "unknown Python version $pyver (known: ${PY_VERSIONS[*]})"

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root for: $*"
    fi
}

# ------------------------------------------------------------ private apt ---

apt_dir() { echo "$CACHE/apt/$1"; }
apt_opts() {  # apt_opts <suite>: options that make apt use only that suite
    local d
    d=$(apt_dir "$1")
    APT_OPTS=(-o "Dir::Etc::sourcelist=$d/sources.list" -o Dir::Etc::sourceparts=/dev/null
              -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache"
              -o APT::Architecture=amd64 -o Debug::NoLocking=1)
}
write_sources() {
    local suite=$1 d s
    d=$(apt_dir "$suite")
    mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
    {
        for s in "$suite" $([[ $suite == bookworm ]] && echo bookworm-updates); do
            echo "deb-src [signed-by=$KEYRING] $DEBIAN_MIRROR $s main"
            echo "deb [arch=amd64 signed-by=$KEYRING] $DEBIAN_MIRROR $s main"
        done
        if [[ $suite != sid ]]; then
            echo "deb-src [signed-by=$KEYRING] $SECURITY_MIRROR $suite-security main"
            echo "deb [arch=amd64 signed-by=$KEYRING] $SECURITY_MIRROR $suite-security main"
        fi
    } >"$d/sources.list.new"
    mv "$d/sources.list.new" "$d/sources.list"
}
# The suite's indexes: fetched once (and again with PIP_MUSL_APT_REFRESH=1 or
# when a month old). Succeeds without network when they are there.
apt_ready() {
    local suite=$1 d
    d=$(apt_dir "$suite")
    [[ -f $d/.updated ]] || return 1
    [[ -z ${PIP_MUSL_APT_REFRESH:-} ]] || return 1
    [[ -z $(find "$d/.updated" -mtime +30) ]]
}
apt_update() {
    local suite=$1 d t=$SECONDS
    apt_ready "$suite" && return 0
    d=$(apt_dir "$suite")
    write_sources "$suite"
    apt_opts "$suite"
    apt-get "${APT_OPTS[@]}" -qq update >>"$CACHE/logs/apt-$suite.log" 2>&1 ||
        die "apt-get update for $suite failed (see $CACHE/logs/apt-$suite.log)"
    touch "$d/.updated"
    local k
    for k in "${!SRCV[@]}"; do [[ $k == "$suite"/* ]] && unset "SRCV[$k]"; done
    progress apt "$suite index: $((SECONDS - t)) s"
}

# Debian versions of source package $2 in suite $1, newest first. One
# apt-cache call per suite answers for several packages (load_versions).
declare -A SRCV
# Reading a suite's Sources index takes seconds; the versions of each package
# asked for are kept in apt/<suite>/versions/<pkg> until the next update.
load_versions() {  # load_versions <suite> <pkg>...
    local suite=$1 key val pkg= d vd todo=()
    shift
    d=$(apt_dir "$suite")
    vd=$d/versions
    for pkg in "$@"; do
        if [[ -f $vd/$pkg && ! $d/.updated -nt $vd/$pkg ]]; then
            SRCV[$suite/$pkg]=$(<"$vd/$pkg")
        else
            SRCV[$suite/$pkg]=""
            todo+=("$pkg")
        fi
    done
    ((${#todo[@]})) || return 0
    apt_opts "$suite"
    while read -r key val; do
        case $key in
            Package:) pkg=$val ;;
            Version:) [[ -n $pkg ]] && SRCV[$suite/$pkg]+="$val " ;;
        esac
    done < <(apt-cache "${APT_OPTS[@]}" showsrc --only-source "${todo[@]}" 2>/dev/null)
    if [[ -f $d/.updated ]]; then
        mkdir -p "$vd"
        for pkg in "${todo[@]}"; do
            [[ -n ${SRCV[$suite/$pkg]} ]] && printf '%s' "${SRCV[$suite/$pkg]}" >"$vd/$pkg"
        done
    fi
    return 0
}
src_versions() {
    [[ -v SRCV[$1/$2] ]] || load_versions "$1" "$2"
    local v
    for v in ${SRCV[$1/$2]}; do printf '%s\n' "$v"; done | sort -u | sort_versions
}
sort_versions() {  # sort Debian versions from stdin, newest first (dpkg's ordering)
    local sorted=() i j tmp
    mapfile -t sorted
    for ((i = 1; i < ${#sorted[@]}; i++)); do
        for ((j = i; j > 0; j--)); do
            if dpkg --compare-versions "${sorted[j]}" gt "${sorted[j-1]}"; then
                tmp=${sorted[j]}; sorted[j]=${sorted[j-1]}; sorted[j-1]=$tmp
            else
                break
            fi
        done
    done
    ((${#sorted[@]})) && printf '%s\n' "${sorted[@]}"
    return 0
}

srcdir_of() { echo "$CACHE/src/$1_${2//:/%}"; }
orig_of() {
    find "$1" -maxdepth 1 -type f -name '*.orig.tar.*' ! -name '*.asc' ! -name '*-www.*' |
        sort | head -n1
}

# The version of $2 (suite $1) to build: the newest not known to be missing
# from the archive (a 404 recorded by fetch_src).
pick_version() {
    local v
    while read -r v; do
        [[ -n $v ]] || continue
        [[ -e "$(srcdir_of "$2" "$v").unavailable" ]] && continue
        echo "$v"
        return 0
    done < <(src_versions "$1" "$2")
    return 1
}

# Fetch Debian source package $2=$3 (suite $1) into the source cache. apt
# checks every downloaded file against the Sources index, so an orig tarball
# fetched without its .dsc (the mirror sometimes 404s on the .dsc of security
# updates) is still verified. A 404 on the orig tarball marks the version
# unavailable (return 2).
fetch_src() {
    local suite=$1 pkg=$2 ver=$3 dir tmp out
    dir=$(srcdir_of "$pkg" "$ver")
    [[ -n $(orig_of "$dir" 2>/dev/null) ]] && return 0
    tmp=$dir.tmp.$$
    rm -rf "$tmp"; mkdir -p "$tmp"
    apt_opts "$suite"
    out=$( cd "$tmp" && apt-get "${APT_OPTS[@]}" source --download-only "$pkg=$ver" 2>&1 ) || true
    printf '%s\n' "$out" >>"$CACHE/logs/fetch.log"
    if [[ -n $(orig_of "$tmp") ]]; then
        rm -rf "$dir"; mv "$tmp" "$dir"
        return 0
    fi
    rm -rf "$tmp"
    if grep -q '404' <<<"$out" && ! grep -Eqi 'temporary failure|could not resolve|connection' <<<"$out"; then
        say "$pkg $ver: not in the archive (404), trying an older version"
        echo "$out" >"$dir.unavailable"
        return 2
    fi
    die "apt-get source $pkg=$ver ($suite) failed (see $CACHE/logs/fetch.log)"
}
# Whether every version of source package $2 that suite $1 lists was answered
# with 404 (the archive lists it but does not serve its tarball).
src_unavailable() {
    local v n=0
    while read -r v; do
        [[ -n $v ]] || continue
        [[ -e "$(srcdir_of "$2" "$v").unavailable" ]] || return 1
        n=$((n + 1))
    done < <(src_versions "$1" "$2")
    ((n > 0))
}
# fetch_pick <suite> <pkg>: VERSION of the fetched source.
fetch_pick() {
    local suite=$1 pkg=$2 v rc
    while :; do
        if ! v=$(pick_version "$suite" "$pkg"); then
            src_unavailable "$suite" "$pkg" &&
                die "$suite lists $pkg, but the archive answers 404 for the tarball of every version ($(src_versions "$suite" "$pkg" | tr '\n' ' '))"
            die "apt knows no source package $pkg in $suite"
        fi
        rc=0; fetch_src "$suite" "$pkg" "$v" || rc=$?
        ((rc == 0)) && { VERSION=$v; return 0; }
    done
}

# ------------------------------------------------------------------ keys ---

hash_files() { sha256sum "$@" | cut -c1-64 | sha256sum | cut -c1-12; }
# deps key: bookworm dep versions + deps.sh + common.sh.
declare -A VER
resolve_deps() {
    local p
    [[ -v SRCV[bookworm/${DEP_PKGS[0]}] ]] || load_versions bookworm "${DEP_PKGS[@]}"
    for p in "${DEP_PKGS[@]}"; do
        VER[$p]=$(pick_version bookworm "$p") || return 1
    done
    DEPS_DESC=""
    for p in "${DEP_PKGS[@]}"; do DEPS_DESC+="$p=${VER[$p]} "; done
    DEPS_DESC=${DEPS_DESC% }
    DEPS_KEY=$( { echo "$DEPS_DESC"; hash_files "$HELPERS/common.sh" "$HELPERS/deps.sh"; } |
                sha256sum | cut -c1-12)
    DEPS_PREFIX=$CACHE/musl-deps-$DEPS_KEY
}
syslibs_path() {  # needs VER[zlib] (resolve_deps)
    SYSLIBS=$CACHE/musl-syslibs-$( { echo "zlib=${VER[zlib]}"
        hash_files "$HELPERS/common.sh" "$HELPERS/syslibs.sh"; } | sha256sum | cut -c1-12)
}
build_syslibs() {
    build_deps
    syslibs_path
    [[ -f $SYSLIBS/.pip-musl-complete ]] && return 0
    lock musl-syslibs
    [[ -f $SYSLIBS/.pip-musl-complete ]] && return 0
    CACHE=$CACHE SYSLIBS=$SYSLIBS bash "$HELPERS/syslibs.sh" \
        "$(orig_of "$(srcdir_of zlib "${VER[zlib]}")")"
}

# python_paths <flavor musl|glibc> <X.Y> <debian version>: PREFIX, PY, STAMP.
python_paths() {
    local flavor=$1 v=$2 deb=$3 up key
    up=${deb#*:}; up=${up%%-*}; up=${up%%+*}
    if [[ $flavor == musl ]]; then
        key=$( { echo "python$v=$deb $DEPS_KEY"
                 hash_files "$HELPERS/common.sh" "$HELPERS/cpython.sh"; } | sha256sum | cut -c1-12)
        PREFIX=$CACHE/cpython-$up-$key
    else
        key=$( { echo "python$v=$deb glibc"
                 hash_files "$HELPERS/common.sh" "$HELPERS/cpython.sh"; } | sha256sum | cut -c1-12)
        PREFIX=$CACHE/glibc-cpython-$up-$key
    fi
    PY=$PREFIX/bin/python$v
    STAMP=$PREFIX/.pip-musl-complete
    UPVER=$up
}
is_built() { [[ -f $STAMP && -x $PY ]]; }

# The path of the (musl|glibc) CPython X.Y if its sources are known; return 1
# when apt has no index yet.
locate_python() {
    local flavor=$1 v=$2 deb
    apt_ready bookworm || return 1
    apt_ready "${PY_SUITE[$v]}" || return 1
    if [[ $flavor == musl ]]; then resolve_deps || return 1; fi
    deb=$(pick_version "${PY_SUITE[$v]}" "python$v") || return 1
    python_paths "$flavor" "$v" "$deb"
}

progress() {  # progress <what> <message>
    echo "[musl-python $1] $2" >&2
}

# ----------------------------------------------------------------- build ---

mkdir -p "$CACHE/src" "$CACHE/logs" "$CACHE/locks"

lock() {  # lock <name>: one build of a thing at a time (parallel workers)
    exec {LOCKFD}>"$CACHE/locks/$1.lock"
    if ! flock -n "$LOCKFD"; then
        say "waiting for another build of $1 ($CACHE/locks/$1.lock)"
        flock "$LOCKFD"
    fi
}

need_system_pkgs() {
    local p missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    say "apt-get install ${missing[*]}"
    as_root apt-get update -qq >>"$CACHE/logs/setup.log" 2>&1
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$CACHE/logs/setup.log" 2>&1 ||
        die "apt-get install ${missing[*]} failed (see $CACHE/logs/setup.log)"
}
MUSL_BUILD_PKGS=(musl musl-dev musl-tools build-essential dpkg-dev linux-libc-dev
                 perl make pkg-config xz-utils bzip2 binutils tcl patchelf)
GLIBC_BUILD_PKGS=(build-essential pkg-config libssl-dev zlib1g-dev libffi-dev
                  libbz2-dev liblzma-dev libsqlite3-dev uuid-dev)

build_deps() {
    local t p
    apt_update bookworm
    resolve_deps || die "no source versions for ${DEP_PKGS[*]} in bookworm"
    [[ -f $DEPS_PREFIX/.pip-musl-complete ]] && return 0
    lock "musl-deps"
    [[ -f $DEPS_PREFIX/.pip-musl-complete ]] && return 0
    t=$SECONDS
    for p in "${DEP_PKGS[@]}"; do
        fetch_pick bookworm "$p"; VER[$p]=$VERSION
    done
    resolve_deps
    progress deps "download: $((SECONDS - t)) s"
    local origs=()
    for p in "${DEP_PKGS[@]}"; do origs+=("$p=$(orig_of "$(srcdir_of "$p" "${VER[$p]}")")"); done
    CACHE=$CACHE DEPS_PREFIX=$DEPS_PREFIX DEPS_DESC=$DEPS_DESC \
        bash "$HELPERS/deps.sh" "${origs[@]}"
}

# build_python <musl|glibc> <X.Y>: PY set to the built interpreter.
build_python() {
    local flavor=$1 v=$2 suite=${PY_SUITE[$2]} deb t
    [[ $flavor == glibc ]] || build_deps
    [[ $flavor == musl ]] && need_system_pkgs "${MUSL_BUILD_PKGS[@]}"
    [[ $flavor == glibc ]] && need_system_pkgs "${GLIBC_BUILD_PKGS[@]}"
    apt_update "$suite"
    deb=$(pick_version "$suite" "python$v") || die "no python$v source in $suite"
    python_paths "$flavor" "$v" "$deb"
    is_built && return 0
    lock "$flavor-cpython-$v"
    t=$SECONDS
    fetch_pick "$suite" "python$v"; deb=$VERSION
    python_paths "$flavor" "$v" "$deb"
    is_built && return 0
    local tag=$v
    [[ $flavor == glibc ]] && tag="glibc $v"
    progress "$tag" "download: $((SECONDS - t)) s"
    CACHE=$CACHE FLAVOR=$flavor PYVER=$v PREFIX=$PREFIX DEPS_PREFIX=${DEPS_PREFIX:-} \
        SRC_DESC="python$v=$deb ($suite)${DEPS_DESC:+; deps: $DEPS_DESC}" \
        bash "$HELPERS/cpython.sh" "$(orig_of "$(srcdir_of "python$v" "$deb")")"
    is_built || die "the build of CPython $v left no $STAMP"
}

# ----------------------------------------------------------------- hosts ---

# musl_loader <release>: LOADER (and MUSL_DEB) for that musl release.
musl_loader_known() {
    local rel=$1 suite=${MUSL_SUITE[$1]} v d
    if [[ $suite == system ]]; then LOADER=$SYSTEM_LOADER; return 0; fi
    apt_ready "$suite" || return 1
    local vf
    vf=$(apt_dir "$suite")/versions/musl.deb
    if [[ -f $vf && ! $(apt_dir "$suite")/.updated -nt $vf ]]; then
        v=$(<"$vf")
    else
        apt_opts "$suite"
        v=$(apt-cache "${APT_OPTS[@]}" show musl 2>/dev/null | sed -n 's/^Version: //p' |
            sort_versions | head -n1)
        [[ -n $v ]] && mkdir -p "$(dirname "$vf")" && echo "$v" >"$vf"
    fi
    [[ -n $v ]] || return 1
    d=$CACHE/musl/${v//:/%}
    LOADER=$d/lib/$LOADER_NAME
    MUSL_DEB=$v
    MUSL_DIR=$d
}
fetch_musl() {
    local rel=$1 suite=${MUSL_SUITE[$1]} t=$SECONDS tmp deb up
    if [[ $suite == system ]]; then
        need_system_pkgs musl
        LOADER=$SYSTEM_LOADER
        return 0
    fi
    apt_update "$suite"
    musl_loader_known "$rel" || die "apt knows no musl package in $suite"
    up=${MUSL_DEB%%-*}
    [[ $up == "$rel" ]] || die "$suite's musl is $MUSL_DEB, expected release $rel"
    [[ -f $MUSL_DIR/.pip-musl-complete ]] && return 0
    lock "musl-$rel"
    [[ -f $MUSL_DIR/.pip-musl-complete ]] && return 0
    tmp=$MUSL_DIR.tmp.$$
    rm -rf "$tmp"; mkdir -p "$tmp/deb"
    apt_opts "$suite"
    ( cd "$tmp/deb" && apt-get "${APT_OPTS[@]}" download "musl=$MUSL_DEB" ) \
        >>"$CACHE/logs/fetch.log" 2>&1 || die "apt-get download musl=$MUSL_DEB ($suite) failed"
    deb=$(find "$tmp/deb" -name 'musl_*.deb' | head -n1)
    dpkg -x "$deb" "$tmp"
    # The package's /lib/ld-musl-x86_64.so.1 is an absolute symlink to
    # /usr/lib/x86_64-linux-musl/libc.so, i.e. the *system's* musl once
    # unpacked elsewhere: make it a relative one.
    [[ -f $tmp/usr/lib/x86_64-linux-musl/libc.so ]] || die "$deb has no usr/lib/x86_64-linux-musl/libc.so"
    mkdir -p "$tmp/lib"
    ln -sfn ../usr/lib/x86_64-linux-musl/libc.so "$tmp/lib/$LOADER_NAME"
    local banner
    banner=$("$tmp/lib/$LOADER_NAME" 2>&1 || true)
    grep -q "^Version $rel\$" <<<"$banner" || die "unpacked loader says: $banner (expected $rel)"
    echo "$MUSL_DEB" >"$tmp/.pip-musl-complete"
    rm -rf "$MUSL_DIR"; mv "$tmp" "$MUSL_DIR"
    progress "musl $rel" "unpack: $((SECONDS - t)) s"
}

# host_python <X.Y> <release>: HOST_PY, the interpreter of that host (needs
# PY of X.Y and LOADER of the release). The copy sits beside the original so
# it finds the same standard library; written atomically.
host_python_path() {
    local v=$1 rel=$2
    if [[ ${MUSL_SUITE[$rel]} == system ]]; then HOST_PY=$PY; return 0; fi
    HOST_PY=$(dirname "$PY")/python$v-musl-$rel
}
host_ready() {
    [[ -x $HOST_PY ]] || return 1
    [[ $HOST_PY == "$PY" ]] && return 0
    [[ $(patchelf --print-interpreter "$HOST_PY" 2>/dev/null) == "$LOADER" ]]
}
make_host() {
    local v=$1 rel=$2 t=$SECONDS maps
    host_python_path "$v" "$rel"
    host_ready && return 0
    need_system_pkgs patchelf
    cp "$PY" "$HOST_PY.tmp.$$"
    patchelf --set-interpreter "$LOADER" "$HOST_PY.tmp.$$"
    mv "$HOST_PY.tmp.$$" "$HOST_PY"
    # Check it really runs on that release: its loader resolves every
    # dependency (only libc), and the running process maps that loader.
    "$LOADER" --list "$HOST_PY" >/dev/null 2>&1 ||
        die "$LOADER --list $HOST_PY failed: $("$LOADER" --list "$HOST_PY" 2>&1 | head -n3)"
    maps=$("$HOST_PY" -c "print(open('/proc/self/maps').read())")
    grep -qF "$(readlink -f "$LOADER")" <<<"$maps" ||
        die "$HOST_PY does not run on $(readlink -f "$LOADER")"
    progress "$v musl $rel" "patchelf: $((SECONDS - t)) s"
}

host_lines() {  # needs every PY and LOADER resolved
    local v rel
    for v in "${PY_VERSIONS[@]}"; do
        if src_unavailable "${PY_SUITE[$v]}" "python$v"; then
            printf '#unavailable\t%s\t%s: the archive serves no python%s source\n' \
                "$v" "${PY_SUITE[$v]}" "$v"
            continue
        fi
        locate_python musl "$v" || return 1
        is_built || return 1
        syslibs_path
        [[ -f $SYSLIBS/.pip-musl-complete ]] || return 1
        for rel in "${MUSL_RELEASES[@]}"; do
            musl_loader_known "$rel" || return 1
            host_python_path "$v" "$rel"
            host_ready || return 1
            printf 'py%s-musl%s\t%s\t%s\t%s\t%s\t%s\n' "${v/./}" "$rel" "$v" "$rel" \
                "$HOST_PY" "$LOADER" "$SYSLIBS/lib"
        done
    done
}

# --------------------------------------------------------------- aarch64 ---
# One aarch64 musl CPython (3.13, trixie's source), cross-built with Debian's
# gcc-aarch64-linux-gnu against bookworm's arm64 musl-dev 1.2.3 (see
# tools/musl-python/aarch64.sh), and one host per arm64 musl release: a copy
# whose PT_INTERP names that release's loader (Debian's arm64 `musl`, unpacked
# into musl-arm64/), run as `qemu-aarch64 <python>` (no binfmt_misc needed).
A64_PY=3.13
A64_RELEASES=(1.2.3 1.2.5)
declare -A A64_SUITE=([1.2.3]=bookworm [1.2.5]=trixie)
A64_LOADER_NAME=ld-musl-aarch64.so.1
# Debian's cross compiler, but for its driver: gcc-12-aarch64-linux-gnu
# conflicts with gcc-multilib (which the i686 tests need), so the driver's .deb
# is unpacked into the cache (cross-gcc/<version>/), beside links to the
# installed parts (cc1 from cpp-12-…, crt*.o and libgcc from libgcc-12-dev-…,
# as/ld from binutils-…): the relocated driver finds them all relative to itself.
A64_BUILD_PKGS=(binutils-aarch64-linux-gnu cpp-12-aarch64-linux-gnu libgcc-12-dev-arm64-cross
                linux-libc-dev-arm64-cross qemu-user patchelf)
A64_GCC_PKG=gcc-12-aarch64-linux-gnu
A64_GCC_LIB=/usr/lib/gcc-cross/aarch64-linux-gnu/12

a64_apt_opts() {  # a64_apt_opts <suite>: apt options for its arm64 binary index only
    local d=$CACHE/apt/$1-arm64
    APT_OPTS=(-o "Dir::Etc::sourcelist=$d/sources.list" -o Dir::Etc::sourceparts=/dev/null
              -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache"
              -o APT::Architecture=arm64 -o "APT::Architectures::=arm64"
              -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
}
a64_apt_update() {
    local suite=$1 d=$CACHE/apt/$1-arm64 t=$SECONDS
    if [[ -f $d/.updated && -z ${PIP_MUSL_APT_REFRESH:-} && -z $(find "$d/.updated" -mtime +30) ]]; then
        return 0
    fi
    mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
    echo "deb [arch=arm64 signed-by=$KEYRING] $DEBIAN_MIRROR $suite main" >"$d/sources.list"
    a64_apt_opts "$suite"
    apt-get "${APT_OPTS[@]}" -qq update >>"$CACHE/logs/apt-$suite-arm64.log" 2>&1 ||
        die "apt-get update for $suite (arm64) failed (see $CACHE/logs/apt-$suite-arm64.log)"
    rm -rf "$d/versions"
    touch "$d/.updated"
    progress apt "$suite arm64 index: $((SECONDS - t)) s"
}
# a64_version <suite> <pkg>: A64V, the newest arm64 version (remembered in
# apt/<suite>-arm64/versions/ until the next update; no network).
a64_version() {
    local suite=$1 pkg=$2 d=$CACHE/apt/$1-arm64
    A64V=
    [[ -f $d/.updated ]] || return 1
    if [[ -f $d/versions/$pkg ]]; then A64V=$(<"$d/versions/$pkg"); return 0; fi
    a64_apt_opts "$suite"
    A64V=$(apt-cache "${APT_OPTS[@]}" show "$pkg" 2>/dev/null | sed -n 's/^Version: //p' |
           sort_versions | head -n1)
    [[ -n $A64V ]] || return 1
    mkdir -p "$d/versions"
    echo "$A64V" >"$d/versions/$pkg"
}
a64_deb() {  # a64_deb <suite> <pkg>: DEB, the downloaded .deb of a64_version
    local suite=$1 pkg=$2 dir=$CACHE/debs-arm64
    a64_version "$suite" "$pkg" || die "apt knows no arm64 $pkg in $suite"
    DEB=$(compgen -G "$dir/${pkg}_${A64V//:/%3a}_arm64.deb" | head -n1 || true)
    [[ -n $DEB ]] && return 0
    mkdir -p "$dir"
    a64_apt_opts "$suite"
    ( cd "$dir" && apt-get "${APT_OPTS[@]}" -qq download "$pkg=$A64V" ) \
        >>"$CACHE/logs/fetch.log" 2>&1 || die "apt-get download $pkg=$A64V (arm64, $suite) failed"
    DEB=$(compgen -G "$dir/${pkg}_*_arm64.deb" | grep -F "_${A64V#*:}_" | head -n1 || true)
    [[ -n $DEB ]] || die "no $pkg arm64 .deb in $dir after download"
}
# a64_paths: A64_PREFIX, A64_PYBIN, A64_STAMP (needs the bookworm and trixie
# source indexes, the arm64 indexes and the glibc CPython 3.13's path).
a64_paths() {
    local deb glibc_prefix devv key
    locate_python glibc "$A64_PY" || return 1
    glibc_prefix=$PREFIX
    resolve_deps || return 1
    deb=$(pick_version "${PY_SUITE[$A64_PY]}" "python$A64_PY") || return 1
    a64_version bookworm musl-dev || return 1
    devv=$A64V
    a64_cross_gcc_path || return 1
    key=$( { echo "python$A64_PY=$deb zlib=${VER[zlib]} musl-dev:arm64=$devv build=$glibc_prefix gcc=$CROSS_GCC_VERSION"
             hash_files "$HELPERS/common.sh" "$HELPERS/aarch64.sh"; } | sha256sum | cut -c1-12)
    A64_PREFIX=$CACHE/aarch64-cpython-$UPVER-$key
    A64_PYBIN=$A64_PREFIX/bin/python$A64_PY
    A64_STAMP=$A64_PREFIX/.pip-musl-complete
    A64_PYDEB=$deb
    A64_DESC="python$A64_PY=$deb (${PY_SUITE[$A64_PY]}); zlib=${VER[zlib]}, musl-dev:arm64=$devv (bookworm)"
}
a64_loader() {  # a64_loader <release>: A64_LOADER, A64_MUSL_DIR (no network)
    local suite=${A64_SUITE[$1]}
    a64_version "$suite" musl || return 1
    A64_MUSL_DIR=$CACHE/musl-arm64/${A64V//:/%}
    A64_LOADER=$A64_MUSL_DIR/lib/$A64_LOADER_NAME
}
fetch_a64_musl() {  # fetch_a64_musl <release>: unpack that arm64 `musl`
    local rel=$1 suite=${A64_SUITE[$1]} t=$SECONDS tmp so banner
    a64_apt_update "$suite"
    a64_loader "$rel" || die "apt knows no arm64 musl in $suite"
    [[ ${A64V%%-*} == "$rel" ]] || die "$suite's arm64 musl is $A64V, expected release $rel"
    [[ -f $A64_MUSL_DIR/.pip-musl-complete ]] && return 0
    a64_deb "$suite" musl
    tmp=$A64_MUSL_DIR.tmp.$$
    rm -rf "$tmp"; mkdir -p "$tmp"
    dpkg -x "$DEB" "$tmp"
    # bookworm ships lib/aarch64-linux-musl/libc.so, trixie usr/lib/…: one
    # loader path, relative, for both.
    so=$(cd "$tmp" && find . -path '*/aarch64-linux-musl/libc.so' -type f | head -n1)
    [[ -n $so ]] || die "$DEB has no aarch64-linux-musl/libc.so"
    mkdir -p "$tmp/lib"
    ln -sfn "../${so#./}" "$tmp/lib/$A64_LOADER_NAME"
    banner=$(qemu-aarch64 "$tmp/lib/$A64_LOADER_NAME" 2>&1 || true)
    grep -q "^Version $rel\$" <<<"$banner" || die "qemu-aarch64 $DEB's loader says: $banner (expected $rel)"
    echo "$A64V" >"$tmp/.pip-musl-complete"
    rm -rf "$A64_MUSL_DIR"; mv "$tmp" "$A64_MUSL_DIR"
    progress "aarch64 musl $rel" "unpack: $((SECONDS - t)) s"
}
# a64_cross_gcc: CROSS_GCC, the driver (of the installed cpp's version).
a64_cross_gcc_path() {
    local v
    v=$(dpkg-query -W -f='${Version}' cpp-12-aarch64-linux-gnu 2>/dev/null) || return 1
    [[ -n $v ]] || return 1
    CROSS_GCC_VERSION=$v
    CROSS_GCC_DIR=$CACHE/cross-gcc/${v//:/%}
    CROSS_GCC=$CROSS_GCC_DIR/usr/bin/aarch64-linux-gnu-gcc-12
}
fetch_a64_cross_gcc() {
    local t=$SECONDS tmp deb f lib
    a64_cross_gcc_path || die "cpp-12-aarch64-linux-gnu is not installed"
    [[ -f $CROSS_GCC_DIR/.pip-musl-complete ]] && return 0
    apt_update bookworm
    tmp=$CROSS_GCC_DIR.tmp.$$
    rm -rf "$tmp"; mkdir -p "$tmp/deb"
    apt_opts bookworm
    ( cd "$tmp/deb" && apt-get "${APT_OPTS[@]}" -o APT::Sandbox::User=root \
        download "$A64_GCC_PKG=$CROSS_GCC_VERSION" ) >>"$CACHE/logs/fetch.log" 2>&1 ||
        die "apt-get download $A64_GCC_PKG=$CROSS_GCC_VERSION failed (see $CACHE/logs/fetch.log)"
    deb=$(find "$tmp/deb" -name "${A64_GCC_PKG}_*.deb" | head -n1)
    dpkg -x "$deb" "$tmp"
    rm -rf "$tmp/deb" "$tmp/usr/share"
    lib=$tmp$A64_GCC_LIB
    [[ -x $lib/collect2 ]] || die "$deb has no $A64_GCC_LIB/collect2"
    for f in "$A64_GCC_LIB"/*; do
        [[ -e $lib/${f##*/} ]] || ln -s "$f" "$lib/"
    done
    ln -sfn /usr/aarch64-linux-gnu "$tmp/usr/aarch64-linux-gnu"
    echo "$CROSS_GCC_VERSION" >"$tmp/.pip-musl-complete"
    rm -rf "$CROSS_GCC_DIR"; mkdir -p "$(dirname "$CROSS_GCC_DIR")"; mv "$tmp" "$CROSS_GCC_DIR"
    progress "aarch64 gcc" "unpack $A64_GCC_PKG $CROSS_GCC_VERSION: $((SECONDS - t)) s"
}
a64_host_path() { A64_HOST_PY=$(dirname "$A64_PYBIN")/python$A64_PY-musl-$1; }
make_a64_host() {  # make_a64_host <release>
    local rel=$1 t=$SECONDS maps
    a64_loader "$rel"
    a64_host_path "$rel"
    [[ -x $A64_HOST_PY && $(patchelf --print-interpreter "$A64_HOST_PY" 2>/dev/null) == "$A64_LOADER" ]] &&
        return 0
    cp "$A64_PYBIN" "$A64_HOST_PY.tmp.$$"
    patchelf --set-interpreter "$A64_LOADER" "$A64_HOST_PY.tmp.$$"
    # It runs on that release, and imports what pip needs.
    maps=$(qemu-aarch64 "$A64_HOST_PY.tmp.$$" -c "import zlib, hashlib, json, socket, zipfile, pyexpat, _decimal
print(open('/proc/self/maps').read())" 2>&1) ||
        die "qemu-aarch64 $A64_HOST_PY does not run: $(head -n5 <<<"$maps")"
    grep -qF "$(readlink -f "$A64_LOADER")" <<<"$maps" ||
        die "$A64_HOST_PY does not run on $(readlink -f "$A64_LOADER")"
    mv "$A64_HOST_PY.tmp.$$" "$A64_HOST_PY"
    progress "aarch64 $A64_PY musl $rel" "patchelf + check: $((SECONDS - t)) s"
}
build_a64() {
    local rel t devdeb
    need_system_pkgs "${A64_BUILD_PKGS[@]}"
    build_python glibc "$A64_PY"
    apt_update bookworm
    resolve_deps || die "no source versions for ${DEP_PKGS[*]} in bookworm"
    fetch_pick bookworm zlib
    for rel in "${A64_RELEASES[@]}"; do fetch_a64_musl "$rel"; done
    fetch_a64_cross_gcc
    a64_apt_update bookworm
    a64_paths || die "cannot name the aarch64 build (missing indexes?)"
    if ! [[ -f $A64_STAMP && -x $A64_PYBIN ]]; then
        lock aarch64-cpython
        if ! [[ -f $A64_STAMP && -x $A64_PYBIN ]]; then
            t=$SECONDS
            a64_deb bookworm musl-dev; devdeb=$DEB
            a64_deb bookworm musl
            fetch_pick "${PY_SUITE[$A64_PY]}" "python$A64_PY"
            a64_paths
            progress "aarch64 $A64_PY" "download: $((SECONDS - t)) s"
            CACHE=$CACHE PREFIX=$A64_PREFIX PYVER=$A64_PY BUILD_PYTHON=$PY SRC_DESC=$A64_DESC \
                CROSS_GCC=$CROSS_GCC \
                bash "$HELPERS/aarch64.sh" "$devdeb" "$DEB" \
                "$(orig_of "$(srcdir_of zlib "${VER[zlib]}")")" \
                "$(orig_of "$(srcdir_of "python$A64_PY" "$A64_PYDEB")")"
        fi
    fi
    [[ -f $A64_STAMP ]] || die "the aarch64 build left no $A64_STAMP"
    for rel in "${A64_RELEASES[@]}"; do make_a64_host "$rel"; done
}
a64_host_lines() {
    local rel qemu
    qemu=$(command -v qemu-aarch64) || return 1
    apt_ready bookworm && apt_ready "${PY_SUITE[$A64_PY]}" || return 1
    a64_paths || return 1
    [[ -f $A64_STAMP && -x $A64_PYBIN ]] || return 1
    for rel in "${A64_RELEASES[@]}"; do
        a64_loader "$rel" || return 1
        [[ -f $A64_MUSL_DIR/.pip-musl-complete ]] || return 1
        a64_host_path "$rel"
        [[ -x $A64_HOST_PY && $(patchelf --print-interpreter "$A64_HOST_PY" 2>/dev/null) == "$A64_LOADER" ]] ||
            return 1
        printf 'py%s-musl%s-aarch64\t%s\t%s\t%s\t%s\t%s\taarch64\t%s\n' "${A64_PY/./}" "$rel" \
            "$A64_PY" "$rel" "$A64_HOST_PY" "$A64_LOADER" "$A64_PREFIX/syslibs" "$qemu"
    done
}

# ------------------------------------------------------------------ main ---

case $mode in
    print)
        if locate_python musl "$pyver" && is_built; then echo "$PY"; exit 0; fi
        say "musl CPython $pyver is not built yet (run tools/build-musl-python.sh --python $pyver)"
        exit 1 ;;
    print-glibc)
        if locate_python glibc "$pyver" && is_built; then echo "$PY"; exit 0; fi
        say "glibc CPython $pyver is not built yet (run tools/build-musl-python.sh --glibc --python $pyver)"
        exit 1 ;;
    list)
        rc=0
        for v in "${PY_VERSIONS[@]}"; do
            if locate_python musl "$v" && is_built; then printf '%s\t%s\n' "$v" "$PY"
            else say "musl CPython $v is not built"; rc=1
            fi
        done
        exit $rc ;;
    print-hosts)
        out=$(host_lines) || { say "the musl hosts are not all built (run --hosts)"; exit 1; }
        echo "$out"; exit 0 ;;
    build)
        if locate_python musl "$pyver" && is_built; then echo "$PY"; exit 0; fi
        build_python musl "$pyver"; echo "$PY" ;;
    glibc)
        if locate_python glibc "$pyver" && is_built; then echo "$PY"; exit 0; fi
        build_python glibc "$pyver"; echo "$PY" ;;
    all)
        for v in "${PY_VERSIONS[@]}"; do
            build_python musl "$v"; printf '%s\t%s\n' "$v" "$PY"
        done ;;
    print-aarch64)
        out=$(a64_host_lines) || { say "the aarch64 hosts are not built (run --aarch64)"; exit 1; }
        echo "$out"; exit 0 ;;
    aarch64)
        if out=$(a64_host_lines 2>/dev/null); then echo "$out"; exit 0; fi
        build_a64; a64_host_lines || die "aarch64 hosts incomplete after building them" ;;
    hosts)
        if out=$(host_lines 2>/dev/null); then echo "$out"; exit 0; fi
        for rel in "${MUSL_RELEASES[@]}"; do fetch_musl "$rel"; done
        build_syslibs
        for v in "${PY_VERSIONS[@]}"; do
            if ! (build_python musl "$v"); then
                # A Python the archive lists but does not serve is left out
                # (and named in the host list); anything else is an error.
                src_unavailable "${PY_SUITE[$v]}" "python$v" || exit 1
                say "no musl CPython $v hosts: ${PY_SUITE[$v]}'s python$v source is not served"
                continue
            fi
            locate_python musl "$v"
            for rel in "${MUSL_RELEASES[@]}"; do
                musl_loader_known "$rel"
                make_host "$v" "$rel"
            done
        done
        host_lines || die "hosts incomplete after building them" ;;
esac
