"""How much work reading one wheel may cost: a wheel from an index may be hostile."""

from typing import Final, NamedTuple

KiB: Final = 1024
MiB: Final = 1024 * KiB


class InspectionLimits(NamedTuple):
    """How much work :func:`inspect_wheel` may do on one wheel."""

    #: Decompressed bytes read from an ELF member at first. Headers, dynamic
    #: symbols and strings sit at the start of a shared object; linkers put the
    #: dynamic section near the end, so most members need one more read.
    first_read: int = 256 * KiB
    #: The most of one member read (its ELF prefix the reader asks for). numpy's
    #: bundled OpenBLAS needs ~25 MiB, as its dynamic section is at the end.
    member_cap: int = 64 * MiB
    #: Decompressed bytes per wheel, over all members: bounds the time a wheel
    #: full of zip bombs named ``*.so`` can cost (inflating runs at a few
    #: hundred MB/s: about a second for the whole budget).
    wheel_budget: int = 256 * MiB
    #: ELF files parsed per wheel.
    max_elf_members: int = 2000
    #: Dynamic symbols parsed per wheel. Parsing costs about a second per
    #: million symbols, and a million-symbol table deflates to ~60 KiB, so this
    #: bounds the time of a wheel of such members; real wheels hold far fewer
    #: (all of numpy's ELF files: ~25 000).
    max_symbols: int = 2_000_000
    #: Members opened at all: those named like loadable files, then others
    #: that could be binaries, probed for the ELF magic (``pkg/bin/tool``).
    #: Opening one costs ~20 us even when it is not ELF.
    max_opened_members: int = 10_000
    #: Notes kept; further ones are counted in a last summary note.
    max_notes: int = 100


DEFAULT_LIMITS: Final = InspectionLimits()
