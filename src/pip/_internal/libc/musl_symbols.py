"""Which musl release first exported each libc symbol, per architecture.

musl has no symbol versions. Its compatibility promise is simpler: a binary
runs on an older musl as long as it uses no symbol that musl lacks. So "which
musl does this binary need" is answered by a table of symbols and the releases
that export them, built from the exported dynamic symbols of ``libc.so`` of
every upstream release (the data file ``musl-libc-symbols.tsv`` next to this
module; its provenance is in the project's data README).

The table serves two purposes: explaining a refusal ("needs musl >= 1.2.5 for
``statx``") and telling which ``musllinux_1_x`` a wheel really needs. Whether a
binary loads on *this* host is decided by the host's own libc image, because
distributions patch musl (Debian's 1.2.3 adds ``fts_*`` and drops ``crypt``).

Everything here is a pure function of its arguments and the data file; the file
is read and parsed once per process, on first use (never at import: pip's start
is a hot path).
"""

import functools
from collections.abc import Iterable, KeysView, Mapping
from importlib import resources
from typing import Final, NamedTuple

__all__ = [
    "LFS64_REMAP_RELEASE",
    "TABLE_ARCHS",
    "MuslRelease",
    "SymbolRows",
    "first_musl_release",
    "is_known_libc_symbol",
    "is_lfs64_alias",
    "last_musl_release",
    "lfs64_base_name",
    "musl_remaps_lfs64",
    "musllinux_needed_for",
    "table_arch",
]

MuslRelease = tuple[int, int, int]

DATA_FILE: Final = "musl-libc-symbols.tsv"
_PACKAGE: Final = __name__.rpartition(".")[0]

#: musl 1.2.4 removed the LFS64 aliases (``stat64`` ...) from libc but taught
#: its dynamic linker to bind a missing ``name64`` to ``name``, so old binaries
#: keep loading.
LFS64_REMAP_RELEASE: Final[MuslRelease] = (1, 2, 4)
#: The last release of the remapping's first form, which copied the symbol name
#: into a 16-byte buffer and gave up on names of 16 characters or more: the one
#: such alias, ``posix_fallocate64``, is not remapped up to and including
#: 1.2.5 (ldso/dynlink.c, get_lfs64). Later code measures the name instead.
LFS64_SHORT_NAMES_UNTIL: Final[MuslRelease] = (1, 2, 5)
_LFS64_NAME_BUFFER: Final = 16

#: The last release before 1.2.4: the LFS64 alias rows of the table end here.
_LAST_LFS64_RELEASE: Final[MuslRelease] = (1, 2, 3)

# Wheel-tag architectures whose rows the table holds under another name.
_TABLE_ARCH_ALIASES: Final[Mapping[str, str]] = {"i686": "i386", "i386": "i386"}
#: The architectures the table has rows for (a unit test holds this to the
#: data file), known without reading it.
TABLE_ARCHS: Final = frozenset({"aarch64", "i386", "x86_64"})
#: Rows used for architectures the table does not cover. musl's public symbol
#: set is nearly the same on every 64-bit port; x86_64 has the longest history.
FALLBACK_TABLE_ARCH: Final = "x86_64"


class SymbolRows(NamedTuple):
    """The table's rows for one architecture: symbol -> (first, last) release."""

    arch: str
    releases: Mapping[str, tuple[MuslRelease, MuslRelease]]


def _parse_release(text: str) -> MuslRelease:
    major, minor, patch = text.split(".")
    return int(major), int(minor), int(patch)


def parse_symbol_table(text: str, arch: str | None = None) -> dict[str, SymbolRows]:
    """Parse the TSV (header ``arch symbol first_release last_release``): all
    of its rows, or those of ``arch`` only (a process needs one architecture's
    third of the table)."""
    rows: dict[str, dict[str, tuple[MuslRelease, MuslRelease]]] = {}
    # A few dozen distinct (first, last) pairs serve ~6000 rows: parse each once.
    pairs: dict[tuple[str, str], tuple[MuslRelease, MuslRelease]] = {}
    lines = text.splitlines()
    header = lines[0] if lines else ""
    if header.split("\t") != ["arch", "symbol", "first_release", "last_release"]:
        raise ValueError(f"unexpected header in {DATA_FILE}: {header!r}")
    del lines[0]
    if arch is not None:
        prefix = arch + "\t"
        lines = [line for line in lines if line.startswith(prefix)]
    for line in lines:
        if not line:
            continue
        row_arch, symbol, first, last = line.split("\t")
        pair = pairs.get((first, last))
        if pair is None:
            pair = pairs[first, last] = (_parse_release(first), _parse_release(last))
        rows.setdefault(row_arch, {})[symbol] = pair
    return {name: SymbolRows(name, releases) for name, releases in rows.items()}


