"""Bounded reading of a wheel's members: which may be ELF, and how far to inflate.

A wheel comes from an index and may be hostile (:class:`InspectionLimits`): each
member is decompressed only as far as the ELF reader needs, up to a per-member
cap, and the whole wheel has a budget of decompressed bytes and a maximum number
of ELF files. What lies beyond a limit is reported as "not inspected" (a note,
not a problem): the check never refuses a wheel for being large.

:func:`inspect_wheel` is the edge that reads a file (or any seekable binary
stream, such as a wheel read over HTTP range requests) into a :class:`WheelAbi`:
data only, judged elsewhere.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import IO, Final, Literal

from pip._internal.libc.elf import ElfError, ElfFile, ElfTruncatedError, parse_elf
from pip._internal.libc.elf_ident import ELF_MAGIC
from pip._internal.libc.elf_summary import (
    ElfMember,
    FoundBy,
    MalformedMember,
    elf_member_from,
)

NoteKind = Literal["not-inspected", "not-elf", "not-loadable", "missing-library"]

KiB: Final = 1024
MiB: Final = 1024 * KiB


# -- limits ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InspectionLimits:
    """How much work :func:`inspect_wheel` may do on one wheel."""

    #: Decompressed bytes read from an ELF member at first. Headers, dynamic
    #: symbols and strings sit at the start of a shared object; linkers put the
    #: dynamic section near the end, so most members need one more read.
    first_read: int = 256 * KiB
    #: The most of one member read (its ELF prefix the reader asks for). numpy's
    #: bundled OpenBLAS needs ~25 MiB, as its dynamic section is at the end.
    member_cap: int = 64 * MiB
    #: Decompressed bytes per wheel, over all members: bounds the time a wheel
    #: full of zip bombs named ``*.so`` can cost (inflating runs at a few
    #: hundred MB/s: about a second for the whole budget).
    wheel_budget: int = 256 * MiB
    #: ELF files parsed per wheel.
    max_elf_members: int = 2000
    #: Dynamic symbols parsed per wheel. Parsing costs about a second per
    #: million symbols, and a million-symbol table deflates to ~60 KiB, so this
    #: bounds the time of a wheel of such members; real wheels hold far fewer
    #: (all of numpy's ELF files: ~25 000).
    max_symbols: int = 2_000_000
    #: Members opened at all: those named like loadable files, then others
    #: that could be binaries, probed for the ELF magic (``pkg/bin/tool``).
    #: Opening one costs ~20 us even when it is not ELF.
    max_opened_members: int = 10_000
    #: Notes kept; further ones are counted in a last summary note.
    max_notes: int = 100


DEFAULT_LIMITS: Final = InspectionLimits()

# An ELF header is at least 52 bytes (ELFCLASS32): smaller members are not ELF.
_MIN_ELF_SIZE: Final = 52
# Bytes read first from every candidate: enough for the magic, cheap to inflate.
_PROBE_BYTES: Final = 64


# -- results ---------------------------------------------------------------------------


class WheelAbiError(Exception):
    """The wheel cannot be read as a zip archive (one-line message)."""


@dataclass(frozen=True)
class WheelNote:
    """Something worth telling that is not a reason to refuse the wheel."""

    member: str
    kind: NoteKind
    message: str


@dataclass(frozen=True)
class WheelAbi:
    """The ELF view of a wheel: data only, judged by :func:`wheel_abi_problems`."""

    wheel: str
    members: tuple[ElfMember, ...] = ()
    malformed: tuple[MalformedMember, ...] = ()
    notes: tuple[WheelNote, ...] = ()
    #: Decompressed bytes read.
    bytes_read: int = 0


# -- which members may be ELF ----------------------------------------------------------

_SHARED_OBJECT_NAME: Final = re.compile(r"\.so(\.\d+)*$")

# Suffixes of members never worth opening to look for ELF magic: the bulk of
# every wheel is source, bytecode, text and data files.
_NOT_BINARY_SUFFIX_LIST: Final = """
    .py .pyc .pyi .pyx .pxd .pxi .pyo .h .hh .hpp .hxx .c .cc .cpp .cxx .cu .f .f90
    .rs .go .java .js .mjs .ts .css .html .htm .xml .xsl .json .toml .yaml .yml .cfg
    .ini .conf .txt .md .rst .csv .tsv .typed .pem .crt .mo .po .pot .tcl .png .jpg
    .jpeg .gif .svg .ico .bmp .webp .ttf .otf .woff .woff2 .npy .npz .pkl .pickle
    .dat .db .sqlite .zip .gz .bz2 .xz .zst .tar .whl .jar .wasm .a .lib .o .obj .dll
    .pyd .exe .dylib .cmake .pc .sh .bat .ps1 .in .lock .ipynb .proto .pb .onnx
    .safetensors .pt .h5 .parquet .arrow
