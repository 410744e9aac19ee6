"""Which musl release a musl dynamic loader (``ld-musl-<arch>.so.1``) is.

musl's loader and libc are one file. Run without arguments it prints a banner
to stderr::

    musl libc (x86_64)
    Version 1.2.3
    Dynamic Program Loader
    Usage: ...

The version in that banner is musl's ``__libc_version``: a NUL-terminated
string constant in the image's read-only data. So the version can be read
from the file without starting a process (:func:`musl_version_from_image`),
and running the loader is the fallback (:func:`musl_version_by_running`).

The image rule, checked on Debian's musl 1.2.3 for amd64, arm64, armhf, i386,
ppc64el and s390x (tests/functional/test_elf_real_binaries.py):

1. the file is an ELF image whose read-only data holds the loader's usage
   format ``musl libc (<arch>)\\nVersion %s\\n`` -- this is a musl loader, and
   it prints a version string;
2. in the file ranges of its non-writable ``PT_LOAD`` segments, the strings
   ``<digits>.<digits>.<digits>`` (optionally ``-suffix``, as in a git build)
   that end in a NUL byte and do not continue a word, a dotted number or a
   ``-``/``+`` compound (which rules out ``LINUX_2.6.39`` and ``127.0.0.1``)
   all spell the same version.

The version string is a ``char[]`` object, not a merged literal, so what
precedes it is whatever the linker placed there (a NUL on most arches, the
tail of a floating-point table on i386): the rule does not rely on it. Zero
candidates, or two different ones, means "not sure": None, never a guess.
"""

from __future__ import annotations

import os
import re
from typing import Final, Literal

from pip._internal.libc.elf_ident import PF_W, ElfError, parse_ident, read_file_prefix

__all__ = [
    "MuslVersion",
    "VersionMethod",
    "musl_version_by_running",
    "musl_version_from_banner",
    "musl_version_from_image",
    "read_musl_version",
]

MuslVersion = tuple[int, int, int]
VersionMethod = Literal["image", "loader-banner", "unknown"]

#: Most of a loader image read or scanned. musl's libc.so is under 1 MiB on
#: every port; a file much larger than this is not a musl loader.
MAX_IMAGE_BYTES: Final = 16 * 1024 * 1024
#: Most bytes of banner output kept from a loader run.
MAX_BANNER_BYTES: Final = 64 * 1024

# The loader's usage format string (ldso/dynlink.c), up to the version slot.
_USAGE_FORMAT: Final = re.compile(rb"musl libc \([\w.-]{1,32}\)\nVersion %s\n")

# A version string as musl's build writes it (VERSION from version.sh: a
# release like 1.2.3, or git-describe output like 1.2.3-12-gabcdef0),
# NUL-terminated and not the tail of a longer token. It is matched in two
# steps because a pattern that starts with a literal is searched much faster
# by `re` than one that starts with a look-behind: first the ".minor.patch\0"
# tail, then, in the few bytes before each hit, the major number.
_VERSION_TAIL: Final = re.compile(rb"\.(\d{1,4})\.(\d{1,4})(?:-[\w.+-]{1,64})?\x00")
_VERSION_HEAD: Final = re.compile(rb"(?<![\w.+-])(\d{1,4})\Z")
#: Most version-like strings looked at before giving up as "not sure".
MAX_CANDIDATES: Final = 256

_BANNER_VERSION: Final = re.compile(
    r"^Version[ \t]+(\d{1,4})\.(\d{1,4})\.(\d{1,4})(?![\d.])", re.MULTILINE
)
_BANNER_TITLE: Final = re.compile(r"^musl libc\b", re.MULTILINE)


def musl_version_from_banner(text: str) -> MuslVersion | None:
    """The version in the banner a musl loader prints when run bare.

    >>> musl_version_from_banner("musl libc (x86_64)\\nVersion 1.2.3\\n")
    (1, 2, 3)
    """
    if not _BANNER_TITLE.search(text):
        return None
    match = _BANNER_VERSION.search(text)
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def _read_only_ranges(data: bytes | memoryview) -> list[tuple[int, int]] | None:
    """File ranges of the image's non-writable PT_LOAD segments, clipped to
    the data and to MAX_IMAGE_BYTES in total; None if it is not ELF."""
    try:
        ident = parse_ident(data)
    except ElfError:
        return None
    ranges: list[tuple[int, int]] = []
    budget = MAX_IMAGE_BYTES
    for offset, filesz, flags in ident.loads:
        if flags & PF_W:
            continue
        start = min(offset, len(data))
        end = min(offset + filesz, len(data), start + budget)
        if end > start:
            ranges.append((start, end))
            budget -= end - start
    return ranges


def musl_version_from_image(data: bytes | memoryview) -> MuslVersion | None:
    """The musl version stored in a loader/libc image, read without running
    it; None when the image does not say so unambiguously (see the module
    docstring for the rule)."""
    ranges = _read_only_ranges(data)
    if not ranges:
        return None
    chunks = [bytes(data[start:end]) for start, end in ranges]
    if not any(_USAGE_FORMAT.search(chunk) for chunk in chunks):
        return None
    found: set[MuslVersion] = set()
    seen = 0
    for chunk in chunks:
        for tail in _VERSION_TAIL.finditer(chunk):
            seen += 1
            if seen > MAX_CANDIDATES:
                return None
            start = tail.start()
            head = _VERSION_HEAD.search(chunk, max(0, start - 5), start)
            if head is not None:
                found.add((int(head[1]), int(tail[1]), int(tail[2])))
    if len(found) != 1:
        return None
    return found.pop()


def musl_version_by_running(
    loader_path: str | os.PathLike[str], timeout: float = 2.0
) -> MuslVersion | None:
    """Run the loader bare (it prints its banner to stderr and exits 1) and
    parse the banner; None on any failure.

    Meant for the host's own loader (the one already running this process),
    not for files from elsewhere: it executes ``loader_path``.
    """
    import subprocess  # only on this fallback path: pip start-up stays lean

    try:
        # An absolute path: a bare name must not turn into a PATH lookup.
        executable = os.path.abspath(os.fspath(loader_path))
        proc = subprocess.run(
            [executable],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
            # A clean environment: LD_PRELOAD and friends are not for it.
            env={},
        )
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    banner = proc.stderr[:MAX_BANNER_BYTES].decode("utf-8", "replace")
    return musl_version_from_banner(banner)


def read_musl_version(
    loader_path: str | os.PathLike[str],
) -> tuple[MuslVersion | None, VersionMethod]:
    """The musl version of the loader at ``loader_path`` and how it was found:
    from the image if it says so unambiguously, else from the banner of a run.
    Never raises."""
    try:
        image = read_file_prefix(loader_path, MAX_IMAGE_BYTES)
    except ElfError:
        image = b""
    version = musl_version_from_image(image) if image else None
    if version is not None:
        return version, "image"
    version = musl_version_by_running(loader_path)
    if version is not None:
        return version, "loader-banner"
    return None, "unknown"