@functools.cache
def _symbol_table(arch: str) -> SymbolRows:
    # The edge: read the data file shipped in this package once per
    # architecture and process (one, in practice).
    text = resources.files(_PACKAGE).joinpath(DATA_FILE).read_text("utf-8")
    return parse_symbol_table(text, arch).get(arch, SymbolRows(arch, {}))


def table_arch(arch: str) -> str:
    """The table's architecture for a wheel-tag architecture: ``i686`` is
    ``i386``; one the table lacks gets the x86_64 rows."""
    name = _TABLE_ARCH_ALIASES.get(arch, arch)
    return name if name in TABLE_ARCHS else FALLBACK_TABLE_ARCH


def _rows(arch: str) -> Mapping[str, tuple[MuslRelease, MuslRelease]]:
    return _symbol_table(table_arch(arch)).releases


def first_musl_release(symbol: str, arch: str) -> MuslRelease | None:
    """The first musl release whose libc exports ``symbol`` on ``arch`` (wheel
    tag spelling); None if no release does.

    >>> first_musl_release("statx", "x86_64")
    (1, 2, 5)
    """
    row = _rows(arch).get(symbol)
    return None if row is None else row[0]


def last_musl_release(symbol: str, arch: str) -> MuslRelease | None:
    """The last release exporting ``symbol`` (1.2.6, the newest covered, when
    it is still exported); None if no release does."""
    row = _rows(arch).get(symbol)
    return None if row is None else row[1]


def known_libc_symbols(arch: str) -> KeysView[str]:
    """Every symbol some musl release exports from libc on ``arch`` (a set
    view: intersecting with it is one C-level operation)."""
    return _rows(arch).keys()


def is_known_libc_symbol(symbol: str, arch: str) -> bool:
    """Whether some musl release exports ``symbol`` from libc on ``arch``."""
    return symbol in _rows(arch)


def lfs64_base_name(symbol: str) -> str | None:
    """The name an LFS64 alias stands for: ``stat64`` -> ``stat``,
    ``readdir64_r`` -> ``readdir_r``; None for a name without ``64``."""
    if symbol.endswith("64"):
        return symbol[:-2]
    if symbol.endswith("64_r"):
        return symbol[:-4] + "_r"
    return None


def is_lfs64_alias(symbol: str, arch: str) -> bool:
    """Whether ``symbol`` is one of the LFS64 aliases musl 1.2.4 removed: its
    row ends at 1.2.3 and the name without ``64`` is exported too."""
    rows = _rows(arch)
    row = rows.get(symbol)
    if row is None or row[1] != _LAST_LFS64_RELEASE:
        return False
    base = lfs64_base_name(symbol)
    return base is not None and base in rows


def musl_remaps_lfs64(symbol: str, arch: str, release: tuple[int, ...]) -> bool:
    """Whether the dynamic linker of musl ``release`` binds a missing LFS64
    alias ``symbol`` to its base name (see :data:`LFS64_REMAP_RELEASE`)."""
    if tuple(release) < LFS64_REMAP_RELEASE or not is_lfs64_alias(symbol, arch):
        return False
    return len(symbol) < _LFS64_NAME_BUFFER or tuple(release) > LFS64_SHORT_NAMES_UNTIL


def musllinux_needed_for(symbols: Iterable[str], arch: str) -> tuple[int, int] | None:
    """The ``musllinux_1_x`` (as ``(1, x)``) a binary with these undefined
    symbols needs: the newest first release among the libc symbols it uses.

    Symbols the table does not know (the interpreter's ``Py*``, C++ runtime
    symbols, ...) do not count; None when no libc symbol is used. The table
    starts at 1.1.0, so ``(1, 1)`` is the lowest answer: it also stands for
    "1.0 may do, the table cannot tell".
    """
    rows = _rows(arch)
    newest: MuslRelease | None = None
    for symbol in symbols:
        row = rows.get(symbol)
        if row is not None and (newest is None or row[0] > newest):
            newest = row[0]
    return None if newest is None else (newest[0], newest[1])
