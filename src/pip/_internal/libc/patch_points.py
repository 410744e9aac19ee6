"""The fork's patch points: every place where upstream pip's behaviour changes.

The build hook (``hatch_build.py``) reads ``PATCH_POINTS`` from this file *without
importing pip*, finds each anchor in the upstream module with ``ast`` and inserts
``name = wrapper(name)`` right after the anchor's definition. A missing or ambiguous
anchor fails the build, naming it: that is the signal that upstream moved and the
patch point needs a look before rebasing onto a new pip release.

Keep this module free of imports beyond the standard library: the build hook runs it
in the build environment.
"""

from typing import NamedTuple


class PatchPoint(NamedTuple):
    module: str
    """Dotted name of the upstream module, e.g. ``pip._internal.commands.debug``."""
    anchor: str
    """Top-level name in that module (``func``, ``Class``, ``CONSTANT``) or
    ``Class.method`` for a method."""
    wrapper: str
    """``module:function`` of our wrapper; it receives the upstream object and
    returns the object that replaces it."""
    reason: str
    """Why upstream's behaviour changes here (rendered in the docs)."""
    at_build: bool = False
    """Apply the wrapper when the wheel is built, to the anchor's literal value,
    and write the result in its place: for a constant of a module whose import
    must stay as cheap as upstream's (``import pip`` loads nothing else)."""


