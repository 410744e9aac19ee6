"""The install-time ABI check, in pip's terms: verdicts, fallbacks and errors.

The inspection itself (``wheel_abi``) is pure; this module connects it to pip's
objects: a requirement's downloaded wheel, the finder's other files of the same
version, and pip's diagnostic errors.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pip._internal.exceptions import DiagnosticPipError
from pip._internal.libc.host import HostLibc, host_libc
from pip._internal.libc.verdict import Verdict
from pip._internal.libc.wheel_abi import (
    AbiProblem,
    WheelAbiError,
    check_wheel_file,
    running_extension_suffixes,
)

if TYPE_CHECKING:
    from pip._internal.index.package_finder import PackageFinder
    from pip._internal.models.link import Link
    from pip._internal.req.req_install import InstallRequirement

OFF_SWITCH = "--skip-wheel-abi-check"

logger = logging.getLogger(__name__)


def summarize(problems: Sequence[AbiProblem], limit: int = 3) -> str:
    text = "; ".join(p.message for p in problems[:limit])
    if len(problems) > limit:
        text += f"; and {len(problems) - limit} more"
    return text


@functools.lru_cache(maxsize=256)
def _problems_of(
    path: str, size: int, mtime_ns: int, host: HostLibc
) -> tuple[AbiProblem, ...] | str:
    try:
        return check_wheel_file(path, host)
    except WheelAbiError as exc:
        return str(exc)


def wheel_problems(
    path: str, host: HostLibc | None = None
) -> tuple[AbiProblem, ...] | str:
    """Why the wheel at ``path`` cannot load on ``host`` (empty: it can).

    A string means the wheel could not be read at all (a corrupt archive). Results
    are cached per file version, since pip may look at one wheel more than once.
    """
    host = host_libc() if host is None else host
    stat = os.stat(path)
    return _problems_of(path, stat.st_size, stat.st_mtime_ns, host)


def install_verdict(link: Link, path: str, host: HostLibc) -> Verdict:
    """The verdict for the wheel pip is about to install: the one the
    resolver's check reached for its link, else read from the file."""
    from pip._internal.libc.candidate_check import judge_local_file, remembered_verdict

    suffixes = running_extension_suffixes()
    remembered = remembered_verdict(link, host, suffixes)
    if remembered is not None:
        return remembered
    return judge_local_file(path, host, suffixes)


def warn_missing_libraries(filename: str, verdict: Verdict, host: HostLibc) -> None:
    """One warning per library the wheel expects from the system and the
    host's loader cannot find: a warning, not a refusal (the user can install
    the library; the sdist would need it too)."""
    missing = missing_libraries(verdict, host)
    for member, library in missing:
        logger.warning(
            "%s: `%s` needs `%s`, which is not in the wheel and not found where "
            "this host's loader looks; install it before importing the package.",
            filename,
            member,
            library,
        )


def missing_libraries(verdict: Verdict, host: HostLibc) -> list[tuple[str, str]]:
    from pip._internal.libc.system_libraries import (
        library_found,
        loader_search_dirs,
    )

    dirs = loader_search_dirs(host)
    return [
        (need.member, need.library)
        for need in verdict.system_needs
        if not library_found(need.library, (*need.own_dirs, *dirs))
    ]


def reason_text(verdict: tuple[AbiProblem, ...] | str) -> str:
    return verdict if isinstance(verdict, str) else summarize(verdict)


class WheelCannotLoadHere(DiagnosticPipError):
    """A wheel the user named cannot load on this host."""

    reference = "wheel-cannot-load-here"

    def __init__(self, filename: str, host: HostLibc, reason: str) -> None:
        super().__init__(
            message=f"{filename} cannot be installed: it cannot load on this host.",
            context=f"This host uses {host.describe()}. {reason}.",
            hint_stmt=(
                "Use a wheel built for this host, or the project's sdist. If you "
                f"know better, {OFF_SWITCH} (PIP_SKIP_WHEEL_ABI_CHECK=1) turns the "
                "check off."
            ),
        )


class UnreadableWheel(DiagnosticPipError):
    """A wheel the user named cannot be read (a damaged archive, a bad CRC)."""

    reference = "unreadable-wheel"

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(
            message=f"{filename} cannot be installed: it cannot be read as a wheel.",
            context=f"{reason}.",
            hint_stmt="Download or build the wheel again.",
        )


def refused_named_wheel(
    filename: str, host: HostLibc, verdict: Verdict
) -> DiagnosticPipError:
    """The error for a wheel the user named that the check refuses: one that
    cannot be read is not a wheel for another host, so it is not called one."""
    if verdict.error is not None:
        return UnreadableWheel(filename, verdict.error)
    return WheelCannotLoadHere(filename, host, verdict.reason)


class NoLoadableFile(DiagnosticPipError):
    """Every file of the chosen version was rejected by the check."""

    reference = "no-loadable-file"

    def __init__(
        self, project: str, version: str, host: HostLibc, rejected: dict[str, str]
    ) -> None:
        lines = "\n".join(f"{name}: {why}" for name, why in rejected.items())
        super().__init__(
            message=(
                f"No file of {project} {version} can load on this host "
                f"({host.describe()})."
            ),
            context=lines,
            hint_stmt=(
                "Make an sdist or a wheel built for this host available (e.g. on "
                f"your index), or pin another version. {OFF_SWITCH} turns the check "
                "off."
            ),
        )


def named_by_user(req: InstallRequirement) -> bool:
    """The user gave this file (a path or URL), rather than pip choosing it."""
    return req.original_link is not None


def same_version_alternatives(
    finder: PackageFinder,
    req: InstallRequirement,
    version: str,
    rejected: set[str],
) -> list[Link]:
    """The other files of ``version``, best first, that are still untried."""
    from pip._vendor.packaging.specifiers import SpecifierSet

    assert req.name is not None
    candidates = [
        c
        for c in finder.find_all_candidates(req.name)
        if str(c.version) == version and c.link.url not in rejected
    ]
    evaluator = finder.make_candidate_evaluator(
        project_name=req.name,
        specifier=SpecifierSet(f"=={version}"),
        hashes=req.hashes(trust_internet=False),
    )
    applicable = evaluator.get_applicable_candidates(candidates)
    return [c.link for c in reversed(applicable)]
