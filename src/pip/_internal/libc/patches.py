"""The wrappers that patch points install around upstream pip's definitions.

Each wrapper receives the upstream object and returns its replacement; the table in
``patch_points.py`` says where each one goes and why. Wrappers stay thin: the logic
lives in the pure modules (``host``, ``tags``, ...); the tag-list wrappers are in
``tag_patches``. This module is imported while
upstream modules load, so its top level imports nothing heavy.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from optparse import Values

    from pip._internal.index.package_finder import LinkEvaluator, LinkType
    from pip._internal.metadata import BaseDistribution
    from pip._internal.models.link import Link
    from pip._internal.operations.prepare import RequirementPreparer
    from pip._internal.req.req_install import InstallRequirement
    from pip._vendor.packaging.tags import Tag

logger = logging.getLogger(__name__)

_F = TypeVar("_F", bound=Callable[..., Any])


# The resolver asks about the same few files again and again (is it pure? is
# it manylinux?): each file name is parsed once.
@functools.lru_cache(maxsize=1024)
def _wheel_platforms(filename: str) -> frozenset[str]:
    from pip._internal.models.wheel import Wheel

    return frozenset(tag.platform for tag in Wheel(filename).file_tags)


def is_pure_wheel(filename: str) -> bool:
    return _wheel_platforms(filename) == {"any"}


def is_manylinux_wheel(filename: str) -> bool:
    return all(p.startswith("manylinux") for p in _wheel_platforms(filename))


def has_generic_linux_tag(filename: str) -> bool:
    return any(p.startswith("linux_") for p in _wheel_platforms(filename))


def validate_musl_platforms(make_target_python: _F) -> _F:
    """Refuse a malformed musl ``--platform`` before any work is done."""

    @functools.wraps(make_target_python)
    def wrapper(options: Values) -> Any:
        from pip._internal.libc.tags import InvalidMuslPlatform, expand_musl_platform

        for platform in getattr(options, "platforms", None) or ():
            try:
                expand_musl_platform(platform)
            except InvalidMuslPlatform as exc:
                from pip._internal.exceptions import CommandError

                raise CommandError(str(exc)) from None
        return make_target_python(options)

    return wrapper  # type: ignore[return-value]


def explain_platform_mismatch(
    evaluate_link: Callable[[LinkEvaluator, Link], tuple[LinkType, str]],
) -> Callable[[LinkEvaluator, Link], tuple[LinkType, str]]:
    """Say why a wheel's tags do not fit this host's libc (-vv; on musl also -v)."""

    @functools.wraps(evaluate_link)
    def wrapper(self: LinkEvaluator, link: Link) -> tuple[LinkType, str]:
        result, detail = evaluate_link(self, link)
        if result.name != "platform_mismatch" or not link.is_wheel:
            return result, detail
        from pip._internal.libc.finder_notes import explain_skipped_wheel

        why = explain_skipped_wheel(self, link)
        return result, detail if why is None else f"{detail}: {why}"

    return wrapper


def libc_debug_section(show_tags: Callable[[Values], None]) -> Callable[[Values], None]:
    """``pip debug``: report the interpreter's libc before the ranked tags."""

    @functools.wraps(show_tags)
    def wrapper(options: Values) -> None:
        from pip._internal.libc.report import libc_report_lines
        from pip._internal.utils.logging import indent_log

        logger.info("libc:")
        with indent_log():
            for line in libc_report_lines():
                logger.info("%s", line)
        show_tags(options)

    return wrapper


def tolerate_unimportable_vendored(
    get_version: Callable[[str], str | None],
) -> Callable[[str], str | None]:
    """``pip debug`` on an interpreter without ``ssl``: do not crash on truststore.

    Minimal musl interpreters are often built without ``_ssl``; upstream's debug
    imports every vendored module (truststore imports ssl) and dies there.
    """

    @functools.wraps(get_version)
    def wrapper(module_name: str) -> str | None:
        try:
            return get_version(module_name)
        except ImportError as exc:
            logger.info("%s cannot be imported here: %s", module_name, exc)
            return None

    return wrapper


