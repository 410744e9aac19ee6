# Shared by deps.sh and cpython.sh (sourced). Part of every build key.
#
# Stage output goes to the build log; one progress line per stage goes to
# stderr ("[musl-python 3.13] openssl: 41 s"). On failure the last lines of
# the log are shown and the scratch directory is removed (PIP_MUSL_KEEP_BUILD=1
# keeps it).
set -euo pipefail

: "${CACHE:?}" "${TAG:?}" "${LOG:?}"
mkdir -p "$CACHE/work" "$(dirname "$LOG")"
: >"$LOG"
WORK=$(mktemp -d "$CACHE/work/$(basename "$LOG" .log).XXXXXX")
exec 3>&2 >>"$LOG" 2>&1
T0=$SECONDS

on_exit() {
    local rc=$?
    if ((rc != 0)); then
        {
            echo "[musl-python $TAG] FAILED${STAGE:+ in $STAGE} (exit $rc); log: $LOG"
            echo "----- last 60 lines of $LOG -----"
            tail -n 60 "$LOG"
        } >&3
    fi
    if [[ -d $WORK && -z ${PIP_MUSL_KEEP_BUILD:-} ]]; then rm -rf "$WORK"; fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

note() { echo "=== $*"; }
die() { echo "[musl-python $TAG] error: $*" >&3; echo "error: $*"; exit 1; }
STAGE=
stage() { STAGE=$1; STAGE_T=$SECONDS; note "stage $1"; }
stage_done() {
    echo "[musl-python $TAG] $STAGE: $((SECONDS - STAGE_T)) s" >&3
    note "stage $STAGE done in $((SECONDS - STAGE_T)) s"
    STAGE=
}

unpack() {  # unpack <orig tarball> <destdir>
    mkdir -p "$2"
    tar -xf "$1" -C "$2" --strip-components=1
}
