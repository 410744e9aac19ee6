"""Whether a binary wheel's ELF files can load on a host, read without installing.

A wheel's tags say what it was built for; its ELF files say what it needs. This
module reads the second and compares it with the host, the way the dynamic
loader would:

* **machine** -- an ELF file for another CPU (or ELF class) cannot load at all;
* **libc family** -- a file linked against glibc is not a musl build, and the
  other way round;
* **glibc symbol versions** -- on glibc, a ``GLIBC_x.y`` need newer than the host's
  glibc is refused by its loader;
* **musl symbols** -- musl has no symbol versions; a binary loads on an older musl
  as long as every libc symbol it uses is exported there. The authority is the
  host's own libc image (the musl loader *is* libc); the release table of
  :mod:`~pip._internal.libc.musl_symbols` explains the answer
  ("needs ``statx``, which musl exports from 1.2.5").

Reading is bounded, because a wheel comes from an index and may be hostile
(:class:`InspectionLimits`): each member is decompressed only as far as the ELF
reader needs, up to a per-member cap, and the whole wheel has a budget of
decompressed bytes and a maximum number of ELF files. What lies beyond a limit is
reported as "not inspected" (a note, not a problem): the check never refuses a
wheel for being large.

The layers follow ``packaging.tags``: :func:`inspect_wheel` is the edge that reads
a file into a :class:`WheelAbi` (data only); :func:`wheel_abi_problems` is a pure
verdict against a :class:`~pip._internal.libc.host.HostLibc`;
:func:`host_libc_exports` reads the host's libc once per process;
:func:`check_wheel_file` combines them for pip's installer.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from pip._internal.libc.abi_problem import (
    LISTED_SYMBOLS,
    AbiProblem,
    host_text,
    version_text,
)
from pip._internal.libc.elf import ElfError, read_elf
from pip._internal.libc.elf_summary import (
    ElfMember,
    LibcLink,
    MalformedMember,
    elf_member_from,
    libc_link_of,
)
from pip._internal.libc.host import HostLibc
from pip._internal.libc.inspection_limits import DEFAULT_LIMITS, InspectionLimits, MiB
from pip._internal.libc.linkage import Linkage
from pip._internal.libc.member_names import unimportable_extensions
from pip._internal.libc.missing_symbols import (
    explained,
    missing_symbol_problem,
    not_bundled,
    unavailable_libc_symbols,
)
from pip._internal.libc.musl_symbols import (
    is_known_libc_symbol,
    musllinux_needed_for,
)
from pip._internal.libc.wheel_archive import (
    WheelAbi,
    WheelAbiError,
    WheelNote,
    inspect_wheel,
)

__all__ = [
    "DEFAULT_LIMITS",
    "AbiProblem",
    "ElfMember",
    "InspectionLimits",
    "LibcLink",
    "MalformedMember",
    "WheelAbi",
    "WheelAbiError",
    "WheelNote",
    "check_wheel_file",
    "deserved_musllinux",
    "elf_member_from",
    "host_libc_exports",
    "inspect_wheel",
    "libc_link_of",
    "wheel_abi_problems",
]

# -- the host's libc -------------------------------------------------------------------

#: The most of the host's libc image read (musl's libc.so is under 1 MiB).
HOST_LIBC_MAX_BYTES: Final = 16 * MiB


@functools.cache
def _exports_of_image(path: str) -> frozenset[str] | None:
    try:
        return read_elf(path, max_bytes=HOST_LIBC_MAX_BYTES).defined_symbols
    except ElfError:
        return None


def host_libc_exports(host: HostLibc) -> frozenset[str] | None:
    """The dynamic symbols the host's musl libc exports, read from its loader
    image (musl's loader and libc are one file); None for other hosts or an
    unreadable image. Read once per process."""
    if host.family != "musl" or not host.loader:
        return None
    return _exports_of_image(host.loader)


# -- the verdict (pure) ----------------------------------------------------------------

# Wheel-tag architecture -> (ELF machine name, class, byte order) of its files.
_ARCH_ELF: Final[Mapping[str, tuple[str, int, str]]] = {
    "x86_64": ("x86_64", 64, "little"),
    "i686": ("i386", 32, "little"),
    "i386": ("i386", 32, "little"),
    "aarch64": ("aarch64", 64, "little"),
    "aarch64_be": ("aarch64", 64, "big"),
    "armv7l": ("arm", 32, "little"),
    "armv6l": ("arm", 32, "little"),
    "ppc64le": ("ppc64le", 64, "little"),
    "ppc64": ("ppc64", 64, "big"),
    "ppc": ("ppc", 32, "big"),
    "s390x": ("s390x", 64, "big"),
    "riscv64": ("riscv64", 64, "little"),
    "loongarch64": ("loongarch64", 64, "little"),
}


def _elf_identity(member: ElfMember) -> tuple[str, int, str]:
    return member.arch, member.elf_class, member.byte_order


def _describe_identity(member: ElfMember) -> str:
    return f"{member.arch} ({member.elf_class}-bit, {member.byte_order}-endian)"


def _machine_problems(
    members: tuple[ElfMember, ...], host: HostLibc
) -> tuple[tuple[ElfMember, ...], tuple[AbiProblem, ...]]:
    """The members to judge further, and machine problems.

    A wheel may ship ELF files for several machines on purpose (debuggers'
    attach helpers, PyInstaller-style bootloaders): when some files match the
    host, the others are left alone; when none does, the wheel is for another
    machine and every file says so.
    """
    expected = _ARCH_ELF.get(host.arch or "")
    if expected is None:
        return members, ()
    matching = tuple(m for m in members if _elf_identity(m) == expected)
    if matching or not members:
        return matching, ()
    return (), tuple(
        AbiProblem(
            m.name,
            "machine",
            f"`{m.name}` is built for {_describe_identity(m)}; this host is "
            f"{host.arch}",
        )
        for m in members
    )


def _family_problem(member: ElfMember, host: HostLibc) -> AbiProblem | None:
    # musl's loader maps any DT_NEEDED of libc.*, libm.*, libpthread.*, libdl.*,
    # librt.*, libutil.* or libxnet.* (so also glibc's libc.so.6) onto itself and
    # ignores symbol versions: a small glibc build may even import on musl, then
    # misbehave (glibc-only symbols bound to nothing, different struct layouts).
    # A glibc build is still not a musl build, so it is refused.
    if member.libc is None or host.family not in ("musl", "glibc"):
        return None
    if member.libc == host.family:
        return None
    return AbiProblem(
        member.name,
        "libc-family",
        f"`{member.name}` is linked against {member.libc} ({member.libc_evidence}); "
        f"this host has {host_text(host)}",
    )


def _glibc_version_problem(member: ElfMember, host: HostLibc) -> AbiProblem | None:
    if member.glibc_version is None or host.version is None:
        return None
    if member.glibc_version <= tuple(host.version):
        return None
    version = version_text(member.glibc_version)
    listed = member.glibc_version_symbols[:LISTED_SYMBOLS]
    why = ", ".join(f"`{s}`" for s in listed)
    more = len(member.glibc_version_symbols) - len(listed)
    if more > 0:
        why += f" and {more} more"
    return AbiProblem(
        member.name,
        "glibc-version",
        f"`{member.name}` needs glibc {version}"
        + (f" (for {why})" if why else "")
        + f"; this host has {host_text(host)}",
        symbols=member.glibc_version_symbols,
        required_version=member.glibc_version,
    )


MUSL_RELR_RELEASE: Final = (1, 2, 4)


def _relr_problem(member: ElfMember, host: HostLibc) -> AbiProblem | None:
    if not member.uses_relr or host.version is None:
        return None
    if tuple(host.version) >= MUSL_RELR_RELEASE:
        return None
    return AbiProblem(
        member.name,
        "loader-feature",
        f"`{member.name}` uses packed relative relocations (DT_RELR), which musl's "
        f"loader applies from {version_text(MUSL_RELR_RELEASE)} on; this host has "
        f"musl {version_text(host.version)}",
        required_version=MUSL_RELR_RELEASE,
    )


def member_problems(member: ElfMember, host: HostLibc) -> tuple[AbiProblem, ...]:
    """The problems one ELF file has on ``host`` whatever else the wheel holds:
    its libc family, the glibc version it needs, packed relocations on an old
    musl. (Machine and missing symbols depend on the other files.)"""
    family = _family_problem(member, host)
    if family is not None:
        return (family,)
    if host.family == "glibc":
        found = _glibc_version_problem(member, host)
    elif host.family == "musl":
        found = _relr_problem(member, host)
    else:
        found = None
    return () if found is None else (found,)


def malformed_problem(member: MalformedMember) -> AbiProblem:
    return AbiProblem(
        member.name,
        "malformed",
        f"`{member.name}` is not a loadable ELF file: {member.reason}",
    )


def extension_suffix_problems(
    names: Iterable[str], extension_suffixes: Sequence[str]
) -> tuple[AbiProblem, ...]:
    """Extension modules the interpreter with ``extension_suffixes`` cannot
    import, whatever their ELF files say (a glibc build that links no libc
    function names itself ``.cpython-311-x86_64-linux-gnu.so``)."""
    if not extension_suffixes:
        return ()
    accepted = ", ".join(f"`{s}`" for s in extension_suffixes)
    return tuple(
        AbiProblem(
            name,
            "extension-suffix",
            f"`{name}` cannot be imported by this interpreter: its suffix "
            f"`{suffix}` is not one of {accepted}",
            suffix=suffix,
        )
        for name, suffix in unimportable_extensions(names, extension_suffixes)
    )


def wheel_abi_problems(
    abi: WheelAbi,
    host: HostLibc,
    host_exports: frozenset[str] | None,
    *,
    extension_suffixes: Sequence[str] = (),
) -> tuple[AbiProblem, ...]:
    """Why the wheel's ELF files cannot load on ``host`` (empty: they can).

    ``host_exports`` are the dynamic symbols of the host's musl libc (see
    :func:`host_libc_exports`); without them, a musl host is judged by the
    release table and ``host.version``. Hosts of unknown or static libc get
    only the machine check. ``extension_suffixes`` are the importing
    interpreter's (``importlib.machinery.EXTENSION_SUFFIXES``); empty: not
    judged.
    """
    problems = [malformed_problem(m) for m in abi.malformed]
    judged, machine = _machine_problems(abi.members, host)
    problems.extend(machine)
    arch = host.arch or "x86_64"
    unavailable: dict[int, tuple[str, ...]] = {}
    for index, member in enumerate(judged):
        own = member_problems(member, host)
        problems.extend(own)
        if host.family != "musl" or (own and own[0].kind == "libc-family"):
            continue
        symbols = unavailable_libc_symbols(member, host, host_exports, arch)
        if symbols:
            unavailable[index] = symbols
    if unavailable:
        missing = not_bundled(Linkage.of(judged), unavailable)
        problems.extend(
            missing_symbol_problem(judged[index], explained(symbols, host, arch), host)
            for index, symbols in sorted(missing.items())
        )
    # A file that cannot load anyway needs no word about its name.
    refused = {p.member for p in problems}
    problems.extend(
        p
        for p in extension_suffix_problems(abi.names, extension_suffixes)
        if p.member not in refused
    )
    return tuple(problems)


def deserved_musllinux(abi: WheelAbi, arch: str) -> tuple[int, int] | None:
    """The ``musllinux_1_x`` (as ``(1, x)``) the wheel's ELF files really need:
    the newest first release among the libc symbols they import and no bundled
    library provides. None when they use no libc symbol the table knows."""
    expected = _ARCH_ELF.get(arch)
    members = (
        tuple(
            m for m in abi.members if expected is None or _elf_identity(m) == expected
        )
        or abi.members
    )
    wanted = {
        index: tuple(s for s in m.undefined if is_known_libc_symbol(s, arch))
        for index, m in enumerate(members)
        if m.libc != "glibc"
    }
    left = not_bundled(Linkage.of(members), wanted)
    needs = [musllinux_needed_for(symbols, arch) for symbols in left.values()]
    if any(m.uses_relr and m.libc != "glibc" for m in members):
        needs.append((MUSL_RELR_RELEASE[0], MUSL_RELR_RELEASE[1]))
    return max((n for n in needs if n is not None), default=None)


def check_wheel_file(
    path: str | os.PathLike[str],
    host: HostLibc,
    *,
    limits: InspectionLimits = DEFAULT_LIMITS,
    extension_suffixes: Sequence[str] | None = None,
) -> tuple[AbiProblem, ...]:
    """Inspect the wheel at ``path`` and judge it against ``host`` and the
    importing interpreter's ``extension_suffixes`` (None: this interpreter's).

    Raises :class:`WheelAbiError` when the file is not a readable zip archive,
    and nothing else.
    """
    if extension_suffixes is None:
        extension_suffixes = running_extension_suffixes()
    abi = inspect_wheel(path, limits=limits)
    return wheel_abi_problems(
        abi, host, host_libc_exports(host), extension_suffixes=extension_suffixes
    )


def running_extension_suffixes() -> tuple[str, ...]:
    """The suffixes this interpreter imports extension modules from: its own
    list, not an assumption (Alpine's CPython also takes ``-linux-gnu.so``)."""
    from importlib.machinery import EXTENSION_SUFFIXES

    return tuple(EXTENSION_SUFFIXES)
