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

import os
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from functools import partial
from typing import IO, TYPE_CHECKING, Final, Literal, NamedTuple

from pip._internal.libc.elf_summary import (
    ElfMember,
    FoundBy,
    MalformedMember,
    elf_member_from,
)
from pip._internal.libc.inspection_limits import (
    DEFAULT_LIMITS,
    InspectionLimits,
)
from pip._internal.libc.member_names import (
    is_loadable_name,
    is_shared_object_name,
    worth_sniffing,
)
from pip._internal.libc.read_ahead import ReadAhead, read_ahead_workers
from pip._internal.libc.wheel_member import (
    Broken,
    Budget,
    MemberOutcome,
    NotElf,
    Parsed,
    Skipped,
    read_member,
)

if TYPE_CHECKING:
    from pip._internal.libc.inflated_members import MemberSpool

NoteKind = Literal["not-inspected", "not-elf", "not-loadable", "missing-library"]


# -- results ---------------------------------------------------------------------------


class WheelAbiError(Exception):
    """The wheel cannot be read as a zip archive (one-line message)."""


class WheelNote(NamedTuple):
    """Something worth telling that is not a reason to refuse the wheel."""

    member: str
    kind: NoteKind
    message: str


class WheelAbi(NamedTuple):
    """The ELF view of a wheel: data only, judged by :func:`wheel_abi_problems`."""

    wheel: str
    members: tuple[ElfMember, ...] = ()
    malformed: tuple[MalformedMember, ...] = ()
    notes: tuple[WheelNote, ...] = ()
    #: Decompressed bytes read.
    bytes_read: int = 0
    #: Every member named like a loadable file, read or not (extension module
    #: names are judged from these alone).
    names: tuple[str, ...] = ()


# -- reading a wheel (the edge) --------------------------------------------------------


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


class _Notes:
    """Collects notes up to a cap, then only counts them."""

    __slots__ = ("cap", "dropped", "kept")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.kept: list[WheelNote] = []
        self.dropped = 0

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
    name: str, found_by: FoundBy, outcome: MemberOutcome
) -> ElfMember | MalformedMember | WheelNote | None:
    """What one member read means. Files found by their name are the ones the
    loader or pip would run, so their defects are problems; files found by
    their content (test data, firmware) only get notes."""
    if isinstance(outcome, NotElf):
        # Worth a word only where the name promised a shared object: scripts
        # and data files in *.libs/ are quite often not ELF files.
        if is_shared_object_name(name):
            return WheelNote(name, "not-elf", f"`{name}` is not an ELF file")
        return None
    if isinstance(outcome, Skipped):
        return WheelNote(
            name, "not-inspected", f"`{name}` not inspected: {outcome.reason}"
        )
    if isinstance(outcome, Broken):
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
    source: str | os.PathLike[str] | IO[bytes],
    *,
    limits: InspectionLimits = DEFAULT_LIMITS,
    spool: "MemberSpool | None" = None,
) -> WheelAbi:
    """Read the ELF files of the wheel at ``source`` (bounded by ``limits``).

    ``source`` is a path or a seekable binary stream. Members named like
    loadable files (see :func:`is_loadable_name`) are read first; then other
    members that could be binaries are probed for the ELF magic
    (``limits.max_opened_members`` in all). Raises :class:`WheelAbiError` if
    the file is not a readable zip archive, and nothing else.
    """
    with open_archive(source) as archive:
        scan = ArchiveScan(
            archive,
            wheel_name_of(source),
            limits,
            read_ahead=isinstance(source, (str, os.PathLike)),
            spool=spool,
        )
        for _found in scan:
            pass
        return scan.result()


def wheel_name_of(source: str | os.PathLike[str] | IO[bytes]) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.path.basename(os.fsdecode(source))
    return os.path.basename(str(getattr(source, "name", "") or "wheel"))


def open_archive(source: str | os.PathLike[str] | IO[bytes]) -> zipfile.ZipFile:
    if isinstance(source, (str, os.PathLike)):
        return _open_archive(source)
    try:
        return zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise WheelAbiError(f"not a valid zip archive: {exc}") from None
    except _ARCHIVE_ERRORS as exc:
        raise WheelAbiError(
            f"cannot read as a zip archive: {printable(str(exc))}"
        ) from None


MemberOrder = Callable[[list[zipfile.ZipInfo]], list[zipfile.ZipInfo]]