def silence_self_version_check(fetch: _F) -> _F:
    """Never suggest ``pip install --upgrade pip``: it would install stock pip.

    Upstream's prompt would replace this build with stock pip and silently drop musl
    support. Releases of the musl build are announced with its own changelog, so the
    check (and its network request) is skipped altogether.
    """

    @functools.wraps(fetch)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from pip._internal.libc.fork import FORK_VERSION

        logger.debug(
            "Skipping pip's self version check: this is the musl build %s of pip; "
            "upgrading to stock pip would drop musl support.",
            FORK_VERSION,
        )

    return wrapper  # type: ignore[return-value]


def musl_tag_built_wheel(build_wheel: _F) -> _F:
    """Tag a wheel built from an sdist on a musl host ``<arch>_linux_musl``."""

    @functools.wraps(build_wheel)
    def wrapper(*args: Any, **kwargs: Any) -> str | None:
        path: str | None = build_wheel(*args, **kwargs)
        if path is None:
            return None
        from pip._internal.libc.built_wheels import RetagError, retag_built_wheel
        from pip._internal.libc.host import host_libc
        from pip._internal.utils._log import getLogger

        try:
            new_path = retag_built_wheel(path, host_libc())
        except (RetagError, OSError, KeyError, ValueError) as exc:
            logger.warning("Could not tag the built wheel for musl: %s", exc)
            return path
        if new_path != path:
            getLogger(__name__).verbose(
                "Tagged the wheel built on this musl host as %s",
                new_path.rsplit("/", 1)[-1],
            )
        return new_path

    return wrapper  # type: ignore[return-value]


def libc_checked_wheel_cache(get: _F) -> _F:
    """Never take a cached generic ``linux_<arch>`` wheel built for the other libc.

    Stock pip caches wheels it builds on musl as ``linux_<arch>``, exactly like
    glibc builds, and keys the cache without the libc: a cache shared between
    containers would otherwise hand a musl build to glibc (or the reverse).
    """

    @functools.wraps(get)
    def wrapper(
        self: Any, link: Link, package_name: str | None, supported_tags: list[Tag]
    ) -> Link:
        found: Link = get(self, link, package_name, supported_tags)
        if found is link or not found.is_wheel or not found.is_file:
            return found
        if not has_generic_linux_tag(found.filename):
            return found  # libc-qualified tags were matched by the ranking already
        from pip._internal.libc.host import host_libc
        from pip._internal.libc.install_check import reason_text, wheel_problems
        from pip._internal.utils._log import getLogger

        host = host_libc()
        if host.family not in ("musl", "glibc"):
            return found
        try:
            verdict = wheel_problems(found.file_path, host)
        except OSError:
            return link
        if not verdict:
            return found
        getLogger(__name__).verbose(
            "Ignoring cached wheel %s: it cannot load on this host (%s): %s",
            found.filename,
            host.describe(),
            reason_text(verdict),
        )
        return link

    return wrapper  # type: ignore[return-value]


