"""The fork's patch points: every place where upstream pip's behaviour changes.

The build hook (``hatch_build.py``) reads ``PATCH_POINTS`` from this file *without
importing pip*, finds each anchor in the upstream module with ``ast`` and inserts
``name = wrapper(name)`` right after the anchor's definition. A missing or ambiguous
anchor fails the build, naming it: that is the signal that upstream moved and the
patch point needs a look before rebasing onto a new pip release.

Keep this module free of imports beyond the standard library: the build hook runs it
in the build environment.
"""

from __future__ import annotations

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


PATCH_POINTS: tuple[PatchPoint, ...] = (
    PatchPoint(
        module="pip",
        anchor="__version__",
        wrapper="pip._internal.libc.fork:fork_version",
        reason=(
            "pip --version, pip debug and the installed metadata name the musl build "
            "(26.3+musl.N), so users and bug reports can tell it from stock pip."
        ),
    ),
    PatchPoint(
        module="pip._internal.self_outdated_check",
        anchor="pip_self_version_check_fetch",
        wrapper="pip._internal.libc.fork:silence_self_version_check",
        reason=(
            "Upstream's 'a new release of pip is available' prompt would steer users "
            "to stock pip, which silently drops musl support."
        ),
    ),
)
