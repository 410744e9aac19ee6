#!/usr/bin/env bash
# Fetch Debian's musl and glibc runtime packages for several architectures and
# unpack them into a fixture directory, so tests can read (and, through
# qemu-user, run) real foreign dynamic loaders and libcs.
#
# Usage: tools/fetch-loaders.sh [DEST]
#   DEST defaults to ${PIP_MUSL_CACHE:-$HOME/.cache/pip-musl}/loaders
#        tools/fetch-loaders.sh --releases [DEST]
#   Debian's musl package of later releases (trixie: 1.2.5, sid: 1.2.6) for the
#   same architectures, for the musl version rule's proof; DEST defaults to
#   ${PIP_MUSL_CACHE:-$HOME/.cache/pip-musl}/loaders-releases. Layout:
#   DEST/<suite>/musl-<debian-arch>/ (+ .fetched); last stdout line is DEST.
#
# Layout produced:
#   DEST/<debian-codename>/<pkg>-<debian-arch>/   (dpkg -x of the .deb)
#   DEST/<debian-codename>/<pkg>-<debian-arch>/.fetched   (name of the .deb)
#   DEST/debs/*.deb                                 (downloaded packages)
# The last line printed on stdout is DEST/<debian-codename>.
#
# Idempotent: when every package is already unpacked this does no network or
# apt work at all.
#
# Why a private apt state directory instead of `dpkg --add-architecture`: the
# machine's dpkg/apt configuration stays untouched (no foreign indexes fetched
# by every later `apt-get update`, no lock contention with other apt users),
# and `apt-get download` needs nothing but package indexes.
set -euo pipefail

PACKAGES=(musl libc6)
ARCHES=(amd64 arm64 armhf i386 ppc64el s390x)

log() { echo "fetch-loaders: $*" >&2; }

