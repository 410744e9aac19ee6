"""Whether a binary wheel's ELF files can load on a host, read without installing.

A wheel's tags say what it was built for; its ELF files say what it needs. This
module reads the second and compares it with the host, the way the dynamic
loader would:

* **machine** -- an ELF file for another CPU (or ELF class) cannot load at all;
* **libc family** -- a file linked against glibc is not a musl build, and the
  other way round;
* **glibc symbol versions** -- on glibc, a ``GLIBC_x.y`` need newer than the host's
  glibc is refused by its loader;
* **musl symbols** -- musl has no symbol versions; a binary loads on an older musl
  as long as every libc symbol it uses is exported there. The authority is the
  host's own libc image (the musl loader *is* libc); the release table of
  :mod:`~pip._internal.libc.musl_symbols` explains the answer
  ("needs ``statx``, which musl exports from 1.2.5").

Reading is bounded, because a wheel comes from an index and may be hostile
(:class:`InspectionLimits`): each member is decompressed only as far as the ELF
reader needs, up to a per-member cap, and the whole wheel has a budget of
decompressed bytes and a maximum number of ELF files. What lies beyond a limit is
reported as "not inspected" (a note, not a problem): the check never refuses a
wheel for being large.

The layers follow ``packaging.tags``: :func:`inspect_wheel` is the edge that reads
a file into a :class:`WheelAbi` (data only); :func:`wheel_abi_problems` is a pure
verdict against a :class:`~pip._internal.libc.host.HostLibc`;
:func:`host_libc_exports` reads the host's libc once per process;
:func:`check_wheel_file` combines them for pip's installer.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
import stat
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Final, Literal

from pip._internal.libc.elf import (
    DT_RELR,
    ET_DYN,
    ET_EXEC,
    STB_WEAK,
    ElfError,
    ElfFile,
    ElfTruncatedError,
    parse_elf,
    read_elf,
)
from pip._internal.libc.elf_ident import ELF_MAGIC
from pip._internal.libc.host import HostLibc
from pip._internal.libc.musl_symbols import (
    first_musl_release,
    is_known_libc_symbol,
    is_lfs64_alias,
    last_musl_release,
    lfs64_base_name,
    musl_remaps_lfs64,
    musllinux_needed_for,
)

__all__ = [
    "DEFAULT_LIMITS",
    "AbiProblem",
    "ElfMember",
    "InspectionLimits",
    "MalformedMember",
    "WheelAbi",
    "WheelAbiError",
    "WheelNote",
    "check_wheel_file",
    "deserved_musllinux",
    "elf_member_from",
    "host_libc_exports",
    "inspect_wheel",
    "libc_link_of",
    "wheel_abi_problems",
]

LibcLink = Literal["musl", "glibc"]
ProblemKind = Literal[
    "machine",
    "libc-family",
    "glibc-version",
    "missing-symbol",
    "loader-feature",
    "malformed",
]
NoteKind = Literal["not-inspected", "not-elf", "not-loadable"]
FoundBy = Literal["name", "content"]

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
# Listed missing symbols per problem message; the rest are counted.
_LISTED_SYMBOLS: Final = 5


# -- results ---------------------------------------------------------------------------


class WheelAbiError(Exception):
    """The wheel cannot be read as a zip archive (one-line message)."""


@dataclass(frozen=True)
class ElfMember:
    """What the dynamic loader would learn from one ELF file of a wheel."""

    #: Path inside the archive.
    name: str
    #: ``uname -m`` spelling from the ELF header (``x86_64``, ``i386``, ``arm``).
    arch: str
    elf_class: int
    byte_order: str
    elf_type: int
    #: PT_INTERP (executables only).
    interpreter: str | None
    #: The C library it links, or None when it links none (static executables,
    #: or modules that rely on the interpreter's libc symbols alone).
    libc: LibcLink | None
    #: What told the libc: ``libc.so.6``, ``GLIBC_2.17 symbol versions``, ...
    libc_evidence: str
    needed: tuple[str, ...]
    soname: str | None
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    #: Undefined symbols the loader must bind (non-weak).
    undefined: frozenset[str]
    #: Weak undefined symbols: left at zero when missing, loading goes on.
    weak_undefined: frozenset[str]
    #: Symbols this file exports (for bundled libraries).
    defined: frozenset[str]
    #: The newest ``GLIBC_x.y`` version it needs, as numbers.
    glibc_version: tuple[int, ...] | None
    #: Symbols bound to that newest version, sorted.
    glibc_version_symbols: tuple[str, ...]
    #: How it was found: its name (``*.so``, ``*.libs/``, ``*.data/scripts/``)
    #: or its ``\\x7fELF`` magic.
    found_by: FoundBy = "name"
    #: Packed relative relocations (DT_RELR): musl's loader applies them only
    #: from 1.2.4 on; an older one silently leaves them undone and the process
    #: crashes on first use.
    uses_relr: bool = False

    @property
    def is_loadable(self) -> bool:
        return self.elf_type in (ET_DYN, ET_EXEC)


@dataclass(frozen=True)
class MalformedMember:
    """A member named like a loadable file that starts like ELF but cannot load."""

    name: str
    reason: str


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


@dataclass(frozen=True)
class AbiProblem:
    """A reason the wheel cannot load on the host, in one line."""

    member: str
    kind: ProblemKind
    message: str
    #: The missing symbols (kind ``missing-symbol``), most telling first.
    symbols: tuple[str, ...] = ()
    #: The libc release that would do, when one would (``(1, 2, 5)``).
    required_version: tuple[int, ...] | None = None

    def __str__(self) -> str:
        return self.message


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


# -- libc of one ELF file --------------------------------------------------------------

# Alpine's (and musllinux wheels') libc SONAME; musl-gcc elsewhere links the
# bare ``libc.so``.
_MUSL_NEEDED: Final = re.compile(r"libc\.musl-[A-Za-z0-9_]+\.so\.1")
# glibc's libraries with a SONAME of their own; musl has only libc.so.
_GLIBC_NEEDED: Final = frozenset(
    {
        "libc.so.6",
        "libc.so.6.1",
        "libm.so.6",
        "libm.so.6.1",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libutil.so.1",
        "libanl.so.1",
    }
)
# File names of glibc's loaders (matched against a path's last component).
_GLIBC_LOADER: Final = re.compile(r"ld-linux[^/]*\.so\.\d+|ld64\.so\.\d+")
_MUSL_LOADER_NAME: Final = re.compile(r"ld-musl-[^/]+\.so\.1")
_GLIBC_VERSION: Final = re.compile(r"^GLIBC_(\d+(?:\.\d+)+)$")
# Version names that are not numbers but still say which glibc is needed:
# binaries with packed relative relocations (DT_RELR) need glibc 2.36.
_GLIBC_SPECIAL_VERSIONS: Final[Mapping[str, tuple[int, ...]]] = {
    "GLIBC_ABI_DT_RELR": (2, 36),
}


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    # A repeated DT_NEEDED or search path means nothing more to the loader;
    # keeping one copy also stops a crafted file's 100 000 entries naming one
    # long string from being held once per entry.
    return tuple(dict.fromkeys(items))


def _is_glibc_loader(path: str) -> bool:
    return _GLIBC_LOADER.fullmatch(posixpath.basename(path)) is not None


def _is_musl_loader(path: str) -> bool:
    return _MUSL_LOADER_NAME.fullmatch(posixpath.basename(path)) is not None


def libc_link_of(elf: ElfFile) -> tuple[LibcLink | None, str]:
    """The C library an ELF file links, and the evidence.

    glibc markers win over musl ones: musl's loader never needs them, while a
    glibc build may mention ``libc.so`` only by accident.
    """
    needed = _unique(elf.needed)
    for need in needed:
        if need in _GLIBC_NEEDED or _is_glibc_loader(need):
            return "glibc", f"`{need}`"
    if elf.interpreter and _is_glibc_loader(elf.interpreter):
        return "glibc", f"interpreter `{elf.interpreter}`"
    for _file, versions in elf.version_needs:
        for version in versions:
            if version.startswith("GLIBC_"):
                return "glibc", f"`{version}` symbol versions"
    for need in needed:
        if need == "libc.so" or _MUSL_NEEDED.fullmatch(need):
            return "musl", f"`{need}`"
    if elf.interpreter and _is_musl_loader(elf.interpreter):
        return "musl", f"interpreter `{elf.interpreter}`"
    return None, ""


def glibc_version_of(version_name: str) -> tuple[int, ...] | None:
    """``GLIBC_2.17`` -> ``(2, 17)``; None for other version names."""
    special = _GLIBC_SPECIAL_VERSIONS.get(version_name)
    if special is not None:
        return special
    match = _GLIBC_VERSION.match(version_name)
    return tuple(int(p) for p in match[1].split(".")) if match else None


def _newest_glibc_need(elf: ElfFile) -> tuple[tuple[int, ...] | None, tuple[str, ...]]:
    # Every needed version counts, used by a symbol or not: glibc's loader
    # checks each DT_VERNEED entry.
    newest: tuple[int, ...] | None = None
    newest_names: set[str] = set()
    for _file, versions in elf.version_needs:
        for name in versions:
            version = glibc_version_of(name)
            if version is None:
                continue
            if newest is None or version > newest:
                newest, newest_names = version, {name}
            elif version == newest:
                newest_names.add(name)
    symbols = sorted(
        {s.name for s in elf.symbols if not s.defined and s.version in newest_names}
    )
    return newest, tuple(symbols)


def elf_member_from(name: str, elf: ElfFile, found_by: FoundBy = "name") -> ElfMember:
    """An :class:`ElfMember` from a parsed ELF file (pure)."""
    libc, evidence = libc_link_of(elf)
    glibc_version, glibc_symbols = _newest_glibc_need(elf)
    undefined = {s.name for s in elf.symbols if not s.defined and s.name}
    weak = {
        s.name
        for s in elf.symbols
        if not s.defined and s.name and s.binding == STB_WEAK
    }
    return ElfMember(
        name=name,
        arch=elf.machine_name,
        elf_class=elf.elf_class,
        byte_order=elf.byte_order,
        elf_type=elf.elf_type,
        interpreter=elf.interpreter,
        libc=libc,
        libc_evidence=evidence,
        needed=_unique(elf.needed),
        soname=elf.soname,
        rpath=_unique(elf.rpath),
        runpath=_unique(elf.runpath),
        undefined=frozenset(undefined - weak),
        weak_undefined=frozenset(weak),
        defined=elf.defined_symbols,
        glibc_version=glibc_version,
        glibc_version_symbols=glibc_symbols,
        found_by=found_by,
        uses_relr=DT_RELR in elf.dynamic_tags,
    )


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


# -- the host's libc -------------------------------------------------------------------

#: The most of the host's libc image read (musl's libc.so is under 1 MiB).
HOST_LIBC_MAX_BYTES: Final = 16 * MiB


@functools.cache
def _exports_of_image(path: str) -> frozenset[str] | None:
    try:
        return read_elf(path, max_bytes=HOST_LIBC_MAX_BYTES).defined_symbols
    except ElfError:
        return None


def host_libc_exports(host: HostLibc) -> frozenset[str] | None:
    """The dynamic symbols the host's musl libc exports, read from its loader
    image (musl's loader and libc are one file); None for other hosts or an
    unreadable image. Read once per process."""
    if host.family != "musl" or not host.loader:
        return None
    return _exports_of_image(host.loader)


# -- the verdict (pure) ----------------------------------------------------------------

# Wheel-tag architecture -> (ELF machine name, class, byte order) of its files.
_ARCH_ELF: Final[Mapping[str, tuple[str, int, str]]] = {
    "x86_64": ("x86_64", 64, "little"),
    "i686": ("i386", 32, "little"),
    "i386": ("i386", 32, "little"),
    "aarch64": ("aarch64", 64, "little"),
    "aarch64_be": ("aarch64", 64, "big"),
    "armv7l": ("arm", 32, "little"),
    "armv6l": ("arm", 32, "little"),
    "ppc64le": ("ppc64le", 64, "little"),
    "ppc64": ("ppc64", 64, "big"),
    "ppc": ("ppc", 32, "big"),
    "s390x": ("s390x", 64, "big"),
    "riscv64": ("riscv64", 64, "little"),
    "loongarch64": ("loongarch64", 64, "little"),
}


def _elf_identity(member: ElfMember) -> tuple[str, int, str]:
    return member.arch, member.elf_class, member.byte_order


def _describe_identity(member: ElfMember) -> str:
    return f"{member.arch} ({member.elf_class}-bit, {member.byte_order}-endian)"


def _version_text(version: Iterable[int]) -> str:
    return ".".join(map(str, version))


def _host_text(host: HostLibc) -> str:
    return f"{host.family} {host.version_text}"


def _installed_path(name: str) -> str:
    # Members under <name>.data/purelib|platlib/ land in site-packages itself.
    top, _, rest = name.partition("/")
    scheme, _, path = rest.partition("/")
    if top.endswith(".data") and scheme in ("purelib", "platlib") and path:
        return path
    return name


# Bounds on the linkage graph, so that a crafted wheel (thousands of files,
# each naming thousands of others) cannot make the verdict slow. Real files
# need a few dozen libraries at most and have one or two $ORIGIN paths.
_MAX_NEEDED_PER_FILE: Final = 128
_MAX_ORIGIN_DIRS_PER_FILE: Final = 16


def _origin_dirs(member: ElfMember) -> tuple[str, ...]:
    """Wheel directories the member's ``$ORIGIN`` search paths point into."""
    here = posixpath.dirname(_installed_path(member.name))
    dirs: dict[str, None] = {}
    for entry in (*member.runpath, *member.rpath):
        for origin in ("$ORIGIN", "${ORIGIN}"):
            if entry == origin or entry.startswith(origin + "/"):
                tail = entry[len(origin) :].lstrip("/")
                dirs[posixpath.normpath(posixpath.join(here, tail))] = None
        if len(dirs) >= _MAX_ORIGIN_DIRS_PER_FILE:
            break
    return tuple(dirs)


def _dependency_edges(members: tuple[ElfMember, ...]) -> list[list[int]]:
    """For each member, the members its DT_NEEDED entries resolve to.

    A name resolves to the file of that name (basename or SONAME) in one of
    the member's ``$ORIGIN`` directories, else to any file of that name in the
    wheel: the loader may already have it loaded under that name, or find it
    through LD_LIBRARY_PATH.
    """
    by_name: dict[str, int] = {}
    by_place: dict[tuple[str, str], int] = {}
    for index, member in enumerate(members):
        place = posixpath.dirname(_installed_path(member.name))
        for name in (posixpath.basename(member.name), member.soname):
            if name:
                by_name.setdefault(name, index)
                by_place.setdefault((place, name), index)
    edges: list[list[int]] = []
    for member in members:
        dirs = _origin_dirs(member)
        targets: list[int] = []
        for needed in member.needed[:_MAX_NEEDED_PER_FILE]:
            if needed not in by_name:
                continue
            found = next(
                (by_place[(d, needed)] for d in dirs if (d, needed) in by_place),
                by_name[needed],
            )
            targets.append(found)
        edges.append(targets)
    return edges


def _reachable(edges: list[list[int]]) -> list[int]:
    """For each node, the set of nodes reachable from it (itself included),
    as a bit set: Tarjan's strongly connected components, iteratively, which
    completes components sinks first, so each one's set is its own nodes plus
    the finished sets of its successors. Linear in nodes and edges."""
    count = len(edges)
    order = [-1] * count
    low = [0] * count
    on_stack = [False] * count
    stack: list[int] = []
    reach = [0] * count
    visited = 0
    for root in range(count):
        if order[root] != -1:
            continue
        work = [(root, 0)]
        while work:
            node, next_edge = work[-1]
            if next_edge == 0:
                order[node] = low[node] = visited
                visited += 1
                stack.append(node)
                on_stack[node] = True
            successors = edges[node]
            descended = False
            while next_edge < len(successors):
                target = successors[next_edge]
                next_edge += 1
                if order[target] == -1:
                    work[-1] = (node, next_edge)
                    work.append((target, 0))
                    descended = True
                    break
                if on_stack[target]:
                    low[node] = min(low[node], order[target])
            if descended:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] != order[node]:
                continue
            component: list[int] = []
            bits = 0
            while True:
                member = stack.pop()
                on_stack[member] = False
                component.append(member)
                bits |= 1 << member
                if member == node:
                    break
            for member in component:
                for target in edges[member]:
                    bits |= reach[target]
            for member in component:
                reach[member] = bits
    return reach


