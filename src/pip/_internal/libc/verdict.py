"""A wheel file's verdict on this host, and its cache under pip's cache dir.

A :class:`Verdict` is everything the installer needs to know about one wheel
file on one host: the problems that stop it from loading (empty: it loads), or
an error when the archive cannot be read, and the libraries it expects from the
system (judged afresh each time: they depend on ``LD_LIBRARY_PATH``).

Verdicts are stored per file digest (sha256) and host identity -- libc family,
version, machine, a digest of the host libc's exported symbols and the
interpreter's extension suffixes -- so that a second resolution or install of
the same file costs one small read. A corrupt or tampered entry is ignored.
"""

import functools
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

from pip._internal.libc.abi_problem import AbiProblem
from pip._internal.libc.host import HostLibc
from pip._internal.libc.wheel_archive import WheelAbi

logger = logging.getLogger(__name__)

_FORMAT = 1
CACHE_SUBDIR = "libc-verdicts"


class SystemNeed(NamedTuple):
    """A DT_NEEDED library no file of the wheel provides."""

    member: str
    library: str
    #: The member's own absolute RPATH/RUNPATH directories.
    own_dirs: tuple[str, ...]


class Verdict(NamedTuple):
    problems: tuple[AbiProblem, ...] = ()
    #: The archive could not be read (one line); None when it could.
    error: str | None = None
    system_needs: tuple[SystemNeed, ...] = ()
    #: How many ELF members were parsed to reach it (0: from the cache).
    members_read: int = 0

    @property
    def loads(self) -> bool:
        return not self.problems and self.error is None

    @property
    def reason(self) -> str:
        if self.error is not None:
            return self.error
        from pip._internal.libc.install_check import summarize

        return summarize(self.problems)


def system_needs_of(abi: WheelAbi) -> tuple[SystemNeed, ...]:
    bundled = {os.path.basename(m.name) for m in abi.members}
    bundled.update(m.soname for m in abi.members if m.soname)
    needs: dict[SystemNeed, None] = {}
    for member in abi.members:
        own = tuple(d for d in (*member.runpath, *member.rpath) if d.startswith("/"))
        for library in member.needed:
            if library not in bundled and "/" not in library:
                needs[SystemNeed(member.name, library, own)] = None
    return tuple(needs)


# -- host identity ---------------------------------------------------------------------


@functools.cache
def _exports_digest(host: HostLibc) -> str:
    from pip._internal.libc.wheel_abi import host_libc_exports

    exports = host_libc_exports(host)
    if exports is None:
        return "none"
    text = "\n".join(sorted(exports)).encode()
    return hashlib.sha256(text).hexdigest()[:16]


def host_key(host: HostLibc, extension_suffixes: Sequence[str]) -> str:
    """A short digest naming everything a verdict depends on besides the file."""
    parts = (
        str(_FORMAT),
        host.family,
        host.version_text,
        host.arch or "",
        _exports_digest(host),
        "|".join(extension_suffixes),
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


# -- (de)serialisation -----------------------------------------------------------------


def _problem_to_json(p: AbiProblem) -> dict[str, Any]:
    return {
        "member": p.member,
        "kind": p.kind,
        "message": p.message,
        "symbols": list(p.symbols),
        "required_version": list(p.required_version) if p.required_version else None,
        "suffix": p.suffix,
    }


def _problem_from_json(d: dict[str, Any]) -> AbiProblem:
    required = d["required_version"]
    return AbiProblem(
        member=str(d["member"]),
        kind=d["kind"],
        message=str(d["message"]),
        symbols=tuple(str(s) for s in d["symbols"]),
        required_version=tuple(int(v) for v in required) if required else None,
        suffix=None if d["suffix"] is None else str(d["suffix"]),
    )


def _payload(verdict: Verdict) -> dict[str, Any]:
    return {
        "problems": [_problem_to_json(p) for p in verdict.problems],
        "error": verdict.error,
        "system_needs": [
            [n.member, n.library, list(n.own_dirs)] for n in verdict.system_needs
        ],
    }


def _seal(key: str, payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{key}\0{text}".encode()).hexdigest()


def _entry_path(cache_dir: str, sha256: str, key: str) -> str:
    return os.path.join(cache_dir, CACHE_SUBDIR, sha256[:2], f"{sha256}-{key}.json")


def load_verdict(cache_dir: str | None, sha256: str | None, key: str) -> Verdict | None:
    """The stored verdict, or None (none stored, unreadable, or tampered with)."""
    if not cache_dir or not sha256:
        return None
    path = _entry_path(cache_dir, sha256, key)
    try:
        with open(path, "rb") as f:
            entry = json.loads(f.read(1024 * 1024))
        payload = entry["payload"]
        if entry["seal"] != _seal(f"{sha256}-{key}", payload):
            raise ValueError("seal mismatch")
        verdict = Verdict(
            problems=tuple(_problem_from_json(p) for p in payload["problems"]),
            error=payload["error"],
            system_needs=tuple(
                SystemNeed(str(m), str(lib), tuple(str(d) for d in dirs))
                for m, lib, dirs in payload["system_needs"]
            ),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.debug("Ignoring the cached wheel verdict %s: %s", path, exc)
        return None
    return verdict


def store_verdict(
    cache_dir: str | None, sha256: str | None, key: str, verdict: Verdict
) -> None:
    if not cache_dir or not sha256:
        return
    path = _entry_path(cache_dir, sha256, key)
    payload = _payload(verdict)
    entry = {"payload": payload, "seal": _seal(f"{sha256}-{key}", payload)}
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temp = f"{path}.{os.getpid()}.tmp"
        with open(temp, "w", encoding="utf-8") as f:
            json.dump(entry, f, sort_keys=True)
        os.replace(temp, path)
    except OSError as exc:
        logger.debug("Could not store the wheel verdict %s: %s", path, exc)


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    # One buffer for the whole file: a new block per read costs musl's
    # allocator fresh pages every time (10,000 page faults on a 41 MB wheel).
    buffer = bytearray(1024 * 1024)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest()