PATCH_POINTS: tuple[PatchPoint, ...] = (
    PatchPoint(
        module="pip",
        anchor="__version__",
        wrapper="pip._internal.libc.fork:fork_version",
        reason=(
            "pip --version, pip debug and the installed metadata name the musl build "
            "(26.3+musl.N), so users and bug reports can tell it from stock pip. "
            "Applied when the wheel is built: importing the wrapper at run time would "
            "make `import pip` load pip._internal (30 ms instead of 10)."
        ),
        at_build=True,
    ),
    PatchPoint(
        module="pip._internal.self_outdated_check",
        anchor="pip_self_version_check_fetch",
        wrapper="pip._internal.libc.patches:silence_self_version_check",
        reason=(
            "Upstream's 'a new release of pip is available' prompt would steer users "
            "to stock pip, which silently drops musl support."
        ),
    ),
    PatchPoint(
        module="pip._internal.utils.compatibility_tags",
        anchor="get_supported",
        wrapper="pip._internal.libc.tag_patches:musl_get_supported",
        reason=(
            "On a musl host, rank <arch>_linux_musl first, then upstream's order "
            "(linux_<arch>, musllinux_1_M..1_0), computed without spawning the "
            "loader; a static musl interpreter is offered only pure-Python tags."
        ),
    ),
    PatchPoint(
        module="pip._internal.utils.compatibility_tags",
        anchor="_get_custom_platforms",
        wrapper="pip._internal.libc.tag_patches:musl_custom_platforms",
        reason=(
            "--platform musllinux_1_M_<arch> expands to 1_M..1_0 like manylinux2014 "
            "does; <arch>_linux_musl is accepted; malformed musl platforms are an "
            "error instead of an empty result."
        ),
    ),
    PatchPoint(
        module="pip._internal.index.package_finder",
        anchor="LinkEvaluator.evaluate_link",
        wrapper="pip._internal.libc.patches:explain_platform_mismatch",
        reason=(
            "pip install -vv says why a wheel's platform tags do not fit this host's "
            "libc (e.g. 'musllinux_1_2 wheel needs musl >= 1.2; this host has musl "
            "1.1'); on a musl host, -v says it for the wheels that matter. On glibc, "
            "-v output stays exactly stock pip's."
        ),
    ),
    PatchPoint(
        module="pip._internal.index.package_finder",
        anchor="PackageFinder.find_best_candidate",
        wrapper="pip._internal.libc.finder_notes:explain_considered_skips",
        reason=(
            "On a musl host, pip install -v explains the skipped wheels of the "
            "versions pip is considering whose python/abi tags fit the interpreter "
            "(links are evaluated once per project, before the specifier is known)."
        ),
    ),
    PatchPoint(
        module="pip._internal.resolution.resolvelib.factory",
        anchor="Factory._report_single_requirement_conflict",
        wrapper="pip._internal.libc.finder_notes:name_platforms_asked",
        reason=(
            "'from versions: none' for a musl --platform names the platform tags "
            "that were looked for, and that PyPI carries no <arch>_linux_musl "
            "wheels; when nothing is left because wheels cannot load here, the "
            "error is preceded by those versions, as upstream lists yanked ones."
        ),
    ),
    PatchPoint(
        module="pip._internal.commands.debug",
        anchor="show_tags",
        wrapper="pip._internal.libc.patches:libc_debug_section",
        reason="pip debug reports the interpreter's libc before the ranked tags.",
    ),
    PatchPoint(
        module="pip._internal.commands.debug",
        anchor="get_vendor_version_from_module",
        wrapper="pip._internal.libc.patches:tolerate_unimportable_vendored",
        reason=(
            "pip debug works on interpreters built without ssl (common for minimal "
            "musl builds), where importing the vendored truststore fails."
        ),
    ),
    PatchPoint(
        module="pip._internal.cli.cmdoptions",
        anchor="make_target_python",
        wrapper="pip._internal.libc.patches:validate_musl_platforms",
        reason=(
            "A malformed musl --platform value fails before any work is done, with "
            "a one-line error, instead of silently matching nothing."
        ),
    ),
    PatchPoint(
        module="pip._internal.operations.build.wheel",
        anchor="build_wheel_pep517",
        wrapper="pip._internal.libc.patches:musl_tag_built_wheel",
        reason=(
            "A wheel built from an sdist on a musl host is tagged <arch>_linux_musl "
            "instead of linux_<arch>, so shared caches and wheelhouses never hand a "
            "musl build to glibc."
        ),
    ),
    PatchPoint(
        module="pip._internal.cache",
        anchor="SimpleWheelCache.get",
        wrapper="pip._internal.libc.patches:libc_checked_wheel_cache",
        reason=(
            "A cached generic linux_<arch> wheel is checked (ELF DT_NEEDED, bounded "
            "reads) before use; a build for the other libc is a cache miss."
        ),
    ),
    PatchPoint(
        module="pip._internal.resolution.resolvelib.factory",
        anchor="Factory._make_base_candidate_from_link",
        wrapper="pip._internal.libc.resolver_patches:loadable_candidates",
        reason=(
            "Where pip evaluates candidates: a wheel whose ELF files cannot load "
            "here becomes no candidate, like a wheel whose tags do not match, so "
            "the resolver takes the next file of the same version, then older "
            "releases where options or constraints rule that out. Remote wheels "
            "are judged from a few HTTP range requests; a wheel the user named is "
            "an error naming the reason."
        ),
    ),
    PatchPoint(
        module="pip._internal.operations.prepare",
        anchor="RequirementPreparer._fetch_metadata_only",
        wrapper="pip._internal.libc.resolver_patches:no_metadata_fetch_for_downloaded",
        reason=(
            "A wheel the candidate check had to download whole is prepared from "
            "that file, never downloaded a second time."
        ),
    ),
    PatchPoint(
        module="pip._internal.resolution.resolvelib.candidates",
        anchor="_InstallRequirementBackedCandidate._prepare",
        wrapper="pip._internal.libc.build_failure_patches:note_loadable_release",
        reason=(
            "When a release falls back to its sdist because no wheel of it can "
            "load here and the build fails, the error is followed by a note: the "
            "refused wheels and the newest release whose wheel loads."
        ),
    ),
    PatchPoint(
        module="pip._internal.exceptions",
        anchor="InstallWheelBuildError.__init__",
        wrapper="pip._internal.libc.build_failure_patches:note_after_failed_builds",
        reason=(
            "The same note when the sdist's metadata builds but its wheel does "
            "not (pip install's 'Failed to build installable wheels' error)."
        ),
    ),
    PatchPoint(
        module="pip._internal.operations.prepare",
        anchor="RequirementPreparer._prepare_linked_requirement",
        wrapper="pip._internal.libc.patches:abi_checked_preparation",
        reason=(
            "The install-time safety net and the place of the missing-library "
            "warning: the file about to be installed is judged (the resolver's "
            "verdict for its link is reused); a wheel that still cannot load is "
            "replaced by the next file of the same version. A wheel pip downloads "
            "to make its candidate (no PEP 658 metadata) and the resolver's check "
            "could not judge from a few bytes is judged here for the resolver, "
            "which makes no candidate of it if it cannot load."
        ),
    ),
    PatchPoint(
        module="pip._internal.operations.install.wheel",
        anchor="ZipBackedFile.save",
        wrapper="pip._internal.libc.inflated_reuse:reuse_inflated_members",
        reason=(
            "Writes an ELF member that the check already inflated in full from "
            "that copy, so a wheel of large binaries is not inflated twice."
        ),
    ),
    PatchPoint(
        module="pip._internal.cli.req_command",
        anchor="RequirementCommand.make_requirement_preparer",
        wrapper="pip._internal.libc.patches:record_wheel_abi_option",
        reason="Hands --skip-wheel-abi-check to the preparer that runs the check.",
    ),
    PatchPoint(
        module="pip._internal.cli.cmdoptions",
        anchor="general_group",
        wrapper="pip._internal.libc.patches:add_wheel_abi_option",
        reason=(
            "Adds the off switch --skip-wheel-abi-check (PIP_SKIP_WHEEL_ABI_CHECK, "
            "skip-wheel-abi-check in pip.conf) to every command."
        ),
    ),
    PatchPoint(
        module="pip._internal.commands",
        anchor="commands_dict",
        wrapper="pip._internal.libc.patches:add_check_wheel_command",
        reason=(
            "Adds `pip check-wheel FILE...`, which answers 'will this wheel load "
            "here?' with the install-time check's verdict."
        ),
    ),
)
