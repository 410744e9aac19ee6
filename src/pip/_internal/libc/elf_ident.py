"""The cheap part of reading an ELF file: identity, program headers, PT_INTERP.

Host detection runs on pip's start-up path (every tag computation), where the full
reader in ``elf`` (dataclasses, symbol tables) costs more to import than the whole
detection takes. This module imports only ``os``, ``stat`` and ``struct`` and
reads what the kernel reads before it starts a program. ``elf`` builds on it: the
error types and the bounded file read live here, once.

Reads are bounded by *size*, never by position: the program header table and
PT_INTERP are read where the ELF header says they are (``patchelf
--set-interpreter`` and relocated interpreters put PT_INTERP at the end of a
multi-megabyte file), but never more than ``MAX_PROGRAM_HEADERS`` entries and
``MAX_INTERPRETER_LENGTH`` bytes of it.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Callable
from typing import Final

#: How much of a file's start is read first: ELF header, program headers and
#: PT_INTERP sit in the first page of every file a linker writes; what lies
#: elsewhere is read where the headers say (bounded by size, not by position).
#: Also the prefix ``elf.read_elf_header`` reads.
HEADER_MAX_BYTES: Final = 64 * 1024
#: The first read of :func:`read_ident`.
FIRST_READ_BYTES: Final = 4096
MAX_PROGRAM_HEADERS: Final = 4096
MAX_SECTION_HEADERS: Final = 4096
MAX_INTERPRETER_LENGTH: Final = 4096

ELF_MAGIC: Final = b"\x7fELF"
ELFCLASS32: Final = 1
ELFCLASS64: Final = 2
ELFDATA2LSB: Final = 1
ELFDATA2MSB: Final = 2
PT_LOAD: Final = 1
PT_INTERP: Final = 3
PF_X: Final = 1
PF_W: Final = 2


class ElfError(Exception):
    """The input is not an ELF file this reader can make sense of."""


class ElfTruncatedError(ElfError):
    """Something needed lies beyond the bytes given.

    The input may be a prefix of a larger file (for example the first bytes of
    a compressed wheel member), or hold only some ranges of one: ``needed``
    tells how many bytes from the start would have been enough for the part
    that failed, and ``offset`` where that part starts (so a reader that keeps
    only some ranges knows which one to add).
    """

    def __init__(self, message: str, needed: int, offset: int = 0) -> None:
        super().__init__(message)
        self.needed = needed
        self.offset = offset


class ElfIdent:
    """Who an ELF file is: class, byte order, machine, type, loader, segments.

    A plain class (not a NamedTuple or dataclass): it is built on pip's start-up
    path, where creating a NamedTuple class compiles code at import time.
    """

    __slots__ = (
        "byte_order",
        "elf_class",
        "elf_type",
        "interpreter",
        "loads",
        "machine",
        "shentsize",
        "shnum",
        "shoff",
        "shstrndx",
    )

    def __init__(  # noqa: PLR0917 (positional, as the NamedTuple it replaced)
        self,
        elf_class: int,
        byte_order: str,
        machine: int,
        elf_type: int,
        interpreter: str | None,
        loads: tuple[tuple[int, int, int], ...],
        shoff: int = 0,
        shentsize: int = 0,
        shnum: int = 0,
        shstrndx: int = 0,
    ) -> None:
        self.elf_class = elf_class
        self.byte_order = byte_order
        self.machine = machine
        self.elf_type = elf_type
        self.interpreter = interpreter
        #: PT_LOAD segments as (file offset, file size, flags).
        self.loads = loads
        #: Section header table: offset, entry size, count, index of the
        #: section-name string table (all 0 when absent).
        self.shoff = shoff
        self.shentsize = shentsize
        self.shnum = shnum
        self.shstrndx = shstrndx

    def __repr__(self) -> str:
        return (
            f"ElfIdent(elf_class={self.elf_class}, byte_order={self.byte_order!r}, "
            f"machine={self.machine}, elf_type={self.elf_type}, "
            f"interpreter={self.interpreter!r}, loads={self.loads!r})"
        )


#: Reads ``size`` bytes at ``offset`` or raises :class:`ElfError`.
Fetch = Callable[[int, int], bytes]

_HEADERS: dict[tuple[int, str], tuple[struct.Struct, struct.Struct]] = {}


def _formats(elf_class: int, order: str) -> tuple[struct.Struct, struct.Struct]:
    key = (elf_class, order)
    found = _HEADERS.get(key)
    if found is not None:
        return found
    if elf_class == ELFCLASS32:
        # e_type, e_machine, e_phoff, e_shoff, e_phentsize, e_phnum,
        # e_shentsize, e_shnum, e_shstrndx
        header = struct.Struct(f"{order}HHxxxxxxxxLLxxxxxxHHHHH")
        # p_type, p_offset, p_filesz, p_flags
        phdr = struct.Struct(f"{order}LLxxxxxxxxLxxxxL")
    else:
        header = struct.Struct(f"{order}HHxxxxxxxxxxxxQQxxxxxxHHHHH")
        # p_type, p_flags, p_offset, p_filesz
        phdr = struct.Struct(f"{order}LLQxxxxxxxxxxxxxxxxQ")
    _HEADERS[key] = header, phdr
    return header, phdr


def parse_ident(data: bytes | memoryview) -> ElfIdent:
    """Parse the identity, PT_LOAD segments and PT_INTERP of an ELF image.

    Everything must lie within ``data``; what does not raises
    :class:`ElfTruncatedError` with the length that would do.
    """
    view = memoryview(data).cast("B")

    def fetch(offset: int, size: int) -> bytes:
        if offset + size > len(view):
            raise ElfTruncatedError(
                f"{size} bytes at offset {offset:#x} beyond the available "
                f"{len(view)} bytes",
                needed=offset + size,
            )
        return bytes(view[offset : offset + size])

    return _parse(bytes(view[:FIRST_READ_BYTES]), fetch)


def _parse(head: bytes, fetch: Fetch) -> ElfIdent:
    """The identity from the file's first bytes ``head``; ``fetch`` reads the
    program header table and PT_INTERP when they lie beyond ``head``."""
    size = len(head)
    if size < 16 or head[:4] != ELF_MAGIC:
        raise ElfError("not an ELF file (no \\x7fELF magic)")
    elf_class, data_encoding = head[4], head[5]
    if elf_class not in (ELFCLASS32, ELFCLASS64):
        raise ElfError(f"unknown ELF class {elf_class}")
    if data_encoding not in (ELFDATA2LSB, ELFDATA2MSB):
        raise ElfError(f"unknown ELF data encoding {data_encoding}")
    order = "<" if data_encoding == ELFDATA2LSB else ">"
    header, phdr = _formats(elf_class, order)
    if size < 16 + header.size:
        head = fetch(0, 16 + header.size)
    (
        elf_type, machine, phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx
    ) = header.unpack_from(head, 16)  # fmt: skip
    if phnum > MAX_PROGRAM_HEADERS:
        raise ElfError(f"more than {MAX_PROGRAM_HEADERS} program headers")
    if phnum and phentsize < phdr.size:
        raise ElfError(f"program header entries of {phentsize} bytes are too small")
    table_size = phnum * phentsize
    if phoff + table_size <= size:
        table, base = head, phoff
    else:
        table, base = fetch(phoff, table_size), 0
    loads = []
    interpreter = None
    is32 = elf_class == ELFCLASS32
    for index in range(phnum):
        fields = phdr.unpack_from(table, base + index * phentsize)
        if is32:
            p_type, p_offset, p_filesz, p_flags = fields
        else:
            p_type, p_flags, p_offset, p_filesz = fields
        if p_type == PT_LOAD:
            loads.append((p_offset, p_filesz, p_flags))
        elif p_type == PT_INTERP and interpreter is None:
            interpreter = _interpreter(head, fetch, p_offset, p_filesz)
    return ElfIdent(
        elf_class * 32,
        "little" if order == "<" else "big",
        machine,
        elf_type,
        interpreter,
        tuple(loads),
        shoff,
        shentsize,
        shnum,
        shstrndx,
    )


def _interpreter(head: bytes, fetch: Fetch, offset: int, length: int) -> str:
    if length == 0 or length > MAX_INTERPRETER_LENGTH:
        raise ElfError(f"PT_INTERP of {length} bytes")
    if offset + length <= len(head):
        raw = head[offset : offset + length]
    else:
        raw = fetch(offset, length)
    if not raw.endswith(b"\0"):
        raise ElfError("PT_INTERP is not NUL-terminated")
    path = raw[:-1]
    if not path or b"\0" in path:
        raise ElfError("empty or embedded-NUL PT_INTERP")
    # Paths are bytes to the loader; surrogateescape keeps any byte sequence.
    return path.decode("utf-8", "surrogateescape")


def read_ident(
    path: str | os.PathLike[str], *, max_bytes: int = FIRST_READ_BYTES
) -> ElfIdent:
    """The identity of the ELF file at ``path``: its first ``max_bytes``, then
    the program headers and PT_INTERP wherever they are (bounded by size)."""
    with ElfReader(path) as reader:
        return reader.ident(max_bytes)


class ElfReader:
    """Bounded positional reads of one regular file (a context manager).

    Opened like :func:`read_file_prefix` (no directories, FIFOs or devices,
    no blocking open); every read is checked against the size ``fstat``
    reported, so a file growing meanwhile cannot make it read more.
    """

    __slots__ = ("fd", "name", "size")

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.fd, self.name, self.size = _open_regular(path)

    def __enter__(self) -> ElfReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def read(self, offset: int, size: int) -> bytes:
        """Exactly ``size`` bytes at ``offset``, or :class:`ElfError`."""
        if offset < 0 or size < 0 or offset + size > self.size:
            raise ElfError(
                f"{size} bytes at offset {offset:#x} lie beyond the end of "
                f"{self.name!r} ({self.size} bytes)"
            )
        try:
            data = os.pread(self.fd, size, offset)
            while len(data) < size:
                more = os.pread(self.fd, size - len(data), offset + len(data))
                if not more:
                    raise ElfError(f"{self.name!r} shrank while being read")
                data += more
        except OSError as exc:
            raise ElfError(f"cannot read {self.name!r}: {_reason(exc)}") from None
        return data

    def ident(self, first: int = FIRST_READ_BYTES) -> ElfIdent:
        return _parse(self.read(0, min(first, self.size)), self.read)


def section_range(
    ident: ElfIdent, wanted: bytes, fetch: Fetch
) -> tuple[int, int] | None:
    """(file offset, size) of the SHT_PROGBITS section named ``wanted`` (e.g.
    ``b".rodata"``), or None when the file has no usable section headers.

    Reads the section header table and the section-name string table (about
    2 KB at the end of a shared library) through ``fetch``.
    """
    if not ident.shoff or not ident.shnum or ident.shnum > MAX_SECTION_HEADERS:
        return None
    order = "<" if ident.byte_order == "little" else ">"
    if ident.elf_class == 32:
        # sh_name, sh_type, sh_offset, sh_size
        shdr = struct.Struct(f"{order}LLxxxxxxxxLL")
    else:
        shdr = struct.Struct(f"{order}LLxxxxxxxxxxxxxxxxQQ")
    if ident.shentsize < shdr.size or ident.shstrndx >= ident.shnum:
        return None
    table = fetch(ident.shoff, ident.shnum * ident.shentsize)
    if len(table) < ident.shnum * ident.shentsize:
        return None
    entries = [shdr.unpack_from(table, i * ident.shentsize) for i in range(ident.shnum)]
    _, _, names_offset, names_size = entries[ident.shstrndx]
    names = fetch(names_offset, min(names_size, 64 * 1024))
    key = wanted + b"\0"
    for name, sh_type, offset, size in entries:
        # SHT_PROGBITS only: SHT_NOBITS has no bytes in the file.
        if sh_type == 1 and names[name : name + len(key)] == key:
            return offset, size
    return None


def _reason(exc: Exception) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)


# O_NONBLOCK and friends are POSIX-only; pip also runs on Windows, where there
# are no FIFOs to guard against.
_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
)


def _open_regular(path: str | os.PathLike[str]) -> tuple[int, str, int]:
    """Open the regular file ``path``: (fd, name, size), or :class:`ElfError`.

    Directories, FIFOs and devices are refused before they are opened, and the
    open itself cannot block on a FIFO swapped in after that check.
    """
    try:
        name = os.fsdecode(path)
        st = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise ElfError(f"cannot stat {path!r}: {_reason(exc)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ElfError(f"not a regular file: {name!r}")
    try:
        # O_NONBLOCK: if a FIFO is swapped in after the stat, open() and read()
        # return at once instead of waiting for a writer.
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise ElfError(f"cannot open {name!r}: {_reason(exc)}") from None
    try:
        st = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise ElfError(f"cannot stat {name!r}: {_reason(exc)}") from None
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ElfError(f"not a regular file: {name!r}")
    return fd, name, st.st_size


def read_file_prefix(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """Up to ``max_bytes`` of the regular file ``path``.

    Raises :class:`ElfError` for anything that is not a readable regular file
    (see :func:`_open_regular`).
    """
    if max_bytes < 1:
        raise ValueError("max_bytes must be positive")
    fd, name, size = _open_regular(path)
    try:
        # Only what fstat promised, so a file growing meanwhile cannot make this
        # read more than max_bytes; os.read returns short only at EOF or past
        # 2 GiB, hence the loop.
        want = min(size, max_bytes)
        chunks = []
        got = 0
        while got < want:
            chunk = os.read(fd, want - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise ElfError(f"cannot read {name!r}: {_reason(exc)}") from None
    finally:
        os.close(fd)
