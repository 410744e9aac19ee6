"""The fork's identity: its version, and what it changes about pip's self-check."""

from __future__ import annotations

# The one place the fork's version is defined; pyproject.toml reads it from here.
UPSTREAM_VERSION = "26.3"
FORK_VERSION = "26.3+musl.1"


def fork_version(upstream_version: str) -> str:
    """Replace upstream's ``pip.__version__`` with the fork's version.

    The build hook refuses any other upstream, so a mismatch here means files from
    two pip releases got mixed in one installation; say so rather than hide it.
    """
    if upstream_version != UPSTREAM_VERSION:
        return f"{FORK_VERSION} (mixed with upstream {upstream_version})"
    return FORK_VERSION
