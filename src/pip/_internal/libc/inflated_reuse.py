"""Patch of ``ZipBackedFile.save``: write a member from the check's copy.

Kept apart from :mod:`inflated_members` so that an install in which the check
kept nothing (every install on a glibc host, every wheel from the verdict
cache) imports nothing more than upstream does: only a process that made
copies has that module loaded.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

_MODULE = "pip._internal.libc.inflated_members"


def reuse_inflated_members(save: Callable[[Any], None]) -> Callable[[Any], None]:
    """Write an ELF member the check already inflated in full from that copy."""

    @functools.wraps(save)
    def wrapper(self: Any) -> None:
        kept = sys.modules.get(_MODULE)
        if kept is None:
            save(self)
        else:
            kept.save_from_copy(save, self)

    return wrapper
