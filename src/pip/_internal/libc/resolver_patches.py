"""Wrappers for the patch points in pip's resolver and preparer.

The loadability verdict is part of candidate evaluation: the factory makes no
candidate of a wheel that cannot load here (see :mod:`candidate_check`). These
wrappers connect it to pip's objects; the logic lives in the pure modules.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pip._internal.libc.host import HostLibc
    from pip._internal.models.link import Link
    from pip._internal.req.req_install import InstallRequirement
    from pip._internal.resolution.resolvelib.factory import Factory
    from pip._vendor.packaging.utils import NormalizedName
    from pip._vendor.packaging.version import Version

logger = logging.getLogger(__name__)

_F = TypeVar("_F", bound=Callable[..., Any])


def _checked_host(factory: Factory) -> HostLibc | None:
    """The host to judge wheels against, or None when the check is off."""
    if getattr(factory.preparer, "skip_wheel_abi_check", False):
        return None
    if factory._finder.target_python.format_given():
        return None  # --platform & co: the files are not for this host
    from pip._internal.libc.host import host_libc

    host = host_libc()
    return host if host.family in ("musl", "glibc") else None


def needs_opening(filename: str, host: HostLibc) -> bool:
    """Whether a wheel's binaries must be read to know if it loads here."""
    from pip._internal.libc.patches import is_manylinux_wheel, is_pure_wheel

    if is_pure_wheel(filename):
        return False
    # auditwheel verified manylinux wheels against their glibc policy, and the
    # ranking keeps them off musl: reading them again buys nothing but time.
    return not (host.family == "glibc" and is_manylinux_wheel(filename))


def _cache_dir(factory: Factory) -> str | None:
    cache = factory._wheel_cache
    return getattr(cache, "cache_dir", None) or None


def loadable_candidates(make_base: _F) -> _F:
    """Make no candidate of a wheel that cannot load on this host."""

    @functools.wraps(make_base)
    def wrapper(
        self: Factory,
        link: Link,
        template: InstallRequirement,
        name: NormalizedName | None,
        version: Version | None,
    ) -> Any:
        # Before upstream makes the candidate: making it prepares it (fetches
        # metadata, or builds an sdist), which a file that cannot load here
        # must not cost.
        host = _checked_host(self) if link.is_wheel else None
        if host is None or not needs_opening(link.filename, host):
            return make_base(self, link, template, name, version)
        from pip._internal.libc.candidate_check import (
            REFUSALS,
            RefusedDownload,
            judge_link,
            pip_downloads_whole,
        )
        from pip._internal.libc.wheel_abi import running_extension_suffixes

        suffixes = running_extension_suffixes()
        pip_downloads = pip_downloads_whole(self.preparer, link)
        verdict = judge_link(
            self.preparer,
            link,
            host,
            suffixes,
            _cache_dir(self),
            pip_downloads=pip_downloads,
        )
        project, release = _project_and_version(link, name, version)
        if verdict is None and pip_downloads:
            # Undecided from a few bytes, and making the candidate downloads
            # the file: pip fetches and reports it as stock pip does, and the
            # preparer's check judges that download (abi_checked_preparation).
            try:
                candidate = make_base(self, link, template, name, version)
            except RefusedDownload as refused:
                verdict = refused.verdict
            else:
                # Judged by now, unless pip found another way after all.
                verdict = judge_link(
                    self.preparer, link, host, suffixes, _cache_dir(self)
                )
                if verdict is None or verdict.loads:
                    _announce_fallback(link, host, project, release)
                    return candidate
        elif verdict is None or verdict.loads:
            _announce_fallback(link, host, project, release)
            return make_base(self, link, template, name, version)
        if template.link is not None and link == template.link:
            from pip._internal.libc.install_check import refused_named_wheel

            raise refused_named_wheel(link.filename, host, verdict)
        if link.filename in REFUSALS.of(project, release):
            return None  # said already
        first = not REFUSALS.count(project)
        REFUSALS.factory = self
        REFUSALS.add(project, release, link.filename, verdict.reason)
        from pip._internal.utils._log import getLogger

        log = logger.info if first else getLogger(__name__).verbose
        log(
            "Skipping %s: it cannot load on this host (%s): %s",
            link.filename,
            host.describe(),
            verdict.reason,
        )
        return None

    return wrapper  # type: ignore[return-value]


def _announce_fallback(link: Link, host: HostLibc, project: str, release: str) -> None:
    """Say once that this older release is used because newer ones cannot load."""
    from pip._internal.libc.candidate_check import REFUSALS

    skipped = REFUSALS.count(project)
    if (
        skipped
        and link.filename not in REFUSALS.announced
        and release not in REFUSALS.by_project.get(project, {})
    ):
        REFUSALS.announced.add(link.filename)
        logger.info(
            "Using %s: it loads on this host (%s); the wheels of %d newer "
            "release(s) cannot.",
            link.filename,
            host.describe(),
            skipped,
        )


def _project_and_version(
    link: Link, name: NormalizedName | None, version: Version | None
) -> tuple[str, str]:
    from pip._internal.models.wheel import Wheel

    wheel = Wheel(link.filename)
    return str(name or wheel.name), str(version or wheel.version)


def no_metadata_fetch_for_downloaded(fetch: _F) -> _F:
    """A wheel the candidate check downloaded whole is not fetched again."""

    @functools.wraps(fetch)
    def wrapper(self: Any, req: InstallRequirement) -> Any:
        if req.link is not None and req.link.url in self._downloaded:
            return None
        return fetch(self, req)

    return wrapper  # type: ignore[return-value]


def log_refused_versions(project: str) -> None:
    """Before "Could not find a version": the versions left out because their
    wheels cannot load here, as upstream lists yanked ones."""
    from pip._internal.libc.candidate_check import REFUSALS

    refused = REFUSALS.by_project.get(project, {})
    if refused:
        from pip._internal.libc.host import host_libc

        logger.critical(
            "Ignored the following versions whose wheels cannot load on this "
            "host (%s): %s",
            host_libc().describe(),
            ", ".join(sorted(refused, key=_version_key)),
        )


def _version_key(text: str) -> Any:
    from pip._vendor.packaging.version import InvalidVersion, Version

    try:
        return (0, Version(text))
    except InvalidVersion:
        return (1, text)
