"""The dynamic symbol table, read column by column.

A shared library has thousands of dynamic symbols (scipy's wheel: 70,000), and
the verdict needs only sets of their names: what a file leaves undefined (weak
or not), what it exports, which undefined ones need a given version. So the
table is kept as a few columns, one per field, each cut out of the table by a
strided slice (no per-symbol Python code), and the sets are drawn from them with
:func:`itertools.compress`; :class:`ElfSymbol` objects are made only for a
caller that iterates over the table. The check runs this in threads beside
zlib's inflating, so every interpreted step here holds up the other threads.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterator, Sequence
from itertools import accumulate, compress
from operator import and_, not_, truth
from typing import Final, overload

from pip._internal.libc.elf_format import (
    DT_SYMENT,
    DT_SYMTAB,
    DT_VERSYM,
    MAX_STRING_LENGTH,
    SHN_UNDEF,
    STB_LOCAL,
    STB_WEAK,
    VER_NDX_GLOBAL,
    VERSYM_HIDDEN,
    ElfSymbol,
)
from pip._internal.libc.elf_ident import ElfError
from pip._internal.libc.elf_image import (
    Dynamic,
    Header,
    Image,
    address_to_offset,
    decode,
)
from pip._internal.libc.elf_tables import StringTable, VersionNeeds, symbol_count

# st_info -> 1 where its binding is the one named, else 0 (bytes.translate).
_WEAK_BINDING: Final = bytes(int(info >> 4 == STB_WEAK) for info in range(256))
_NOT_LOCAL_BINDING: Final = bytes(int(info >> 4 != STB_LOCAL) for info in range(256))


class SymbolTable(Sequence[ElfSymbol]):
    """The dynamic symbols after the null entry, in table order."""

    __slots__ = ("_info", "_names", "_sections", "_version_names", "_versym")

    def __init__(
        self,
        names: tuple[str, ...] = (),
        info: bytes | Sequence[int] = b"",
        sections: Sequence[int] = (),
        versym: tuple[int, ...] | None = None,
        version_names: dict[int, str] | None = None,
    ) -> None:
        self._names = names
        #: st_info (binding << 4 | type) and st_shndx of each symbol.
        self._info = info if isinstance(info, bytes) else bytes(info)
        self._sections = sections
        #: DT_VERSYM of each symbol (its first entry is the null symbol's).
        self._versym = versym
        self._version_names = version_names or {}

    def __len__(self) -> int:
        return len(self._names)

    @overload
    def __getitem__(self, index: int) -> ElfSymbol: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[ElfSymbol, ...]: ...
    def __getitem__(self, index: int | slice) -> ElfSymbol | tuple[ElfSymbol, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._symbol(index)

    def __iter__(self) -> Iterator[ElfSymbol]:
        return map(self._symbol, range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (SymbolTable, tuple)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"SymbolTable({list(self)!r})"

    def _symbol(self, index: int) -> ElfSymbol:
        info, section = self._info[index], self._sections[index]
        version = None
        if section == SHN_UNDEF and self._versym is not None:
            version_index = self._versym[index + 1] & ~VERSYM_HIDDEN
            if version_index > VER_NDX_GLOBAL:
                version = self._version_names.get(version_index)
        return ElfSymbol(
            self._names[index], section != SHN_UNDEF, info >> 4, info & 0xF, version
        )

    def undefined_names(self) -> set[str]:
        """Names this file expects another object to provide (weak ones too)."""
        # SHN_UNDEF is 0: an undefined symbol's section index is falsy.
        names = set(compress(self._names, map(not_, self._sections)))
        names.discard("")
        return names

    def weak_undefined_names(self) -> set[str]:
        """Undefined names the loader may leave unbound."""
        weak = self._info.translate(_WEAK_BINDING)
        names = set(compress(self._names, map(and_, weak, map(not_, self._sections))))
        names.discard("")
        return names

    def exported_names(self) -> frozenset[str]:
        """Names this file provides: defined, non-local symbols."""
        not_local = self._info.translate(_NOT_LOCAL_BINDING)
        names = set(
            compress(self._names, map(and_, not_local, map(truth, self._sections)))
        )
        names.discard("")
        return frozenset(names)

    def undefined_needing(self, versions: set[str]) -> set[str]:
        """Undefined names bound to one of ``versions`` (``GLIBC_2.34``, ...)."""
        if self._versym is None:
            return set()
        indexes = {
            index
            for index, name in self._version_names.items()
            if name in versions and index > VER_NDX_GLOBAL
        }
        if not indexes:
            return set()
        return {
            name
            for name, section, version in zip(
                self._names, self._sections, self._versym[1:], strict=True
            )
            if section == SHN_UNDEF and version & ~VERSYM_HIDDEN in indexes
        }


NO_SYMBOLS = SymbolTable()


def read_symbols(
    image: Image,
    header: Header,
    dyn: Dynamic,
    strings: StringTable | None,
    needs: VersionNeeds,
) -> SymbolTable:
    symtab = dyn.values.get(DT_SYMTAB)
    if symtab is None:
        return NO_SYMBOLS
    if strings is None:
        raise ElfError("DT_SYMTAB without DT_STRTAB")
    layout = image.layout
    entsize = dyn.values.get(DT_SYMENT, layout.sym.size)
    if entsize != layout.sym.size:
        raise ElfError(f"DT_SYMENT {entsize} is not {layout.sym.size}")
    count = symbol_count(image, header, dyn, symtab)
    if count <= 1:
        return NO_SYMBOLS
    size = count * entsize
    offset = address_to_offset(image, symtab, size, "dynamic symbols")
    versym = _read_versym(image, dyn, count)
    table = image.data[offset + entsize : offset + size]
    name_at, info_at, section_at = layout.sym_columns
    name_offsets = _column(table, "I", name_at, entsize, layout.byte_order)
    sections = _column(table, "H", section_at, entsize, layout.byte_order)
    info = bytes(table[info_at::entsize])
    names = _symbol_names(strings, name_offsets)
    return SymbolTable(names, info, sections, versym, needs.by_index)


def _column(
    table: memoryview, typecode: str, at: int, entsize: int, byte_order: str
) -> array[int]:
    """One unsigned field of every entry: the ``typecode`` word at byte ``at``
    of each ``entsize``-byte entry (``entsize`` a multiple of the word's
    size, as in every ELF symbol table)."""
    # "I" and "H" are 4 and 2 bytes wherever CPython runs on Linux, the sizes
    # of st_name and st_shndx.
    words = array(typecode)
    words.frombytes(table)
    if byte_order != sys.byteorder:
        words.byteswap()
    return words[at // words.itemsize :: entsize // words.itemsize]


def _read_versym(image: Image, dyn: Dynamic, count: int) -> tuple[int, ...] | None:
    address = dyn.values.get(DT_VERSYM)
    if address is None or count == 0:
        return None
    offset = address_to_offset(image, address, 2 * count, "DT_VERSYM")
    versions: tuple[int, ...] = struct.unpack_from(
        f"{image.layout.prefix}{count}H", image.data, offset
    )
    return versions


def _symbol_names(strings: StringTable, offsets: Sequence[int]) -> tuple[str, ...]:
    """The name at each string-table offset. The table is split once at its
    NULs; a name that does not start a string there (a linker may point into
    the tail of a longer one) or that breaks a rule is looked up on its own
    (:meth:`StringTable.get`), in table order, so the first bad symbol is the
    one reported."""
    table = strings.data
    texts: list[str]
    # The last piece has no NUL after it: not a name.
    if table.isascii():
        texts = table.decode("ascii").split("\0")
        del texts[-1]
        # One character per byte: the texts' lengths are the pieces'.
        lengths = list(map(len, texts))
    else:
        pieces = table.split(b"\0")
        del pieces[-1]
        texts = [decode(piece) for piece in pieces]
        lengths = list(map(len, pieces))
    starts = accumulate(map((1).__add__, lengths), initial=0)
    if lengths and max(lengths) > MAX_STRING_LENGTH:
        at = {
            start: text
            for start, text, length in zip(starts, texts, lengths, strict=False)
            if length <= MAX_STRING_LENGTH
        }
    else:
        at = dict(zip(starts, texts, strict=False))
    # Offset 0 is the empty name, whatever the table's first byte.
    at[0] = ""
    names = list(map(at.get, offsets))
    if None in names:
        for index, name in enumerate(names):
            if name is None:
                names[index] = strings.get(offsets[index], f"symbol {index + 1}")
    return tuple(names)  # type: ignore[arg-type]
