"""Which libc the running interpreter uses, told from its ELF program interpreter.

The C library is a property of the interpreter binary, not of the distribution: a
glibc CPython in a pyenv on Alpine (with gcompat), or a musl CPython in a Debian
container, are both real. So the answer comes from the binary's PT_INTERP, never
from /etc/os-release or similar sniffing.

``detect_host_libc`` is pure apart from reading files; ``host_libc`` is the cached
edge that pip's code calls. Neither ever raises: anything unexpected gives family
``unknown``, which means "behave exactly like upstream pip".
"""

from __future__ import annotations

import functools
import os
import sys
from typing import TYPE_CHECKING

from pip._internal.libc.elf_ident import ElfError, ElfIdent, read_ident

if TYPE_CHECKING:
    from typing import Literal

    LibcFamily = Literal["musl", "glibc", "static", "unknown"]

# The binary of the running process, for when sys.executable is a wrapper script
# (pyenv shims), empty (embedded interpreters) or otherwise not the real ELF file.
PROC_SELF_EXE = "/proc/self/exe"

# e_machine values (ELF gABI / psABI supplements).
EM_386 = 3
EM_ARM = 40
EM_X86_64 = 62
EM_AARCH64 = 183
EM_PPC = 20
EM_PPC64 = 21
EM_S390 = 22
EM_RISCV = 243
EM_LOONGARCH = 258


def is_musl_loader_name(path: str) -> bool:
    """musl's loader name: ``ld-musl-<arch>.so.1`` (the fast path; the file's
    image decides for any other name)."""
    base = path.rpartition("/")[2]
    return len(base) > 13 and base.startswith("ld-musl-") and base.endswith(".so.1")


def is_glibc_loader_name(path: str) -> bool:
    """glibc's loader names: ld-linux-x86-64.so.2, ld-linux.so.2 (i386),
    ld-linux-armhf.so.3, ld64.so.2 (ppc64le), ld64.so.1 (s390x),
    ld-linux-riscv64-lp64d.so.1, ..."""
    stem, so, number = path.rpartition("/")[2].rpartition(".so.")
    if not so or not number.isascii() or not number.isdigit():
        return False
    return stem in ("ld", "ld64") or stem.startswith("ld-linux")


class HostLibc(tuple[object, ...]):
    """The C library of an interpreter, and how that was found out.

    An immutable tuple of ``(family, version, arch, loader, interpreter, method,
    built_for_musl, family_by)`` that behaves like a ``typing.NamedTuple``
    (positional or keyword construction, equality, hashing, ``_replace``) but is
    written out by hand: it is built on pip's start-up path, where creating a
    NamedTuple class costs more (it compiles code) than the whole detection.

    - ``family``: ``musl``, ``glibc``, ``static`` or ``unknown``.
    - ``version``: musl ``(1, 2, 3)`` or glibc ``(2, 36)``; None when unknown.
    - ``arch``: the interpreter's own architecture as wheel tags spell it
      (``x86_64``, ``i686``, ``aarch64``, ``armv7l``, ``ppc64le``, ``s390x``, ...).
    - ``loader``: the dynamic loader named by PT_INTERP.
    - ``interpreter``: the binary that was read.
    - ``method``: how family and version were found, for ``pip debug`` and logs.
    - ``built_for_musl``: the interpreter's build configuration names musl;
      tells a static musl interpreter (which cannot load extension modules)
      from a static glibc one.
    - ``family_by``: how the family was told: ``loader name`` (PT_INTERP names
      musl's or glibc's loader), ``loader image`` (the loader file itself says
      what it is), or "" when there is no loader.
    """

    __slots__ = ()
    _fields = (
        "family",
        "version",
        "arch",
        "loader",
        "interpreter",
        "method",
        "built_for_musl",
        "family_by",
    )

    def __new__(  # noqa: PLR0917 (positional, like a NamedTuple's)
        cls,
        family: LibcFamily,
        version: tuple[int, ...] | None = None,
        arch: str | None = None,
        loader: str | None = None,
        interpreter: str | None = None,
        method: str = "",
        built_for_musl: bool = False,
        family_by: str = "",
    ) -> HostLibc:
        return tuple.__new__(
            cls,
            (
                family,
                version,
                arch,
                loader,
                interpreter,
                method,
                built_for_musl,
                family_by,
            ),
        )

    def __getnewargs__(self) -> tuple[object, ...]:
        return tuple(self)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={v!r}" for k, v in zip(self._fields, self, strict=True)
        )
        return f"HostLibc({fields})"

    def _replace(self, **changes: object) -> HostLibc:
        values = dict(zip(self._fields, self, strict=True))
        values.update(changes)
        return HostLibc(**values)  # type: ignore[arg-type]

    def _asdict(self) -> dict[str, object]:
        return dict(zip(self._fields, self, strict=True))

    @property
    def family(self) -> LibcFamily:
        return self[0]  # type: ignore[return-value]

    @property
    def version(self) -> tuple[int, ...] | None:
        return self[1]  # type: ignore[return-value]

    @property
    def arch(self) -> str | None:
        return self[2]  # type: ignore[return-value]

    @property
    def loader(self) -> str | None:
        return self[3]  # type: ignore[return-value]

    @property
    def interpreter(self) -> str | None:
        return self[4]  # type: ignore[return-value]

    @property
    def method(self) -> str:
        return self[5]  # type: ignore[return-value]

    @property
    def built_for_musl(self) -> bool:
        return self[6]  # type: ignore[return-value]

    @property
    def family_by(self) -> str:
        return self[7]  # type: ignore[return-value]

    @property
    def is_static_musl(self) -> bool:
        return self.family == "static" and self.built_for_musl

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version)) if self.version else "unknown"

    def describe(self) -> str:
        """One line for messages: 'musl 1.2.3 (x86_64)'."""
        if self.family in ("musl", "glibc"):
            return f"{self.family} {self.version_text} ({self.arch or 'unknown arch'})"
        return f"{self.family} libc"


