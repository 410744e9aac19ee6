"""The fork's identity: its version, and what it changes about pip's self-check."""

from __future__ import annotations

import logging
from typing import Any, Callable, TypeVar

# The one place the fork's version is defined; pyproject.toml reads it from here.
UPSTREAM_VERSION = "26.3"
FORK_VERSION = "26.3+musl.1"

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


def fork_version(upstream_version: str) -> str:
    """Replace upstream's ``pip.__version__`` with the fork's version.

    The build hook refuses any other upstream, so a mismatch here means files from
    two pip releases got mixed in one installation; say so rather than hide it.
    """
    if upstream_version != UPSTREAM_VERSION:
        return f"{FORK_VERSION} (mixed with upstream {upstream_version})"
    return FORK_VERSION


def silence_self_version_check(
    fetch: Callable[..., _T],
) -> Callable[..., _T | None]:
    """Wrap ``pip_self_version_check_fetch`` so it never suggests stock pip.

    Upstream's prompt says "run pip install --upgrade pip", which would replace this
    build with stock pip and silently drop musl support. Releases of the musl build
    are announced with its own changelog, so the check (and its network request) is
    skipped altogether.
    """

    def no_upgrade_prompt(*args: Any, **kwargs: Any) -> None:
        logger.debug(
            "Skipping pip's self version check: this is the musl build %s, "
            "and upgrading to stock pip would drop musl support.",
            FORK_VERSION,
        )
        return None

    no_upgrade_prompt.__wrapped__ = fetch  # type: ignore[attr-defined]
    return no_upgrade_prompt
