"""The cheap part of reading an ELF file: identity, program headers, PT_INTERP.

Host detection runs on pip's start-up path (every tag computation), where the full
reader in ``elf`` (dataclasses, symbol tables) costs more to import than the whole
detection takes. This module imports only ``os``, ``stat`` and ``struct`` and
reads what the kernel reads before it starts a program. ``elf`` builds on it: the
error types and the bounded file read live here, once.
"""

from __future__ import annotations

import os
import stat
import struct
from typing import Final, NamedTuple

#: How much host detection reads: the ELF header, program headers and PT_INTERP
#: sit in the first page of every file a linker writes.
HEADER_MAX_BYTES: Final = 64 * 1024
MAX_PROGRAM_HEADERS: Final = 4096
MAX_INTERPRETER_LENGTH: Final = 4096

ELF_MAGIC: Final = b"\x7fELF"
ELFCLASS32: Final = 1
ELFCLASS64: Final = 2
ELFDATA2LSB: Final = 1
ELFDATA2MSB: Final = 2
PT_LOAD: Final = 1
PT_INTERP: Final = 3
PF_W: Final = 2


class ElfError(Exception):
    """The input is not an ELF file this reader can make sense of."""


class ElfTruncatedError(ElfError):
    """Something needed lies beyond the bytes given.

    The input may be a prefix of a larger file (for example the first bytes of
    a compressed wheel member): ``needed`` tells how many bytes from the start
    would have been enough for the part that failed.
    """

    def __init__(self, message: str, needed: int) -> None:
        super().__init__(message)
        self.needed = needed


class ElfIdent(NamedTuple):
    """Who an ELF file is: class, byte order, machine, type, loader, segments."""

    elf_class: int
    byte_order: str
    machine: int
    elf_type: int
    interpreter: str | None
    #: PT_LOAD segments as (file offset, file size, flags).
    loads: tuple[tuple[int, int, int], ...]


def _formats(elf_class: int, order: str) -> tuple[struct.Struct, struct.Struct]:
    if elf_class == ELFCLASS32:
        header = struct.Struct(f"{order}HHxxxxxxxxLxxxxxxxxxxHH")
        # p_type, p_offset, p_filesz, p_flags
        phdr = struct.Struct(f"{order}LLxxxxxxxxLxxxxL")
        return header, phdr
    header = struct.Struct(f"{order}HHxxxxxxxxxxxxQxxxxxxxxxxxxxxHH")
    # p_type, p_flags, p_offset, p_filesz
    phdr = struct.Struct(f"{order}LLQxxxxxxxxxxxxxxxxQ")
    return header, phdr


def parse_ident(data: bytes | memoryview) -> ElfIdent:
    """Parse the identity, PT_LOAD segments and PT_INTERP of an ELF image."""
    view = memoryview(data).cast("B")
    size = len(view)
    if size < 16 or bytes(view[:4]) != ELF_MAGIC:
        raise ElfError("not an ELF file (no \\x7fELF magic)")
    elf_class, data_encoding = view[4], view[5]
    if elf_class not in (ELFCLASS32, ELFCLASS64):
        raise ElfError(f"unknown ELF class {elf_class}")
    if data_encoding not in (ELFDATA2LSB, ELFDATA2MSB):
        raise ElfError(f"unknown ELF data encoding {data_encoding}")
    order = "<" if data_encoding == ELFDATA2LSB else ">"
    header, phdr = _formats(elf_class, order)
    if size < 16 + header.size:
        raise ElfTruncatedError("truncated ELF header", needed=16 + header.size)
    elf_type, machine, phoff, phentsize, phnum = header.unpack_from(view, 16)
    if phnum > MAX_PROGRAM_HEADERS:
        raise ElfError(f"more than {MAX_PROGRAM_HEADERS} program headers")
    if phnum and phentsize < phdr.size:
        raise ElfError(f"program header entries of {phentsize} bytes are too small")
    end = phoff + phnum * phentsize
    if phnum and end > size:
        raise ElfTruncatedError(
            f"program header table at offset {phoff:#x} beyond the available "
            f"{size} bytes",
            needed=end,
        )
    loads = []
    interpreter = None
    for index in range(phnum):
        fields = phdr.unpack_from(view, phoff + index * phentsize)
        if elf_class == ELFCLASS32:
            p_type, p_offset, p_filesz, p_flags = fields
        else:
            p_type, p_flags, p_offset, p_filesz = fields
        if p_type == PT_LOAD:
            loads.append((p_offset, p_filesz, p_flags))
        elif p_type == PT_INTERP and interpreter is None:
            interpreter = _interpreter(view, p_offset, p_filesz)
    byte_order = "little" if order == "<" else "big"
    return ElfIdent(
        elf_class * 32, byte_order, machine, elf_type, interpreter, tuple(loads)
    )


def _interpreter(view: memoryview, offset: int, length: int) -> str:
    if length == 0 or length > MAX_INTERPRETER_LENGTH:
        raise ElfError(f"PT_INTERP of {length} bytes")
    if offset + length > len(view):
        raise ElfTruncatedError(
            f"PT_INTERP at offset {offset:#x} beyond the available {len(view)} bytes",
            needed=offset + length,
        )
    raw = bytes(view[offset : offset + length])
    if not raw.endswith(b"\0"):
        raise ElfError("PT_INTERP is not NUL-terminated")
    path = raw[:-1]
    if not path or b"\0" in path:
        raise ElfError("empty or embedded-NUL PT_INTERP")
    # Paths are bytes to the loader; surrogateescape keeps any byte sequence.
    return path.decode("utf-8", "surrogateescape")


def read_ident(
    path: str | os.PathLike[str], *, max_bytes: int = HEADER_MAX_BYTES
) -> ElfIdent:
    """The identity of the ELF file at ``path``, from a bounded prefix."""
    return parse_ident(read_file_prefix(path, max_bytes))


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


def read_file_prefix(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """Up to ``max_bytes`` of the regular file ``path``.

    Directories, FIFOs and devices are refused before they are opened, and the
    open itself cannot block on a FIFO swapped in after that check. Raises
    :class:`ElfError` for anything that is not a readable regular file.
    """
    if max_bytes < 1:
        raise ValueError("max_bytes must be positive")
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
        if not stat.S_ISREG(st.st_mode):
            raise ElfError(f"not a regular file: {name!r}")
        # Only what fstat promised, so a file growing meanwhile cannot make this
        # read more than max_bytes; os.read returns short only at EOF or past
        # 2 GiB, hence the loop.
        want = min(st.st_size, max_bytes)
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
