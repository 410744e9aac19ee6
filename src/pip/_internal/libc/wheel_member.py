"""Reading one wheel member for the ELF reader, holding only what the loader reads.

A member no larger than :attr:`InspectionLimits.first_read` is read whole. A
larger one is streamed from its start once: its first bytes (ELF header,
program headers, the tables of a classic layout), its dynamic section and its
non-executable ``PT_LOAD`` segments (where linkers, and patchelf after them, put
the symbol, string, hash and version tables) are kept in a window that costs
memory only where it is written; the machine code in between is inflated and
dropped. When a table lies elsewhere the ELF reader says where
(:attr:`ElfTruncatedError.offset`): the member is read on to it, or read again
from its start for one already passed (rare, and bounded).

Memory stays near the size of those tables rather than of the member (numpy's
bundled OpenBLAS: 4 of its 36 MB), and time is what inflating costs: the dynamic
section is near the end of a shared object, so most of every member is inflated
in any case.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import IO, TYPE_CHECKING, Final, NamedTuple

from pip._internal.libc.elf import (
    ElfError,
    ElfFile,
    ElfTruncatedError,
    parse_elf,
)
from pip._internal.libc.elf_format import PT_DYNAMIC
from pip._internal.libc.elf_ident import ELF_MAGIC, PT_INTERP
from pip._internal.libc.inspection_limits import InspectionLimits, MiB
from pip._internal.libc.member_ranges import merged, speculative_ranges, subtract

# Bytes read first from every candidate: enough for the magic, cheap to inflate.
_PROBE_BYTES: Final = 64
# Inflated per read while streaming: large enough that zipfile's per-call cost
# vanishes, small enough to stay out of the peak memory of the install.
_CHUNK: Final = 1 * MiB
# A table behind the stream is read again with this much after it, since the
# tables sit together: one more pass, not one per table.
_BEHIND_SLACK: Final = 1 * MiB
# Parses of one member; each adds a range, so this is never reached by a
# reader that keeps its word.
_MAX_ROUNDS: Final = 32

if TYPE_CHECKING:
    import mmap

    from pip._internal.libc.inflated_members import MemberSink

MemberOpener = Callable[[], AbstractContextManager[IO[bytes]]]


class Budget:
    """Decompressed bytes and symbols left for one wheel (mutable, one call)."""

    __slots__ = ("left", "needed", "spent", "symbols_left")

    def __init__(self, left: int, symbols_left: int) -> None:
        self.left = left
        self.symbols_left = symbols_left
        self.spent = 0
        #: The least ``left`` this read could have started with and decided
        #: the same: a member read ahead on its own budget is valid for the
        #: wheel's when the wheel's has that much left.
        self.needed = 0

    def allows(self, count: int) -> bool:
        self.needed = max(self.needed, self.spent + count)
        return count <= self.left

    def take(self, count: int) -> None:
        self.left -= count
        self.spent += count


# Outcomes in the functional form: the class form would make a ForwardRef (one
# compile()) of each field's annotation, strings under the __future__ import.
Parsed = NamedTuple("Parsed", [("elf", ElfFile)])  # noqa: UP014


class NotElf:
    """The member is not an ELF file."""

    __slots__ = ()


Broken = NamedTuple("Broken", [("reason", str)])  # noqa: UP014
Skipped = NamedTuple("Skipped", [("reason", str)])  # noqa: UP014


MemberOutcome = Parsed | NotElf | Broken | Skipped


def _over_budget(target: int, limits: InspectionLimits) -> Skipped:
    return Skipped(
        f"reading {target} bytes of it would exceed the wheel's "
        f"budget of {limits.wheel_budget} decompressed bytes"
    )


def _miss_outcome(
    exc: ElfTruncatedError, at_end: bool, file_size: int, limits: InspectionLimits
) -> MemberOutcome | None:
    """What a part beyond the bytes at hand means, or None: go and read it."""
    if at_end or exc.needed > file_size:
        return Broken(f"truncated: {exc}")
    if exc.needed > limits.member_cap:
        return Skipped(
            f"its ELF tables reach byte {exc.needed}, beyond the "
            f"{limits.member_cap}-byte cap per file"
        )
    return None


def read_member(
    open_member: MemberOpener,
    file_size: int,
    limits: InspectionLimits,
    budget: Budget,
    sink: MemberSink | None = None,
) -> MemberOutcome:
    """Decompress as little of one member as the ELF reader needs, holding less.

    ``open_member`` opens the member's decompressed stream at its start (it
    may be called again for a second pass); ``file_size`` is its declared
    size. Never more than the member cap or ``budget`` is read; the symbols
    parsed are the caller's to count. With a ``sink``, an ELF member is read
    to its end and all of it written there (for the install to reuse; not
    counted in ``budget``, so what is reported does not change).
    """
    try:
        with open_member() as stream:
            return _read_member(
                open_member, stream, file_size, limits=limits, budget=budget, sink=sink
            )
    finally:
        if sink is not None:
            sink.abandon()  # unless complete


def _read_member(
    open_member: MemberOpener,
    stream: IO[bytes],
    file_size: int,
    *,
    limits: InspectionLimits,
    budget: Budget,
    sink: MemberSink | None,
) -> MemberOutcome:
    probe = _PROBE_BYTES if budget.allows(_PROBE_BYTES) else max(budget.left, 0)
    head = stream.read(probe) if probe > 0 else b""
    budget.take(len(head))
    if head[:4] != ELF_MAGIC:
        return NotElf()
    at_end = len(head) < probe
    target = min(limits.first_read, limits.member_cap, file_size)
    more = target - len(head)
    if more > 0 and not at_end:
        if not budget.allows(more):
            return _over_budget(target, limits)
        chunk = stream.read(more)
        budget.take(len(chunk))
        head += chunk
        at_end = len(chunk) < more
    if sink is not None:
        sink.write(head)
    try:
        parsed = Parsed(parse_elf(head))
    except ElfTruncatedError as exc:
        outcome = _miss_outcome(exc, at_end, file_size, limits)
        if outcome is not None:
            return outcome
        first_miss = exc
    except ElfError as exc:
        return Broken(str(exc))
    else:
        if sink is not None:
            _drain(stream, sink)
        return parsed
    streamed = _StreamedMember(
        open_member, stream, head, file_size, limits=limits, budget=budget, sink=sink
    )
    try:
        outcome = streamed.read(first_miss)
        if sink is not None and isinstance(outcome, Parsed):
            # Read on to the end from wherever this pass stopped.
            streamed.drain_into(sink)
        return outcome
    finally:
        streamed.close()


def _read_step(stream: IO[bytes]) -> Callable[[int], bytes]:
    """``stream.read1`` where it has one, as zipfile's members do: one
    inflation step per call. Their ``read`` loops over such steps and joins
    what they return, a copy of every byte (a tenth of the inflation's time).
    Either returns ``b""`` only at the end of the member."""
    step: Callable[[int], bytes] | None = getattr(stream, "read1", None)
    return stream.read if step is None else step


def _drain(stream: IO[bytes], sink: MemberSink) -> None:
    read_step = _read_step(stream)
    while chunk := read_step(_CHUNK):
        sink.write(chunk)
    sink.complete()


class _StreamedMember:
    """One large member streamed through a sparse window (see the module text)."""

    def __init__(
        self,
        open_member: MemberOpener,
        stream: IO[bytes],
        head: bytes,
        file_size: int,
        *,
        limits: InspectionLimits,
        budget: Budget,
        sink: MemberSink | None = None,
    ) -> None:
        self._open = open_member
        self._stream = stream
        self._extra_stream: AbstractContextManager[IO[bytes]] | None = None
        self._file_size = file_size
        self._size = min(file_size, limits.member_cap)
        self._limits = limits
        self._budget = budget
        self._present: list[tuple[int, int]] = [(0, len(head))]
        self._pos = len(head)
        self._at_end = False
        self._head = head
        # Gets every byte in order while the first pass lasts.
        self._sink = sink
        # With a sink, every byte read so far is in its file, in order: the
        # parser reads that file's pages (in the page cache already) instead
        # of a copy of the tables, which cost a page fault per page written.
        self._window: mmap.mmap | None = None
        if sink is None or file_size > limits.member_cap:
            self._window = _anonymous_window(self._size, head)

    def close(self) -> None:
        if self._extra_stream is not None:
            self._extra_stream.__exit__(None, None, None)
            self._extra_stream = None
        if self._window is not None:
            _close_window(self._window)

    def read(self, miss: ElfTruncatedError) -> MemberOutcome:
        wanted = [(miss.offset, miss.needed), *self._planned()]
        for _ in range(_MAX_ROUNDS):
            outcome = self._fetch(wanted)
            if outcome is not None:
                return outcome
            window = self._window
            if window is None:
                # Never restarted: with the copy, nothing read is missing.
                assert self._sink is not None
                window = self._sink.mapped(self._pos)
            view = memoryview(window)
            try:
                elf = parse_elf(view, present=tuple(self._present))
            except ElfTruncatedError as exc:
                outcome = _miss_outcome(
                    exc, self._at_end, self._file_size, self._limits
                )
                if outcome is not None:
                    return outcome
                if exc.offset < self._pos:
                    wanted = [(exc.offset, exc.needed + _BEHIND_SLACK)]
                else:
                    wanted = [(exc.offset, exc.needed)]
                continue
            except ElfError as exc:
                return Broken(str(exc))
            finally:
                view.release()
                if window is not self._window:
                    _close_window(window)
            return Parsed(elf)
        return Broken("the ELF reader keeps asking for more bytes")

    def _planned(self) -> list[tuple[int, int]]:
        """Ranges worth keeping from the program headers alone."""
        try:
            header = parse_elf(self._head, dynamic=False)
        except ElfError:
            return []  # the header's own miss is the one asked for
        planned = [
            (s.offset, s.offset + s.filesz)
            for s in header.segments
            if s.type in (PT_DYNAMIC, PT_INTERP)
        ]
        if planned:
            planned += speculative_ranges(header.segments)
        return planned

    def _fetch(self, wanted: list[tuple[int, int]]) -> MemberOutcome | None:
        """Read the member on (or again from its start) until ``wanted`` is
        kept; an outcome when the budget forbids it."""
        missing = subtract(
            [(max(0, s), min(e, self._size)) for s, e in wanted], self._present
        )
        if not missing or self._at_end:
            return None
        if min(start for start, _ in missing) < self._pos:
            self._restart()
        end = max(e for _, e in missing)
        if not self._budget.allows(end - self._pos):
            return _over_budget(end, self._limits)
        read_step = _read_step(self._stream)
        while self._pos < end:
            chunk = read_step(min(_CHUNK, end - self._pos))
            if not chunk:
                self._at_end = True
                break
            self._budget.take(len(chunk))
            if self._sink is not None:
                self._sink.write(chunk)
            if self._window is not None:
                self._keep(self._window, chunk, missing)
            self._pos += len(chunk)
        if self._window is None:
            self._present = [(0, self._pos)]
        return None

    def drain_into(self, sink: MemberSink) -> None:
        """Write the rest of the member to ``sink`` (the stream is left at its
        end, where zipfile checks the CRC), unless a second pass broke the
        order of the bytes written."""
        if self._sink is sink:
            _drain(self._stream, sink)

    def _restart(self) -> None:
        if self._sink is not None:
            self._sink.abandon()
            self._sink = None
        if self._extra_stream is not None:
            self._extra_stream.__exit__(None, None, None)
        self._extra_stream = self._open()
        self._stream = self._extra_stream.__enter__()
        self._pos = 0

    def _keep(
        self, window: mmap.mmap, chunk: bytes, ranges: list[tuple[int, int]]
    ) -> None:
        lo, hi = self._pos, self._pos + len(chunk)
        data = memoryview(chunk)
        for start, end in ranges:
            a, b = max(start, lo), min(end, hi)
            if a < b:
                window[a:b] = data[a - lo : b - lo]
                self._present = merged(self._present, (a, b))


def _anonymous_window(size: int, head: bytes) -> mmap.mmap:
    import mmap  # only for members larger than the first read

    # Anonymous memory: pages never written cost nothing.
    window = mmap.mmap(-1, size)
    window[: len(head)] = head
    return window


def _close_window(window: mmap.mmap) -> None:
    # A view that outlived the parse keeps it until its last reference.
    with contextlib.suppress(BufferError):
        window.close()