# --releases: musl from later Debian suites, through a private sources list so
# the machine's own apt configuration is never touched.
RELEASE_SUITES=(trixie sid)
if [[ ${1:-} == --releases ]]; then
    rdest=${2:-${PIP_MUSL_CACHE:-$HOME/.cache/pip-musl}/loaders-releases}
    mkdir -p "$rdest"
    exec 9>"$rdest/.lock"
    command -v flock >/dev/null 2>&1 && flock 9
    for suite in "${RELEASE_SUITES[@]}"; do
        want=()
        for arch in "${ARCHES[@]}"; do
            [[ -f $rdest/$suite/musl-$arch/.fetched ]] || want+=("musl:$arch")
        done
        ((${#want[@]})) || continue
        state=$rdest/apt-state-$suite
        mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$rdest/debs-$suite"
        printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian %s main\n' \
            "$suite" >"$state/sources.list"
        opts=(
            -o "Dir::Etc::sourcelist=$state/sources.list"
            -o "Dir::Etc::sourceparts=/dev/null"
            -o "Dir::State::Lists=$state/lists"
            -o "Dir::Cache=$state/cache"
            -o "APT::Sandbox::User=root"
        )
        for arch in "${ARCHES[@]}"; do
            opts+=(-o "APT::Architectures::=$arch")
        done
        log "updating private $suite package indexes in $state"
        apt-get update -qq "${opts[@]}" >&2 || apt-get update -qq "${opts[@]}" >&2
        log "downloading ${want[*]} from $suite"
        (cd "$rdest/debs-$suite" && apt-get download -qq "${opts[@]}" "${want[@]}" >&2)
        for spec in "${want[@]}"; do
            arch=${spec##*:}
            deb=$(compgen -G "$rdest/debs-$suite/musl_*_${arch}.deb" | sort -V | tail -n1 || true)
            [[ -n $deb ]] || { log "no musl .deb for $arch in $suite"; exit 1; }
            tmp=$rdest/$suite/.tmp-musl-$arch
            rm -rf "$tmp"
            mkdir -p "$tmp"
            dpkg -x "$deb" "$tmp"
            basename "$deb" >"$tmp/.fetched"
            rm -rf "$rdest/$suite/musl-$arch"
            mv "$tmp" "$rdest/$suite/musl-$arch"
            log "unpacked $(basename "$deb") -> $rdest/$suite/musl-$arch"
        done
        rm -rf "$state"
    done
    echo "$rdest"
    exit 0
fi

dest=${1:-${PIP_MUSL_CACHE:-$HOME/.cache/pip-musl}/loaders}

codename=
if [[ -r /etc/os-release ]]; then
    codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
fi
if [[ -z $codename ]]; then
    echo "fetch-loaders: cannot tell the Debian release (no VERSION_CODENAME in /etc/os-release)" >&2
    exit 1
fi

root=$dest/$codename
debs=$dest/debs

# One fetch at a time per cache (parallel test workers share it).
mkdir -p "$dest"
exec 9>"$dest/.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi

missing=()
for arch in "${ARCHES[@]}"; do
    for pkg in "${PACKAGES[@]}"; do
        [[ -f $root/$pkg-$arch/.fetched ]] || missing+=("$pkg:$arch")
    done
done

# qemu-user is what runs the foreign loaders; the tests need it either way.
need_qemu=0
for q in qemu-aarch64 qemu-arm qemu-i386 qemu-ppc64le qemu-s390x; do
    command -v "$q" >/dev/null 2>&1 || need_qemu=1
done
if ((need_qemu)); then
    log "installing qemu-user"
    if [[ $(id -u) -ne 0 ]]; then
        log "qemu-user is missing and this is not root: apt-get install qemu-user"
        exit 1
    fi
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >&2
fi

if ((${#missing[@]})); then
    for tool in apt-get dpkg dpkg-deb; do
        command -v "$tool" >/dev/null 2>&1 || {
            log "$tool not found (this script needs a Debian-based system)"
            exit 1
        }
    done
    mkdir -p "$debs" "$root"
    apt_state=$dest/apt-state
    mkdir -p "$apt_state/lists/partial" "$apt_state/cache/archives/partial"
    apt_opts=(
        -o "Dir::State::Lists=$apt_state/lists"
        -o "Dir::Cache=$apt_state/cache"
        # Downloading into a directory that user _apt cannot write would
        # otherwise print a warning per package.
        -o "APT::Sandbox::User=root"
    )
    for arch in "${ARCHES[@]}"; do
        apt_opts+=(-o "APT::Architectures::=$arch")
    done

    # Reuse a .deb that is already around (our own cache or apt's) before
    # touching the network.
    to_download=()
    for spec in "${missing[@]}"; do
        pkg=${spec%%:*}
        arch=${spec##*:}
        found=$(compgen -G "$debs/${pkg}_*_${arch}.deb" | head -n1 || true)
        if [[ -z $found ]]; then
            found=$(compgen -G "/var/cache/apt/archives/${pkg}_*_${arch}.deb" | head -n1 || true)
            [[ -n $found ]] && cp "$found" "$debs/"
        fi
        [[ -n $found ]] || to_download+=("$spec")
    done

    if ((${#to_download[@]})); then
        log "updating private package indexes in $apt_state"
        # A mirror mid-sync can fail one architecture's index while the
        # others arrive; retry once, then go on with whatever was fetched and
        # let `apt-get download` report what is really unavailable.
        apt-get update -qq "${apt_opts[@]}" >&2 ||
            apt-get update -qq "${apt_opts[@]}" >&2 ||
            log "some package indexes failed to update; continuing with those fetched"
        log "downloading ${to_download[*]}"
        (cd "$debs" && apt-get download -qq "${apt_opts[@]}" "${to_download[@]}" >&2)
    fi

    for spec in "${missing[@]}"; do
        pkg=${spec%%:*}
        arch=${spec##*:}
        # Newest version if several are cached.
        deb=$(compgen -G "$debs/${pkg}_*_${arch}.deb" | sort -V | tail -n1 || true)
        if [[ -z $deb ]]; then
            log "no .deb for $spec after download"
            exit 1
        fi
        target=$root/$pkg-$arch
        tmp=$root/.tmp-$pkg-$arch
        rm -rf "$tmp"
        mkdir -p "$tmp"
        dpkg -x "$deb" "$tmp"
        basename "$deb" >"$tmp/.fetched"
        # Publish atomically so a half-extracted tree never looks complete.
        rm -rf "$target"
        mv "$tmp" "$target"
        log "unpacked $(basename "$deb") -> $target"
    done
    # The private indexes (~100 MB) were only needed for the download.
    rm -rf "$apt_state"
fi

echo "$root"