@dataclass(frozen=True)
class _Linkage:
    """Which members of a wheel each member loads, directly or not."""

    members: tuple[ElfMember, ...]
    #: Bit set of the members each one loads (itself included).
    reach: tuple[int, ...]

    @classmethod
    def of(cls, members: tuple[ElfMember, ...]) -> _Linkage:
        return cls(members, tuple(_reachable(_dependency_edges(members))))

    def providers(self, symbols: Iterable[str]) -> dict[str, int]:
        """Bit set of the members defining each of ``symbols``."""
        wanted = frozenset(symbols)
        found: dict[str, int] = {}
        if not wanted:
            return found
        for index, member in enumerate(self.members):
            for symbol in wanted & member.defined:
                found[symbol] = found.get(symbol, 0) | (1 << index)
        return found


def _machine_problems(
    members: tuple[ElfMember, ...], host: HostLibc
) -> tuple[tuple[ElfMember, ...], tuple[AbiProblem, ...]]:
    """The members to judge further, and machine problems.

    A wheel may ship ELF files for several machines on purpose (debuggers'
    attach helpers, PyInstaller-style bootloaders): when some files match the
    host, the others are left alone; when none does, the wheel is for another
    machine and every file says so.
    """
    expected = _ARCH_ELF.get(host.arch or "")
    if expected is None:
        return members, ()
    matching = tuple(m for m in members if _elf_identity(m) == expected)
    if matching or not members:
        return matching, ()
    return (), tuple(
        AbiProblem(
            m.name,
            "machine",
            f"`{m.name}` is built for {_describe_identity(m)}; this host is "
            f"{host.arch}",
        )
        for m in members
    )