"""
_NOT_BINARY_SUFFIXES: Final = frozenset(_NOT_BINARY_SUFFIX_LIST.split())


def _is_dist_info(name: str) -> bool:
    top = name.split("/", 1)[0]
    return top.endswith(".dist-info")


def is_loadable_name(name: str) -> bool:
    """Whether a member's path says the loader or pip would run it: a shared
    object (``.so``, ``.so.1.2``), anything in an auditwheel-style ``*.libs/``
    directory, or a script installed from ``*.data/scripts/``."""
    if _SHARED_OBJECT_NAME.search(name):
        return True
    parts = name.split("/")
    if any(part.endswith(".libs") for part in parts[:-1]):
        return True
    return len(parts) > 2 and parts[0].endswith(".data") and parts[1] == "scripts"


def _worth_sniffing(info: zipfile.ZipInfo) -> bool:
    if info.is_dir() or info.file_size < _MIN_ELF_SIZE or _is_dist_info(info.filename):
        return False
    suffix = posixpath.splitext(info.filename)[1].lower()
    return suffix not in _NOT_BINARY_SUFFIXES


# -- reading a wheel (the edge) --------------------------------------------------------


@dataclass
class _Budget:
    """Decompressed bytes left for this wheel (mutable, local to one call)."""

    left: int
    symbols_left: int
    spent: int = 0

    def take(self, count: int) -> None:
        self.left -= count
        self.spent += count


@dataclass(frozen=True)
class _Parsed:
    elf: ElfFile


@dataclass(frozen=True)
class _NotElf:
    pass


@dataclass(frozen=True)
class _Broken:
    reason: str


@dataclass(frozen=True)
class _Skipped:
    reason: str


_MemberOutcome = _Parsed | _NotElf | _Broken | _Skipped


def _read_up_to(stream: IO[bytes], count: int) -> bytes:
    # ZipExtFile.read(n) returns fewer than n bytes only at the member's end.
    return stream.read(count) if count > 0 else b""


def _read_member(
    stream: IO[bytes], file_size: int, limits: InspectionLimits, budget: _Budget
) -> _MemberOutcome:
    """Decompress as little of one member as the ELF reader needs.

    Starts with :attr:`InspectionLimits.first_read` bytes; when the reader
    says it needs bytes further on, reads up to that point (at least doubling,
    so a file that keeps asking costs a logarithmic number of parses) but
    never past the member cap or the wheel's budget.
    """
    probe = min(_PROBE_BYTES, budget.left)
    head = _read_up_to(stream, probe)
    budget.take(len(head))
    if head[:4] != ELF_MAGIC:
        return _NotElf()
    data = bytearray(head)
    target = min(limits.first_read, limits.member_cap, file_size)
    at_end = len(head) < probe
    while True:
        more = target - len(data)
        if more > 0 and not at_end:
            if more > budget.left:
                return _Skipped(
                    f"reading {target} bytes of it would exceed the wheel's "
                    f"budget of {limits.wheel_budget} decompressed bytes"
                )
            chunk = _read_up_to(stream, more)
            budget.take(len(chunk))
            data += chunk
            at_end = len(chunk) < more
        try:
            elf = parse_elf(data, symbols=True)
        except ElfTruncatedError as exc:
            if at_end or exc.needed > file_size:
                return _Broken(f"truncated: {exc}")
            if exc.needed > limits.member_cap:
                return _Skipped(
                    f"its ELF tables reach byte {exc.needed}, beyond the "
                    f"{limits.member_cap}-byte cap per file"
                )
            # The member's declared size bounds it too: zipfile stops there.
            target = min(max(exc.needed, 2 * len(data)), limits.member_cap, file_size)
            if target <= len(data):
                # Cannot happen with a reader that keeps its word; never loop.
                return _Broken(f"the ELF reader asks for no new bytes: {exc}")
        except ElfError as exc:
            return _Broken(str(exc))
        else:
            budget.symbols_left -= len(elf.symbols)
            return _Parsed(elf)


def _open_archive(path: str | os.PathLike[str]) -> zipfile.ZipFile:
    name = os.fsdecode(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise WheelAbiError(f"cannot read {name}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        # A FIFO would block the open below.
        raise WheelAbiError(f"{name} is not a regular file")
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise WheelAbiError(f"{name} is not a valid zip archive: {exc}") from None
    except (OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as exc:
        # NotImplementedError: "zip file version 25.5" and friends.
        raise WheelAbiError(
            f"cannot read {name} as a zip archive: {printable(str(exc))}"
        ) from None


def printable(text: str) -> str:
    """``text`` safe for one line of pip's output: member names come from the
    wheel, and a hostile one must not inject lines or terminal escapes."""
    return text if text.isprintable() else repr(text)[1:-1]


def _lzma_errors() -> tuple[type[Exception], ...]:
    try:
        import lzma  # optional in minimal interpreter builds
    except ImportError:
        return ()
    return (lzma.LZMAError,)


# What reading a member may raise when the archive is damaged: a bad local
# header, a broken deflate stream, a CRC mismatch at the end of a member read
# whole, unsupported compression or encryption. pip cannot install such a
# wheel either, so it is an error about the archive, not a verdict.
_ARCHIVE_ERRORS: Final[tuple[type[Exception], ...]] = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    *_lzma_errors(),
)


@dataclass
class _Notes:
    """Collects notes up to a cap, then only counts them."""

    cap: int
    kept: list[WheelNote] = field(default_factory=list)
    dropped: int = 0

    def add(self, member: str, kind: NoteKind, message: str) -> None:
        if len(self.kept) < self.cap:
            self.kept.append(WheelNote(member, kind, message))
        else:
            self.dropped += 1

    def result(self) -> tuple[WheelNote, ...]:
        if not self.dropped:
            return tuple(self.kept)
        summary = WheelNote("", "not-inspected", f"{self.dropped} more notes omitted")
        return (*self.kept, summary)


def _classify(
    name: str, found_by: FoundBy, outcome: _MemberOutcome
) -> ElfMember | MalformedMember | WheelNote | None:
    """What one member read means. Files found by their name are the ones the
    loader or pip would run, so their defects are problems; files found by
    their content (test data, firmware) only get notes."""
    if isinstance(outcome, _NotElf):
        # Worth a word only where the name promised a shared object: scripts
        # and data files in *.libs/ are quite often not ELF files.
        if _SHARED_OBJECT_NAME.search(name):
            return WheelNote(name, "not-elf", f"`{name}` is not an ELF file")
        return None
    if isinstance(outcome, _Skipped):
        return WheelNote(
            name, "not-inspected", f"`{name}` not inspected: {outcome.reason}"
        )
    if isinstance(outcome, _Broken):
        if found_by == "name":
            return MalformedMember(name, outcome.reason)
        return WheelNote(
            name,
            "not-loadable",
            f"`{name}` looks like ELF but is not loadable: {outcome.reason}",
        )
    member = elf_member_from(name, outcome.elf, found_by)
    if member.is_loadable:
        return member
    if found_by == "name":
        return MalformedMember(
            name,
            f"ELF type {member.elf_type} is neither a shared object nor an executable",
        )
    return WheelNote(
        name,
        "not-loadable",
        f"`{name}` is an ELF file of type {member.elf_type} (not loadable; ignored)",
    )


def inspect_wheel(
    path: str | os.PathLike[str], *, limits: InspectionLimits = DEFAULT_LIMITS
) -> WheelAbi:
    """Read the ELF files of the wheel at ``path`` (bounded by ``limits``).

    Members named like loadable files (see :func:`is_loadable_name`) are read
    first; then other members that could be binaries are probed for the ELF
    magic (``limits.max_opened_members`` in all). Raises :class:`WheelAbiError`
    if the file is not a readable zip archive, and nothing else.
    """
    wheel = os.path.basename(os.fsdecode(path))
    with _open_archive(path) as archive:
        return _inspect_archive(archive, wheel, limits)


def _inspect_archive(
    archive: zipfile.ZipFile, wheel: str, limits: InspectionLimits
) -> WheelAbi:
    # An empty member name is nothing to load (and ZipInfo.is_dir fails on it).
    infos = [i for i in archive.infolist() if i.filename]
    by_name = [i for i in infos if not i.is_dir() and is_loadable_name(i.filename)]
    others = [
        i for i in infos if not is_loadable_name(i.filename) and _worth_sniffing(i)
    ]
    budget = _Budget(limits.wheel_budget, limits.max_symbols)
    notes = _Notes(limits.max_notes)
    members: list[ElfMember] = []
    malformed: list[MalformedMember] = []
    candidates: list[tuple[zipfile.ZipInfo, FoundBy]] = [
        *((info, "name") for info in by_name),
        *((info, "content") for info in others),
    ]
    if len(candidates) > limits.max_opened_members:
        # Named members come first, so they are the ones opened.
        notes.add(
            "",
            "not-inspected",
            f"{len(candidates) - limits.max_opened_members} members that may be "
            f"ELF files were not opened (more than {limits.max_opened_members})",
        )
        del candidates[limits.max_opened_members :]
    elf_seen = 0
    for info, found_by in candidates:
        name = printable(info.filename)
        if budget.left <= 0 or budget.symbols_left <= 0:
            if found_by == "name":
                spent = "read" if budget.left <= 0 else "symbol"
                notes.add(
                    name,
                    "not-inspected",
                    f"`{name}` not inspected: the wheel's {spent} budget is spent",
                )
            continue
        if elf_seen >= limits.max_elf_members:
            if found_by == "name":
                notes.add(
                    name,
                    "not-inspected",
                    f"`{name}` not inspected: more than {limits.max_elf_members} "
                    "ELF files in the wheel",
                )
            continue
        try:
            with archive.open(info) as stream:
                outcome = _read_member(stream, info.file_size, limits, budget)
        except _ARCHIVE_ERRORS as exc:
            raise WheelAbiError(
                f"{wheel} is a damaged zip archive ({name}): {printable(str(exc))}"
            ) from None
        if not isinstance(outcome, _NotElf):
            elf_seen += 1
        found = _classify(name, found_by, outcome)
        if isinstance(found, ElfMember):
            members.append(found)
        elif isinstance(found, MalformedMember):
            malformed.append(found)
        elif found is not None:
            notes.add(found.member, found.kind, found.message)
    return WheelAbi(
        wheel=wheel,
        members=tuple(members),
        malformed=tuple(malformed),
        notes=notes.result(),
        bytes_read=budget.spent,
    )