def tag_arch(elf: ElfIdent, sysconfig_arch: str | None = None) -> str | None:
    """The wheel-tag architecture of an interpreter binary.

    The ELF class and machine decide, not ``uname``: a 32-bit userland on a 64-bit
    kernel must get ``i686``/``armv7l`` tags. ``sysconfig_arch`` only refines ARM
    (the ELF header does not say v6 or v7); None means the running interpreter's.
    """
    machine, is64 = elf.machine, elf.elf_class == 64
    little = elf.byte_order == "little"
    if machine == EM_X86_64:
        return "x86_64" if is64 else None  # x32 is not a wheel platform
    if machine == EM_386:
        return "i686"
    if machine == EM_AARCH64:
        return "aarch64" if little else "aarch64_be"
    if machine == EM_ARM:
        if sysconfig_arch is None:
            sysconfig_arch = _sysconfig_arch()
        if sysconfig_arch in ("armv6l", "armv7l"):
            return sysconfig_arch
        return "armv7l"
    if machine == EM_PPC64:
        return "ppc64le" if little else "ppc64"
    if machine == EM_PPC:
        return "ppc"
    if machine == EM_S390:
        return "s390x" if is64 else "s390"
    if machine == EM_RISCV:
        return "riscv64" if is64 else "riscv32"
    if machine == EM_LOONGARCH:
        return "loongarch64" if is64 else None
    return None


def _sysconfig_arch() -> str:
    import sysconfig  # ARM only: not on the start-up path of other hosts

    platform = sysconfig.get_platform()
    return platform.split("-", 1)[1].replace("-", "_") if "-" in platform else ""


def _built_for_musl() -> bool:
    """Whether the interpreter's build configuration names musl (its SOABI)."""
    import sysconfig  # static interpreters only

    for name in ("SOABI", "MULTIARCH", "HOST_GNU_TYPE"):
        value = sysconfig.get_config_var(name)
        if isinstance(value, str) and "musl" in value:
            return True
    return False


def _glibc_version() -> tuple[int, ...] | None:
    # The same sources upstream pip uses (pip._internal.utils.glibc: confstr,
    # then ctypes), so glibc hosts see exactly its answer; confstr inline, as
    # that module is not otherwise imported at start-up.
    text: str | None
    try:
        confstr = os.confstr("CS_GNU_LIBC_VERSION")
        text = confstr.split()[1] if confstr else None
    except (AttributeError, OSError, ValueError, IndexError):
        text = None
    if text is None:
        from pip._internal.utils.glibc import glibc_version_string

        text = glibc_version_string()
    return _major_minor(text) if text else None