def _family_problem(member: ElfMember, host: HostLibc) -> AbiProblem | None:
    # musl's loader maps any DT_NEEDED of libc.*, libm.*, libpthread.*, libdl.*,
    # librt.*, libutil.* or libxnet.* (so also glibc's libc.so.6) onto itself and
    # ignores symbol versions: a small glibc build may even import on musl, then
    # misbehave (glibc-only symbols bound to nothing, different struct layouts).
    # A glibc build is still not a musl build, so it is refused.
    if member.libc is None or host.family not in ("musl", "glibc"):
        return None
    if member.libc == host.family:
        return None
    return AbiProblem(
        member.name,
        "libc-family",
        f"`{member.name}` is linked against {member.libc} ({member.libc_evidence}); "
        f"this host has {_host_text(host)}",
    )


def _glibc_version_problem(member: ElfMember, host: HostLibc) -> AbiProblem | None:
    if member.glibc_version is None or host.version is None:
        return None
    if member.glibc_version <= tuple(host.version):
        return None
    version = _version_text(member.glibc_version)
    listed = member.glibc_version_symbols[:_LISTED_SYMBOLS]
    why = ", ".join(f"`{s}`" for s in listed)
    more = len(member.glibc_version_symbols) - len(listed)
    if more > 0:
        why += f" and {more} more"
    return AbiProblem(
        member.name,
        "glibc-version",
        f"`{member.name}` needs glibc {version}"
        + (f" (for {why})" if why else "")
        + f"; this host has {_host_text(host)}",
        symbols=member.glibc_version_symbols,
        required_version=member.glibc_version,
    )


