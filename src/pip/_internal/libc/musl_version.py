"""Which C library a dynamic loader file is, and which musl release.

musl's loader and libc are one file. Run without arguments it prints a banner
to stderr::

    musl libc (x86_64)
    Version 1.2.3
    Dynamic Program Loader
    Usage: ...

The version in that banner is musl's ``__libc_version``: a NUL-terminated
``char[]`` constant in the image's read-only data. So the version can be read
from the file without starting a process (:func:`musl_version_from_image`),
and running the loader is the fallback (:func:`musl_version_by_running`).

The image rule, checked on Debian's musl 1.2.3 (bookworm), 1.2.5 (trixie) and
1.2.6 (sid) for amd64, arm64, armhf, i386, ppc64el and s390x against the
banner each loader prints (tests/functional/test_elf_real_binaries.py):

1. The *region* is the file's ``.rodata`` section when its section headers
   name one inside a non-writable ``PT_LOAD`` segment (about 200 KB of a
   700 KB loader), else the non-writable ``PT_LOAD`` segments.
2. The file is musl's loader when the region holds the loader's usage format
   ``musl libc (<arch>)\\nVersion %s\\n``; it is glibc's ``ld.so`` when the
   region holds ld.so's usage text ``EXECUTABLE-FILE [ARGS-FOR-PROGRAM...]``.
3. In a musl region, the strings ``<digits>.<digits>.<digits>`` (1-4 digits
   each, optionally ``-suffix`` as in a git build) that end in a NUL byte and
   do not continue a word, a dotted number or a ``-``/``+`` compound (which
   rules out ``LINUX_2.6.39`` and ``127.0.0.1``) all spell the same version.

What precedes the version string is whatever the linker placed there (a NUL on
most arches, the tail of a floating-point table on i386), so the rule does not
rely on it. Zero candidates, or two different ones, means "not sure": None,
never a guess.

Cost: the ELF header and program headers (one 4 KiB read), the section
headers and their names (about 2 KB at the end of the file), and the region
(read once, in 64 KiB windows, last window first); the usage format is found
with ``bytes.rfind`` of a constant (it lies near the end of ``.rodata`` on
most ports, so usually only the first window read is searched for it) and
version candidates by ``bytes.find`` of ``.`` (memchr). No regular expression
is compiled unless the loader has to be run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from pip._internal.libc.elf_ident import (
    PF_W,
    ElfError,
    ElfIdent,
    ElfReader,
    Fetch,
    parse_ident,
    section_range,
)

if TYPE_CHECKING:
    from typing import Literal

    VersionMethod = Literal["image", "loader-banner", "unknown"]
    LoaderFamily = Literal["musl", "glibc"] | None

__all__ = [
    "MuslVersion",
    "identify_loader",
    "identify_loader_image",
    "musl_version_by_running",
    "musl_version_from_banner",
    "musl_version_from_image",
    "read_musl_version",
]

MuslVersion = tuple[int, int, int]

#: Most of a loader image read or scanned. musl's libc.so is under 1 MiB on
#: every port; a file much larger than this is not a musl loader.
MAX_IMAGE_BYTES: Final = 16 * 1024 * 1024
#: Most bytes of banner output kept from a loader run.
MAX_BANNER_BYTES: Final = 64 * 1024
#: Most version-like strings looked at before giving up as "not sure".
MAX_CANDIDATES: Final = 256

# The loader's usage format (ldso/dynlink.c) up to what the rule requires;
# every release since 1.1 goes on with "Dynamic Program Loader\n".
_USAGE: Final = b")\nVersion %s\n"
_USAGE_HEAD: Final = b"musl libc ("
_ARCH_CHARS: Final = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
)
# glibc's ld.so usage (elf/dl-usage.c; elf/rtld.c before 2.33).
_GLIBC_USAGE: Final = b"EXECUTABLE-FILE [ARGS-FOR-PROGRAM...]"
# Bytes that may not precede a version string: a word, a dotted number, a
# -/+ compound.
_WORDISH: Final = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-"
)
_SUFFIX_CHARS: Final = _WORDISH


def musl_version_from_banner(text: str) -> MuslVersion | None:
    """The version in the banner a musl loader prints when run bare.

    >>> musl_version_from_banner("musl libc (x86_64)\\nVersion 1.2.3\\n")
    (1, 2, 3)
    """
    import re  # only on the fallback path: nothing compiled at start-up

    if not re.search(r"^musl libc\b", text, re.MULTILINE):
        return None
    match = re.search(
        r"^Version[ \t]+(\d{1,4})\.(\d{1,4})\.(\d{1,4})(?![\d.])", text, re.MULTILINE
    )
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def _has_musl_usage(region: bytes | bytearray) -> bool:
    """Whether ``region`` holds ``musl libc (<arch>)\\nVersion %s\\n``."""
    end = len(region)
    for _ in range(MAX_CANDIDATES):
        at = region.rfind(_USAGE, 0, end)
        if at < 0:
            break
        head = region.rfind(_USAGE_HEAD, max(0, at - 32 - len(_USAGE_HEAD)), at)
        if head >= 0:
            arch = region[head + len(_USAGE_HEAD) : at]
            if arch and all(c in _ARCH_CHARS for c in arch):
                return True
        end = at
    return False


def _digits_back(region: bytes | bytearray, end: int) -> int:
    """Start of the run of 1-4 ASCII digits ending before ``end`` (or end)."""
    start = end
    while start > 0 and end - start < 4 and 48 <= region[start - 1] <= 57:
        start -= 1
    return start


def _digits_forward(region: bytes | bytearray, start: int) -> int:
    """End of the run of 1-4 ASCII digits starting at ``start`` (or start)."""
    end, stop = start, min(len(region), start + 4)
    while end < stop and 48 <= region[end] <= 57:
        end += 1
    return end


def _version_at(region: bytes | bytearray, dot: int) -> MuslVersion | None:
    """The version string whose first dot is at ``dot``, if one is there."""
    major = _digits_back(region, dot)
    if major == dot or (major > 0 and region[major - 1] in _WORDISH):
        return None
    minor_end = _digits_forward(region, dot + 1)
    if minor_end == dot + 1 or minor_end >= len(region) or region[minor_end] != 46:
        return None
    patch_end = _digits_forward(region, minor_end + 1)
    if patch_end == minor_end + 1 or patch_end >= len(region):
        return None
    tail = region[patch_end]
    if tail == 45:  # "-" suffix of a git build: [\w.+-]{1,64} then NUL
        end = region.find(b"\0", patch_end + 1, patch_end + 66)
        if end < 0 or end == patch_end + 1:
            return None
        if not all(c in _SUFFIX_CHARS for c in region[patch_end + 1 : end]):
            return None
    elif tail != 0:
        return None
    return (
        int(region[major:dot]),
        int(region[dot + 1 : minor_end]),
        int(region[minor_end + 1 : patch_end]),
    )


#: A region is scanned in windows of this size read into one reused buffer:
#: a fresh 200 KB bytes object costs more than the scan on musl, whose malloc
#: maps and unmaps large blocks (50 page faults per read).
WINDOW_BYTES: Final = 64 * 1024
#: Consecutive windows overlap by this much: more than the usage formats and a
#: version string (with a git suffix) span, so each lies whole in one window.
OVERLAP: Final = 256
#: Bytes before a dot that belong to the version's major number and its left
#: neighbour: a dot closer than this to a window's start is looked at in the
#: window before.
_LEAD: Final = 8

#: (data, lo, hi): look at dots at lo <= index < hi of data.
Window = tuple["bytes | bytearray", int, int]


def _collect_versions(
    data: bytes | bytearray, lo: int, hi: int, found: set[MuslVersion], seen: int
) -> int:
    """Add the versions whose first dot lies in data[lo:hi] to ``found``;
    the running count of candidates, or -1 past MAX_CANDIDATES."""
    find = data.find
    stop = min(hi, len(data) - 1)
    dot = find(b".", max(lo, 1), stop)
    while dot > 0:
        # The cheap test first: a digit on both sides of the dot.
        if 48 <= data[dot + 1] <= 57 and 48 <= data[dot - 1] <= 57:
            version = _version_at(data, dot)
            if version is not None:
                seen += 1
                if seen > MAX_CANDIDATES:
                    return -1
                found.add(version)
        dot = find(b".", dot + 1, stop)
    return seen


def _scan(windows: Iterator[Window]) -> tuple[LoaderFamily, MuslVersion | None]:
    """Rules 2 and 3 over the windows of the region, in one pass."""
    musl = glibc = False
    found: set[MuslVersion] = set()
    seen = 0
    for data, lo, hi in windows:
        if not musl and _has_musl_usage(data):
            musl = True
        if not musl and not glibc and data.find(_GLIBC_USAGE) >= 0:
            glibc = True
        if seen >= 0:
            seen = _collect_versions(data, lo, hi, found, seen)
    if musl:
        return "musl", found.pop() if seen >= 0 and len(found) == 1 else None
    return ("glibc", None) if glibc else (None, None)


def _file_windows(reader: ElfReader, ranges: list[tuple[int, int]]) -> Iterator[Window]:
    """The ranges of the file, window by window through one reused buffer, the
    last window first: the usage format lies near the end of ``.rodata`` on
    most ports, and once it is found the other windows are only scanned for
    dots (no more searches for the usage texts)."""
    # (offset, size, first of its range, last of its range)
    spans: list[tuple[int, int, bool, bool]] = []
    for start, size in ranges:
        end = min(start + size, reader.size)
        base = start
        while base < end:
            n = min(WINDOW_BYTES, end - base)
            last = base + n >= end
            spans.append((base, n, base == start, last))
            if last:
                break
            base += n - OVERLAP
    if not spans:
        return
    preadv = getattr(os, "preadv", None)
    buf = bytearray(max(n for _, n, _, _ in spans))
    view = memoryview(buf)
    try:
        for base, n, first, last in reversed(spans):
            data: bytes | bytearray
            if preadv is not None and n == len(buf):
                try:
                    got = preadv(reader.fd, [view], base)
                except OSError as exc:
                    raise ElfError(f"cannot read {reader.name!r}: {exc}") from None
                data = buf if got == n else bytes(view[:got])
            else:
                data = reader.read(base, n)
            lo = 0 if first else _LEAD
            # A short read (the file shrank meanwhile) ends its range there.
            hi = len(data) if last or len(data) < n else len(data) - OVERLAP + _LEAD
            yield data, lo, hi
    finally:
        view.release()


def _regions(ident: ElfIdent, fetch: Fetch) -> list[tuple[int, int]]:
    """File ranges to scan (rule 1), clipped to MAX_IMAGE_BYTES in total."""
    read_only = [(off, size) for off, size, flags in ident.loads if not flags & PF_W]
    try:
        rodata = section_range(ident, b".rodata", fetch)
    except ElfError:
        rodata = None
    if rodata is not None:
        start, size = rodata
        for off, filesz in read_only:
            if off <= start and start + size <= off + filesz:
                read_only = [rodata]
                break
    ranges: list[tuple[int, int]] = []
    budget = MAX_IMAGE_BYTES
    for off, whole in read_only:
        size = min(whole, budget)
        if size > 0:
            ranges.append((off, size))
            budget -= size
    return ranges


def identify_loader_image(
    ident: ElfIdent, fetch: Fetch
) -> tuple[LoaderFamily, MuslVersion | None]:
    """(family, musl version) of an ELF loader image by rules 1-3.

    ``fetch(offset, size)`` returns that many bytes of the file or raises
    ElfError; ranges beyond the end of the file are clipped.
    """
    windows: list[Window] = []
    for off, size in _regions(ident, fetch):
        try:
            data = fetch(off, size)
        except ElfError:
            continue
        windows.append((data, 0, len(data)))
    return _scan(iter(windows))


def identify_loader(
    loader_path: str | os.PathLike[str],
) -> tuple[LoaderFamily, MuslVersion | None]:
    """Which libc the loader file at ``loader_path`` is, and its musl version,
    read from the image alone; (None, None) when unreadable or neither.
    Never raises."""
    try:
        with ElfReader(loader_path) as reader:
            ident = reader.ident()
            ranges = [
                (off, size)
                for off, size in _regions(ident, reader.read)
                if off < reader.size
            ]
            if not ranges:
                return None, None
            return _scan(_file_windows(reader, ranges))
    except ElfError:
        return None, None


def musl_version_from_image(data: bytes | memoryview) -> MuslVersion | None:
    """The musl version stored in a loader/libc image, read without running
    it; None when the image does not say so unambiguously (see the module
    docstring for the rule)."""
    view = memoryview(data).cast("B")

    def fetch(offset: int, size: int) -> bytes:
        if offset >= len(view):
            raise ElfError("beyond the data")
        return bytes(view[offset : offset + size])

    try:
        ident = parse_ident(view)
    except ElfError:
        return None
    family, version = identify_loader_image(ident, fetch)
    return version if family == "musl" else None


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
    family, version = identify_loader(loader_path)
    if family == "musl" and version is not None:
        return version, "image"
    version = musl_version_by_running(loader_path)
    if version is not None:
        return version, "loader-banner"
    return None, "unknown"
