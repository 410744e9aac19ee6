"""The note after a failed sdist build whose wheels were refused.

When the newest release falls back to its sdist because none of its wheels can
load here, and that build fails, the user is told which wheels were refused and
why, and the newest older release whose wheel *does* load -- found with the
same cheap check, only on this error path, bounded in time and in releases.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pip._internal.resolution.resolvelib.factory import Factory
    from pip._vendor.packaging.version import Version

logger = logging.getLogger(__name__)

SEARCH_SECONDS = 30.0
SEARCH_RELEASES = 40


def newest_loadable_release(
    factory: Factory, project: str, below: Version
) -> str | None:
    """The newest release older than ``below`` with a wheel that loads here."""
    from pip._internal.libc.candidate_check import judge_link
    from pip._internal.libc.host import host_libc
    from pip._internal.libc.resolver_patches import _cache_dir, needs_opening
    from pip._internal.libc.wheel_abi import running_extension_suffixes

    finder = factory._finder
    host = host_libc()
    suffixes = running_extension_suffixes()
    evaluator = finder.make_candidate_evaluator(project_name=project)
    applicable = evaluator.get_applicable_candidates(
        finder.find_all_candidates(project)
    )
    deadline = time.monotonic() + SEARCH_SECONDS
    releases: list[str] = []
    for candidate in reversed(applicable):  # best first
        link = candidate.link
        if candidate.version >= below or not link.is_wheel or link.is_yanked:
            continue
        version = str(candidate.version)
        if version not in releases:
            if len(releases) >= SEARCH_RELEASES or time.monotonic() > deadline:
                return None
            releases.append(version)
        if not needs_opening(link.filename, host):
            return version
        verdict = judge_link(
            factory.preparer,
            link,
            host,
            suffixes,
            _cache_dir(factory),
            may_download=False,
        )
        if verdict is not None and verdict.loads:
            return version
    return None


def build_failure_note(factory: Factory, project: str, version: Version) -> str | None:
    from pip._internal.libc.candidate_check import REFUSALS
    from pip._internal.libc.host import host_libc

    refused = REFUSALS.of(project, str(version))
    if not refused:
        return None
    host = host_libc()
    lines = [
        f"{project} {version} was built from source because none of its wheels "
        f"can load on this host ({host.describe()}):"
    ]
    lines.extend(f"- {name}: {why}" for name, why in refused.items())
    try:
        older = newest_loadable_release(factory, project, version)
    except Exception as exc:  # the note must never hide the build error
        logger.debug("Looking for an older loadable release failed: %s", exc)
        older = None
    if older is not None:
        lines.append(
            f"The newest release of {project} with a wheel that loads here is "
            f"{older}: pip install '{project}=={older}' (or use --prefer-binary)."
        )
    return "\n".join(lines)
