"""The linkage graph inside a wheel: which member loads which (pure).

A DT_NEEDED name resolves to a bundled file through the member's ``$ORIGIN``
search paths (auditwheel's ``<pkg>.libs/``), or to any file of that name in the
wheel. Bounded, so that a crafted wheel cannot make the graph slow.
"""

import posixpath
from collections.abc import Iterable
from typing import Final, NamedTuple

from pip._internal.libc.elf_summary import ElfMember


def installed_path(name: str) -> str:
    # Members under <name>.data/purelib|platlib/ land in site-packages itself.
    top, _, rest = name.partition("/")
    scheme, _, path = rest.partition("/")
    if top.endswith(".data") and scheme in ("purelib", "platlib") and path:
        return path
    return name


# Bounds on the linkage graph, so that a crafted wheel (thousands of files,
# each naming thousands of others) cannot make the verdict slow. Real files
# need a few dozen libraries at most and have one or two $ORIGIN paths.
_MAX_NEEDED_PER_FILE: Final = 128
_MAX_ORIGIN_DIRS_PER_FILE: Final = 16


def _origin_dirs(member: ElfMember) -> tuple[str, ...]:
    """Wheel directories the member's ``$ORIGIN`` search paths point into."""
    here = posixpath.dirname(installed_path(member.name))
    dirs: dict[str, None] = {}
    for entry in (*member.runpath, *member.rpath):
        for origin in ("$ORIGIN", "${ORIGIN}"):
            if entry == origin or entry.startswith(origin + "/"):
                tail = entry[len(origin) :].lstrip("/")
                dirs[posixpath.normpath(posixpath.join(here, tail))] = None
        if len(dirs) >= _MAX_ORIGIN_DIRS_PER_FILE:
            break
    return tuple(dirs)


def dependency_edges(members: tuple[ElfMember, ...]) -> list[list[int]]:
    """For each member, the members its DT_NEEDED entries resolve to.

    A name resolves to the file of that name (basename or SONAME) in one of
    the member's ``$ORIGIN`` directories, else to any file of that name in the
    wheel: the loader may already have it loaded under that name, or find it
    through LD_LIBRARY_PATH.
    """
    by_name: dict[str, int] = {}
    by_place: dict[tuple[str, str], int] = {}
    for index, member in enumerate(members):
        place = posixpath.dirname(installed_path(member.name))
        for name in (posixpath.basename(member.name), member.soname):
            if name:
                by_name.setdefault(name, index)
                by_place.setdefault((place, name), index)
    edges: list[list[int]] = []
    for member in members:
        dirs = _origin_dirs(member)
        targets: list[int] = []
        for needed in member.needed[:_MAX_NEEDED_PER_FILE]:
            if needed not in by_name:
                continue
            found = next(
                (by_place[(d, needed)] for d in dirs if (d, needed) in by_place),
                by_name[needed],
            )
            targets.append(found)
        edges.append(targets)
    return edges


def reachable(edges: list[list[int]]) -> list[int]:
    """For each node, the set of nodes reachable from it (itself included),
    as a bit set: Tarjan's strongly connected components, iteratively, which
    completes components sinks first, so each one's set is its own nodes plus
    the finished sets of its successors. Linear in nodes and edges."""
    count = len(edges)
    order = [-1] * count
    low = [0] * count
    on_stack = [False] * count
    stack: list[int] = []
    reach = [0] * count
    visited = 0
    for root in range(count):
        if order[root] != -1:
            continue
        work = [(root, 0)]
        while work:
            node, next_edge = work[-1]
            if next_edge == 0:
                order[node] = low[node] = visited
                visited += 1
                stack.append(node)
                on_stack[node] = True
            successors = edges[node]
            descended = False
            while next_edge < len(successors):
                target = successors[next_edge]
                next_edge += 1
                if order[target] == -1:
                    work[-1] = (node, next_edge)
                    work.append((target, 0))
                    descended = True
                    break
                if on_stack[target]:
                    low[node] = min(low[node], order[target])
            if descended:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] != order[node]:
                continue
            component: list[int] = []
            bits = 0
            while True:
                member = stack.pop()
                on_stack[member] = False
                component.append(member)
                bits |= 1 << member
                if member == node:
                    break
            for member in component:
                for target in edges[member]:
                    bits |= reach[target]
            for member in component:
                reach[member] = bits
    return reach


class Linkage(NamedTuple):
    """Which members of a wheel each member loads, directly or not."""

    members: tuple[ElfMember, ...]
    #: Bit set of the members each one loads (itself included).
    reach: tuple[int, ...]

    @classmethod
    def of(cls, members: tuple[ElfMember, ...]) -> "Linkage":
        return cls(members, tuple(reachable(dependency_edges(members))))

    def providers(self, symbols: Iterable[str]) -> dict[str, int]:
        """Bit set of the members defining each of ``symbols``."""
        wanted = frozenset(symbols)
        found: dict[str, int] = {}
        if not wanted:
            return found
        for index, member in enumerate(self.members):
            for symbol in wanted & member.defined:
                found[symbol] = found.get(symbol, 0) | (1 << index)
        return found
