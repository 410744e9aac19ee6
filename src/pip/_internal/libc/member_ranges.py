"""Byte ranges of a wheel member: the parts worth keeping before the ELF
reader asks for them, and the bookkeeping of what is at hand.

Ranges are ``(start, end)`` offsets into the inflated member, end exclusive.
"""

from __future__ import annotations

from typing import Final

from pip._internal.libc.elf import ElfSegment
from pip._internal.libc.elf_ident import PF_X, PT_LOAD
from pip._internal.libc.inspection_limits import MiB

#: Bytes of non-executable segments kept per member before the reader asks for
#: them; beyond this only what it asks for is kept.
SPECULATIVE_CAP: Final = 16 * MiB


def speculative_ranges(segments: tuple[ElfSegment, ...]) -> list[tuple[int, int]]:
    """Where the tables usually are, in file order, up to
    :data:`SPECULATIVE_CAP` bytes: the first PT_LOAD (a classic layout puts
    them at the start of its code segment) and the non-executable ones."""
    loads = sorted((s for s in segments if s.type == PT_LOAD), key=lambda s: s.offset)
    ranges: list[tuple[int, int]] = []
    room = SPECULATIVE_CAP
    for index, seg in enumerate(loads):
        start, end = seg.offset, seg.offset + seg.filesz
        if end <= start or (index and seg.flags & PF_X):
            continue
        end = min(end, start + room)
        ranges.append((start, end))
        room -= end - start
        if room <= 0:
            break
    return ranges


def subtract(
    ranges: list[tuple[int, int]], present: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """The parts of ``ranges`` not in ``present`` (sorted, disjoint), sorted."""
    gaps: list[tuple[int, int]] = []
    for first, end in sorted(ranges):
        start = first
        for s, e in present:
            if e <= start or end <= s:
                continue
            if s > start:
                gaps.append((start, s))
            start = max(start, e)
            if start >= end:
                break
        if start < end:
            gaps.append((start, end))
    return gaps


def merged(
    present: list[tuple[int, int]], added: tuple[int, int]
) -> list[tuple[int, int]]:
    """``present`` (sorted, disjoint) with ``added``, sorted and disjoint."""
    out: list[tuple[int, int]] = []
    for s, e in sorted([*present, added]):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out
