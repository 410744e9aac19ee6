"""Wrappers for the patch points where a failed sdist build gets its note.

When a project fell back to its sdist because its wheels cannot load here and
that build fails, the error names the refused wheels and the newest release
whose wheel loads (:mod:`build_failure_note`). One of the two patched objects,
``InstallWheelBuildError``, is defined by a module every pip command imports at
start-up: these wrappers are kept apart from the resolver's so that importing
it loads this small module only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pip._internal.req.req_install import InstallRequirement

_F = TypeVar("_F", bound=Callable[..., Any])


def note_loadable_release(prepare: _F) -> _F:
    """After a failed sdist build, name the newest release whose wheel loads."""

    @functools.wraps(prepare)
    def wrapper(self: Any) -> Any:
        try:
            return prepare(self)
        except Exception as exc:
            from pip._internal.exceptions import DiagnosticPipError, InstallationError

            if not isinstance(exc, (DiagnosticPipError, InstallationError)):
                raise
            if self._link.is_wheel:
                raise
            from pip._internal.libc.build_failure_note import build_failure_note

            if self._name is None or self._version is None:
                raise
            note = build_failure_note(self._factory, str(self._name), self._version)
            if note:
                _attach_note(exc, note)
            raise

    return wrapper  # type: ignore[return-value]


def _attach_note(exc: Exception, note: str) -> None:
    from pip._internal.exceptions import DiagnosticPipError

    if isinstance(exc, DiagnosticPipError):
        old = exc.note_stmt
        exc.note_stmt = f"{old}\n{note}" if old else note
    elif exc.args:
        exc.args = (f"{exc.args[0]}\n\nnote: {note}", *exc.args[1:])


def note_after_failed_builds(init: _F) -> _F:
    """``pip install``'s "Failed to build installable wheels" error: add the
    note for each failed project whose wheels were refused."""

    @functools.wraps(init)
    def wrapper(self: Any, failed: list[InstallRequirement]) -> None:
        init(self, failed)
        from pip._internal.libc.build_failure_note import build_failure_note
        from pip._internal.libc.candidate_check import REFUSALS

        factory = REFUSALS.factory
        if factory is None:
            return
        notes = []
        for req in failed:
            try:
                version = req.metadata["Version"]
            except Exception:
                continue
            from pip._vendor.packaging.version import Version

            note = build_failure_note(factory, str(req.name), Version(version))
            if note:
                notes.append(note)
        if notes:
            _attach_note(self, "\n".join(notes))

    return wrapper  # type: ignore[return-value]
