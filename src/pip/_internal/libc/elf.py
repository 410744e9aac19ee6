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
from typing import Final

from pip._internal.libc.elf_format import (
    DEFAULT_MAX_BYTES,
    DT_GNU_HASH,
    DT_HASH,
    DT_NEEDED,
    DT_NULL,
    DT_RPATH,
    DT_RUNPATH,
    DT_SONAME,
    DT_STRSZ,
    DT_STRTAB,
    DT_SYMENT,
    DT_SYMTAB,
    DT_VERNEED,
    DT_VERNEEDNUM,
    DT_VERSYM,
    IDENT_SIZE,
    MAX_DYNAMIC_ENTRIES,
    MAX_STRING_LENGTH,
    PN_XNUM,
    PT_DYNAMIC,
    ElfFile,
    ElfSegment,
    ElfSymbol,
    machine_name,
)

# The identity part (constants, errors, the bounded file read) is shared with
# the start-up path's lean reader.
from pip._internal.libc.elf_ident import (
    HEADER_MAX_BYTES,
    MAX_PROGRAM_HEADERS,
    PT_INTERP,
    PT_LOAD,
    ElfError,
    ElfTruncatedError,
    read_file_prefix,
)
from pip._internal.libc.elf_image import (
    Dynamic,
    Header,
    Image,
    decode,
    layout_of,
    reach,
    require,
    unpack,
    unpack_array,
)
from pip._internal.libc.elf_symbols import NO_SYMBOLS, SymbolTable, read_symbols
from pip._internal.libc.elf_tables import (
    VersionNeeds,
    read_string_table,
    read_version_needs,
)

# The reader's API; the format's constants are imported from elf_format.
__all__ = [
    "DEFAULT_MAX_BYTES",
    "HEADER_MAX_BYTES",
    "ElfError",
    "ElfFile",
    "ElfSegment",
    "ElfSymbol",
    "ElfTruncatedError",
    "SymbolTable",
    "machine_name",
    "parse_elf",
    "read_elf",
    "read_elf_header",
    "read_file_prefix",
]

# -- ELF header and program headers ------------------------------------------


def _read_header(image: Image) -> Header:
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
    ) = unpack(image, image.layout.header, IDENT_SIZE, "ELF header")
    return Header(elf_type, machine, phoff, shoff, phentsize, phnum, shentsize, shnum)


def _read_segments(image: Image, header: Header) -> tuple[ElfSegment, ...]:
    if header.phnum == 0:
        return ()
    if header.phnum >= PN_XNUM or header.phnum > MAX_PROGRAM_HEADERS:
        raise ElfError(f"too many program headers ({header.phnum})")
    fmt = image.layout.phdr
    if header.phentsize != fmt.size:
        raise ElfError(f"program header size {header.phentsize} is not {fmt.size}")
    size = fmt.size * header.phnum
    if header.phoff + size > reach(image, header.phoff):
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


def _read_interpreter(image: Image, seg: ElfSegment) -> str:
    # The kernel's rule (binfmt_elf): 2 <= p_filesz <= PATH_MAX and the last
    # byte is the NUL terminator; the path is what precedes the first NUL.
    if seg.filesz < 2 or seg.filesz > MAX_STRING_LENGTH:
        raise ElfError(f"PT_INTERP size {seg.filesz:#x} is out of range")
    require(image, seg.offset, seg.filesz, "PT_INTERP")
    raw = bytes(image.data[seg.offset : seg.offset + seg.filesz])
    if raw[-1] != 0:
        raise ElfError(f"PT_INTERP at offset {seg.offset:#x} has no NUL terminator")
    path = raw[: raw.index(b"\0")]
    if not path:
        raise ElfError("empty PT_INTERP")
    return decode(path)


# -- the dynamic section -----------------------------------------------------


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


def _read_dynamic(image: Image, seg: ElfSegment) -> Dynamic:
    fmt = image.layout.dyn
    declared = seg.filesz // fmt.size
    require(image, seg.offset, min(declared, 1) * fmt.size, "PT_DYNAMIC")
    # Like the loaders, read up to DT_NULL; p_filesz and the caps only bound
    # how far that may go.
    available = (reach(image, seg.offset) - seg.offset) // fmt.size
    count = min(declared, MAX_DYNAMIC_ENTRIES, available)
    lists: dict[int, list[int]] = {tag: [] for tag in _LIST_TAGS}
    values: dict[int, int] = {}
    tags: set[int] = set()
    terminated = False
    for tag, value in unpack_array(image, fmt, seg.offset, count, "PT_DYNAMIC"):
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
    return Dynamic(
        needed=tuple(lists[DT_NEEDED]),
        rpath=tuple(lists[DT_RPATH]),
        runpath=tuple(lists[DT_RUNPATH]),
        values=values,
        tags=frozenset(tags),
    )


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
        layout = layout_of(data)
    else:
        # The identification must be among the bytes kept, like any other.
        kept = next((end for start, end in present if start == 0), 0)
        layout = layout_of(data[:kept])
    image = Image(data, layout, (), present)
    header = _read_header(image)
    segments = _read_segments(image, header)
    loads = tuple(s for s in segments if s.type == PT_LOAD)
    image = Image(data, layout, loads, present)

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
        symbols=NO_SYMBOLS,
        segments=segments,
    )
    if not dynamic or dynamic_seg is None:
        return result

    dyn = _read_dynamic(image, dynamic_seg)
    result = result._replace(dynamic_tags=dyn.tags)
    strings = read_string_table(image, dyn)
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
    needs = read_version_needs(image, dyn, strings) if symbols else VersionNeeds((), {})
    return result._replace(
        needed=tuple(strings.get(off, "DT_NEEDED") for off in dyn.needed),
        soname=soname,
        rpath=split_paths(dyn.rpath, "DT_RPATH"),
        runpath=split_paths(dyn.runpath, "DT_RUNPATH"),
        symbols=(
            read_symbols(image, header, dyn, strings, needs) if symbols else NO_SYMBOLS
        ),
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