@dataclass(frozen=True)
class _Missing:
    symbol: str
    #: Short phrase for a list: "from 1.2.5".
    brief: str
    #: Relative clause for a single symbol: "which musl exports from 1.2.5".
    clause: str
    #: The release that would export it, if a newer one would.
    needs: tuple[int, ...] | None


def _lfs64_remapped(
    symbol: str, arch: str, release: tuple[int, ...] | None, exports: frozenset[str]
) -> bool:
    base = lfs64_base_name(symbol)
    if base is None or base not in exports:
        return False
    if release is not None:
        return musl_remaps_lfs64(symbol, arch, release)
    # Release unknown: a libc that exports no LFS64 alias at all is a 1.2.4+
    # one, whose loader remaps them (names under 16 characters for sure).
    if not is_lfs64_alias(symbol, arch) or "stat64" in exports or "open64" in exports:
        return False
    return musl_remaps_lfs64(symbol, arch, (1, 2, 4))


def _explain_missing(
    symbol: str, arch: str, release: tuple[int, ...] | None
) -> _Missing:
    first = first_musl_release(symbol, arch)
    last = last_musl_release(symbol, arch)
    # Only symbols of the table get here.
    assert first is not None
    assert last is not None
    if release is not None and first > tuple(release):
        text = _version_text(first)
        return _Missing(
            symbol, f"from {text}", f"which musl exports from {text}", first
        )
    if is_lfs64_alias(symbol, arch):
        base = lfs64_base_name(symbol)
        return _Missing(
            symbol,
            f"LFS64 alias of `{base}`, up to {_version_text(last)}",
            f"an LFS64 alias of `{base}` that musl exported up to "
            f"{_version_text(last)} (later loaders bind it to `{base}` where "
            "that is exported)",
            None,
        )
    if release is not None and last < tuple(release):
        text = _version_text(last)
        return _Missing(
            symbol, f"only up to {text}", f"which musl exported only up to {text}", None
        )
    text = _version_text(first)
    return _Missing(
        symbol,
        f"upstream from {text}, not in this build",
        f"which upstream musl exports from {text} but this host's build does not",
        None,
    )


