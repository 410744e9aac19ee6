"""Reading a large local wheel's members in worker threads, ahead of need.

zlib inflates without holding the GIL, so the members of a wheel of large
binaries inflate side by side on the host's cores while the ELF reader parses
what is done. Each member is read on a budget of its own; the scan takes the
results in order and keeps one only when the wheel's budget had what it needed
(:attr:`Budget.needed`), so what it reports is what reading one member after
the other reports.
"""

from __future__ import annotations

import zipfile
from contextlib import AbstractContextManager
from typing import IO, TYPE_CHECKING, Final

from pip._internal.libc.inspection_limits import InspectionLimits, MiB
from pip._internal.libc.wheel_member import Budget, MemberOutcome, read_member

if TYPE_CHECKING:
    import threading
    from concurrent.futures import Future

    from pip._internal.libc.inflated_members import MemberSpool


# Compressed bytes of ELF-named members from which reading ahead pays for its
# threads (about 60 ms of inflating on one core).
READ_AHEAD_MIN_BYTES: Final = 4 * MiB
_MAX_READ_AHEAD_WORKERS: Final = 4


def read_ahead_workers(compressed_bytes: int) -> int:
    """Threads worth reading members ahead with: zlib inflates without the
    GIL, so a large wheel's members inflate side by side on the host's cores."""
    if compressed_bytes < READ_AHEAD_MIN_BYTES:
        return 0
    import os

    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return min(cpus, _MAX_READ_AHEAD_WORKERS) if cpus > 1 else 0


class ReadAhead:
    """Members of one archive read in worker threads, each on a budget of its
    own, largest first, ahead of the order they are asked for in.

    The scan takes each result in order and keeps it only when the wheel's
    budget had :attr:`Budget.needed` left (else it reads the member again on
    its own budget), so what it yields is what reading one member after the
    other would have yielded.
    """

    def __init__(
        self,
        archive: zipfile.ZipFile,
        infos: list[zipfile.ZipInfo],
        limits: InspectionLimits,
        workers: int,
        spool: MemberSpool | None = None,
    ) -> None:
        import threading
        from concurrent.futures import ThreadPoolExecutor

        self._archive = archive
        self._limits = limits
        self._spool = spool
        # ZipFile counts its open members without a lock of its own.
        self._open_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="pip-wheel-check")
        # Largest first: the big bundled library (numpy's and scipy's OpenBLAS
        # is a third of the wheel) must not be the one left running alone at
        # the end. What is read does not depend on when; only its order of use.
        self._futures: dict[int, Future[tuple[MemberOutcome, Budget]]] = {
            index: self._pool.submit(self._read, infos[index])
            for index in sorted(
                range(len(infos)), key=lambda i: infos[i].compress_size, reverse=True
            )
        }

    def open_member(self, info: zipfile.ZipInfo) -> AbstractContextManager[IO[bytes]]:
        """``archive.open(info)``, safe beside the worker threads."""
        return _LockedMember(self._archive, info, self._open_lock)

    def result(self, index: int) -> tuple[MemberOutcome, Budget]:
        """The outcome of ``infos[index]`` and the budget it used; raises what
        reading it raised."""
        return self._futures.pop(index).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._futures.clear()

    def _read(self, info: zipfile.ZipInfo) -> tuple[MemberOutcome, Budget]:
        limits = self._limits
        budget = Budget(limits.wheel_budget, limits.max_symbols)
        sink = None if self._spool is None else self._spool.sink(info)
        outcome = read_member(
            lambda: self.open_member(info), info.file_size, limits, budget, sink
        )
        return outcome, budget


class _LockedMember(AbstractContextManager[IO[bytes]]):
    def __init__(
        self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, lock: threading.Lock
    ) -> None:
        self._archive, self._info, self._lock = archive, info, lock
        self._stream: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        with self._lock:
            self._stream = self._archive.open(self._info)
        return self._stream

    def __exit__(self, *exc_info: object) -> None:
        if self._stream is not None:
            with self._lock:
                self._stream.close()
            self._stream = None
