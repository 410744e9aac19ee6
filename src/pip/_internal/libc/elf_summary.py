"""What the dynamic loader would learn from one ELF file of a wheel (pure).

:func:`elf_member_from` turns a parsed :class:`~pip._internal.libc.elf.ElfFile`
into an :class:`ElfMember`: machine, libc family and the evidence for it,
DT_NEEDED, search paths, the symbols it binds and exports, the newest glibc
symbol version it needs, and whether it uses packed relative relocations.
Nothing here reads files or knows about hosts.
"""

from collections.abc import Iterator, Mapping
from typing import Final, Literal, NamedTuple

from pip._internal.libc.elf import ElfFile
from pip._internal.libc.elf_format import DT_RELR, ET_DYN, ET_EXEC
from pip._internal.libc.host import is_glibc_loader_name, is_musl_loader_name

LibcLink = Literal["musl", "glibc"]
FoundBy = Literal["name", "content"]


class ElfMember(NamedTuple):
    """What the dynamic loader would learn from one ELF file of a wheel."""

    #: Path inside the archive.
    name: str
    #: ``uname -m`` spelling from the ELF header (``x86_64``, ``i386``, ``arm``).
    arch: str
    elf_class: int
    byte_order: str
    elf_type: int
    #: PT_INTERP (executables only).
    interpreter: str | None
    #: The C library it links, or None when it links none (static executables,
    #: or modules that rely on the interpreter's libc symbols alone).
    libc: LibcLink | None
    #: What told the libc: ``libc.so.6``, ``GLIBC_2.17 symbol versions``, ...
    libc_evidence: str
    needed: tuple[str, ...]
    soname: str | None
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    #: Undefined symbols the loader must bind (non-weak).
    undefined: frozenset[str]
    #: Weak undefined symbols: left at zero when missing, loading goes on.
    weak_undefined: frozenset[str]
    #: Symbols this file exports (for bundled libraries).
    defined: frozenset[str]
    #: The newest ``GLIBC_x.y`` version it needs, as numbers.
    glibc_version: tuple[int, ...] | None
    #: Symbols bound to that newest version, sorted.
    glibc_version_symbols: tuple[str, ...]
    #: How it was found: its name (``*.so``, ``*.libs/``, ``*.data/scripts/``)
    #: or its ``\\x7fELF`` magic.
    found_by: FoundBy = "name"
    #: Packed relative relocations (DT_RELR): musl's loader applies them only
    #: from 1.2.4 on; an older one silently leaves them undone and the process
    #: crashes on first use.
    uses_relr: bool = False

    @property
    def is_loadable(self) -> bool:
        return self.elf_type in (ET_DYN, ET_EXEC)


class MalformedMember(NamedTuple):
    """A member named like a loadable file that starts like ELF but cannot load."""

    name: str
    reason: str


# glibc's libraries with a SONAME of their own; musl has only libc.so.
_GLIBC_NEEDED: Final = frozenset(
    {
        "libc.so.6",
        "libc.so.6.1",
        "libm.so.6",
        "libm.so.6.1",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libutil.so.1",
        "libanl.so.1",
    }
)
# Version names that are not numbers but still say which glibc is needed:
# binaries with packed relative relocations (DT_RELR) need glibc 2.36.
_GLIBC_SPECIAL_VERSIONS: Final[Mapping[str, tuple[int, ...]]] = {
    "GLIBC_ABI_DT_RELR": (2, 36),
}


def unique_names(items: tuple[str, ...]) -> tuple[str, ...]:
    # A repeated DT_NEEDED or search path means nothing more to the loader;
    # keeping one copy also stops a crafted file's 100 000 entries naming one
    # long string from being held once per entry.
    return tuple(dict.fromkeys(items))


# Names are matched with string methods, not regular expressions: this module
# is imported by every install on a musl host, and compiling a pattern costs
# more than all the matching an install does. Loader names follow the rules
# the host detection uses (host.is_glibc_loader_name, is_musl_loader_name).
_SONAME_CHARS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
)


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _is_musl_soname(name: str) -> bool:
    """Alpine's (and musllinux wheels') libc SONAME, ``libc.musl-<arch>.so.1``;
    musl-gcc elsewhere links the bare ``libc.so``."""
    if not (name.startswith("libc.musl-") and name.endswith(".so.1")):
        return False
    arch = name[len("libc.musl-") : -len(".so.1")]
    return bool(arch) and _SONAME_CHARS.issuperset(arch)


