"""The wrappers patched into ``compatibility_tags``: the tag list of a musl host.

Apart from :mod:`patches` because ``compatibility_tags`` is imported on pip's
start-up path (and by tools that only want the tags): importing it loads this
small module and nothing else of the fork.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pip._vendor.packaging.tags import Tag

GetSupported = Callable[..., "list[Tag]"]


def _glibc_answers() -> bool:
    """Whether the C library this process runs on answers glibc's own
    ``confstr`` name (musl's returns EINVAL): then the host is glibc, its tags
    are upstream's, and the ELF reads of :mod:`host` are not needed to say so."""
    import os

    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (AttributeError, OSError, ValueError):
        return False


def musl_get_supported(get_supported: GetSupported) -> GetSupported:
    """Rank the musl platform tags on a musl host; upstream's list elsewhere."""

    @functools.wraps(get_supported)
    def wrapper(
        version: str | None = None,
        platforms: list[str] | None = None,
        impl: str | None = None,
        abis: list[str] | None = None,
    ) -> list[Tag]:
        if platforms is None and not _glibc_answers():
            from pip._internal.libc.host import host_libc

            host = host_libc()
            if host.is_static_musl:
                # A static musl interpreter cannot dlopen extension modules.
                tags = get_supported(version, None, impl, abis)
                return [tag for tag in tags if tag.platform == "any"]
            if host.family == "musl":  # glibc hosts never import the tag rules
                from pip._internal.libc.tags import musl_host_platforms

                platforms = musl_host_platforms(host)
        return get_supported(version, platforms, impl, abis)

    return wrapper


def musl_custom_platforms(
    get_custom_platforms: Callable[[str], list[str]],
) -> Callable[[str], list[str]]:
    """Expand ``--platform musllinux_1_M_<arch>``; refuse malformed musl platforms."""

    @functools.wraps(get_custom_platforms)
    def wrapper(arch: str) -> list[str]:
        from pip._internal.libc.tags import InvalidMuslPlatform, expand_musl_platform

        try:
            expanded = expand_musl_platform(arch)
        except InvalidMuslPlatform as exc:
            # Imported here only: pip.exceptions pulls in rich, and this runs
            # on the tag-computation path.
            from pip._internal.exceptions import CommandError

            raise CommandError(str(exc)) from None
        if expanded is not None:
            return expanded
        return get_custom_platforms(arch)

    return wrapper