def _unavailable_libc_symbols(
    member: ElfMember, host: HostLibc, exports: frozenset[str] | None, arch: str
) -> tuple[str, ...]:
    """The member's libc symbols the host's musl does not provide (sorted),
    before bundled libraries are taken into account."""
    release = tuple(host.version) if host.version else None
    if exports is None and release is None:
        return ()
    unavailable: list[str] = []
    for symbol in sorted(member.undefined):
        # Only libc's own symbols are judged: the rest come from the
        # interpreter (Py*), the C++ runtime or other libraries.
        if not is_known_libc_symbol(symbol, arch):
            continue
        if exports is not None:
            if symbol in exports or _lfs64_remapped(symbol, arch, release, exports):
                continue
        elif release is not None:
            # Without the host's image the table is the best authority left.
            first = first_musl_release(symbol, arch)
            last = last_musl_release(symbol, arch)
            assert first is not None
            assert last is not None
            if first <= release <= last or musl_remaps_lfs64(symbol, arch, release):
                continue
        unavailable.append(symbol)
    return tuple(unavailable)


def _explained(
    symbols: Iterable[str], host: HostLibc, arch: str
) -> tuple[_Missing, ...]:
    release = tuple(host.version) if host.version else None
    missing = [_explain_missing(symbol, arch, release) for symbol in symbols]
    # The most telling first: the newest release needed, then by name.
    missing.sort(key=lambda m: (m.needs is None, tuple(-p for p in m.needs or ())))
    return tuple(missing)