def _glibc_versions_needed(elf: ElfFile) -> Iterator[str]:
    """The version names ``elf`` needs from glibc's own files. Only those say
    glibc: Alpine's libgcc_s, bundled in musllinux wheels, defines a
    ``GLIBC_2.0`` version node of its own, which its users then need."""
    for file, versions in elf.version_needs:
        if file in _GLIBC_NEEDED or is_glibc_loader_name(file):
            yield from versions


def libc_link_of(elf: ElfFile) -> tuple[LibcLink | None, str]:
    """The C library an ELF file links, and the evidence.

    glibc markers win over musl ones: musl's loader never needs them, while a
    glibc build may mention ``libc.so`` only by accident.
    """
    needed = unique_names(elf.needed)
    for need in needed:
        if need in _GLIBC_NEEDED or is_glibc_loader_name(need):
            return "glibc", f"`{need}`"
    if elf.interpreter and is_glibc_loader_name(elf.interpreter):
        return "glibc", f"interpreter `{elf.interpreter}`"
    for version in _glibc_versions_needed(elf):
        if version.startswith("GLIBC_"):
            return "glibc", f"`{version}` symbol versions"
    for need in needed:
        if need == "libc.so" or _is_musl_soname(need):
            return "musl", f"`{need}`"
    if elf.interpreter and is_musl_loader_name(elf.interpreter):
        return "musl", f"interpreter `{elf.interpreter}`"
    return None, ""


def glibc_version_of(version_name: str) -> tuple[int, ...] | None:
    """``GLIBC_2.17`` -> ``(2, 17)``; None for other version names."""
    special = _GLIBC_SPECIAL_VERSIONS.get(version_name)
    if special is not None:
        return special
    if not version_name.startswith("GLIBC_"):
        return None
    parts = version_name[len("GLIBC_") :].split(".")
    if len(parts) < 2 or not all(_is_number(part) for part in parts):
        return None
    return tuple(int(part) for part in parts)


def _newest_glibc_need(elf: ElfFile) -> tuple[tuple[int, ...] | None, tuple[str, ...]]:
    # Every needed version counts, used by a symbol or not: glibc's loader
    # checks each DT_VERNEED entry.
    newest: tuple[int, ...] | None = None
    newest_names: set[str] = set()
    for name in _glibc_versions_needed(elf):
        version = glibc_version_of(name)
        if version is None:
            continue
        if newest is None or version > newest:
            newest, newest_names = version, {name}
        elif version == newest:
            newest_names.add(name)
    return newest, tuple(sorted(elf.symbols.undefined_needing(newest_names)))


def elf_member_from(name: str, elf: ElfFile, found_by: FoundBy = "name") -> ElfMember:
    """An :class:`ElfMember` from a parsed ELF file (pure)."""
    libc, evidence = libc_link_of(elf)
    glibc_version, glibc_symbols = _newest_glibc_need(elf)
    undefined = elf.symbols.undefined_names()
    weak = elf.symbols.weak_undefined_names()
    return ElfMember(
        name=name,
        arch=elf.machine_name,
        elf_class=elf.elf_class,
        byte_order=elf.byte_order,
        elf_type=elf.elf_type,
        interpreter=elf.interpreter,
        libc=libc,
        libc_evidence=evidence,
        needed=unique_names(elf.needed),
        soname=elf.soname,
        rpath=unique_names(elf.rpath),
        runpath=unique_names(elf.runpath),
        undefined=frozenset(undefined - weak),
        weak_undefined=frozenset(weak),
        defined=elf.defined_symbols,
        glibc_version=glibc_version,
        glibc_version_symbols=glibc_symbols,
        found_by=found_by,
        uses_relr=DT_RELR in elf.dynamic_tags,
    )
