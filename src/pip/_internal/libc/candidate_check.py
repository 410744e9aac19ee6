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
   read once: when pip's preparer downloads it anyway to make the candidate
   (the index serves no PEP 658 metadata), that download is judged -- pip
   fetches and reports it as stock pip does, and a refusal comes back as
   :class:`RefusedDownload` -- else the check downloads it and hands the file
   to the preparer, which then uses it instead of downloading it again.
"""

from __future__ import annotations

import logging
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


class Refusals:
    """Refused files per project and version, for the build-failure note."""

    __slots__ = ("announced", "by_project", "factory")

    def __init__(self) -> None:
        self.by_project: dict[str, dict[str, dict[str, str]]] = {}
        #: Accepted files already announced as the fallback.
        self.announced: set[str] = set()
        #: The resolver's factory that refused them (to look for older releases).
        self.factory: Any = None

    def add(self, project: str, version: str, filename: str, reason: str) -> None:
        versions = self.by_project.setdefault(project, {})
        versions.setdefault(version, {})[filename] = reason

    def of(self, project: str, version: str) -> dict[str, str]:
        return self.by_project.get(project, {}).get(version, {})

    def count(self, project: str) -> int:
        return len(self.by_project.get(project, {}))


REFUSALS = Refusals()
_MEMO: dict[str, Verdict] = {}
#: Links whose check waits for pip's own download: URL -> the verdict cache.
_DEFERRED: dict[str, str | None] = {}


class RefusedDownload(Exception):
    """The wheel pip downloaded to make a candidate cannot load here."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict


def pip_downloads_whole(preparer: RequirementPreparer, link: Link) -> bool:
    """Whether making the candidate makes pip download the whole wheel (its
    preparer has no metadata-only way: no PEP 658 file, no lazy wheel, or
    hashes are required)."""
    if link.is_file:
        return False
    if preparer.require_hashes:
        return True
    return link.metadata_link() is None and not preparer.use_lazy_wheel


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
    from pip._internal.libc.wheel_abi import (
        WheelAbiError,
        host_libc_exports,
        inspect_wheel,
        wheel_abi_problems,
    )

    spool = None
    if keep_inflated:
        # Only an install keeps them: a dry run, `pip download` and `pip
        # wheel` do not import the spool at all.
        from pip._internal.libc.inflated_members import MemberSpool

        spool = MemberSpool.for_wheel(path)
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


def judge_link(
    preparer: RequirementPreparer,
    link: Link,
    host: HostLibc,
    suffixes: tuple[str, ...],
    cache_dir: str | None,
    *,
    may_download: bool = True,
    pip_downloads: bool = False,
) -> Verdict | None:
    """The verdict for the wheel at ``link``. None: it could not be reached
    without a download, and either ``may_download`` is false or
    ``pip_downloads`` -- pip downloads the file to make the candidate, and
    :func:`judge_download` then judges that download."""
    _DEFERRED.pop(link.url, None)
    key = host_key(host, suffixes)
    memo = _memo_key(link, key)
    if memo in _MEMO:
        return _MEMO[memo]
    if link.is_file:
        return _judge_file(
            preparer, link, link.file_path, host, suffixes, cache_dir=cache_dir
        )
    sha = link_sha256(link)
    verdict = load_verdict(cache_dir, sha, key)
    if verdict is not None:
        logger.debug("Wheel ABI verdict for %s taken from the cache", link.filename)
    else:
        verdict = _judge_remote(
            preparer,
            link,
            host,
            suffixes,
            may_download=may_download,
            pip_downloads=pip_downloads,
        )
        if verdict is None:
            if pip_downloads:
                _DEFERRED[link.url] = cache_dir
            return None
        path = preparer._downloaded.get(link.url)
        if sha is None and path is not None and cache_dir:
            sha = file_sha256(path)
    return _settled(link, verdict, sha, key, cache_dir)


def judge_download(
    preparer: RequirementPreparer,
    link: Link,
    path: str,
    host: HostLibc,
) -> Verdict | None:
    """The verdict for the file pip downloaded for ``link``, when the
    resolver's check left it to that download (else None, at once)."""
    if link.url not in _DEFERRED:
        return None
    from pip._internal.libc.wheel_abi import running_extension_suffixes

    cache_dir = _DEFERRED.pop(link.url)
    return _judge_file(
        preparer,
        link,
        path,
        host,
        running_extension_suffixes(),
        cache_dir=cache_dir,
    )


def _judge_file(
    preparer: RequirementPreparer,
    link: Link,
    path: str,
    host: HostLibc,
    suffixes: tuple[str, ...],
    *,
    cache_dir: str | None,
) -> Verdict:
    # The digest only keys the verdict cache: without one, it is not worth
    # reading the wheel for (a 41 MB wheel: 2 % of its install).
    sha = link_sha256(link)
    if sha is None and cache_dir:
        try:
            sha = file_sha256(path)
        except OSError as exc:
            return Verdict(error=f"cannot read {link.filename}: {exc.strerror}")
    key = host_key(host, suffixes)
    verdict = load_verdict(cache_dir, sha, key)
    if verdict is not None:
        logger.debug("Wheel ABI verdict for %s taken from the cache", link.filename)
    else:
        verdict = judge_local_file(
            path, host, suffixes, keep_inflated=_keeps_inflated(preparer)
        )
    return _settled(link, verdict, sha, key, cache_dir)


def _settled(
    link: Link, verdict: Verdict, sha: str | None, key: str, cache_dir: str | None
) -> Verdict:
    """Remember ``verdict`` for this process and, when it is worth it, in the
    verdict cache."""
    from pip._internal.utils._log import getLogger

    if verdict.members_read and verdict.error is None:
        store_verdict(cache_dir, sha, key, verdict)
    getLogger(__name__).debug(
        "Wheel ABI check of %s: %s",
        link.filename,
        "loads" if verdict.loads else verdict.reason,
    )
    _MEMO[_memo_key(link, key)] = verdict
    return verdict


def _judge_remote(
    preparer: RequirementPreparer,
    link: Link,
    host: HostLibc,
    suffixes: tuple[str, ...],
    *,
    may_download: bool,
    pip_downloads: bool,
) -> Verdict | None:
    from pip._internal.libc.range_check import RANGE_BUDGET_FRACTION, judge_over_range
    from pip._internal.libc.range_wheel import RangeUnsupported
    from pip._internal.utils._log import getLogger

    session: PipSession = preparer._session
    try:
        verdict, fetched, size = judge_over_range(
            session,
            link,
            host,
            suffixes,
            budget_fraction=(
                RANGE_BUDGET_FRACTION if may_download or pip_downloads else None
            ),
            small_whole=not pip_downloads,
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
    if pip_downloads or not may_download:
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
