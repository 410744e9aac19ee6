"""The dynamic symbol table read column by column (``elf_symbols``).

The names come from one split of the string table; the rule they must follow
is the one-name-at-a-time lookup of ``StringTable.get`` (from the offset to
the next NUL, at most MAX_STRING_LENGTH bytes, UTF-8 with surrogate escapes),
with offset 0 the empty name. A property test holds the split to that rule on random tables
and offsets, including offsets into the tail of a string (linkers share
suffixes), past the table, into an unterminated last string and names longer
than the cap; the sets the verdict uses are checked against the symbols one by
one.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pip._internal.libc.elf_format import (
    MAX_STRING_LENGTH,
    STB_GLOBAL,
    STB_LOCAL,
    STB_WEAK,
    ElfSymbol,
)
from pip._internal.libc.elf_ident import ElfError
from pip._internal.libc.elf_symbols import SymbolTable, _symbol_names
from pip._internal.libc.elf_tables import StringTable


def _one_at_a_time(table: bytes, offsets: list[int]) -> tuple[str, ...] | str:
    names = []
    for index, offset in enumerate(offsets, start=1):
        if offset == 0:
            names.append("")
            continue
        try:
            names.append(StringTable(table).get(offset, f"symbol {index}"))
        except ElfError as exc:
            return str(exc)
    return tuple(names)


def _columns(table: bytes, offsets: list[int]) -> tuple[str, ...] | str:
    try:
        return _symbol_names(StringTable(table), tuple(offsets))
    except ElfError as exc:
        return str(exc)


strings = st.lists(
    st.one_of(
        st.binary(max_size=12).filter(lambda b: b"\0" not in b),
        st.text(max_size=6).map(lambda t: t.replace("\0", "").encode()),
        st.just(b"\xff\xfe"),  # not UTF-8: surrogate escapes
        st.just(b"x" * (MAX_STRING_LENGTH + 1)),
    ),
    max_size=12,
)


@settings(max_examples=400, deadline=None, database=None)
@given(strings, st.booleans(), st.booleans(), st.data())
def test_split_names_follow_the_one_at_a_time_rule(
    pieces: list[bytes], leading_nul: bool, terminated: bool, data: st.DataObject
) -> None:
    table = (b"\0" if leading_nul else b"") + b"\0".join(pieces)
    if terminated and pieces:
        table += b"\0"
    offsets = data.draw(
        st.lists(st.integers(min_value=0, max_value=len(table) + 2), max_size=20)
    )
    assert _columns(table, offsets) == _one_at_a_time(table, offsets)


def test_a_name_in_the_tail_of_another() -> None:
    table = b"\0memcpy\0"
    assert _symbol_names(StringTable(table), (1, 4, 0)) == ("memcpy", "cpy", "")


def test_the_first_bad_symbol_is_the_one_reported() -> None:
    table = b"\0ok\0" + b"y" * (MAX_STRING_LENGTH + 1) + b"\0"
    with pytest.raises(ElfError, match="symbol 2 string at 0x4 is not NUL-terminated"):
        _symbol_names(StringTable(table), (1, 4, 99_999))
    with pytest.raises(ElfError, match=r"symbol 2 string offset 0x1869f is outside"):
        _symbol_names(StringTable(table), (1, 99_999, 4))


SYMBOLS = (
    ElfSymbol("malloc", False, STB_GLOBAL, 2, "GLIBC_2.2.5"),
    ElfSymbol("statx", False, STB_GLOBAL, 2, "GLIBC_2.28"),
    ElfSymbol("__gmon_start__", False, STB_WEAK, 0, None),
    ElfSymbol("PyInit_x", True, STB_GLOBAL, 2, None),
    ElfSymbol("helper", True, STB_LOCAL, 2, None),
    ElfSymbol("", False, STB_LOCAL, 0, None),
)


def _table() -> SymbolTable:
    # DT_VERSYM: index 0 is the null symbol's; 2 and 3 name versions.
    return SymbolTable(
        names=tuple(s.name for s in SYMBOLS),
        info=tuple(s.binding << 4 | s.kind for s in SYMBOLS),
        sections=tuple(0 if not s.defined else 11 for s in SYMBOLS),
        versym=(0, 2, 3 | 0x8000, 0, 1, 1, 0),
        version_names={2: "GLIBC_2.2.5", 3: "GLIBC_2.28"},
    )


def test_symbols_are_made_on_demand_with_their_versions() -> None:
    table = _table()
    assert len(table) == len(SYMBOLS)
    assert tuple(table) == SYMBOLS
    assert table == SYMBOLS
    assert table[1] == SYMBOLS[1]
    assert table[-1] == SYMBOLS[-1]
    assert table[1:3] == SYMBOLS[1:3]
    with pytest.raises(IndexError):
        table[len(SYMBOLS)]


def test_the_sets_the_verdict_uses() -> None:
    table = _table()
    assert table.undefined_names() == {"malloc", "statx", "__gmon_start__"}
    assert table.weak_undefined_names() == {"__gmon_start__"}
    assert table.exported_names() == {"PyInit_x"}
    assert table.undefined_needing({"GLIBC_2.28"}) == {"statx"}
    assert table.undefined_needing({"GLIBC_2.99"}) == set()
    assert SymbolTable(*_table_columns(), versym=None).undefined_needing(
        {"GLIBC_2.28"}
    ) == set()


def _table_columns() -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    return (
        tuple(s.name for s in SYMBOLS),
        tuple(s.binding << 4 | s.kind for s in SYMBOLS),
        tuple(0 if not s.defined else 11 for s in SYMBOLS),
    )
