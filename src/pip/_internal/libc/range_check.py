"""Judging a wheel on an index from a few of its bytes (HTTP range requests).

Its central directory and the members most likely to be refused -- bundled
``*.libs/`` libraries, smallest first -- are fetched and read, stopping at the
first refusal and within a byte budget; :mod:`candidate_check` decides what
happens when that cannot decide.
"""

from __future__ import annotations

import zipfile
from typing import TYPE_CHECKING

from pip._internal.libc.verdict import Verdict, system_needs_of

if TYPE_CHECKING:
    from pip._internal.libc.host import HostLibc
    from pip._internal.models.link import Link
    from pip._internal.network.session import PipSession

#: Wheels up to this size are read whole over range requests (and then
#: downloaded by pip as usual, so its output does not change).
SMALL_WHEEL = 512 * 1024
#: Bytes the range check may fetch before it downloads the whole wheel instead.
RANGE_BUDGET_FRACTION = 0.05
RANGE_BUDGET_MIN = 256 * 1024
# Slack after a member's compressed data: its local header's extra field may
# be longer than the central directory's.
_LOCAL_HEADER_SLACK = 1024


def _range_order(infos: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
    # Bundled libraries are where refusals are found (libgcc_s, libstdc++ with
    # DT_RELR); the small ones cost least to read.
    def key(info: zipfile.ZipInfo) -> tuple[bool, int]:
        in_libs = any(p.endswith(".libs") for p in info.filename.split("/")[:-1])
        return (not in_libs, info.compress_size)

    return sorted(infos, key=key)


def judge_over_range(
    session: PipSession,
    link: Link,
    host: HostLibc,
    suffixes: tuple[str, ...],
    *,
    budget_fraction: float | None = RANGE_BUDGET_FRACTION,
    small_whole: bool = True,
) -> tuple[Verdict | None, int, int]:
    """Judge a remote wheel from as few of its bytes as possible.

    Returns ``(verdict or None when undecided, bytes fetched, wheel size)``.
    ``small_whole``: a wheel up to SMALL_WHEEL is read whole (else only
    what the first request brought is judged).
    Raises :class:`~pip._internal.libc.range_wheel.RangeUnsupported`.
    """
    from pip._internal.libc.elf_summary import MalformedMember
    from pip._internal.libc.range_wheel import RangeFile
    from pip._internal.libc.wheel_abi import (
        WheelAbiError,
        extension_suffix_problems,
        host_libc_exports,
        malformed_problem,
        member_problems,
        wheel_abi_problems,
    )
    from pip._internal.libc.wheel_archive import ArchiveScan, open_archive

    remote = RangeFile(session, link.url_without_fragment, link.filename)
    try:
        # A small wheel is read whole, silently, and left for pip to download
        # as usual: pip's output stays upstream's (glibc parity), at the cost
        # of at most SMALL_WHEEL bytes.
        if budget_fraction is None or (small_whole and remote.length <= SMALL_WHEEL):
            budget = remote.length
        elif remote.length <= SMALL_WHEEL:
            # pip downloads it whole next: reading it twice saves nothing.
            budget = remote.bytes_fetched
        else:
            budget = max(RANGE_BUDGET_MIN, int(remote.length * budget_fraction))
        try:
            archive = open_archive(remote)  # type: ignore[arg-type]
        except WheelAbiError as exc:
            return (
                Verdict(error=f"{link.filename}: {exc}"),
                remote.bytes_fetched,
                remote.length,
            )
        with archive:
            ends = sorted(i.header_offset for i in archive.infolist())
            cd_start = archive.start_dir

            def next_offset(offset: int) -> int:
                for candidate in ends:
                    if candidate > offset:
                        return candidate
                return cd_start

            class _Spent(Exception):
                pass

            def before_read(info: zipfile.ZipInfo) -> None:
                size = 30 + len(info.filename.encode()) + len(info.extra)
                end = info.header_offset + size + info.compress_size
                end = min(end + _LOCAL_HEADER_SLACK, next_offset(info.header_offset))
                held = remote.holds(info.header_offset, end)
                if (
                    not held
                    and remote.bytes_fetched + end - info.header_offset > budget
                ):
                    raise _Spent
                remote.fetch(info.header_offset, end)

            scan = ArchiveScan(
                archive, link.filename, order=_range_order, before_read=before_read
            )
            early = extension_suffix_problems(scan.names, suffixes)
            if early:
                return Verdict(early), remote.bytes_fetched, remote.length
            try:
                for found in scan:
                    own = (
                        (malformed_problem(found),)
                        if isinstance(found, MalformedMember)
                        else member_problems(found, host)
                    )
                    if own:
                        return (
                            Verdict(
                                tuple(own), members_read=len(scan.result().members)
                            ),
                            remote.bytes_fetched,
                            remote.length,
                        )
            except _Spent:
                return None, remote.bytes_fetched, remote.length
            except WheelAbiError as exc:
                return Verdict(error=str(exc)), remote.bytes_fetched, remote.length
            abi = scan.result()
            problems = wheel_abi_problems(
                abi, host, host_libc_exports(host), extension_suffixes=suffixes
            )
            verdict = Verdict(
                problems, None, system_needs_of(abi), len(abi.members) or 1
            )
            return verdict, remote.bytes_fetched, remote.length
    finally:
        remote.close()
