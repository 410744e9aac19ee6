"""Which libc symbols a musl host lacks, and how to say so (pure).

musl has no symbol versions: a binary loads on an older musl as long as every
libc symbol it binds is exported there. The host's own libc image is the
authority; the release table (:mod:`~pip._internal.libc.musl_symbols`) explains
the answer ("needs ``statx``, which musl exports from 1.2.5"), and models the
loader's LFS64 remapping of 1.2.4 and later.
"""

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from pip._internal.libc.abi_problem import (
    LISTED_SYMBOLS,
    AbiProblem,
    host_text,
    version_text,
)
from pip._internal.libc.elf_summary import ElfMember
from pip._internal.libc.host import HostLibc
from pip._internal.libc.linkage import Linkage
from pip._internal.libc.musl_symbols import (
    first_musl_release,
    is_lfs64_alias,
    known_libc_symbols,
    last_musl_release,
    lfs64_base_name,
    musl_remaps_lfs64,
)


class _Missing(NamedTuple):
    symbol: str
    #: Short phrase for a list: "from 1.2.5".
    brief: str
    #: Relative clause for a single symbol: "which musl exports from 1.2.5".
    clause: str
    #: The release that would export it, if a newer one would.
    needs: tuple[int, ...] | None


def _lfs64_remapped(
    symbol: str, arch: str, release: tuple[int, ...] | None, exports: frozenset[str]
) -> bool:
    base = lfs64_base_name(symbol)
    if base is None or base not in exports:
        return False
    if release is not None:
        return musl_remaps_lfs64(symbol, arch, release)
    # Release unknown: a libc that exports no LFS64 alias at all is a 1.2.4+
    # one, whose loader remaps them (names under 16 characters for sure).
    if not is_lfs64_alias(symbol, arch) or "stat64" in exports or "open64" in exports:
        return False
    return musl_remaps_lfs64(symbol, arch, (1, 2, 4))


def _explain_missing(
    symbol: str, arch: str, release: tuple[int, ...] | None
) -> _Missing:
    first = first_musl_release(symbol, arch)
    last = last_musl_release(symbol, arch)
    # Only symbols of the table get here.
    assert first is not None
    assert last is not None
    if release is not None and first > tuple(release):
        text = version_text(first)
        return _Missing(
            symbol, f"from {text}", f"which musl exports from {text}", first
        )
    if is_lfs64_alias(symbol, arch):
        base = lfs64_base_name(symbol)
        return _Missing(
            symbol,
            f"LFS64 alias of `{base}`, up to {version_text(last)}",
            f"an LFS64 alias of `{base}` that musl exported up to "
            f"{version_text(last)} (later loaders bind it to `{base}` where "
            "that is exported)",
            None,
        )
    if release is not None and last < tuple(release):
        text = version_text(last)
        return _Missing(
            symbol, f"only up to {text}", f"which musl exported only up to {text}", None
        )
    text = version_text(first)
    return _Missing(
        symbol,
        f"upstream from {text}, not in this build",
        f"which upstream musl exports from {text} but this host's build does not",
        None,
    )


def unavailable_libc_symbols(
    member: ElfMember, host: HostLibc, exports: frozenset[str] | None, arch: str
) -> tuple[str, ...]:
    """The member's libc symbols the host's musl does not provide (sorted),
    before bundled libraries are taken into account."""
    release = tuple(host.version) if host.version else None
    if exports is None and release is None:
        return ()
    unavailable: list[str] = []
    # What the host exports is settled at once: thousands of symbols per
    # library, nearly all of them there.
    # Only libc's own symbols are judged: the rest come from the interpreter
    # (Py*), the C++ runtime or other libraries.
    candidates = known_libc_symbols(arch) & member.undefined
    if exports is not None:
        candidates -= exports
    for symbol in sorted(candidates):
        if exports is not None:
            if _lfs64_remapped(symbol, arch, release, exports):
                continue
        elif release is not None:
            # Without the host's image the table is the best authority left.
            first = first_musl_release(symbol, arch)
            last = last_musl_release(symbol, arch)
            assert first is not None
            assert last is not None
            if first <= release <= last or musl_remaps_lfs64(symbol, arch, release):
                continue
        unavailable.append(symbol)
    return tuple(unavailable)


def explained(
    symbols: Iterable[str], host: HostLibc, arch: str
) -> tuple[_Missing, ...]:
    release = tuple(host.version) if host.version else None
    missing = [_explain_missing(symbol, arch, release) for symbol in symbols]
    # The most telling first: the newest release needed, then by name.
    missing.sort(key=lambda m: (m.needs is None, tuple(-p for p in m.needs or ())))
    return tuple(missing)


def not_bundled(
    linkage: Linkage, wanted: Mapping[int, tuple[str, ...]]
) -> dict[int, tuple[str, ...]]:
    """``wanted`` (member index -> symbols) less the symbols a wheel member
    that the member loads defines."""
    providers = linkage.providers(s for symbols in wanted.values() for s in symbols)
    left: dict[int, tuple[str, ...]] = {}
    for index, symbols in wanted.items():
        others = linkage.reach[index] & ~(1 << index)
        remaining = tuple(s for s in symbols if not providers.get(s, 0) & others)
        if remaining:
            left[index] = remaining
    return left


def missing_symbol_problem(
    member: ElfMember, missing: tuple[_Missing, ...], host: HostLibc
) -> AbiProblem:
    needs = max((m.needs for m in missing if m.needs), default=None)
    if len(missing) == 1:
        only = missing[0]
        message = (
            f"`{member.name}` needs `{only.symbol}`, {only.clause}; "
            f"this host has {host_text(host)}"
        )
    else:
        listed = ", ".join(
            f"`{m.symbol}` ({m.brief})" for m in missing[:LISTED_SYMBOLS]
        )
        more = len(missing) - LISTED_SYMBOLS
        message = (
            f"`{member.name}` needs {len(missing)} libc symbols this host's "
            f"{host_text(host)} does not export: {listed}"
            + (f" and {more} more" if more > 0 else "")
        )
    return AbiProblem(
        member.name,
        "missing-symbol",
        message,
        symbols=tuple(m.symbol for m in missing),
        required_version=needs,
    )