def _not_bundled(
    linkage: _Linkage, wanted: Mapping[int, tuple[str, ...]]
) -> dict[int, tuple[str, ...]]:
    """``wanted`` (member index -> symbols) less the symbols a wheel member
    that the member loads defines."""
    providers = linkage.providers(s for symbols in wanted.values() for s in symbols)
    left: dict[int, tuple[str, ...]] = {}
    for index, symbols in wanted.items():
        others = linkage.reach[index] & ~(1 << index)
        remaining = tuple(s for s in symbols if not providers.get(s, 0) & others)
        if remaining:
            left[index] = remaining
    return left


def _missing_symbol_problem(
    member: ElfMember, missing: tuple[_Missing, ...], host: HostLibc
) -> AbiProblem:
    needs = max((m.needs for m in missing if m.needs), default=None)
    if len(missing) == 1:
        only = missing[0]
        message = (
            f"`{member.name}` needs `{only.symbol}`, {only.clause}; "
            f"this host has {_host_text(host)}"
        )
    else:
        listed = ", ".join(
            f"`{m.symbol}` ({m.brief})" for m in missing[:_LISTED_SYMBOLS]
        )
        more = len(missing) - _LISTED_SYMBOLS
        message = (
            f"`{member.name}` needs {len(missing)} libc symbols this host's "
            f"{_host_text(host)} does not export: {listed}"
            + (f" and {more} more" if more > 0 else "")
        )
    return AbiProblem(
        member.name,
        "missing-symbol",
        message,
        symbols=tuple(m.symbol for m in missing),
        required_version=needs,
    )


