"""The ELF format as this reader knows it: limits, constants, struct layouts, results.

Data only; :mod:`pip._internal.libc.elf` reads files with it.
"""

import struct
from typing import TYPE_CHECKING, Final, NamedTuple

from pip._internal.libc.elf_ident import (
    ELFCLASS32,
    ELFCLASS64,
    ELFDATA2LSB,
    ELFDATA2MSB,
)

if TYPE_CHECKING:
    from pip._internal.libc.elf_symbols import SymbolTable

# -- limits -----------------------------------------------------------------

#: How much of a file :func:`read_elf` reads unless told otherwise.
DEFAULT_MAX_BYTES: Final = 64 * 1024 * 1024
MAX_SECTION_HEADERS: Final = 65_535
MAX_DYNAMIC_ENTRIES: Final = 100_000
MAX_SYMBOLS: Final = 1_000_000
#: Longest NUL-terminated string read (PATH_MAX; no symbol name comes close).
MAX_STRING_LENGTH: Final = 4096
#: Most DT_VERNEED files, and most version names over all of them.
MAX_VERSION_NEEDS: Final = 10_000
MAX_VERSION_NAMES: Final = 100_000

# -- ELF constants (System V gABI, Linux) ------------------------------------


ET_NONE: Final = 0
ET_REL: Final = 1
ET_EXEC: Final = 2
ET_DYN: Final = 3
ET_CORE: Final = 4

PT_NULL: Final = 0
PT_DYNAMIC: Final = 2

PF_X: Final = 0x1
PF_R: Final = 0x4

# e_phnum value meaning "the real count is elsewhere": far beyond our cap anyway.
PN_XNUM: Final = 0xFFFF

SHT_DYNSYM: Final = 11

DT_NULL: Final = 0
DT_NEEDED: Final = 1
DT_HASH: Final = 4
DT_STRTAB: Final = 5
DT_SYMTAB: Final = 6
DT_STRSZ: Final = 10
DT_SYMENT: Final = 11
DT_SONAME: Final = 14
DT_RPATH: Final = 15
DT_RUNPATH: Final = 29
DT_RELRSZ: Final = 35
DT_RELR: Final = 36
DT_GNU_HASH: Final = 0x6FFFFEF5
DT_VERSYM: Final = 0x6FFFFFF0
DT_VERNEED: Final = 0x6FFFFFFE
DT_VERNEEDNUM: Final = 0x6FFFFFFF

STB_LOCAL: Final = 0
STB_GLOBAL: Final = 1
STB_WEAK: Final = 2
STB_GNU_UNIQUE: Final = 10

STT_NOTYPE: Final = 0
STT_OBJECT: Final = 1
STT_FUNC: Final = 2
STT_SECTION: Final = 3
STT_FILE: Final = 4
STT_COMMON: Final = 5
STT_TLS: Final = 6
STT_GNU_IFUNC: Final = 10

SHN_UNDEF: Final = 0

# Version indexes 0 and 1 mean "local" and "global, unversioned"; the top bit
# of a .gnu.version entry marks a hidden symbol.
VER_NDX_GLOBAL: Final = 1
VERSYM_HIDDEN: Final = 0x8000

EM_386: Final = 3
EM_MIPS: Final = 8
EM_PPC: Final = 20
EM_PPC64: Final = 21
EM_S390: Final = 22
EM_ARM: Final = 40
EM_X86_64: Final = 62
EM_AARCH64: Final = 183
EM_RISCV: Final = 243
EM_LOONGARCH: Final = 258
EM_ALPHA: Final = 0x9026

# Machines whose SysV hash table (DT_HASH) has 8-byte entries in 64-bit files;
# everywhere else they are 4 bytes.
WIDE_HASH_MACHINES: Final = frozenset({EM_S390, EM_ALPHA})


# -- errors -----------------------------------------------------------------


# -- results ----------------------------------------------------------------


class ElfSymbol(NamedTuple):
    """One entry of the dynamic symbol table (a tuple: a library has
    thousands, and making one costs half of what a frozen dataclass does)."""

    name: str
    #: True when the symbol has a section index, i.e. this file provides it.
    defined: bool
    #: STB_* value.
    binding: int
    #: STT_* value.
    kind: int
    #: For an undefined symbol: the version it needs (``"GLIBC_2.17"``), from
    #: DT_VERSYM and DT_VERNEED. None for defined or unversioned symbols.
    version: str | None = None


class ElfSegment(NamedTuple):
    """One program header."""

    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


_MACHINE_NAMES: Final[dict[int, str]] = {
    EM_386: "i386",
    EM_X86_64: "x86_64",
    EM_AARCH64: "aarch64",
    EM_ARM: "arm",
    EM_PPC: "ppc",
    EM_LOONGARCH: "loongarch64",
}


