"""The loadability check where pip's resolver chooses candidates.

A wheel that cannot load on this host is treated like a wheel whose tags do not
match: the factory makes no candidate of it, so the resolver moves on to the
next file of the same version (another wheel, then the sdist) and, where
options rule those out (``--only-binary``, ``--prefer-binary``, constraints),
to older releases -- exactly what pip would choose had the file never existed.

How a file is judged, cheapest first:

1. the verdict cache (file digest from the index link, host identity);
2. a local file (find-links, ``file://`` index, the wheel cache): read in place;
3. a remote file: its central directory and the members most likely to be
   refused (bundled ``*.libs/`` libraries, smallest first) through HTTP range
   requests, stopping at the first refusal, within a byte budget;
4. when that cannot decide (no range support, budget spent), the whole file is
   downloaded once, judged, and handed to pip's preparer, which then uses it
   instead of downloading it again.
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pip._internal.libc.host import HostLibc
from pip._internal.libc.verdict import (
    Verdict,
    file_sha256,
    host_key,
    load_verdict,
    store_verdict,
    system_needs_of,
)

if TYPE_CHECKING:
    from pip._internal.models.link import Link
    from pip._internal.network.session import PipSession
    from pip._internal.operations.prepare import RequirementPreparer

logger = logging.getLogger(__name__)

#: Wheels up to this size are read whole over range requests (and then
#: downloaded by pip as usual, so its output does not change).
SMALL_WHEEL = 512 * 1024
#: Bytes the range check may fetch before it downloads the whole wheel instead.
RANGE_BUDGET_FRACTION = 0.05
RANGE_BUDGET_MIN = 256 * 1024
# Slack after a member's compressed data: its local header's extra field may
# be longer than the central directory's.
_LOCAL_HEADER_SLACK = 1024


@dataclass
class Refusals:
    """Refused files per project and version, for the build-failure note."""

    by_project: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    #: Accepted files already announced as the fallback.
    announced: set[str] = field(default_factory=set)
    #: The resolver's factory that refused them (to look for older releases).
    factory: Any = None

    def add(self, project: str, version: str, filename: str, reason: str) -> None:
        versions = self.by_project.setdefault(project, {})
        versions.setdefault(version, {})[filename] = reason

    def of(self, project: str, version: str) -> dict[str, str]:
        return self.by_project.get(project, {}).get(version, {})

    def count(self, project: str) -> int:
        return len(self.by_project.get(project, {}))


REFUSALS = Refusals()
_MEMO: dict[str, Verdict] = {}


def link_sha256(link: Link) -> str | None:
    return link.hash if link.hash_name == "sha256" else None


def _memo_key(link: Link, key: str) -> str:
    return f"{link_sha256(link) or link.url_without_fragment}\0{key}"


def remembered_verdict(
    link: Link, host: HostLibc, suffixes: tuple[str, ...]
) -> Verdict | None:
    """A verdict this process already reached for ``link``."""
    return _MEMO.get(_memo_key(link, host_key(host, suffixes)))


# -- judging one file ------------------------------------------------------------------


def judge_local_file(
    path: str,
    host: HostLibc,
    suffixes: tuple[str, ...],
    *,
    keep_inflated: bool = False,
) -> Verdict:
    """The verdict for the wheel file at ``path``. ``keep_inflated``: the
    wheel is about to be installed, so the ELF members inflated for the check
    are kept for the install (see :mod:`inflated_members`)."""
    from pip._internal.libc.inflated_members import MemberSpool
    from pip._internal.libc.wheel_abi import (
        WheelAbiError,
        host_libc_exports,
        inspect_wheel,
        wheel_abi_problems,
    )

    spool = MemberSpool.for_wheel(path) if keep_inflated else None
    try:
        abi = inspect_wheel(path, spool=spool)
    except WheelAbiError as exc:
        if spool is not None:
            spool.discard()
        return Verdict(error=str(exc))
    problems = wheel_abi_problems(
        abi, host, host_libc_exports(host), extension_suffixes=suffixes
    )
    logger.debug(
        "Wheel ABI check: read %d ELF members of %s", len(abi.members), abi.wheel
    )
    verdict = Verdict(problems, None, system_needs_of(abi), len(abi.members) or 1)
    if spool is not None:
        if verdict.loads:
            logger.debug(
                "Wheel ABI check: kept %d inflated members of %s for the install",
                spool.count,
                abi.wheel,
            )
        else:
            spool.discard()
    return verdict


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
) -> tuple[Verdict | None, int, int]:
    """Judge a remote wheel from as few of its bytes as possible.

    Returns ``(verdict or None when undecided, bytes fetched, wheel size)``.
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
        budget = (
            remote.length
            if budget_fraction is None or remote.length <= SMALL_WHEEL
            else max(RANGE_BUDGET_MIN, int(remote.length * budget_fraction))
        )
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


