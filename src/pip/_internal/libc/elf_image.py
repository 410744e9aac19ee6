"""Bytes of an ELF file with bounds-checked access (the reader's only way in).

An :class:`Image` is the file's bytes, or some ranges of them (a streaming
reader keeps only the tables), plus its layout and ``PT_LOAD`` segments: every
read is checked against what is there, and addresses are translated the way
the loader maps them.
"""

import struct
from collections.abc import Iterator
from typing import NamedTuple

from pip._internal.libc.elf_format import (
    IDENT_SIZE,
    ElfSegment,
    Layout,
    layout_for,
)
from pip._internal.libc.elf_ident import (
    ELF_MAGIC,
    ElfError,
    ElfTruncatedError,
)

# -- the image: bytes plus bounds-checked access ------------------------------


class Image(NamedTuple):
    data: memoryview
    layout: Layout
    loads: tuple[ElfSegment, ...] = ()
    #: The (start, end) ranges of ``data`` that hold the file's bytes, sorted
    #: and disjoint; None when all of it does. A reader that streams a large
    #: member keeps only the ranges the loader's tables are in.
    present: tuple[tuple[int, int], ...] | None = None

    @property
    def size(self) -> int:
        return len(self.data)


def reach(image: Image, offset: int) -> int:
    """Where the bytes available from ``offset`` on end (-1 when a range
    kept by a streaming reader does not hold ``offset``)."""
    if image.present is None:
        return image.size
    for start, end in image.present:
        if start <= offset < end:
            return end
    return -1


def require(image: Image, offset: int, size: int, what: str) -> None:
    """Fail unless ``size`` bytes at ``offset`` are available."""
    end = offset + size
    if end > reach(image, offset):
        raise ElfTruncatedError(
            f"{what} at offset {offset:#x} (size {size:#x}) lies beyond the "
            f"available {image.size} bytes",
            needed=end,
            offset=offset,
        )


def unpack(image: Image, fmt: struct.Struct, offset: int, what: str) -> tuple[int, ...]:
    require(image, offset, fmt.size, what)
    values: tuple[int, ...] = fmt.unpack_from(image.data, offset)
    return values


def unpack_array(
    image: Image, fmt: struct.Struct, offset: int, count: int, what: str
) -> Iterator[tuple[int, ...]]:
    """``count`` consecutive records; the whole extent is checked first."""
    size = fmt.size * count
    require(image, offset, size, what)
    return fmt.iter_unpack(image.data[offset : offset + size])


def address_to_offset(image: Image, address: int, size: int, what: str) -> int:
    """File offset of ``size`` bytes at virtual ``address``, as the loader
    would map them: they must lie inside the file part of one PT_LOAD."""
    for seg in image.loads:
        if seg.vaddr <= address and address + size <= seg.vaddr + seg.filesz:
            offset = seg.offset + (address - seg.vaddr)
            require(image, offset, size, what)
            return offset
    raise ElfError(
        f"{what} at address {address:#x} (size {size:#x}) is not inside the "
        "file part of any PT_LOAD segment"
    )


def segment_room(image: Image, address: int, what: str) -> int:
    """Bytes from ``address`` to the end of the file part of its PT_LOAD."""
    for seg in image.loads:
        if seg.vaddr <= address < seg.vaddr + seg.filesz:
            return seg.vaddr + seg.filesz - address
    raise ElfError(
        f"{what} at address {address:#x} is not inside the file part of any "
        "PT_LOAD segment"
    )


def decode(raw: bytes) -> str:
    # Paths and names are bytes to the loader; surrogateescape keeps any byte
    # sequence round-trippable (like os.fsdecode on Linux) and never raises.
    return raw.decode("utf-8", "surrogateescape")


class Header(NamedTuple):
    elf_type: int
    machine: int
    phoff: int
    shoff: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int


def layout_of(data: memoryview) -> Layout:
    if len(data) < len(ELF_MAGIC):
        if bytes(data) == ELF_MAGIC[: len(data)]:
            raise ElfTruncatedError(
                f"ELF identification lies beyond the available {len(data)} bytes",
                needed=IDENT_SIZE,
            )
        raise ElfError("not an ELF file (no \\x7fELF magic)")
    if bytes(data[:4]) != ELF_MAGIC:
        raise ElfError("not an ELF file (no \\x7fELF magic)")
    if len(data) < IDENT_SIZE:
        raise ElfTruncatedError(
            f"ELF identification lies beyond the available {len(data)} bytes",
            needed=IDENT_SIZE,
        )
    layout = layout_for(data[4], data[5])
    if layout is None:
        raise ElfError(f"unsupported ELF class {data[4]} or data encoding {data[5]}")
    return layout


class Dynamic(NamedTuple):
    #: DT_NEEDED, DT_RPATH, DT_RUNPATH string offsets, in file order.
    needed: tuple[int, ...]
    rpath: tuple[int, ...]
    runpath: tuple[int, ...]
    #: Scalar tags; the last entry wins, as in the loaders.
    values: dict[int, int]
    #: Every d_tag present before DT_NULL.
    tags: frozenset[int] = frozenset()