class ElfFile(NamedTuple):
    """What the dynamic loader would learn from an ELF file."""

    elf_class: int
    byte_order: str
    machine: int
    elf_type: int
    interpreter: str | None
    has_dynamic: bool
    #: The dynamic symbols (``elf_symbols.NO_SYMBOLS`` when none were read).
    symbols: "SymbolTable"
    needed: tuple[str, ...] = ()
    soname: str | None = None
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    version_needs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    segments: tuple[ElfSegment, ...] = ()
    #: The d_tag values present in the dynamic section (e.g. DT_RELR, which
    #: only newer loaders understand).
    dynamic_tags: frozenset[int] = frozenset()

    @property
    def undefined_symbols(self) -> frozenset[str]:
        """Names this file expects another object to provide (weak ones too)."""
        return frozenset(self.symbols.undefined_names())

    @property
    def defined_symbols(self) -> frozenset[str]:
        """Names this file exports: defined, non-local symbols."""
        return self.symbols.exported_names()

    @property
    def machine_name(self) -> str:
        """A short architecture name, in the spelling of ``uname -m``."""
        return machine_name(self.machine, self.elf_class, self.byte_order)


def machine_name(machine: int, elf_class: int, byte_order: str) -> str:
    """Short name of an e_machine value; the ELF class and byte order pick
    between the variants that share one value (ppc64 and ppc64le, s390 and
    s390x, ...)."""
    if machine == EM_PPC64:
        return "ppc64le" if byte_order == "little" else "ppc64"
    if machine == EM_S390:
        return "s390x" if elf_class == 64 else "s390"
    if machine == EM_RISCV:
        return f"riscv{elf_class}"
    if machine == EM_MIPS:
        base = "mips64" if elf_class == 64 else "mips"
        return base + ("el" if byte_order == "little" else "")
    return _MACHINE_NAMES.get(machine, f"em_{machine}")


# -- layouts: precompiled structs per (class, byte order) ---------------------


class Layout(NamedTuple):
    elf_class: int
    byte_order: str
    #: struct byte-order prefix, for formats with a count ("<1000I").
    prefix: str
    #: ELF header after e_ident: type, machine, version, entry, phoff, shoff,
    #: flags, ehsize, phentsize, phnum, shentsize, shnum, shstrndx.
    header: struct.Struct
    phdr: struct.Struct
    dyn: struct.Struct
    sym: struct.Struct
    #: Byte offsets of st_name, st_info and st_shndx within a symbol.
    sym_columns: tuple[int, int, int]
    shdr: struct.Struct
    u32: struct.Struct
    #: An address-sized word (the bloom filter words of DT_GNU_HASH).
    word: struct.Struct
    #: DT_GNU_HASH header: nbuckets, symoffset, bloom_size, bloom_shift.
    gnu_hash: struct.Struct
    verneed: struct.Struct
    vernaux: struct.Struct


def _make_layout(elf_class: int, byte_order: str) -> Layout:
    e = "<" if byte_order == "little" else ">"
    wide = elf_class == 64
    return Layout(
        elf_class=elf_class,
        byte_order=byte_order,
        prefix=e,
        header=struct.Struct(e + ("HHIQQQIHHHHHH" if wide else "HHIIIIIHHHHHH")),
        # The 64-bit program header moves p_flags up for alignment.
        phdr=struct.Struct(e + ("IIQQQQQQ" if wide else "IIIIIIII")),
        dyn=struct.Struct(e + ("QQ" if wide else "II")),
        sym=struct.Struct(e + ("IBBHQQ" if wide else "IIIBBH")),
        sym_columns=(0, 4, 6) if wide else (0, 12, 14),
        shdr=struct.Struct(e + ("IIQQQQIIQQ" if wide else "IIIIIIIIII")),
        u32=struct.Struct(e + "I"),
        word=struct.Struct(e + ("Q" if wide else "I")),
        gnu_hash=struct.Struct(e + "IIII"),
        verneed=struct.Struct(e + "HHIII"),
        vernaux=struct.Struct(e + "IHHII"),
    )


_CLASS_BITS: Final = {ELFCLASS32: 32, ELFCLASS64: 64}
_DATA_ORDER: Final = {ELFDATA2LSB: "little", ELFDATA2MSB: "big"}
_LAYOUTS: dict[tuple[int, int], Layout] = {}


def layout_for(ident_class: int, ident_data: int) -> Layout | None:
    """The layout of EI_CLASS ``ident_class`` and EI_DATA ``ident_data``
    (None when unsupported), made on first use: most runs meet one of the
    four, and each costs a dozen struct compiles."""
    layout = _LAYOUTS.get((ident_class, ident_data))
    if layout is None:
        bits = _CLASS_BITS.get(ident_class)
        order = _DATA_ORDER.get(ident_data)
        if bits is None or order is None:
            return None
        layout = _LAYOUTS[ident_class, ident_data] = _make_layout(bits, order)
    return layout


IDENT_SIZE: Final = 16
