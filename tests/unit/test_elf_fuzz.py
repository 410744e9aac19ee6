"""Property test: whatever the bytes, the ELF reader returns an ElfFile or
raises ElfError, quickly.

Inputs are random bytes (with and without an ELF identification) and real
ELF images mutated: a small shared object compiled here with gcc and with
musl-gcc, and synthetic images of all four class/byte-order layouts, with
bytes and words overwritten (biased towards header, program header, dynamic
and hash-table fields, with boundary values), truncated and spliced.

The reader's private ``_parse`` is called, not ``parse_elf``: parse_elf
turns a stray struct.error into ElfError as a last safety net, and this test
is what shows that validation, not that net, does the work.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pip._internal.libc import elf, elf_format, elf_ident
from pip._internal.libc.elf import ElfError, ElfFile, ElfTruncatedError, parse_elf
from pip._internal.libc.musl_version import musl_version_from_image
from tests.lib import loaders
from tests.lib.loaders import SymbolSpec, build_elf

FUZZ_SETTINGS = settings(
    max_examples=300,
    deadline=200,  # milliseconds per example
    database=None,  # no .hypothesis directory in the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

BOUNDARY_VALUES = (
    0, 1, 2, 3, 4, 7, 8, 0x10, 0x40, 0x7F, 0x80, 0xFF, 0x100, 0x1000, 0x7FFF,
    0xFFFF, 0x10000, 0x400000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFF0, 0xFFFF_FFFF,
    1 << 32, (1 << 63) - 1, 1 << 63, (1 << 64) - 1,
)  # fmt: skip


@dataclass(frozen=True)
class Seed:
    name: str
    data: bytes = field(repr=False)
    byte_order: str = field(repr=False)
    #: (start, end) file ranges worth mutating more often than the rest.
    hot: tuple[tuple[int, int], ...] = field(repr=False)


def _hot_ranges(
    data: bytes, extra: dict[str, int] | None = None
) -> tuple[tuple[int, int], ...]:
    parsed = parse_elf(data)
    ranges = [(0, 64)]
    for seg in parsed.segments:
        if seg.type in (elf_format.PT_DYNAMIC, elf_ident.PT_INTERP):
            ranges.append((seg.offset, min(seg.offset + seg.filesz, len(data))))
    phoff = 64 if parsed.elf_class == 64 else 52
    phsize = 56 if parsed.elf_class == 64 else 32
    ranges.append((phoff, phoff + phsize * len(parsed.segments)))
    for offset in (extra or {}).values():
        ranges.append((offset, min(offset + 32, len(data))))
    return tuple((a, b) for a, b in ranges if a < b <= len(data))


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[Seed]:
    build_dir = tmp_path_factory.mktemp("fuzz-seeds")
    result = []
    for compiler in ("gcc", "musl-gcc"):
        path = loaders.build_small_library(
            build_dir / f"lib-{compiler}.so", compiler=compiler
        )
        data = path.read_bytes()
        result.append(Seed(compiler, data, "little", _hot_ranges(data)))
    symbols = (
        SymbolSpec("defined_one"),
        SymbolSpec("memcpy", defined=False, version="GLIBC_2.14"),
        SymbolSpec("weak_undefined", defined=False, binding=loaders.STB_WEAK),
        SymbolSpec("defined_two", kind=loaders.STT_OBJECT),
    )
    for elf_class in (32, 64):
        for byte_order in ("little", "big"):
            for hash_style in ("sysv", "gnu"):
                image = build_elf(
                    elf_class=elf_class,
                    byte_order=byte_order,
                    interpreter=b"/lib/ld-musl-x86_64.so.1",
                    needed=("libc.so",),
                    soname="libfuzz.so",
                    runpath="$ORIGIN",
                    symbols=symbols,
                    version_needs=(("libc.so.6", ("GLIBC_2.14",)),),
                    hash_style=hash_style,
                )
                name = f"synthetic-{elf_class}-{byte_order}-{hash_style}"
                hot = _hot_ranges(image.data, image.offsets)
                result.append(Seed(name, image.data, byte_order, hot))
    return result


def _check(data: bytes) -> None:
    """The property, for each way of reading."""
    view = memoryview(data)
    for symbols, dynamic in ((True, True), (False, True), (False, False)):
        error: ElfError | None = None
        try:
            result = elf._parse(view, symbols=symbols, dynamic=dynamic)
        except ElfError as exc:
            error = exc
        if error is not None:
            assert str(error)
            assert "\n" not in str(error)
            if isinstance(error, ElfTruncatedError):
                # Callers read more and retry: the answer must always ask
                # for bytes beyond those given, or they would loop.
                assert error.needed > len(data)
            continue
        assert isinstance(result, ElfFile)
        # The derived views must work on whatever was parsed.
        assert isinstance(result.machine_name, str)
        assert len(result.defined_symbols) + len(result.undefined_symbols) <= len(
            result.symbols
        )
    # The musl version rule reads the same bytes and must never raise.
    version = musl_version_from_image(data)
    assert version is None or len(version) == 3


@st.composite
def mutated(draw: st.DrawFn, seeds: list[Seed]) -> bytes:
    seed = draw(st.sampled_from(seeds))
    data = bytearray(seed.data)
    order: Literal["little", "big"] = "little" if seed.byte_order == "little" else "big"

    def position() -> int:
        # Earlier mutations may have truncated the data: stay inside it.
        last = len(data) - 1
        prefer_hot = draw(st.booleans())
        if seed.hot and prefer_hot:
            start, end = draw(st.sampled_from(seed.hot))
            if start <= last:
                return draw(st.integers(start, min(end - 1, last)))
        return draw(st.integers(0, last))

    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        kind = draw(st.sampled_from(["byte", "word", "word", "truncate", "splice"]))
        if kind == "byte":
            data[position()] = draw(st.integers(0, 255))
        elif kind == "word":
            size = draw(st.sampled_from([2, 4, 8]))
            at = position()
            value = draw(
                st.one_of(
                    st.sampled_from(BOUNDARY_VALUES),
                    st.integers(0, len(data) + 64),
                    st.integers(0, (1 << 64) - 1),
                )
            ) & ((1 << (8 * size)) - 1)
            data[at : at + size] = value.to_bytes(size, order)[: len(data) - at]
        elif kind == "truncate":
            del data[draw(st.integers(0, len(data))) :]
        else:
            start = position()
            length = draw(st.integers(1, 64))
            chunk = bytes(data[start : start + length])
            at = position()
            data[at : at + len(chunk)] = chunk
    return bytes(data)


@FUZZ_SETTINGS
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    _check(data)


@FUZZ_SETTINGS
@given(
    st.sampled_from([1, 2, 3]),
    st.sampled_from([1, 2, 0]),
    st.binary(min_size=0, max_size=4096),
)
def test_random_bytes_after_an_elf_identification(
    elf_class: int, encoding: int, rest: bytes
) -> None:
    _check(b"\x7fELF" + bytes([elf_class, encoding, 1]) + bytes(9) + rest)


@FUZZ_SETTINGS
@given(data=st.data())
def test_mutated_real_and_synthetic_images(
    seeds: list[Seed], data: st.DataObject
) -> None:
    _check(data.draw(mutated(seeds)))


def test_seeds_parse_unmutated(seeds: list[Seed]) -> None:
    """The mutations start from valid files (else the test fuzzes less)."""
    for seed in seeds:
        result = parse_elf(seed.data)
        assert result.has_dynamic, seed.name
        assert result.symbols, seed.name


def _outcome(data: bytes, present: tuple[tuple[int, int], ...]) -> object:
    try:
        return parse_elf(data, present=present)
    except ElfTruncatedError as exc:
        return ("truncated", exc.offset, exc.needed)
    except ElfError as exc:
        return ("error", str(exc))


@st.composite
def sparse_ranges(draw: st.DrawFn, size: int) -> tuple[tuple[int, int], ...]:
    cuts = sorted({*draw(st.lists(st.integers(0, size), max_size=8)), 0, size})
    pairs = [(a, b) for a, b in itertools.pairwise(cuts) if a < b]
    kept = [p for p in pairs if draw(st.booleans())]
    return tuple(kept)


@FUZZ_SETTINGS
@given(data=st.data())
def test_sparse_images_never_read_what_is_absent(
    seeds: list[Seed], data: st.DataObject
) -> None:
    # The streaming reader keeps only some ranges of a member: whatever the
    # parser answers must not depend on the bytes outside them, and a range it
    # asks for must lie inside the file and not be one it was given.
    image = data.draw(mutated(seeds))
    present = data.draw(sparse_ranges(len(image)))
    absent_zero = bytearray(len(image))
    absent_ones = bytearray(b"\xff" * len(image))
    for start, end in present:
        absent_zero[start:end] = image[start:end]
        absent_ones[start:end] = image[start:end]
    first = _outcome(bytes(absent_zero), present)
    assert first == _outcome(bytes(absent_ones), present)
    if isinstance(first, tuple) and first[0] == "truncated":
        _kind, offset, needed = first
        assert needed > offset or needed > len(image)
        assert not any(s <= offset and needed <= e for s, e in present)
    whole = _outcome(image, ((0, len(image)),))
    if not isinstance(first, tuple):
        # Given every byte it read, it reads them as the whole file does.
        assert first == whole