def judge_link(
    preparer: RequirementPreparer,
    link: Link,
    host: HostLibc,
    suffixes: tuple[str, ...],
    cache_dir: str | None,
    *,
    may_download: bool = True,
) -> Verdict | None:
    """The verdict for the wheel at ``link`` (None: could not be reached
    without a download, and ``may_download`` is false)."""
    from pip._internal.utils._log import getLogger

    key = host_key(host, suffixes)
    memo = _memo_key(link, key)
    if memo in _MEMO:
        return _MEMO[memo]
    sha = link_sha256(link)
    path: str | None = None
    if link.is_file:
        path = link.file_path
        try:
            sha = sha or file_sha256(path)
        except OSError as exc:
            return Verdict(error=f"cannot read {link.filename}: {exc.strerror}")
    verdict = load_verdict(cache_dir, sha, key)
    if verdict is not None:
        logger.debug("Wheel ABI verdict for %s taken from the cache", link.filename)
    elif path is not None:
        verdict = judge_local_file(
            path, host, suffixes, keep_inflated=_keeps_inflated(preparer)
        )
    else:
        verdict = _judge_remote(preparer, link, host, suffixes, may_download)
        if verdict is None:
            return None
        path = preparer._downloaded.get(link.url)
        if sha is None and path is not None:
            sha = file_sha256(path)
    if verdict.members_read and verdict.error is None:
        store_verdict(cache_dir, sha, key, verdict)
    getLogger(__name__).debug(
        "Wheel ABI check of %s: %s",
        link.filename,
        "loads" if verdict.loads else verdict.reason,
    )
    _MEMO[memo] = verdict
    return verdict


def _judge_remote(
    preparer: RequirementPreparer,
    link: Link,
    host: HostLibc,
    suffixes: tuple[str, ...],
    may_download: bool,
) -> Verdict | None:
    from pip._internal.libc.range_wheel import RangeUnsupported
    from pip._internal.utils._log import getLogger

    session: PipSession = preparer._session
    try:
        verdict, fetched, size = judge_over_range(
            session,
            link,
            host,
            suffixes,
            budget_fraction=RANGE_BUDGET_FRACTION if may_download else None,
        )
    except RangeUnsupported as exc:
        logger.debug("No range requests for %s (%s)", link.filename, exc)
        verdict, fetched, size = None, 0, 0
    except Exception as exc:  # a network error is for the download to report
        logger.debug("Range check of %s failed: %s", link.filename, exc)
        verdict, fetched, size = None, 0, 0
    if verdict is not None:
        # On glibc, -v prints what stock pip prints; the detail is for -vv.
        log = getLogger(__name__).verbose if host.family == "musl" else logger.debug
        log(
            "Checked %s over HTTP range requests: %d of %d bytes",
            link.filename,
            fetched,
            size,
        )
        return verdict
    if not may_download:
        return None
    from pip._internal.utils.temp_dir import TempDirectory

    location = TempDirectory(kind="unpack", globally_managed=True).path
    path, _content_type = preparer._download(link, location)
    # The preparer takes this file instead of downloading it again.
    preparer._downloaded[link.url] = path
    return judge_local_file(
        path, host, suffixes, keep_inflated=_keeps_inflated(preparer)
    )


def _keeps_inflated(preparer: RequirementPreparer) -> bool:
    # Set by the record_wheel_abi_option patch: only `pip install` (not a dry
    # run) writes the members out right after.
    return bool(getattr(preparer, "keep_inflated_members", False))
