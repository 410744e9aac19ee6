"""A bounded reader for the dynamic-linking view of ELF files.

It reads a file the way the dynamic loader does: ELF header, program headers,
``PT_INTERP`` and ``PT_DYNAMIC``, then the tables the dynamic section points at
(string table, symbol table, hash tables, symbol versions), translating their
addresses to file offsets through the ``PT_LOAD`` segments. The section header
table is not needed (it sits at the end of the file, often beyond a prefix
decompressed from a wheel); it is consulted only for the rare file whose
dynamic section has no hash table to size the symbol table with.

Everything is bounded, because the input may be hostile (a wheel from an
index): every offset, size and count is checked against the available bytes
and against hard caps before it is used, and loops run over validated counts.
Bad input raises :class:`ElfError` and nothing else.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Final, NamedTuple

# The identity part (constants, errors, the bounded file read) is shared with
# the start-up path's lean reader.
from pip._internal.libc.elf_ident import (
    ELF_MAGIC,
    ELFCLASS32,
    ELFCLASS64,
    ELFDATA2LSB,
    ELFDATA2MSB,
    HEADER_MAX_BYTES,
    MAX_PROGRAM_HEADERS,
    PT_INTERP,
    PT_LOAD,
    ElfError,
    ElfTruncatedError,
    read_file_prefix,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "HEADER_MAX_BYTES",
    "ElfError",
    "ElfFile",
    "ElfSegment",
    "ElfSymbol",
    "ElfTruncatedError",
    "machine_name",
    "parse_elf",
    "read_elf",
    "read_elf_header",
    "read_file_prefix",
]

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
_WIDE_HASH_MACHINES: Final = frozenset({EM_S390, EM_ALPHA})


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


@dataclass(frozen=True, slots=True)
class ElfSegment:
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


@dataclass(frozen=True, slots=True)
class ElfFile:
    """What the dynamic loader would learn from an ELF file."""

    elf_class: int
    byte_order: str
    machine: int
    elf_type: int
    interpreter: str | None
    has_dynamic: bool
    needed: tuple[str, ...] = ()
    soname: str | None = None
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    symbols: tuple[ElfSymbol, ...] = ()
    version_needs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    segments: tuple[ElfSegment, ...] = ()
    #: The d_tag values present in the dynamic section (e.g. DT_RELR, which
    #: only newer loaders understand).
    dynamic_tags: frozenset[int] = frozenset()

    @property
    def undefined_symbols(self) -> frozenset[str]:
        """Names this file expects another object to provide (weak ones too)."""
        return frozenset(s.name for s in self.symbols if not s.defined and s.name)

    @property
    def defined_symbols(self) -> frozenset[str]:
        """Names this file exports: defined, non-local symbols."""
        return frozenset(
            s.name
            for s in self.symbols
            if s.defined and s.name and s.binding != STB_LOCAL
        )

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


@dataclass(frozen=True)
class _Layout:
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
    sym_brief: struct.Struct
    shdr: struct.Struct
    u32: struct.Struct
    #: An address-sized word (the bloom filter words of DT_GNU_HASH).
    word: struct.Struct
    #: DT_GNU_HASH header: nbuckets, symoffset, bloom_size, bloom_shift.
    gnu_hash: struct.Struct
    verneed: struct.Struct
    vernaux: struct.Struct


def _make_layout(elf_class: int, byte_order: str) -> _Layout:
    e = "<" if byte_order == "little" else ">"
    wide = elf_class == 64
    return _Layout(
        elf_class=elf_class,
        byte_order=byte_order,
        prefix=e,
        header=struct.Struct(e + ("HHIQQQIHHHHHH" if wide else "HHIIIIIHHHHHH")),
        # The 64-bit program header moves p_flags up for alignment.
        phdr=struct.Struct(e + ("IIQQQQQQ" if wide else "IIIIIIII")),
        dyn=struct.Struct(e + ("QQ" if wide else "II")),
        sym=struct.Struct(e + ("IBBHQQ" if wide else "IIIBBH")),
        # The same record reduced to (st_name, st_info, st_shndx), in this
        # order for both classes (pad bytes skip the rest).
        sym_brief=struct.Struct(e + ("IBxH16x" if wide else "I8xBxH")),
        shdr=struct.Struct(e + ("IIQQQQIIQQ" if wide else "IIIIIIIIII")),
        u32=struct.Struct(e + "I"),
        word=struct.Struct(e + ("Q" if wide else "I")),
        gnu_hash=struct.Struct(e + "IIII"),
        verneed=struct.Struct(e + "HHIII"),
        vernaux=struct.Struct(e + "IHHII"),
    )


_LAYOUTS: Final[dict[tuple[int, int], _Layout]] = {
    (ident_class, ident_data): _make_layout(bits, order)
    for ident_class, bits in ((ELFCLASS32, 32), (ELFCLASS64, 64))
    for ident_data, order in ((ELFDATA2LSB, "little"), (ELFDATA2MSB, "big"))
}

_IDENT_SIZE: Final = 16


# -- the image: bytes plus bounds-checked access ------------------------------


@dataclass(frozen=True)
class _Image:
    data: memoryview
    layout: _Layout
    loads: tuple[ElfSegment, ...] = ()
    #: The (start, end) ranges of ``data`` that hold the file's bytes, sorted
    #: and disjoint; None when all of it does. A reader that streams a large
    #: member keeps only the ranges the loader's tables are in.
    present: tuple[tuple[int, int], ...] | None = None

    @property
    def size(self) -> int:
        return len(self.data)


def _reach(image: _Image, offset: int) -> int:
    """Where the bytes available from ``offset`` on end (-1 when a range
    kept by a streaming reader does not hold ``offset``)."""
    if image.present is None:
        return image.size
    for start, end in image.present:
        if start <= offset < end:
            return end
    return -1


def _require(image: _Image, offset: int, size: int, what: str) -> None:
    """Fail unless ``size`` bytes at ``offset`` are available."""
    end = offset + size
    if end > _reach(image, offset):
        raise ElfTruncatedError(
            f"{what} at offset {offset:#x} (size {size:#x}) lies beyond the "
            f"available {image.size} bytes",
            needed=end,
            offset=offset,
        )


def _unpack(
    image: _Image, fmt: struct.Struct, offset: int, what: str
) -> tuple[int, ...]:
    _require(image, offset, fmt.size, what)
    values: tuple[int, ...] = fmt.unpack_from(image.data, offset)
    return values


def _unpack_array(
    image: _Image, fmt: struct.Struct, offset: int, count: int, what: str
) -> Iterator[tuple[int, ...]]:
    """``count`` consecutive records; the whole extent is checked first."""
    size = fmt.size * count
    _require(image, offset, size, what)
    return fmt.iter_unpack(image.data[offset : offset + size])


def _address_to_offset(image: _Image, address: int, size: int, what: str) -> int:
    """File offset of ``size`` bytes at virtual ``address``, as the loader
    would map them: they must lie inside the file part of one PT_LOAD."""
    for seg in image.loads:
        if seg.vaddr <= address and address + size <= seg.vaddr + seg.filesz:
            offset = seg.offset + (address - seg.vaddr)
            _require(image, offset, size, what)
            return offset
    raise ElfError(
        f"{what} at address {address:#x} (size {size:#x}) is not inside the "
        "file part of any PT_LOAD segment"
    )


def _segment_room(image: _Image, address: int, what: str) -> int:
    """Bytes from ``address`` to the end of the file part of its PT_LOAD."""
    for seg in image.loads:
        if seg.vaddr <= address < seg.vaddr + seg.filesz:
            return seg.vaddr + seg.filesz - address
    raise ElfError(
        f"{what} at address {address:#x} is not inside the file part of any "
        "PT_LOAD segment"
    )


def _decode(raw: bytes) -> str:
    # Paths and names are bytes to the loader; surrogateescape keeps any byte
    # sequence round-trippable (like os.fsdecode on Linux) and never raises.
    return raw.decode("utf-8", "surrogateescape")


# -- ELF header and program headers ------------------------------------------


@dataclass(frozen=True)
class _Header:
    elf_type: int
    machine: int
    phoff: int
    shoff: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int


def _layout_of(data: memoryview) -> _Layout:
    if len(data) < len(ELF_MAGIC):
        if bytes(data) == ELF_MAGIC[: len(data)]:
            raise ElfTruncatedError(
                f"ELF identification lies beyond the available {len(data)} bytes",
                needed=_IDENT_SIZE,
            )
        raise ElfError("not an ELF file (no \\x7fELF magic)")
    if bytes(data[:4]) != ELF_MAGIC:
        raise ElfError("not an ELF file (no \\x7fELF magic)")
    if len(data) < _IDENT_SIZE:
        raise ElfTruncatedError(
            f"ELF identification lies beyond the available {len(data)} bytes",
            needed=_IDENT_SIZE,
        )
    layout = _LAYOUTS.get((data[4], data[5]))
    if layout is None:
        raise ElfError(f"unsupported ELF class {data[4]} or data encoding {data[5]}")
    return layout


def _read_header(image: _Image) -> _Header:
    (
        elf_type,
        machine,
        _version,
        _entry,
        phoff,
        shoff,
        _flags,
        _ehsize,
        phentsize,
        phnum,
        shentsize,
        shnum,
        _shstrndx,
    ) = _unpack(image, image.layout.header, _IDENT_SIZE, "ELF header")
    return _Header(elf_type, machine, phoff, shoff, phentsize, phnum, shentsize, shnum)


def _read_segments(image: _Image, header: _Header) -> tuple[ElfSegment, ...]:
    if header.phnum == 0:
        return ()
    if header.phnum >= PN_XNUM or header.phnum > MAX_PROGRAM_HEADERS:
        raise ElfError(f"too many program headers ({header.phnum})")
    fmt = image.layout.phdr
    if header.phentsize != fmt.size:
        raise ElfError(f"program header size {header.phentsize} is not {fmt.size}")
    size = fmt.size * header.phnum
    if header.phoff + size > _reach(image, header.phoff):
        raise ElfTruncatedError(
            f"truncated program header table at offset {header.phoff:#x} "
            f"({header.phnum} entries lie beyond the available {image.size} bytes)",
            needed=header.phoff + size,
            offset=header.phoff,
        )
    records = fmt.iter_unpack(image.data[header.phoff : header.phoff + size])
    if image.layout.elf_class == 64:
        return tuple(
            ElfSegment(p_type, flags, offset, vaddr, filesz, memsz)
            for p_type, flags, offset, vaddr, _paddr, filesz, memsz, _align in records
        )
    return tuple(
        ElfSegment(p_type, flags, offset, vaddr, filesz, memsz)
        for p_type, offset, vaddr, _paddr, filesz, memsz, flags, _align in records
    )


def _read_interpreter(image: _Image, seg: ElfSegment) -> str:
    # The kernel's rule (binfmt_elf): 2 <= p_filesz <= PATH_MAX and the last
    # byte is the NUL terminator; the path is what precedes the first NUL.
    if seg.filesz < 2 or seg.filesz > MAX_STRING_LENGTH:
        raise ElfError(f"PT_INTERP size {seg.filesz:#x} is out of range")
    _require(image, seg.offset, seg.filesz, "PT_INTERP")
    raw = bytes(image.data[seg.offset : seg.offset + seg.filesz])
    if raw[-1] != 0:
        raise ElfError(f"PT_INTERP at offset {seg.offset:#x} has no NUL terminator")
    path = raw[: raw.index(b"\0")]
    if not path:
        raise ElfError("empty PT_INTERP")
    return _decode(path)


# -- the dynamic section -----------------------------------------------------


@dataclass(frozen=True)
class _Dynamic:
    #: DT_NEEDED, DT_RPATH, DT_RUNPATH string offsets, in file order.
    needed: tuple[int, ...]
    rpath: tuple[int, ...]
    runpath: tuple[int, ...]
    #: Scalar tags; the last entry wins, as in the loaders.
    values: dict[int, int]
    #: Every d_tag present before DT_NULL.
    tags: frozenset[int] = frozenset()


_LIST_TAGS: Final = frozenset({DT_NEEDED, DT_RPATH, DT_RUNPATH})
_SCALAR_TAGS: Final = frozenset(
    {
        DT_HASH,
        DT_STRTAB,
        DT_SYMTAB,
        DT_STRSZ,
        DT_SYMENT,
        DT_SONAME,
        DT_GNU_HASH,
        DT_VERSYM,
        DT_VERNEED,
        DT_VERNEEDNUM,
    }
)


def _read_dynamic(image: _Image, seg: ElfSegment) -> _Dynamic:
    fmt = image.layout.dyn
    declared = seg.filesz // fmt.size
    _require(image, seg.offset, min(declared, 1) * fmt.size, "PT_DYNAMIC")
    # Like the loaders, read up to DT_NULL; p_filesz and the caps only bound
    # how far that may go.
    available = (_reach(image, seg.offset) - seg.offset) // fmt.size
    count = min(declared, MAX_DYNAMIC_ENTRIES, available)
    lists: dict[int, list[int]] = {tag: [] for tag in _LIST_TAGS}
    values: dict[int, int] = {}
    tags: set[int] = set()
    terminated = False
    for tag, value in _unpack_array(image, fmt, seg.offset, count, "PT_DYNAMIC"):
        if tag == DT_NULL:
            terminated = True
            break
        tags.add(tag)
        if tag in _LIST_TAGS:
            lists[tag].append(value)
        elif tag in _SCALAR_TAGS:
            values[tag] = value
    if not terminated:
        if count == available < min(declared, MAX_DYNAMIC_ENTRIES):
            raise ElfTruncatedError(
                f"PT_DYNAMIC at offset {seg.offset:#x} has no DT_NULL within the "
                f"available {image.size} bytes",
                needed=seg.offset + min(declared, MAX_DYNAMIC_ENTRIES) * fmt.size,
                offset=seg.offset,
            )
        if declared > MAX_DYNAMIC_ENTRIES:
            raise ElfError(f"more than {MAX_DYNAMIC_ENTRIES} dynamic entries")
        # Otherwise the table simply ends with its segment: tolerated, as
        # linkers always write DT_NULL and loaders stop at the end anyway.
    return _Dynamic(
        needed=tuple(lists[DT_NEEDED]),
        rpath=tuple(lists[DT_RPATH]),
        runpath=tuple(lists[DT_RUNPATH]),
        values=values,
        tags=frozenset(tags),
    )


@dataclass(frozen=True)
class _StringTable:
    data: bytes
    # Decoded strings by offset: many symbols may share one (long) name, and a
    # crafted file must not turn a few KiB of strings into GiB of copies.
    decoded: dict[int, str] = field(default_factory=dict, compare=False)

    def get(self, offset: int, what: str) -> str:
        cached = self.decoded.get(offset)
        if cached is not None:
            return cached
        text = self._decode_at(offset, what)
        self.decoded[offset] = text
        return text

    def _decode_at(self, offset: int, what: str) -> str:
        if offset >= len(self.data):
            raise ElfError(
                f"{what} string offset {offset:#x} is outside the string table "
                f"({len(self.data):#x} bytes)"
            )
        end = self.data.find(b"\0", offset, offset + MAX_STRING_LENGTH + 1)
        if end < 0:
            raise ElfError(
                f"{what} string at {offset:#x} is not NUL-terminated within "
                f"{MAX_STRING_LENGTH} bytes"
            )
        return _decode(self.data[offset:end])


def _read_string_table(image: _Image, dyn: _Dynamic) -> _StringTable | None:
    address = dyn.values.get(DT_STRTAB)
    if address is None:
        return None
    room = _segment_room(image, address, "DT_STRTAB")
    if DT_STRSZ not in dyn.values:
        # No size given: the table may run to the end of its segment, as far
        # as the bytes at hand go.
        offset = _address_to_offset(image, address, 0, "string table")
        end = min(offset + room, _reach(image, offset))
        return _StringTable(bytes(image.data[offset:end]))
    size = dyn.values[DT_STRSZ]
    if size > room:
        raise ElfError(
            f"DT_STRSZ {size:#x} runs past the end of its segment ({room:#x} bytes)"
        )
    offset = _address_to_offset(image, address, size, "string table")
    return _StringTable(bytes(image.data[offset : offset + size]))


# -- symbol counts: DT_HASH, DT_GNU_HASH, section headers ---------------------


def _count_from_sysv_hash(image: _Image, header: _Header, address: int) -> int:
    entry = (
        image.layout.word
        if image.layout.elf_class == 64 and header.machine in _WIDE_HASH_MACHINES
        else image.layout.u32
    )
    offset = _address_to_offset(image, address, 2 * entry.size, "DT_HASH header")
    (nbucket,) = entry.unpack_from(image.data, offset)
    (nchain,) = entry.unpack_from(image.data, offset + entry.size)
    if nchain > MAX_SYMBOLS:
        raise ElfError(f"DT_HASH claims {nchain} symbols (limit {MAX_SYMBOLS})")
    if nbucket > MAX_SYMBOLS:
        raise ElfError(f"DT_HASH claims {nbucket} buckets (limit {MAX_SYMBOLS})")
    # The loader reads buckets and chains; a table that does not fit is broken.
    _address_to_offset(
        image, address, (2 + nbucket + nchain) * entry.size, "DT_HASH table"
    )
    nsyms: int = nchain
    return nsyms


def _count_from_gnu_hash(image: _Image, address: int) -> int:
    layout = image.layout
    offset = _address_to_offset(image, address, 16, "DT_GNU_HASH header")
    nbuckets, symoffset, bloom_size, _bloom_shift = layout.gnu_hash.unpack_from(
        image.data, offset
    )
    if nbuckets > MAX_SYMBOLS or symoffset > MAX_SYMBOLS or bloom_size > MAX_SYMBOLS:
        raise ElfError(
            f"DT_GNU_HASH header out of range (nbuckets {nbuckets}, symoffset "
            f"{symoffset}, bloom size {bloom_size})"
        )
    buckets_address = address + 16 + bloom_size * layout.word.size
    buckets_offset = _address_to_offset(
        image, buckets_address, nbuckets * 4, "DT_GNU_HASH buckets"
    )
    buckets = struct.unpack_from(
        f"{layout.prefix}{nbuckets}I", image.data, buckets_offset
    )
    last = max(buckets, default=0)
    if last == 0:
        # No bucket holds a symbol: only the unhashed ones below symoffset.
        nsyms: int = symoffset
        return nsyms
    if last < symoffset or last >= MAX_SYMBOLS:
        raise ElfError(f"DT_GNU_HASH bucket points at symbol {last} out of range")
    # Walk the last bucket's chain to its end marker (low bit set). Entries
    # are scanned a block at a time in C (their low bytes, mapped odd -> 1),
    # not one by one in Python; blocks grow so a typical short chain costs
    # one small read and a hostile endless one stays linear and bounded by
    # its segment and the symbol cap.
    chain_address = buckets_address + nbuckets * 4 + (last - symoffset) * 4
    room = _segment_room(image, chain_address, "DT_GNU_HASH chain")
    chain_offset = _address_to_offset(image, chain_address, 4, "DT_GNU_HASH chain")
    declared = min(room // 4, MAX_SYMBOLS - last)
    entries = min(declared, (_reach(image, chain_offset) - chain_offset) // 4)
    low_byte = 0 if layout.byte_order == "little" else 3
    start, block = 0, 64
    while start < entries:
        stop = min(entries, start + block)
        raw = bytes(image.data[chain_offset + 4 * start : chain_offset + 4 * stop])
        hit = raw[low_byte::4].translate(_ODD_BYTES).find(b"\x01")
        if hit >= 0:
            return last + start + hit + 1
        start, block = stop, block * 16
    if entries < declared:
        raise ElfTruncatedError(
            f"DT_GNU_HASH chain at offset {chain_offset:#x} runs beyond the "
            f"available {image.size} bytes",
            needed=chain_offset + 4 * declared,
            offset=chain_offset,
        )
    raise ElfError("DT_GNU_HASH chain has no end marker")


# Maps every byte to 1 if odd else 0: finds the first chain entry whose low
# bit (the end-of-chain marker) is set.
_ODD_BYTES: Final = bytes(b & 1 for b in range(256))


def _count_from_sections(
    image: _Image, header: _Header, symtab_address: int
) -> int | None:
    """Size of the .dynsym section at ``symtab_address``, if the section
    headers are reachable; only for files without any hash table."""
    fmt = image.layout.shdr
    if header.shnum == 0 or header.shentsize != fmt.size:
        return None
    if header.shoff + header.shnum * fmt.size > _reach(image, header.shoff):
        return None
    for record in _unpack_array(
        image, fmt, header.shoff, min(header.shnum, MAX_SECTION_HEADERS), "sections"
    ):
        _name, sh_type, _flags, sh_addr, _off, sh_size, _link, _info, _al, entsize = (
            record
        )
        if sh_type == SHT_DYNSYM and sh_addr == symtab_address and entsize:
            count: int = sh_size // entsize
            if count > MAX_SYMBOLS:
                raise ElfError(f".dynsym claims {count} symbols (limit {MAX_SYMBOLS})")
            return count
    return None


def _symbol_count(image: _Image, header: _Header, dyn: _Dynamic, symtab: int) -> int:
    hash_address = dyn.values.get(DT_HASH)
    if hash_address is not None:
        return _count_from_sysv_hash(image, header, hash_address)
    gnu_hash_address = dyn.values.get(DT_GNU_HASH)
    if gnu_hash_address is not None:
        return _count_from_gnu_hash(image, gnu_hash_address)
    count = _count_from_sections(image, header, symtab)
    if count is None:
        raise ElfError(
            "dynamic symbol table without DT_HASH, DT_GNU_HASH or a reachable "
            ".dynsym section: its size is unknown"
        )
    return count


# -- symbol versions (DT_VERNEED, DT_VERSYM) ----------------------------------


@dataclass(frozen=True)
class _VersionNeeds:
    #: (file, version names) in file order.
    files: tuple[tuple[str, tuple[str, ...]], ...]
    #: vna_other (the index DT_VERSYM uses) -> version name.
    by_index: dict[int, str]


def _read_version_needs(
    image: _Image, dyn: _Dynamic, strings: _StringTable
) -> _VersionNeeds:
    address = dyn.values.get(DT_VERNEED)
    if address is None:
        return _VersionNeeds((), {})
    count = dyn.values.get(DT_VERNEEDNUM, 0)
    if count > MAX_VERSION_NEEDS:
        raise ElfError(f"DT_VERNEEDNUM {count} exceeds {MAX_VERSION_NEEDS}")
    layout = image.layout
    files: list[tuple[str, tuple[str, ...]]] = []
    by_index: dict[int, str] = {}
    names_seen = 0
    for _ in range(count):
        offset = _address_to_offset(image, address, layout.verneed.size, "Verneed")
        _version, aux_count, file_name, aux, next_entry = layout.verneed.unpack_from(
            image.data, offset
        )
        names_seen += aux_count
        if names_seen > MAX_VERSION_NAMES:
            raise ElfError(f"more than {MAX_VERSION_NAMES} needed version names")
        names: list[str] = []
        aux_address = address + aux
        for _ in range(aux_count):
            aux_offset = _address_to_offset(
                image, aux_address, layout.vernaux.size, "Vernaux"
            )
            _hash, _flags, other, name, aux_next = layout.vernaux.unpack_from(
                image.data, aux_offset
            )
            version_name = strings.get(name, "version")
            names.append(version_name)
            by_index[other & ~VERSYM_HIDDEN] = version_name
            if aux_next == 0:
                break
            aux_address += aux_next
        files.append((strings.get(file_name, "Verneed file"), tuple(names)))
        if next_entry == 0:
            break
        address += next_entry
    return _VersionNeeds(tuple(files), by_index)


def _read_versym(image: _Image, dyn: _Dynamic, count: int) -> tuple[int, ...] | None:
    address = dyn.values.get(DT_VERSYM)
    if address is None or count == 0:
        return None
    offset = _address_to_offset(image, address, 2 * count, "DT_VERSYM")
    versions: tuple[int, ...] = struct.unpack_from(
        f"{image.layout.prefix}{count}H", image.data, offset
    )
    return versions


# -- symbols -------------------------------------------------------------------


def _read_symbols(
    image: _Image,
    header: _Header,
    dyn: _Dynamic,
    strings: _StringTable | None,
    needs: _VersionNeeds,
) -> tuple[ElfSymbol, ...]:
    symtab = dyn.values.get(DT_SYMTAB)
    if symtab is None:
        return ()
    if strings is None:
        raise ElfError("DT_SYMTAB without DT_STRTAB")
    layout = image.layout
    entsize = dyn.values.get(DT_SYMENT, layout.sym.size)
    if entsize != layout.sym.size:
        raise ElfError(f"DT_SYMENT {entsize} is not {layout.sym.size}")
    count = _symbol_count(image, header, dyn, symtab)
    if count <= 1:
        return ()
    size = count * entsize
    offset = _address_to_offset(image, symtab, size, "dynamic symbols")
    versions = _read_versym(image, dyn, count)
    # This loop is the hot path (thousands of symbols per library): it uses
    # the name/info/shndx-only struct and looks names up inline.
    table = strings.data
    table_size = len(table)
    find = table.find
    version_names = needs.by_index
    symbols: list[ElfSymbol] = []
    append = symbols.append
    records = layout.sym_brief.iter_unpack(image.data[offset + entsize : offset + size])
    # Names by string-table offset: symbols may share one name, and a crafted
    # file must not turn a few KiB of strings into GiB of copies.
    names: dict[int, str] = {0: ""}
    for index, (st_name, st_info, st_shndx) in enumerate(records, start=1):
        name = names.get(st_name)
        if name is None:
            if st_name >= table_size:
                raise ElfError(
                    f"symbol {index} name offset {st_name:#x} is outside the "
                    f"string table ({table_size:#x} bytes)"
                )
            end = find(b"\0", st_name, st_name + MAX_STRING_LENGTH + 1)
            if end < 0:
                raise ElfError(
                    f"symbol {index} name is not NUL-terminated within "
                    f"{MAX_STRING_LENGTH} bytes"
                )
            name = table[st_name:end].decode("utf-8", "surrogateescape")
            names[st_name] = name
        version = None
        if st_shndx == SHN_UNDEF and versions is not None:
            version_index = versions[index] & ~VERSYM_HIDDEN
            if version_index > VER_NDX_GLOBAL:
                version = version_names.get(version_index)
        append(
            ElfSymbol(name, st_shndx != SHN_UNDEF, st_info >> 4, st_info & 0xF, version)
        )
    return tuple(symbols)


# -- public entry points -------------------------------------------------------


def parse_elf(
    data: bytes | bytearray | memoryview,
    *,
    symbols: bool = True,
    dynamic: bool = True,
    present: tuple[tuple[int, int], ...] | None = None,
) -> ElfFile:
    """Parse an ELF file, or a prefix of one, from memory.

    ``present``, when given, lists the (start, end) ranges of ``data`` that
    hold the file's bytes (sorted, disjoint; the rest is not read): a
    streaming reader keeps only the tables the loader reads, and learns from
    :attr:`ElfTruncatedError.offset` which range to add.

    ``symbols=False`` skips the symbol table and versions; ``dynamic=False``
    also skips the dynamic section (header, program headers and PT_INTERP
    only, which is all host detection needs). Raises :class:`ElfError` (or
    its subclass :class:`ElfTruncatedError` when something needed lies beyond
    the bytes given) for anything this reader cannot make sense of.
    """
    view = memoryview(data).cast("B")
    try:
        return _parse(
            view, symbols=symbols and dynamic, dynamic=dynamic, present=present
        )
    except struct.error as exc:  # pragma: no cover - validation comes first
        # A safety net only: every read above is bounds-checked beforehand.
        raise ElfError(f"malformed ELF data: {exc}") from None


def _parse(
    data: memoryview,
    *,
    symbols: bool,
    dynamic: bool,
    present: tuple[tuple[int, int], ...] | None = None,
) -> ElfFile:
    if present is None:
        layout = _layout_of(data)
    else:
        # The identification must be among the bytes kept, like any other.
        kept = next((end for start, end in present if start == 0), 0)
        layout = _layout_of(data[:kept])
    image = _Image(data, layout, (), present)
    header = _read_header(image)
    segments = _read_segments(image, header)
    loads = tuple(s for s in segments if s.type == PT_LOAD)
    image = _Image(data, layout, loads, present)

    interp_seg = next((s for s in segments if s.type == PT_INTERP), None)
    dynamic_seg = next((s for s in segments if s.type == PT_DYNAMIC), None)
    interpreter = _read_interpreter(image, interp_seg) if interp_seg else None
    result = ElfFile(
        elf_class=layout.elf_class,
        byte_order=layout.byte_order,
        machine=header.machine,
        elf_type=header.elf_type,
        interpreter=interpreter,
        has_dynamic=dynamic_seg is not None,
        segments=segments,
    )
    if not dynamic or dynamic_seg is None:
        return result

    dyn = _read_dynamic(image, dynamic_seg)
    result = replace(result, dynamic_tags=dyn.tags)
    strings = _read_string_table(image, dyn)
    if strings is None:
        if dyn.needed or dyn.rpath or dyn.runpath or DT_SONAME in dyn.values:
            raise ElfError("dynamic section names strings but has no DT_STRTAB")
        return result

    def split_paths(offsets: tuple[int, ...], what: str) -> tuple[str, ...]:
        return tuple(
            part for off in offsets for part in strings.get(off, what).split(":")
        )

    soname_offset = dyn.values.get(DT_SONAME)
    soname = None if soname_offset is None else strings.get(soname_offset, "DT_SONAME")
    needs = (
        _read_version_needs(image, dyn, strings) if symbols else _VersionNeeds((), {})
    )
    return replace(
        result,
        needed=tuple(strings.get(off, "DT_NEEDED") for off in dyn.needed),
        soname=soname,
        rpath=split_paths(dyn.rpath, "DT_RPATH"),
        runpath=split_paths(dyn.runpath, "DT_RUNPATH"),
        symbols=_read_symbols(image, header, dyn, strings, needs) if symbols else (),
        version_needs=needs.files,
    )


def read_elf(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    symbols: bool = True,
) -> ElfFile:
    """Read and parse at most ``max_bytes`` of the regular file ``path``."""
    return parse_elf(read_file_prefix(path, max_bytes), symbols=symbols)


def read_elf_header(
    path: str | os.PathLike[str], *, max_bytes: int = HEADER_MAX_BYTES
) -> ElfFile:
    """The ELF header, program headers and PT_INTERP of ``path`` only: the
    cheap read host detection needs (no dynamic section, no symbols)."""
    return parse_elf(read_file_prefix(path, max_bytes), symbols=False, dynamic=False)
