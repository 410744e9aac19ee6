"""What the finder tells the user about files it skipped, in libc terms.

* Every wheel skipped for its platform tags gets the libc explanation appended to
  upstream's reason, which pip logs at ``-vv`` ("Skipping link: ...").
* On a musl host, ``-v`` also gets one "Skipping <wheel>: <why>" line, but only for
  wheels worth telling about: their python/abi tags fit this interpreter (a
  ``cp310`` wheel is not news on ``cp311``) and their version is one that pip is
  considering (it satisfies the requirement's specifier). On glibc ``-v`` stays
  exactly stock pip's: a glibc user does not need to hear about musl wheels.
* When nothing was found for a musl ``--platform``, the error says which platforms
  were asked for (PyPI carries no ``<arch>_linux_musl`` wheels).

Upstream evaluates links once per project (cached) without the specifier, so the
explanations are recorded while links are evaluated and logged when the finder
is asked for the best candidate of a specifier.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

if TYPE_CHECKING:
    from pip._internal.index.package_finder import LinkEvaluator, PackageFinder
    from pip._internal.models.link import Link
    from pip._vendor.packaging.specifiers import BaseSpecifier
    from pip._vendor.packaging.tags import Tag

logger = logging.getLogger(__name__)

_F = TypeVar("_F", bound=Callable[..., Any])


# The functional form: under ``from __future__ import annotations`` the class
# form turns each field's annotation into a ForwardRef, one compile() per field.
_Skipped = NamedTuple("_Skipped", [("version", str), ("filename", str), ("why", str)])  # noqa: UP014


#: canonical project name -> wheels skipped for a platform reason worth telling
_recorded: dict[str, list[_Skipped]] = {}
_logged: set[str] = set()
#: id(supported tag set) -> (the set, its (interpreter, abi) pairs)
_pairs_cache: dict[int, tuple[set[Tag], frozenset[tuple[str, str]]]] = {}


def _python_abi_pairs(supported: set[Tag]) -> frozenset[tuple[str, str]]:
    cached = _pairs_cache.get(id(supported))
    if cached is not None and cached[0] is supported:
        return cached[1]
    pairs = frozenset((t.interpreter, t.abi) for t in supported)
    _pairs_cache[id(supported)] = (supported, pairs)
    return pairs


def explain_skipped_wheel(evaluator: LinkEvaluator, link: Link) -> str | None:
    """The libc reason a wheel's platform tags do not fit (None: nothing to add).

    On a musl host, wheels whose python/abi tags fit the interpreter are recorded
    for :func:`log_considered_skips`.
    """
    if evaluator._target_python.platforms:  # --platform: the host is not the target
        return None
    from pip._internal.libc.host import host_libc
    from pip._internal.libc.tags import explain_platform_mismatch
    from pip._internal.models.wheel import Wheel
    from pip._internal.utils._log import VERBOSE

    try:
        wheel = Wheel(link.filename)
    except Exception:
        return None
    host = host_libc()
    why = explain_platform_mismatch(sorted({t.platform for t in wheel.file_tags}), host)
    if why is None or host.family == "glibc":
        return why
    if not logging.getLogger("pip._internal.libc").isEnabledFor(VERBOSE):
        return why
    pairs = _python_abi_pairs(evaluator._target_python.get_unsorted_tags())
    if any((t.interpreter, t.abi) in pairs for t in wheel.file_tags):
        skipped = _Skipped(wheel.version, link.filename, why)
        _recorded.setdefault(evaluator._canonical_name, []).append(skipped)
    return why


def _considered(version: str, specifier: BaseSpecifier | None) -> bool:
    if specifier is None:
        return True
    try:
        return specifier.contains(version, prereleases=True)
    except Exception:  # an unparsable version: say nothing about it
        return False


def log_considered_skips(project_name: str, specifier: BaseSpecifier | None) -> None:
    """At ``-v``, explain the recorded skips among the versions pip considers."""
    from pip._internal.utils._log import getLogger
    from pip._vendor.packaging.utils import canonicalize_name

    for skipped in _recorded.get(canonicalize_name(project_name), ()):
        if skipped.filename in _logged or not _considered(skipped.version, specifier):
            continue
        _logged.add(skipped.filename)
        getLogger(__name__).verbose("Skipping %s: %s", skipped.filename, skipped.why)


def musl_platforms_asked(finder: PackageFinder) -> list[str] | None:
    """The platforms of a ``--platform`` request naming musl (None otherwise)."""
    target = finder.target_python
    given = target.platforms or ()
    if not any("musl" in platform for platform in given):
        return None
    platforms = (tag.platform for tag in target.get_sorted_tags())
    return [p for p in dict.fromkeys(platforms) if p != "any"]


def log_platforms_asked(finder: PackageFinder) -> None:
    """After "from versions: none" for a musl ``--platform``: what was looked for."""
    platforms = musl_platforms_asked(finder)
    if platforms is None:
        return
    logger.critical(
        "Looked only for wheels with these platform tags (from --platform): %s",
        ", ".join(platforms) or "none",
    )
    generic = [p for p in platforms if p.endswith("_linux_musl")]
    if generic:
        logger.info(
            "HINT: PyPI does not accept %s wheels; they exist only on indexes and "
            "in wheelhouses built for musl hosts. Wheels on PyPI carry musllinux_1_M "
            "tags (e.g. --platform musllinux_1_2_%s).",
            " or ".join(generic),
            generic[0].removesuffix("_linux_musl"),
        )


# -- the wrappers (patch points) ------------------------------------------------------


def explain_considered_skips(find_best_candidate: _F) -> _F:
    """At -v on musl, explain skipped wheels of the versions the finder considers."""

    @functools.wraps(find_best_candidate)
    def wrapper(
        self: Any, project_name: str, specifier: Any = None, hashes: Any = None
    ) -> Any:
        result = find_best_candidate(self, project_name, specifier, hashes)
        log_considered_skips(project_name, specifier)
        return result

    return wrapper  # type: ignore[return-value]


def name_platforms_asked(report_conflict: _F) -> _F:
    """After 'from versions: none' for a musl --platform: name the platforms."""

    @functools.wraps(report_conflict)
    def wrapper(self: Any, req: Any, *args: Any, **kwargs: Any) -> Any:
        from pip._internal.libc.resolver_patches import log_refused_versions

        log_refused_versions(str(req.project_name))
        error = report_conflict(self, req, *args, **kwargs)
        log_platforms_asked(self._finder)
        return error

    return wrapper  # type: ignore[return-value]