def abi_checked_preparation(prepare: _F) -> _F:
    """Check a wheel before it is installed; fall back within the same version.

    A wheel pip picked from an index or find-links that cannot load here is
    replaced by the next best file of the same version (another wheel, then the
    sdist); a wheel the user named is an error. The resolver's choice of version
    is untouched.
    """

    @functools.wraps(prepare)
    def wrapper(
        self: RequirementPreparer, req: InstallRequirement, parallel_builds: bool
    ) -> BaseDistribution:
        dist: BaseDistribution = prepare(self, req, parallel_builds)
        if getattr(self, "skip_wheel_abi_check", False):
            return dist
        if self.finder.target_python.format_given():
            return dist  # --platform & co: the files are not for this host
        from pip._internal.libc.host import host_libc
        from pip._internal.utils._log import getLogger

        host = host_libc()
        if host.family not in ("musl", "glibc"):
            return dist
        rejected: dict[str, str] = {}
        rejected_urls: set[str] = set()
        while req.link is not None and req.link.is_wheel and req.local_file_path:
            link = req.link
            from pip._internal.libc.resolver_patches import needs_opening

            if not needs_opening(link.filename, host):
                break  # pure, or manylinux on glibc: nothing to open
            from pip._internal.libc.candidate_check import (
                RefusedDownload,
                judge_download,
            )
            from pip._internal.libc.install_check import (
                NoLoadableFile,
                install_verdict,
                named_by_user,
                refused_named_wheel,
                same_version_alternatives,
                warn_missing_libraries,
            )

            # The resolver's check waiting for this download refuses the
            # candidate (the resolver then moves on); it does not swap files.
            decided = judge_download(self, link, req.local_file_path, host)
            if decided is not None and not decided.loads:
                raise RefusedDownload(decided)
            verdict = install_verdict(link, req.local_file_path, host)
            if verdict.loads:
                getLogger(__name__).verbose(
                    "Wheel ABI check: %s can load on this host (%s)",
                    link.filename,
                    host.describe(),
                )
                warn_missing_libraries(link.filename, verdict, host)
                break
            reason = verdict.reason
            if named_by_user(req):
                raise refused_named_wheel(link.filename, host, verdict)
            rejected[link.filename] = reason
            rejected_urls.add(link.url)
            if req.cached_wheel_source_link is not None:
                # A cached build that cannot load: build again from its source.
                alternatives = [req.cached_wheel_source_link]
                req.cached_wheel_source_link = None
            else:
                alternatives = same_version_alternatives(
                    self.finder, req, str(dist.version), rejected_urls
                )
            if not alternatives:
                raise NoLoadableFile(req.name or "?", str(dist.version), host, rejected)
            replacement = alternatives[0]
            logger.warning(
                "Skipping %s: it cannot load on this host (%s): %s. Using %s instead.",
                link.filename,
                host.describe(),
                reason,
                replacement.filename,
            )
            req.link = replacement
            req.download_info = None
            req.local_file_path = None
            dist = prepare(self, req, parallel_builds)
        return dist

    return wrapper  # type: ignore[return-value]


def record_wheel_abi_option(make_preparer: Any) -> Any:
    """Hand ``--skip-wheel-abi-check`` to the preparer that runs the check."""
    func = make_preparer.__func__

    @functools.wraps(func)
    def wrapper(
        cls: Any, temp_build_dir: Any, options: Values, *args: Any, **kwargs: Any
    ) -> RequirementPreparer:
        preparer: RequirementPreparer = func(
            cls, temp_build_dir, options, *args, **kwargs
        )
        skip = bool(getattr(options, "skip_wheel_abi_check", False))
        preparer.skip_wheel_abi_check = skip  # type: ignore[attr-defined]
        # Only an install writes the checked members out right after.
        preparer.keep_inflated_members = (  # type: ignore[attr-defined]
            not skip
            and cls.__module__ == "pip._internal.commands.install"
            and preparer.download_dir is None
            and not getattr(options, "dry_run", False)
        )
        return preparer

    return classmethod(wrapper)


def add_wheel_abi_option(general_group: dict[str, Any]) -> dict[str, Any]:
    """Add ``--skip-wheel-abi-check`` to pip's general options."""
    from optparse import Option

    def skip_wheel_abi_check() -> Option:
        return Option(
            "--skip-wheel-abi-check",
            dest="skip_wheel_abi_check",
            action="store_true",
            default=False,
            help=(
                "Install binary wheels without checking that their ELF files can "
                "load on this host (libc family, machine, libc symbols)."
            ),
        )

    general_group["options"].append(skip_wheel_abi_check)
    return general_group


def add_check_wheel_command(commands_dict: dict[str, Any]) -> dict[str, Any]:
    """Register ``pip check-wheel`` right after upstream's ``check``."""
    info_type = type(commands_dict["check"])
    entry = info_type(
        "pip._internal.libc.check_wheel_command",
        "CheckWheelCommand",
        "Check whether wheel files can load on this host.",
    )
    items = list(commands_dict.items())
    position = [name for name, _ in items].index("check") + 1
    items.insert(position, ("check-wheel", entry))
    return dict(items)
