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
import re
import sys
import sysconfig
from typing import Literal, NamedTuple

from pip._internal.libc.elf_ident import ElfError, ElfIdent, read_ident
from pip._internal.libc.musl_version import read_musl_version

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

_MUSL_LOADER = re.compile(r"(^|/)ld-musl-[^/]+\.so\.1$")
# glibc's loaders: ld-linux-x86-64.so.2, ld-linux.so.2 (i386), ld-linux-armhf.so.3,
# ld64.so.2 (ppc64le), ld64.so.1 (s390x), ld-linux-riscv64-lp64d.so.1, ...
_GLIBC_LOADER = re.compile(r"(^|/)(ld-linux[^/]*|ld64|ld)\.so\.\d+$")


class HostLibc(NamedTuple):
    """The C library of an interpreter, and how that was found out.

    A NamedTuple rather than a dataclass: it is built on pip's start-up path,
    where importing ``dataclasses`` would cost more than the detection itself.
    """

    family: LibcFamily
    version: tuple[int, ...] | None = None
    arch: str | None = None
    """The interpreter's own architecture as wheel tags spell it (``x86_64``,
    ``i686``, ``aarch64``, ``armv7l``, ``ppc64le``, ``s390x``, ``riscv64``)."""
    loader: str | None = None
    """The dynamic loader named by PT_INTERP."""
    interpreter: str | None = None
    """The binary that was read."""
    method: str = ""
    """How family and version were found, for ``pip debug`` and logs."""
    built_for_musl: bool = False
    """The interpreter's build configuration names musl; tells a static musl
    interpreter (which cannot load extension modules) from a static glibc one."""

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


def tag_arch(elf: ElfIdent, sysconfig_arch: str) -> str | None:
    """The wheel-tag architecture of an interpreter binary.

    The ELF class and machine decide, not ``uname``: a 32-bit userland on a 64-bit
    kernel must get ``i686``/``armv7l`` tags. ``sysconfig_arch`` only refines ARM
    (the ELF header does not say v6 or v7).
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
        if re.fullmatch(r"armv[67]l", sysconfig_arch):
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
    platform = sysconfig.get_platform()
    return platform.split("-", 1)[1].replace("-", "_") if "-" in platform else ""


def _built_for_musl() -> bool:
    """Whether the interpreter's build configuration names musl (its SOABI)."""
    for name in ("SOABI", "MULTIARCH", "HOST_GNU_TYPE"):
        value = sysconfig.get_config_var(name)
        if isinstance(value, str) and "musl" in value:
            return True
    return False


def _glibc_version() -> tuple[int, ...] | None:
    # The same source upstream pip uses, so glibc hosts see exactly its answer.
    from pip._internal.utils.glibc import glibc_version_string

    text = glibc_version_string()
    if not text:
        return None
    match = re.match(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


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
    if sysconfig_arch is None:
        sysconfig_arch = _sysconfig_arch()
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
    if _MUSL_LOADER.search(loader):
        version, version_method = read_musl_version(loader)
        return HostLibc(
            "musl",
            version=version,
            arch=arch,
            loader=loader,
            interpreter=path,
            method=f"PT_INTERP of {path}; version from {version_method}",
        )
    if _GLIBC_LOADER.search(loader):
        return HostLibc(
            "glibc",
            version=_glibc_version(),
            arch=arch,
            loader=loader,
            interpreter=path,
            method=f"PT_INTERP of {path}; version from os.confstr",
        )
    return HostLibc(
        "unknown",
        arch=arch,
        loader=loader,
        interpreter=path,
        method=f"PT_INTERP {loader!r} of {path} is neither musl's nor glibc's loader",
    )


@functools.cache
def host_libc() -> HostLibc:
    """The running interpreter's libc, detected once per process."""
    return detect_host_libc(sys.executable)
