"""The musl branch of the compatibility tags: ranking, expansion, explanations.

Pure functions over strings and ``HostLibc``, in the manner of ``packaging.tags``.

On a musl host (musl 1.M, arch A) the platform tags, best first, are::

    A_linux_musl > linux_A > musllinux_1_M_A > ... > musllinux_1_0_A

``A_linux_musl`` is the libc-qualified generic tag: built on *a musl machine* for
this architecture, which no glibc machine will ever claim. ``linux_A`` stays where
upstream pip 26.3 ranks it (above the portable tags: a machine-specific wheel visible
to this machine was built for it); the install-time check is what stops a glibc build
that hides behind that tag. PEP 656 ``musllinux`` tags follow, newest first.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pip._internal.libc.host import HostLibc

LINUX_MUSL_SUFFIX = "_linux_musl"

# Patterns are compiled on first use (re's own cache), not at import: this module
# is on pip's start-up path, where only musl_host_platforms runs.
_MUSLLINUX = r"musllinux_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>[a-z0-9_]+)"
_MANYLINUX = r"manylinux_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>[a-z0-9_]+)"
_LEGACY_MANYLINUX = {
    "manylinux1": (2, 5),
    "manylinux2010": (2, 12),
    "manylinux2014": (2, 17),
}


class InvalidMuslPlatform(ValueError):
    """A ``--platform`` value that looks like a musl platform but is malformed."""


def linux_musl_platform(arch: str) -> str:
    """The libc-qualified generic platform tag: ``x86_64_linux_musl``."""
    return f"{arch}{LINUX_MUSL_SUFFIX}"


def musllinux_platforms(arch: str, musl_version: tuple[int, ...]) -> list[str]:
    """PEP 656 tags a musl ``major.minor`` host accepts, newest first."""
    major, minor = musl_version[0], musl_version[1]
    return [f"musllinux_{major}_{m}_{arch}" for m in range(minor, -1, -1)]


def musl_host_platforms(host: HostLibc) -> list[str] | None:
    """The ranked platform tags of a musl host, or None when not a musl host.

    Without a known musl version the host still gets its two generic tags; no
    ``musllinux`` tag is claimed, as upstream pip does when it cannot run the loader.
    """
    if host.family != "musl" or host.arch is None:
        return None
    arch = host.arch
    platforms = [linux_musl_platform(arch), f"linux_{arch}"]
    if host.version is not None and len(host.version) >= 2:
        platforms.extend(musllinux_platforms(arch, host.version))
    return platforms


_ARCH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _ascii_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _parse_musllinux(platform: str) -> tuple[int, int, str] | None:
    """``musllinux_<major>_<minor>_<arch>`` as (major, minor, arch), without a
    regular expression (this runs for every platform of every tag list)."""
    major, _, rest = platform[len("musllinux_") :].partition("_")
    minor, _, arch = rest.partition("_")
    if not (_ascii_number(major) and _ascii_number(minor) and arch):
        return None
    if not all(c in _ARCH_CHARS or c == "_" for c in arch):
        return None
    return int(major), int(minor), arch


def _is_arch(arch: str) -> bool:
    """``[a-z0-9]+(_[a-z0-9]+)*``"""
    parts = arch.split("_")
    return all(part and all(c in _ARCH_CHARS for c in part) for part in parts)


def expand_musl_platform(platform: str) -> list[str] | None:
    """Expand a musl ``--platform`` value; None if it is not a musl platform.

    ``musllinux_1_2_x86_64`` expands to 1_2, 1_1, 1_0 (as ``manylinux2014`` expands
    to the older manylinux tags); ``x86_64_linux_musl`` stays as it is. Anything that
    starts like a musl platform but does not parse raises ``InvalidMuslPlatform``
    rather than silently matching nothing.
    """
    if platform.startswith("musllinux"):
        parsed = (
            _parse_musllinux(platform) if platform.startswith("musllinux_") else None
        )
        if parsed is None:
            raise InvalidMuslPlatform(
                f"invalid platform {platform!r}: a musllinux platform is "
                "musllinux_<major>_<minor>_<arch>, e.g. musllinux_1_2_x86_64"
            )
        major, minor, arch = parsed
        return musllinux_platforms(arch, (major, minor))
    if platform.endswith(LINUX_MUSL_SUFFIX) or "linux_musl" in platform:
        arch = platform[: -len(LINUX_MUSL_SUFFIX)]
        if not platform.endswith(LINUX_MUSL_SUFFIX) or not _is_arch(arch):
            raise InvalidMuslPlatform(
                f"invalid platform {platform!r}: a libc-qualified musl platform is "
                "<arch>_linux_musl, e.g. x86_64_linux_musl"
            )
        return [platform]
    return None


def _platform_need(platform: str) -> tuple[str, tuple[int, int] | None, str | None]:
    """(libc family, minimum version, arch) a platform tag asks for."""
    if match := re.fullmatch(_MUSLLINUX, platform):
        return "musl", (int(match["major"]), int(match["minor"])), match["arch"]
    if match := re.fullmatch(_MANYLINUX, platform):
        return "glibc", (int(match["major"]), int(match["minor"])), match["arch"]
    legacy, _, arch = platform.partition("_")
    if legacy in _LEGACY_MANYLINUX:
        return "glibc", _LEGACY_MANYLINUX[legacy], arch
    if platform.endswith(LINUX_MUSL_SUFFIX):
        return "musl", None, platform[: -len(LINUX_MUSL_SUFFIX)]
    if platform.startswith("linux_"):
        return "any-libc", None, platform[len("linux_") :]
    return "other", None, None


def explain_platform_mismatch(wheel_platforms: list[str], host: HostLibc) -> str | None:
    """Why none of a wheel's platform tags fits this Linux host, in a few words.

    e.g. "musllinux_1_2 wheel needs musl >= 1.2; this host has musl 1.1".
    None when there is nothing libc-specific to say.
    """
    if host.family not in ("musl", "glibc"):
        if host.is_static_musl:
            return (
                "this interpreter is statically linked against musl and cannot load "
                "extension modules; only pure-Python wheels fit"
            )
        return None
    reasons: list[str] = []
    for platform in wheel_platforms:
        family, need, arch = _platform_need(platform)
        if family == "other":
            continue
        label = platform.removesuffix(f"_{arch}") if arch else platform
        if arch is not None and host.arch is not None and arch != host.arch:
            reasons.append(f"{platform} is for {arch}; this host is {host.arch}")
        elif family in ("musl", "glibc") and family != host.family:
            reasons.append(
                f"{label} wheel is for {family}; this host uses {host.describe()}"
            )
        elif need is not None and host.version is not None and host.version < need:
            wanted = ".".join(map(str, need))
            reasons.append(
                f"{label} wheel needs {family} >= {wanted}; this host has "
                f"{host.family} {host.version_text}"
            )
    if not reasons:
        return None
    return "; ".join(dict.fromkeys(reasons))
