"""Libraries a wheel expects from the system, and whether this host has them.

A DT_NEEDED entry that no file of the wheel provides must come from the host,
found where the host's loader looks. A missing one is a warning, not a refusal:
the user can install the library (the sdist would need it too). The search
follows the loaders:

* musl: the file's absolute RPATH/RUNPATH, ``LD_LIBRARY_PATH``, then the
  directories in ``/etc/ld-musl-<arch>.path`` or, without that file, musl's
  built-in ``/lib:/usr/local/lib:/usr/lib``;
* glibc: RPATH/RUNPATH, ``LD_LIBRARY_PATH``, the directories of
  ``/etc/ld.so.conf`` (with its ``include`` globs) and the trusted defaults.
"""

from __future__ import annotations

import glob
import os
import posixpath
from collections.abc import Iterable, Mapping

from pip._internal.libc.host import HostLibc

MUSL_DEFAULT_PATH = ("/lib", "/usr/local/lib", "/usr/lib")
GLIBC_DEFAULT_PATH = ("/lib", "/usr/lib", "/lib64", "/usr/lib64")
# musl's loader maps these onto itself (it is libc); glibc's are found
# wherever its loader is.
_LIBC_PROVIDED_PREFIXES = (
    "libc.",
    "libm.",
    "libpthread.",
    "libdl.",
    "librt.",
    "libutil.",
    "libxnet.",
    "libanl.",
    "ld-linux",
    "ld64.so",
    "ld-musl-",
    "libc.musl-",
    # Extension modules that link libpython get it from the interpreter.
    "libpython",
)
_MAX_CONF_FILES = 64


def _split_path(value: str) -> list[str]:
    parts: list[str] = []
    for raw in value.replace("\n", ":").split(":"):
        entry = raw.strip()
        if entry:
            parts.append(entry)
    return parts


def _read_text(path: str, limit: int = 64 * 1024) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def _musl_arch(loader: str | None) -> str | None:
    base = posixpath.basename(loader or "")
    if base.startswith("ld-musl-") and base.endswith(".so.1"):
        return base[len("ld-musl-") : -len(".so.1")]
    return None


def _glibc_conf_dirs(path: str, seen: set[str]) -> list[str]:
    if path in seen or len(seen) >= _MAX_CONF_FILES:
        return []
    seen.add(path)
    text = _read_text(path)
    if text is None:
        return []
    dirs: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("include"):
            pattern = line[len("include") :].strip()
            if not pattern.startswith("/"):
                pattern = posixpath.join(posixpath.dirname(path), pattern)
            for included in sorted(glob.glob(pattern)):
                dirs.extend(_glibc_conf_dirs(included, seen))
        elif line.startswith("/"):
            dirs.append(line)
    return dirs


def loader_search_dirs(
    host: HostLibc, environ: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """Where this host's loader looks for a library named without a slash
    (after the file's own RPATH/RUNPATH)."""
    env = os.environ if environ is None else environ
    dirs = _split_path(env.get("LD_LIBRARY_PATH", ""))
    if host.family == "musl":
        arch = _musl_arch(host.loader)
        text = _read_text(f"/etc/ld-musl-{arch}.path") if arch else None
        dirs.extend(_split_path(text) if text is not None else MUSL_DEFAULT_PATH)
    elif host.family == "glibc":
        dirs.extend(_glibc_conf_dirs("/etc/ld.so.conf", set()))
        triplet = _glibc_triplet(host)
        if triplet:
            dirs.extend((f"/lib/{triplet}", f"/usr/lib/{triplet}"))
        dirs.extend(GLIBC_DEFAULT_PATH)
    return tuple(dict.fromkeys(dirs))


def _glibc_triplet(host: HostLibc) -> str | None:
    # Debian-style multiarch directories, named after the loader's home.
    loader = host.loader or ""
    parent = posixpath.basename(posixpath.dirname(loader))
    return parent if parent.endswith("-linux-gnu") else None


def _provided_by_libc(name: str) -> bool:
    return name.startswith(_LIBC_PROVIDED_PREFIXES)


def library_found(library: str, search_dirs: Iterable[str]) -> bool:
    """Whether the loader would find ``library`` (a DT_NEEDED name) in
    ``search_dirs``; libc's own names are always there."""
    if _provided_by_libc(library):
        return True
    return any(os.path.exists(posixpath.join(d, library)) for d in search_dirs)