MUSL_RELR_RELEASE: Final = (1, 2, 4)


def _relr_problem(member: ElfMember, host: HostLibc) -> AbiProblem | None:
    if not member.uses_relr or host.version is None:
        return None
    if tuple(host.version) >= MUSL_RELR_RELEASE:
        return None
    return AbiProblem(
        member.name,
        "loader-feature",
        f"`{member.name}` uses packed relative relocations (DT_RELR), which musl's "
        f"loader applies from {_version_text(MUSL_RELR_RELEASE)} on; this host has "
        f"musl {_version_text(host.version)}",
        required_version=MUSL_RELR_RELEASE,
    )


def wheel_abi_problems(
    abi: WheelAbi, host: HostLibc, host_exports: frozenset[str] | None
) -> tuple[AbiProblem, ...]:
    """Why the wheel's ELF files cannot load on ``host`` (empty: they can).

    ``host_exports`` are the dynamic symbols of the host's musl libc (see
    :func:`host_libc_exports`); without them, a musl host is judged by the
    release table and ``host.version``. Hosts of unknown or static libc get
    only the machine check.
    """
    problems = [
        AbiProblem(
            m.name, "malformed", f"`{m.name}` is not a loadable ELF file: {m.reason}"
        )
        for m in abi.malformed
    ]
    judged, machine = _machine_problems(abi.members, host)
    problems.extend(machine)
    arch = host.arch or "x86_64"
    unavailable: dict[int, tuple[str, ...]] = {}
    for index, member in enumerate(judged):
        family = _family_problem(member, host)
        if family is not None:
            problems.append(family)
        elif host.family == "glibc":
            version = _glibc_version_problem(member, host)
            if version is not None:
                problems.append(version)
        elif host.family == "musl":
            relr = _relr_problem(member, host)
            if relr is not None:
                problems.append(relr)
            symbols = _unavailable_libc_symbols(member, host, host_exports, arch)
            if symbols:
                unavailable[index] = symbols
    if unavailable:
        missing = _not_bundled(_Linkage.of(judged), unavailable)
        problems.extend(
            _missing_symbol_problem(
                judged[index], _explained(symbols, host, arch), host
            )
            for index, symbols in sorted(missing.items())
        )
    return tuple(problems)


def deserved_musllinux(abi: WheelAbi, arch: str) -> tuple[int, int] | None:
    """The ``musllinux_1_x`` (as ``(1, x)``) the wheel's ELF files really need:
    the newest first release among the libc symbols they import and no bundled
    library provides. None when they use no libc symbol the table knows."""
    expected = _ARCH_ELF.get(arch)
    members = (
        tuple(
            m for m in abi.members if expected is None or _elf_identity(m) == expected
        )
        or abi.members
    )
    wanted = {
        index: tuple(s for s in m.undefined if is_known_libc_symbol(s, arch))
        for index, m in enumerate(members)
        if m.libc != "glibc"
    }
    left = _not_bundled(_Linkage.of(members), wanted)
    needs = [musllinux_needed_for(symbols, arch) for symbols in left.values()]
    if any(m.uses_relr and m.libc != "glibc" for m in members):
        needs.append((MUSL_RELR_RELEASE[0], MUSL_RELR_RELEASE[1]))
    return max((n for n in needs if n is not None), default=None)


def check_wheel_file(
    path: str | os.PathLike[str],
    host: HostLibc,
    *,
    limits: InspectionLimits = DEFAULT_LIMITS,
) -> tuple[AbiProblem, ...]:
    """Inspect the wheel at ``path`` and judge it against ``host``.

    Raises :class:`WheelAbiError` when the file is not a readable zip archive,
    and nothing else.
    """
    abi = inspect_wheel(path, limits=limits)
    return wheel_abi_problems(abi, host, host_libc_exports(host))
