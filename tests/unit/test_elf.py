"""The bounded ELF reader on synthetic, odd and hostile inputs.

Synthetic images come from tests.lib.loaders.build_elf (checked against
readelf below); hostile ones corrupt exactly one field of such an image.
Every bad input must give ElfError -- never IndexError, struct.error,
MemoryError, OverflowError or a hang -- quickly and with little memory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from pip._internal.libc import elf, elf_format
from pip._internal.libc.elf import (
    ElfError,
    ElfFile,
    ElfSymbol,
    ElfTruncatedError,
    parse_elf,
    read_elf,
    read_elf_header,
)
from tests.lib import loaders
from tests.lib.loaders import (
    DT_GNU_HASH,
    DT_HASH,
    DT_NEEDED,
    DT_NULL,
    DT_STRSZ,
    DT_STRTAB,
    DT_SYMENT,
    DT_VERNEEDNUM,
    DT_VERSYM,
    EM_S390,
    STB_WEAK,
    STT_OBJECT,
    SymbolSpec,
    SyntheticElf,
    build_elf,
    patch,
    word_size,
)

LAYOUTS = [(32, "little"), (32, "big"), (64, "little"), (64, "big")]
LAYOUT_IDS = [f"elf{c}-{o}" for c, o in LAYOUTS]

#: Each hostile input must be rejected within this long...
#: ...and without allocating more than this.
MEMORY_LIMIT = 8 * 1024 * 1024

SYMBOLS = (
    SymbolSpec("small_copy"),
    SymbolSpec("memcpy", defined=False, version="GLIBC_2.14"),
    SymbolSpec("small_answer", kind=STT_OBJECT),
    SymbolSpec("statx", defined=False, version="GLIBC_2.28"),
    SymbolSpec("__gmon_start__", defined=False, binding=STB_WEAK),
    SymbolSpec("small_weak", binding=STB_WEAK),
)
VERSION_NEEDS = (("libc.so.6", ("GLIBC_2.14", "GLIBC_2.28")),)


def full_image(
    elf_class: int = 64, byte_order: str = "little", **overrides: object
) -> SyntheticElf:
    options: dict[str, object] = {
        "interpreter": b"/lib/ld-musl-x86_64.so.1",
        "needed": ("libc.so", "libfoo.so.1"),
        "soname": "libsmall.so.1",
        "rpath": "/opt/a:/opt/b",
        "runpath": "$ORIGIN/../lib",
        "symbols": SYMBOLS,
        "version_needs": VERSION_NEEDS,
    }
    options.update(overrides)
    return build_elf(elf_class=elf_class, byte_order=byte_order, **options)  # type: ignore[arg-type]


def assert_rejected(
    data: bytes,
    match: str | None = None,
    kind: type[ElfError] = ElfError,
    **kwargs: bool,
) -> ElfError:
    """parse_elf(data) raises ``kind`` fast, cheaply, with a one-line message."""
    tracemalloc.start()
    try:
        with pytest.raises(kind, match=match) as info:
            parse_elf(data, **kwargs)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"allocated {peak} bytes"
    message = str(info.value)
    assert message
    assert "\n" not in message
    return info.value


# -- synthetic images: what comes out is what went in -------------------------


@pytest.mark.parametrize(("elf_class", "byte_order"), LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("hash_style", ["sysv", "gnu", "both"])
def test_synthetic_image_round_trips(
    elf_class: int, byte_order: str, hash_style: str
) -> None:
    image = full_image(elf_class, byte_order, hash_style=hash_style)
    result = parse_elf(image.data)
    assert result.elf_class == elf_class
    assert result.byte_order == byte_order
    assert result.machine == loaders.EM_X86_64
    assert result.elf_type == loaders.ET_DYN
    assert result.interpreter == "/lib/ld-musl-x86_64.so.1"
    assert result.has_dynamic
    assert result.needed == ("libc.so", "libfoo.so.1")
    assert result.soname == "libsmall.so.1"
    assert result.rpath == ("/opt/a", "/opt/b")
    assert result.runpath == ("$ORIGIN/../lib",)
    assert result.version_needs == VERSION_NEEDS
    expected = tuple(
        ElfSymbol(s.name, s.defined, s.binding, s.kind, s.version)
        for s in image.symbols
    )
    assert result.symbols == expected
    assert result.defined_symbols == {"small_copy", "small_answer", "small_weak"}
    assert result.undefined_symbols == {"memcpy", "statx", "__gmon_start__"}


@pytest.mark.parametrize(("elf_class", "byte_order"), LAYOUTS, ids=LAYOUT_IDS)
def test_synthetic_image_agrees_with_readelf(
    elf_class: int, byte_order: str, tmp_path: Path
) -> None:
    """The builder writes what readelf reads, so the hostile cases below
    start from a valid file."""
    image = full_image(elf_class, byte_order)
    path = tmp_path / "synthetic.so"
    path.write_bytes(image.data)
    reference = loaders.readelf_view(path, use_dynamic=True)
    result = read_elf(path)
    assert (result.elf_class, result.byte_order) == (
        reference.elf_class,
        reference.byte_order,
    )
    assert result.elf_type == reference.elf_type
    assert result.interpreter == reference.interpreter
    assert result.needed == reference.needed
    assert result.soname == reference.soname
    assert result.rpath == reference.rpath
    assert result.runpath == reference.runpath
    assert result.defined_symbols == reference.defined
    assert result.undefined_symbols == reference.undefined
    versions = {s.name: s.version for s in result.symbols if s.version}
    assert versions == reference.undefined_versions


def test_wide_sysv_hash_of_64_bit_s390() -> None:
    # On 64-bit s390 (and alpha) DT_HASH entries are 8 bytes, not 4.
    image = full_image(64, "big", machine=EM_S390, hash_style="sysv")
    result = parse_elf(image.data)
    assert result.machine_name == "s390x"
    assert [s.name for s in result.symbols] == [s.name for s in image.symbols]


def test_symbol_count_from_section_headers_when_no_hash_table() -> None:
    image = full_image(hash_style="none", section_headers=True)
    assert len(parse_elf(image.data).symbols) == len(SYMBOLS)


def test_no_hash_table_and_no_section_headers_is_an_error() -> None:
    image = full_image(hash_style="none")
    assert_rejected(image.data, "without DT_HASH, DT_GNU_HASH")


def test_symbols_false_skips_the_symbol_table() -> None:
    image = full_image()
    # A broken symbol table does not matter when symbols are not asked for.
    broken = patch(image, image.offsets[f"dyn:{DT_SYMENT}"], 7, word_size(image))
    result = parse_elf(broken, symbols=False)
    assert result.symbols == ()
    assert result.version_needs == ()
    assert result.needed == ("libc.so", "libfoo.so.1")
    assert_rejected(broken, "DT_SYMENT 7")


def test_dynamic_false_reads_only_headers_and_interpreter() -> None:
    image = full_image()
    broken = patch(image, image.offsets[f"dyn:{DT_STRTAB}"], 1 << 40, word_size(image))
    result = parse_elf(broken, dynamic=False)
    assert result.interpreter == "/lib/ld-musl-x86_64.so.1"
    assert result.has_dynamic
    assert result.needed == ()
    assert_rejected(broken, "DT_STRTAB")


def test_executable_without_dynamic_section() -> None:
    image = build_elf(elf_type=loaders.ET_EXEC, dynamic=False)
    result = parse_elf(image.data)
    assert result.elf_type == loaders.ET_EXEC
    assert not result.has_dynamic
    assert result.interpreter is None
    assert result.symbols == ()


def test_non_utf8_interpreter_survives_round_trip() -> None:
    raw = b"/lib/ld-\xff\xfe-musl.so.1"
    result = parse_elf(build_elf(interpreter=raw).data)
    assert result.interpreter is not None
    assert os.fsencode(result.interpreter) == raw


@pytest.mark.parametrize(
    ("machine", "elf_class", "byte_order", "name"),
    [
        (62, 64, "little", "x86_64"),
        (3, 32, "little", "i386"),
        (183, 64, "little", "aarch64"),
        (40, 32, "little", "arm"),
        (21, 64, "little", "ppc64le"),
        (21, 64, "big", "ppc64"),
        (22, 64, "big", "s390x"),
        (22, 32, "big", "s390"),
        (243, 64, "little", "riscv64"),
        (8, 32, "little", "mipsel"),
        (258, 64, "little", "loongarch64"),
        (4242, 64, "little", "em_4242"),
    ],
)
def test_machine_name(machine: int, elf_class: int, byte_order: str, name: str) -> None:
    assert elf.machine_name(machine, elf_class, byte_order) == name
    image = build_elf(machine=machine, elf_class=elf_class, byte_order=byte_order)
    assert parse_elf(image.data).machine_name == name


# -- not ELF at all ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "beyond the available 0 bytes"),
        (b"\x7fEL", "beyond the available 3 bytes"),
        (b"#!/bin/sh\necho hello\n", "not an ELF file"),
        (b"MZ\x90\x00" + bytes(60), "not an ELF file"),
        (b"\x7fELF\x03\x01\x01" + bytes(57), "unsupported ELF class 3"),
        (b"\x7fELF\x02\x00\x01" + bytes(57), "data encoding 0"),
        (b"\x7fELF\x02\x01\x01" + bytes(9), "ELF header at offset 0x10"),
    ],
    ids=["empty", "magic-prefix", "shell-script", "pe", "class", "encoding", "short"],
)
def test_not_elf(data: bytes, match: str) -> None:
    assert_rejected(data, match)


# -- hostile images: one field corrupted ------------------------------------------


# Field positions (offset in the record, size) for 32- and 64-bit files.
_EHDR_FIELDS = {
    32: {"e_phoff": (28, 4), "e_phentsize": (42, 2), "e_phnum": (44, 2)},
    64: {"e_phoff": (32, 8), "e_phentsize": (54, 2), "e_phnum": (56, 2)},
}
_PHDR_FIELDS = {
    32: {"p_offset": (4, 4), "p_vaddr": (8, 4), "p_filesz": (16, 4)},
    64: {"p_offset": (8, 8), "p_vaddr": (16, 8), "p_filesz": (32, 8)},
}
# Program headers are written in the order [INTERP], LOAD, [LOAD], DYNAMIC.
INTERP, LOAD, DYNAMIC = 0, 1, 2


def set_ehdr(image: SyntheticElf, name: str, value: int) -> bytes:
    offset, size = _EHDR_FIELDS[image.elf_class][name]
    return patch(image, offset, value, size)


def set_phdr(image: SyntheticElf, index: int, name: str, value: int) -> bytes:
    offset, size = _PHDR_FIELDS[image.elf_class][name]
    record = 56 if image.elf_class == 64 else 32
    return patch(image, image.offsets["phdrs"] + index * record + offset, value, size)


def set_dyn(image: SyntheticElf, tag: int, value: int) -> bytes:
    return patch(image, image.offsets[f"dyn:{tag}"], value, word_size(image))


def set_u32(image: SyntheticElf, where: str, delta: int, value: int) -> bytes:
    """The 32-bit word ``delta`` bytes into the structure ``where``."""
    return patch(image, image.offsets[where] + delta, value, 4)


def word_max(image: SyntheticElf) -> int:
    return (1 << image.elf_class) - 1


def read_word(image: SyntheticElf, offset: int) -> int:
    raw = image.data[offset : offset + word_size(image)]
    return int.from_bytes(raw, "little" if image.byte_order == "little" else "big")


def sym_size(image: SyntheticElf) -> int:
    return 24 if image.elf_class == 64 else 16


def bloom_end(image: SyntheticElf) -> int:
    """Offset of the buckets in DT_GNU_HASH, relative to its start."""
    return 16 + word_size(image)


def gnu_chain_without_end(image: SyntheticElf) -> bytes:
    # The last chain entry loses its end bit and the PT_LOAD ends right
    # after it: the walk must stop at the segment's end. (This image has
    # no PT_INTERP, so LOAD is program header 0.)
    n_defined = sum(s.defined for s in image.symbols)
    chain_end = image.offsets["gnu_hash"] + bloom_end(image) + 4 + 4 * n_defined
    image = replace(image, data=patch(image, chain_end - 4, 0x1234_5670, 4))
    return set_phdr(image, 0, "p_filesz", chain_end)


def interp_without_nul(image: SyntheticElf) -> bytes:
    end = image.offsets["interp"] + len(b"/lib/ld-musl-x86_64.so.1")
    return image.data[:end] + b"X" + image.data[end + 1 :]


def dynamic_without_dt_null(image: SyntheticElf) -> bytes:
    # A huge p_filesz, and DT_NULL (the last entry) turned into DT_DEBUG.
    image = replace(image, data=set_phdr(image, DYNAMIC, "p_filesz", word_max(image)))
    entry = 2 * word_size(image)
    offset = image.offsets["dynamic"]
    while read_word(image, offset) != DT_NULL:
        offset += entry
    return patch(image, offset, 21, word_size(image))


def strtab_cut_in_last_string(image: SyntheticElf) -> bytes:
    size = read_word(image, image.offsets[f"dyn:{DT_STRSZ}"])
    return set_dyn(image, DT_STRSZ, size - 2)


def _gnu_only(elf_class: int, byte_order: str) -> SyntheticElf:
    return full_image(elf_class, byte_order, hash_style="gnu")


def _sysv_only(elf_class: int, byte_order: str) -> SyntheticElf:
    return full_image(elf_class, byte_order, hash_style="sysv")


def _gnu_only_without_interp(elf_class: int, byte_order: str) -> SyntheticElf:
    return build_elf(
        elf_class=elf_class,
        byte_order=byte_order,
        # Versions are read before symbols: none here, so the walk is reached.
        symbols=tuple(replace(s, version=None) for s in SYMBOLS),
        hash_style="gnu",
    )


def _two_version_files(elf_class: int, byte_order: str) -> SyntheticElf:
    needs = (("libc.so.6", ("GLIBC_2.14", "GLIBC_2.28")), ("libm.so.6", ()))
    return full_image(elf_class, byte_order, version_needs=needs)


@dataclass(frozen=True)
class Hostile:
    """One corrupted field: ``mutate`` turns a valid image into bad bytes,
    ``match`` is what the error message must say."""

    mutate: Callable[[SyntheticElf], bytes]
    match: str
    base: Callable[[int, str], SyntheticElf] = full_image


U32_MAX = 0xFFFF_FFFF

HOSTILE: dict[str, Hostile] = {
    # ELF and program headers
    "phoff-past-eof": Hostile(
        lambda i: set_ehdr(i, "e_phoff", len(i.data) + 64),
        "truncated program header table at offset",
    ),
    "phoff-max": Hostile(
        lambda i: set_ehdr(i, "e_phoff", word_max(i)),
        "truncated program header table",
    ),
    "phentsize": Hostile(
        lambda i: set_ehdr(i, "e_phentsize", 7), "program header size 7"
    ),
    "phnum-xnum": Hostile(
        lambda i: set_ehdr(i, "e_phnum", 0xFFFF), "too many program headers"
    ),
    "phnum-5000": Hostile(
        lambda i: set_ehdr(i, "e_phnum", 5000), "too many program headers"
    ),
    # PT_INTERP
    "interp-without-nul": Hostile(interp_without_nul, "no NUL terminator"),
    "interp-size-2^32-1": Hostile(
        lambda i: set_phdr(i, INTERP, "p_filesz", U32_MAX), "PT_INTERP size"
    ),
    "interp-past-eof": Hostile(
        lambda i: set_phdr(i, INTERP, "p_offset", len(i.data)),
        "PT_INTERP .* beyond the available",
    ),
    "interp-offset-max": Hostile(
        lambda i: set_phdr(i, INTERP, "p_offset", word_max(i)),
        "PT_INTERP .* beyond the available",
    ),
    # PT_DYNAMIC and PT_LOAD
    "dynamic-past-eof": Hostile(
        lambda i: set_phdr(i, DYNAMIC, "p_offset", len(i.data) + 8),
        "PT_DYNAMIC .* beyond the available",
    ),
    "dynamic-huge-without-null": Hostile(dynamic_without_dt_null, "no DT_NULL"),
    "load-vaddr-moved": Hostile(
        lambda i: set_phdr(i, LOAD, "p_vaddr", 0x10),
        "not inside the file part of any PT_LOAD",
    ),
    "load-offset-max": Hostile(
        lambda i: set_phdr(i, LOAD, "p_offset", word_max(i) - 0x10000),
        "beyond the available",
    ),
    # string table
    "strsz-2^32-1": Hostile(
        lambda i: set_dyn(i, DT_STRSZ, U32_MAX),
        "DT_STRSZ 0xffffffff runs past the end of its segment",
    ),
    "strsz-max": Hostile(
        lambda i: set_dyn(i, DT_STRSZ, word_max(i)), "DT_STRSZ .* runs past"
    ),
    "strtab-unmapped": Hostile(
        lambda i: set_dyn(i, DT_STRTAB, 0x10), "DT_STRTAB at address 0x10"
    ),
    "strtab-max": Hostile(lambda i: set_dyn(i, DT_STRTAB, word_max(i)), "DT_STRTAB"),
    "needed-outside-strtab": Hostile(
        lambda i: set_dyn(i, DT_NEEDED, 0x7FFF_FFFF),
        "DT_NEEDED string offset 0x7fffffff is outside the string table",
    ),
    "unterminated-string": Hostile(strtab_cut_in_last_string, "not NUL-terminated"),
    # symbol table and its size
    "syment": Hostile(lambda i: set_dyn(i, DT_SYMENT, 7), "DT_SYMENT 7"),
    "hash-nchain-2^32-1": Hostile(
        lambda i: set_u32(i, "hash", 4, U32_MAX),
        "DT_HASH claims 4294967295 symbols",
        _sysv_only,
    ),
    "hash-nbucket-2^32-1": Hostile(
        lambda i: set_u32(i, "hash", 0, U32_MAX),
        "DT_HASH claims 4294967295 buckets",
        _sysv_only,
    ),
    "hash-nchain-past-segment": Hostile(
        lambda i: set_u32(i, "hash", 4, 900_000),
        "DT_HASH table .* not inside",
        _sysv_only,
    ),
    "hash-unmapped": Hostile(
        lambda i: set_dyn(i, DT_HASH, 0x10),
        "DT_HASH header at address 0x10",
        _sysv_only,
    ),
    "gnu-nbuckets-2^32-1": Hostile(
        lambda i: set_u32(i, "gnu_hash", 0, U32_MAX),
        "DT_GNU_HASH header out of range",
        _gnu_only,
    ),
    "gnu-symoffset-2^32-1": Hostile(
        lambda i: set_u32(i, "gnu_hash", 4, U32_MAX),
        "DT_GNU_HASH header out of range",
        _gnu_only,
    ),
    "gnu-bloom-2^32-1": Hostile(
        lambda i: set_u32(i, "gnu_hash", 8, U32_MAX),
        "DT_GNU_HASH header out of range",
        _gnu_only,
    ),
    "gnu-bloom-past-segment": Hostile(
        lambda i: set_u32(i, "gnu_hash", 8, 900_000),
        "DT_GNU_HASH buckets .* not inside",
        _gnu_only,
    ),
    "gnu-bucket-2^32-1": Hostile(
        lambda i: set_u32(i, "gnu_hash", bloom_end(i), U32_MAX),
        "bucket points at symbol 4294967295",
        _gnu_only,
    ),
    "gnu-bucket-below-symoffset": Hostile(
        lambda i: set_u32(i, "gnu_hash", bloom_end(i), 1),
        "bucket points at symbol 1",
        _gnu_only,
    ),
    "gnu-chain-without-end": Hostile(
        gnu_chain_without_end, "chain has no end marker", _gnu_only_without_interp
    ),
    "gnu-unmapped": Hostile(
        lambda i: set_dyn(i, DT_GNU_HASH, 0x10),
        "DT_GNU_HASH header at address 0x10",
        _gnu_only,
    ),
    "symbol-name-outside-strtab": Hostile(
        lambda i: set_u32(i, "dynsym", sym_size(i), 0xFFFF_FFF0),
        "symbol 1 string offset 0xfffffff0 is outside the string table",
    ),
    # symbol versions (Verneed: vn_next at 12; Vernaux: vna_name 8, vna_next 12)
    "verneednum-2^32-1": Hostile(
        lambda i: set_dyn(i, DT_VERNEEDNUM, U32_MAX), "DT_VERNEEDNUM 4294967295 exceeds"
    ),
    "vernaux-next-wraps": Hostile(
        lambda i: set_u32(i, "verneed", 16 + 12, 0xFFFF_FFF0),
        "Vernaux at address .* not inside",
    ),
    "verneed-next-wraps": Hostile(
        lambda i: set_u32(i, "verneed", 12, 0xFFFF_FFF0),
        "Verneed at address .* not inside",
        _two_version_files,
    ),
    "vernaux-name-outside-strtab": Hostile(
        lambda i: set_u32(i, "verneed", 16 + 8, 0xFFFF_FF00),
        "version string offset .* outside the string table",
    ),
    "versym-unmapped": Hostile(
        lambda i: set_dyn(i, DT_VERSYM, 0x10), "DT_VERSYM at address 0x10"
    ),
}


@pytest.mark.parametrize(("elf_class", "byte_order"), LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_image_is_rejected_fast(
    case: str, elf_class: int, byte_order: str
) -> None:
    hostile = HOSTILE[case]
    image = hostile.base(elf_class, byte_order)
    # The unmodified image is fine: the one field is what breaks it.
    parse_elf(image.data)
    assert_rejected(hostile.mutate(image), hostile.match)


def test_string_longer_than_the_cap_is_rejected() -> None:
    long_name = "x" * (elf_format.MAX_STRING_LENGTH + 10)
    image = full_image(needed=(long_name,))
    assert_rejected(image.data, "not NUL-terminated within 4096 bytes")


def test_dynamic_section_with_huge_filesz_but_dt_null_parses() -> None:
    # Like the loaders, reading stops at DT_NULL; p_filesz only bounds it.
    image = full_image()
    data = set_phdr(image, DYNAMIC, "p_filesz", U32_MAX)
    assert parse_elf(data).needed == ("libc.so", "libfoo.so.1")


# -- prefixes: a prefix gives ElfTruncatedError or the full answer --------------


@pytest.fixture(scope="module")
def small_library(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = loaders.build_small_library(tmp_path_factory.mktemp("small") / "libsmall.so")
    return path.read_bytes()


def _check_every_prefix(data: bytes) -> int:
    full = parse_elf(data)
    complete_from = None
    started = time.perf_counter()
    for length in range(len(data) + 1):
        truncated: ElfTruncatedError | None
        try:
            result = parse_elf(data[:length])
        except ElfTruncatedError as exc:
            truncated = exc
        else:
            truncated = None
        if truncated is not None:
            assert complete_from is None or length < complete_from
            needed = truncated.needed
            assert length < needed <= len(data), (length, needed, str(truncated))
            continue
        # Anything else than ElfTruncatedError from a prefix of a valid file
        # would be a misdiagnosis, so plain ElfError propagates and fails.
        assert result == full, f"prefix of {length} bytes parsed differently"
        if complete_from is None:
            complete_from = length
    assert complete_from is not None
    assert time.perf_counter() - started < 10
    return complete_from


def test_every_prefix_of_a_real_shared_object(small_library: bytes) -> None:
    complete_from = _check_every_prefix(small_library)
    # Everything needed sits before the section headers at the file's end.
    assert complete_from < len(small_library)


@pytest.mark.parametrize(("elf_class", "byte_order"), LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("hash_style", ["sysv", "gnu"])
def test_every_prefix_of_a_synthetic_image(
    elf_class: int, byte_order: str, hash_style: str
) -> None:
    image = full_image(elf_class, byte_order, hash_style=hash_style)
    assert _check_every_prefix(image.data) == len(image.data)


def test_truncated_error_tells_how_much_is_needed(small_library: bytes) -> None:
    error = assert_rejected(small_library[:100], kind=ElfTruncatedError)
    assert isinstance(error, ElfTruncatedError)
    assert "beyond the available 100 bytes" in str(error)
    assert parse_elf(small_library[: len(small_library)]).soname == "libsmall.so.1"


# -- files ---------------------------------------------------------------------


def _read_elf_within(path: Path, seconds: float = 2.0) -> BaseException | ElfFile:
    """read_elf(path) in a thread, so a blocking open/read fails the test
    instead of hanging it."""
    outcome: list[BaseException | ElfFile] = []

    def target() -> None:
        try:
            outcome.append(read_elf(path))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"read_elf({path}) blocked"
    return outcome[0]


def _directory(d: Path) -> Path:
    return d


def _fifo(d: Path) -> Path:
    os.mkfifo(d / "fifo")
    return d / "fifo"


def _char_device(d: Path) -> Path:
    return Path("/dev/null")


def _empty(d: Path) -> Path:
    (d / "empty").touch()
    return d / "empty"


def _missing(d: Path) -> Path:
    return d / "missing"


def _dangling_symlink(d: Path) -> Path:
    (d / "dangling").symlink_to(d / "nowhere")
    return d / "dangling"


def _shell_script(d: Path) -> Path:
    (d / "script.sh").write_text("#!/bin/sh\necho hi\n")
    return d / "script.sh"


def _nul_in_path(d: Path) -> Path:
    return d / "with\0nul"


def _not_elf(d: Path) -> Path:
    (d / "text").write_bytes(b"\x7fELF but not really")
    return d / "text"


@pytest.mark.parametrize(
    "make",
    [_directory, _fifo, _char_device, _empty, _missing, _dangling_symlink,
     _shell_script, _not_elf, _nul_in_path],
)  # fmt: skip
def test_bad_file_is_rejected_without_blocking(
    make: Callable[[Path], Path], tmp_path: Path
) -> None:
    started = time.perf_counter()
    outcome = _read_elf_within(make(tmp_path))
    assert isinstance(outcome, ElfError), repr(outcome)
    assert "\n" not in str(outcome)
    assert time.perf_counter() - started < 1.0


def test_fifo_swapped_in_after_the_check_does_not_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MOCKED: os.stat is made to report a regular file for a FIFO, to stand
    in for a FIFO replacing the file between stat() and open(), a race that
    cannot be timed reliably. The O_NONBLOCK open and the fstat check must
    then refuse it without waiting for a writer."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    real_stat = os.stat
    regular = real_stat(__file__)
    monkeypatch.setattr(
        os, "stat", lambda p, *a, **k: regular if Path(p) == fifo else real_stat(p)
    )
    outcome = _read_elf_within(fifo)
    assert isinstance(outcome, ElfError)
    assert "not a regular file" in str(outcome)


def test_unreadable_file_is_rejected() -> None:
    """A real EACCES. Root ignores permission bits, so when running as root
    a child process imports the reader, drops to user nobody, then reads.
    The file lives in a fresh world-searchable directory under the system
    temp dir (pytest's tmp_path is private to root)."""
    directory = Path(tempfile.mkdtemp(prefix="pip-musl-eacces-"))
    try:
        directory.chmod(0o755)
        target = directory / "secret.so"
        target.write_bytes(full_image().data)
        target.chmod(0)
        if os.geteuid() != 0:
            with pytest.raises(ElfError, match="Permission denied"):
                read_elf(target)
            return
        code = (
            "import os, sys\n"
            "from pip._internal.libc.elf import ElfError, read_elf\n"
            "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
            "try:\n"
            "    read_elf(sys.argv[1])\n"
            "except ElfError as exc:\n"
            "    print(exc)\n"
            "    sys.exit(3)\n"
        )
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        proc = subprocess.run(
            [sys.executable, "-c", code, str(target)],
            capture_output=True, text=True, env=env, timeout=30, check=False,
        )  # fmt: skip
        assert proc.returncode == 3, proc.stdout + proc.stderr
        # "cannot open" here; "cannot stat" if TMPDIR is private to root.
        assert "Permission denied" in proc.stdout
    finally:
        shutil.rmtree(directory)


def test_symlink_to_a_regular_file_is_followed(tmp_path: Path) -> None:
    target = tmp_path / "libreal.so"
    target.write_bytes(full_image().data)
    link = tmp_path / "liblink.so"
    link.symlink_to(target.name)
    assert read_elf(link).soname == "libsmall.so.1"


def test_max_bytes_bounds_the_read(tmp_path: Path, small_library: bytes) -> None:
    path = tmp_path / "libsmall.so"
    path.write_bytes(small_library)
    error = assert_file_rejected(lambda: read_elf(path, max_bytes=200))
    assert isinstance(error, ElfTruncatedError)
    assert "beyond the available 200 bytes" in str(error)
    assert read_elf(path, max_bytes=len(small_library)).soname == "libsmall.so.1"
    with pytest.raises(ValueError, match="max_bytes"):
        read_elf(path, max_bytes=0)


def assert_file_rejected(call: Callable[[], object]) -> ElfError:
    with pytest.raises(ElfError) as info:
        call()
    return info.value


def test_read_elf_header_reads_the_interpreter_only(tmp_path: Path) -> None:
    program = loaders.compile_c(
        "int main(void) { return 0; }\n", tmp_path / "hello", compiler="gcc"
    )
    header = read_elf_header(program)
    assert header.interpreter == loaders.readelf_view(program).interpreter
    assert header.has_dynamic
    assert header.needed == ()
    assert header.symbols == ()
    # A file much larger than the header read still works: PT_INTERP is in
    # its first page.
    big = tmp_path / "big"
    big.write_bytes(program.read_bytes() + bytes(4 * elf.HEADER_MAX_BYTES))
    assert read_elf_header(big).interpreter == header.interpreter
