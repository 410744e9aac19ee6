"""The tables the dynamic section points at: strings, symbol counts, versions."""

import struct
from typing import Final, NamedTuple

from pip._internal.libc.elf_format import (
    DT_GNU_HASH,
    DT_HASH,
    DT_STRSZ,
    DT_STRTAB,
    DT_VERNEED,
    DT_VERNEEDNUM,
    MAX_SECTION_HEADERS,
    MAX_STRING_LENGTH,
    MAX_SYMBOLS,
    MAX_VERSION_NAMES,
    MAX_VERSION_NEEDS,
    SHT_DYNSYM,
    VERSYM_HIDDEN,
    WIDE_HASH_MACHINES,
)
from pip._internal.libc.elf_ident import (
    ElfError,
    ElfTruncatedError,
)
from pip._internal.libc.elf_image import (
    Dynamic,
    Header,
    Image,
    address_to_offset,
    decode,
    reach,
    segment_room,
    unpack_array,
)


class StringTable:
    __slots__ = ("data", "decoded")

    def __init__(self, data: bytes) -> None:
        self.data = data
        # Decoded strings by offset: many symbols may share one (long) name,
        # and a crafted file must not turn a few KiB of strings into GiB of
        # copies.
        self.decoded: dict[int, str] = {}

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
        return decode(self.data[offset:end])


def read_string_table(image: Image, dyn: Dynamic) -> StringTable | None:
    address = dyn.values.get(DT_STRTAB)
    if address is None:
        return None
    room = segment_room(image, address, "DT_STRTAB")
    if DT_STRSZ not in dyn.values:
        # No size given: the table may run to the end of its segment, as far
        # as the bytes at hand go.
        offset = address_to_offset(image, address, 0, "string table")
        end = min(offset + room, reach(image, offset))
        return StringTable(bytes(image.data[offset:end]))
    size = dyn.values[DT_STRSZ]
    if size > room:
        raise ElfError(
            f"DT_STRSZ {size:#x} runs past the end of its segment ({room:#x} bytes)"
        )
    offset = address_to_offset(image, address, size, "string table")
    return StringTable(bytes(image.data[offset : offset + size]))


# -- symbol counts: DT_HASH, DT_GNU_HASH, section headers ---------------------


def _count_from_sysv_hash(image: Image, header: Header, address: int) -> int:
    entry = (
        image.layout.word
        if image.layout.elf_class == 64 and header.machine in WIDE_HASH_MACHINES
        else image.layout.u32
    )
    offset = address_to_offset(image, address, 2 * entry.size, "DT_HASH header")
    (nbucket,) = entry.unpack_from(image.data, offset)
    (nchain,) = entry.unpack_from(image.data, offset + entry.size)
    if nchain > MAX_SYMBOLS:
        raise ElfError(f"DT_HASH claims {nchain} symbols (limit {MAX_SYMBOLS})")
    if nbucket > MAX_SYMBOLS:
        raise ElfError(f"DT_HASH claims {nbucket} buckets (limit {MAX_SYMBOLS})")
    # The loader reads buckets and chains; a table that does not fit is broken.
    address_to_offset(
        image, address, (2 + nbucket + nchain) * entry.size, "DT_HASH table"
    )
    nsyms: int = nchain
    return nsyms


def _count_from_gnu_hash(image: Image, address: int) -> int:
    layout = image.layout
    offset = address_to_offset(image, address, 16, "DT_GNU_HASH header")
    nbuckets, symoffset, bloom_size, _bloom_shift = layout.gnu_hash.unpack_from(
        image.data, offset
    )
    if nbuckets > MAX_SYMBOLS or symoffset > MAX_SYMBOLS or bloom_size > MAX_SYMBOLS:
        raise ElfError(
            f"DT_GNU_HASH header out of range (nbuckets {nbuckets}, symoffset "
            f"{symoffset}, bloom size {bloom_size})"
        )
    buckets_address = address + 16 + bloom_size * layout.word.size
    buckets_offset = address_to_offset(
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
    room = segment_room(image, chain_address, "DT_GNU_HASH chain")
    chain_offset = address_to_offset(image, chain_address, 4, "DT_GNU_HASH chain")
    declared = min(room // 4, MAX_SYMBOLS - last)
    entries = min(declared, (reach(image, chain_offset) - chain_offset) // 4)
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
    image: Image, header: Header, symtab_address: int
) -> int | None:
    """Size of the .dynsym section at ``symtab_address``, if the section
    headers are reachable; only for files without any hash table."""
    fmt = image.layout.shdr
    if header.shnum == 0 or header.shentsize != fmt.size:
        return None
    if header.shoff + header.shnum * fmt.size > reach(image, header.shoff):
        return None
    for record in unpack_array(
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


def symbol_count(image: Image, header: Header, dyn: Dynamic, symtab: int) -> int:
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


class VersionNeeds(NamedTuple):
    #: (file, version names) in file order.
    files: tuple[tuple[str, tuple[str, ...]], ...]
    #: vna_other (the index DT_VERSYM uses) -> version name.
    by_index: dict[int, str]


def read_version_needs(
    image: Image, dyn: Dynamic, strings: StringTable
) -> VersionNeeds:
    address = dyn.values.get(DT_VERNEED)
    if address is None:
        return VersionNeeds((), {})
    count = dyn.values.get(DT_VERNEEDNUM, 0)
    if count > MAX_VERSION_NEEDS:
        raise ElfError(f"DT_VERNEEDNUM {count} exceeds {MAX_VERSION_NEEDS}")
    layout = image.layout
    files: list[tuple[str, tuple[str, ...]]] = []
    by_index: dict[int, str] = {}
    names_seen = 0
    for _ in range(count):
        offset = address_to_offset(image, address, layout.verneed.size, "Verneed")
        _version, aux_count, file_name, aux, next_entry = layout.verneed.unpack_from(
            image.data, offset
        )
        names_seen += aux_count
        if names_seen > MAX_VERSION_NAMES:
            raise ElfError(f"more than {MAX_VERSION_NAMES} needed version names")
        names: list[str] = []
        aux_address = address + aux
        for _ in range(aux_count):
            aux_offset = address_to_offset(
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
    return VersionNeeds(tuple(files), by_index)