class ArchiveScan:
    """Reads the members of one open archive that may be ELF files, one at a time.

    Iterating yields each :class:`ElfMember` or :class:`MalformedMember` as it
    is read, so that a caller may stop at the first one that settles a verdict
    (the resolver's check of a wheel read over HTTP does); :meth:`result` is
    what was read so far. ``order`` ranks the members named like loadable
    files; ``before_read`` is called with each member about to be read.
    ``read_ahead`` lets threads inflate the members of a large local wheel
    side by side (:class:`ReadAhead`); ``spool`` keeps the ELF members read
    in full for the install. Neither changes what is yielded.
    """

    def __init__(
        self,
        archive: zipfile.ZipFile,
        wheel: str,
        limits: InspectionLimits = DEFAULT_LIMITS,
        *,
        order: MemberOrder | None = None,
        before_read: Callable[[zipfile.ZipInfo], None] | None = None,
        read_ahead: bool = False,
        spool: "MemberSpool | None" = None,
    ) -> None:
        self._archive = archive
        self._wheel = wheel
        self._limits = limits
        self._before_read = before_read
        self._spool = spool
        # An empty member name is nothing to load (ZipInfo.is_dir fails on it).
        infos = [i for i in archive.infolist() if i.filename]
        by_name = [i for i in infos if not i.is_dir() and is_loadable_name(i.filename)]
        if order is not None:
            by_name = order(by_name)
        others = [
            i for i in infos if not is_loadable_name(i.filename) and worth_sniffing(i)
        ]
        self.names: tuple[str, ...] = tuple(i.filename for i in by_name)
        self._budget = Budget(limits.wheel_budget, limits.max_symbols)
        self._notes = _Notes(limits.max_notes)
        self._members: list[ElfMember] = []
        self._malformed: list[MalformedMember] = []
        self._candidates: list[tuple[zipfile.ZipInfo, FoundBy]] = [
            *((info, "name") for info in by_name),
            *((info, "content") for info in others),
        ]
        if len(self._candidates) > limits.max_opened_members:
            # Named members come first, so they are the ones opened.
            self._notes.add(
                "",
                "not-inspected",
                f"{len(self._candidates) - limits.max_opened_members} members that "
                f"may be ELF files were not opened (more than "
                f"{limits.max_opened_members})",
            )
            del self._candidates[limits.max_opened_members :]
        # Threads read members ahead only of a local file: a wheel read over
        # HTTP is read one member at a time, stopping at the first refusal.
        self._workers = 0
        if read_ahead and before_read is None:
            self._workers = read_ahead_workers(
                sum(i.compress_size for i in by_name[: limits.max_opened_members])
            )

    def __iter__(self) -> Iterator[ElfMember | MalformedMember]:
        ahead = None
        if self._workers:
            infos = [info for info, _found_by in self._candidates]
            ahead = ReadAhead(
                self._archive, infos, self._limits, self._workers, self._spool
            )
        try:
            yield from self._scan(ahead)
        finally:
            if ahead is not None:
                ahead.close()

    def _read(
        self, index: int, info: zipfile.ZipInfo, ahead: ReadAhead | None
    ) -> MemberOutcome:
        opener: Callable[[], AbstractContextManager[IO[bytes]]]
        if ahead is not None:
            outcome, used = ahead.result(index)
            if used.needed <= self._budget.left:
                self._budget.take(used.spent)
                return outcome
            # The wheel's budget ran low: decide on what is left of it.
            opener = partial(ahead.open_member, info)
        else:
            if self._before_read is not None:
                self._before_read(info)
            opener = partial(self._archive.open, info)
        sink = None if self._spool is None else self._spool.sink(info)
        return read_member(opener, info.file_size, self._limits, self._budget, sink)

    def _scan(self, ahead: ReadAhead | None) -> Iterator[ElfMember | MalformedMember]:
        limits, budget, notes = self._limits, self._budget, self._notes
        elf_seen = 0
        for index, (info, found_by) in enumerate(self._candidates):
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
                        f"`{name}` not inspected: more than "
                        f"{limits.max_elf_members} ELF files in the wheel",
                    )
                continue
            try:
                outcome = self._read(index, info, ahead)
            except _ARCHIVE_ERRORS as exc:
                raise WheelAbiError(
                    f"{self._wheel} is a damaged zip archive ({name}): "
                    f"{printable(str(exc))}"
                ) from None
            if isinstance(outcome, Parsed):
                budget.symbols_left -= len(outcome.elf.symbols)
            if not isinstance(outcome, NotElf):
                elf_seen += 1
            found = _classify(name, found_by, outcome)
            if isinstance(found, ElfMember):
                self._members.append(found)
                yield found
            elif isinstance(found, MalformedMember):
                self._malformed.append(found)
                yield found
            elif found is not None:
                notes.add(found.member, found.kind, found.message)

    def result(self) -> WheelAbi:
        return WheelAbi(
            wheel=self._wheel,
            members=tuple(self._members),
            malformed=tuple(self._malformed),
            notes=self._notes.result(),
            bytes_read=self._budget.spent,
            names=self.names,
        )