def _major_minor(text: str) -> tuple[int, int] | None:
    """``(major, minor)`` from the start of ``"2.36"``, ``"2.39.9000"``, ..."""
    major, dot, rest = text.partition(".")
    end = 0
    while end < len(rest) and "0" <= rest[end] <= "9":
        end += 1
    if not dot or not major.isascii() or not major.isdigit() or end == 0:
        return None
    return int(major), int(rest[:end])


def read_interpreter_elf(executable: str | None) -> tuple[str, ElfIdent] | str:
    """The interpreter's ELF image: ``(path, elf)``, or why none could be read."""
    problems = []
    for candidate in (executable, PROC_SELF_EXE):
        if not candidate:
            problems.append("sys.executable is empty")
            continue
        try:
            return candidate, read_ident(candidate)
        except ElfError as exc:
            problems.append(f"{candidate}: {exc}")
    return "; ".join(problems)


def detect_host_libc(
    executable: str | None,
    *,
    musl_sysconfig: bool | None = None,
    sysconfig_arch: str | None = None,
) -> HostLibc:
    """Tell the libc of the interpreter binary ``executable`` (pure; never raises).

    ``musl_sysconfig``/``sysconfig_arch`` default to the running interpreter's build
    configuration; tests pointing the detector at other binaries pass them.
    """
    try:
        return _detect(executable, musl_sysconfig, sysconfig_arch)
    except Exception as exc:  # detection must never break pip
        return HostLibc("unknown", method=f"detection failed: {exc!r}")


def _detect(
    executable: str | None,
    musl_sysconfig: bool | None,
    sysconfig_arch: str | None,
) -> HostLibc:
    found = read_interpreter_elf(executable)
    if isinstance(found, str):
        return HostLibc("unknown", method=f"no readable ELF interpreter ({found})")
    path, elf = found
    arch = tag_arch(elf, sysconfig_arch)
    loader = elf.interpreter
    if loader is None:
        if musl_sysconfig is None:
            musl_sysconfig = _built_for_musl()
        how = "no PT_INTERP (statically linked)"
        if musl_sysconfig:
            how += "; built for musl (sysconfig)"
        return HostLibc(
            "static",
            arch=arch,
            interpreter=path,
            method=how,
            built_for_musl=musl_sysconfig,
        )
    if is_glibc_loader_name(loader):
        return _glibc(arch, loader, path, "loader name")
    # Not imported on glibc hosts.
    from pip._internal.libc import musl_version

    if is_musl_loader_name(loader):
        version, version_method = musl_version.read_musl_version(loader)
        return HostLibc(
            "musl",
            version=version,
            arch=arch,
            loader=loader,
            interpreter=path,
            method=f"PT_INTERP of {path}; version from {version_method}",
            family_by="loader name",
        )
    # Any other name (musl's libc.so itself, a renamed or relocated loader):
    # the file says what it is.
    family, version = musl_version.identify_loader(loader)
    if family == "musl":
        how = "image"
        if version is None:
            version = musl_version.musl_version_by_running(loader)
            how = "loader-banner" if version is not None else "unknown"
        return HostLibc(
            "musl",
            version=version,
            arch=arch,
            loader=loader,
            interpreter=path,
            method=(
                f"PT_INTERP of {path}; musl by the loader's image; version from {how}"
            ),
            family_by="loader image",
        )
    if family == "glibc":
        return _glibc(arch, loader, path, "loader image")
    return HostLibc(
        "unknown",
        arch=arch,
        loader=loader,
        interpreter=path,
        method=(
            f"PT_INTERP {loader!r} of {path} is neither musl's nor glibc's loader "
            "(by its name and its image)"
        ),
    )


def _glibc(arch: str | None, loader: str, path: str, family_by: str) -> HostLibc:
    how = "" if family_by == "loader name" else "glibc by the loader's image; "
    return HostLibc(
        "glibc",
        version=_glibc_version(),
        arch=arch,
        loader=loader,
        interpreter=path,
        method=f"PT_INTERP of {path}; {how}version from os.confstr",
        family_by=family_by,
    )


@functools.cache
def host_libc() -> HostLibc:
    """The running interpreter's libc, detected once per process."""
    return detect_host_libc(sys.executable)
