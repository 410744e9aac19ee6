"""The musl symbol release table and the questions it answers."""

from __future__ import annotations

from importlib import resources

import pytest

from pip._internal.libc import musl_symbols
from pip._internal.libc.musl_symbols import (
    TABLE_ARCHS,
    first_musl_release,
    is_known_libc_symbol,
    is_lfs64_alias,
    last_musl_release,
    lfs64_base_name,
    musl_remaps_lfs64,
    musllinux_needed_for,
    parse_symbol_table,
    table_arch,
)

# The names musl's dynamic linker (ldso/dynlink.c, get_lfs64, 1.2.4 and 1.2.5)
# binds to their base name when a binary asks for ``<name>64``, plus
# ``readdir64_r``: written out here so the table's LFS64 rows are checked
# against the loader's own list, not against themselves.
_LDSO_LFS64_LIST = """
    aio_cancel aio_error aio_fsync aio_read aio_return aio_suspend aio_write
    alphasort creat fallocate fgetpos fopen freopen fseeko fsetpos fstat fstatat
    fstatfs fstatvfs ftello ftruncate ftw getdents getrlimit glob globfree
    lio_listio lockf lseek lstat mkostemp mkostemps mkstemp mkstemps mmap nftw
    open openat posix_fadvise posix_fallocate pread preadv prlimit pwrite pwritev
    readdir scandir sendfile setrlimit stat statfs statvfs tmpfile truncate
    versionsort __fxstat __fxstatat __lxstat __xstat
"""
MUSL_LDSO_LFS64_BASES = frozenset(_LDSO_LFS64_LIST.split())


@pytest.mark.parametrize(
    ("symbol", "arch", "release"),
    [
        # Spot checks of the data README.
        ("getrandom", "x86_64", (1, 1, 20)),
        ("memfd_create", "x86_64", (1, 1, 20)),
        ("explicit_bzero", "x86_64", (1, 1, 20)),
        ("mlock2", "x86_64", (1, 1, 20)),
        ("getentropy", "x86_64", (1, 1, 20)),
        ("copy_file_range", "x86_64", (1, 1, 24)),
        ("posix_spawn_file_actions_addchdir_np", "x86_64", (1, 1, 24)),
        ("reallocarray", "x86_64", (1, 2, 2)),
        ("gettid", "x86_64", (1, 2, 2)),
        ("qsort_r", "x86_64", (1, 2, 3)),
        ("pthread_getname_np", "x86_64", (1, 2, 3)),
        ("statx", "x86_64", (1, 2, 5)),
        ("preadv2", "x86_64", (1, 2, 5)),
        # New in 1.2.6 (Debian's 1.2.5 backports renameat2; upstream 1.2.5 lacks it).
        ("renameat2", "x86_64", (1, 2, 6)),
        ("posix_getdents", "x86_64", (1, 2, 6)),
        ("__getauxval", "x86_64", (1, 2, 6)),
        ("renameat2", "i686", (1, 2, 6)),
        ("posix_getdents", "aarch64", (1, 2, 6)),
        ("__getauxval", "aarch64", (1, 2, 6)),
        ("__clock_gettime64", "i686", (1, 2, 0)),
        ("malloc", "x86_64", (1, 1, 0)),
        ("malloc", "aarch64", (1, 1, 7)),
    ],
)
def test_first_release_spot_checks(
    symbol: str, arch: str, release: tuple[int, int, int]
) -> None:
    assert first_musl_release(symbol, arch) == release


def test_unknown_symbols_have_no_release() -> None:
    assert first_musl_release("PyLong_FromLong", "x86_64") is None
    assert last_musl_release("PyLong_FromLong", "x86_64") is None
    assert not is_known_libc_symbol("PyLong_FromLong", "x86_64")
    assert not is_known_libc_symbol("_ZNSt8ios_base4InitC1Ev", "x86_64")
    assert is_known_libc_symbol("memcpy", "x86_64")


def test_table_archs_are_the_data_files() -> None:
    table = parse_symbol_table(_data_text())
    assert set(table) == TABLE_ARCHS
    # One architecture's rows alone are what the whole table holds for it.
    for arch in TABLE_ARCHS:
        assert parse_symbol_table(_data_text(), arch) == {arch: table[arch]}


def test_architecture_spellings() -> None:
    assert table_arch("x86_64") == "x86_64"
    assert table_arch("i686") == "i386"
    assert table_arch("aarch64") == "aarch64"
    # Not in the table: the x86_64 rows stand in.
    assert table_arch("ppc64le") == "x86_64"
    assert table_arch("riscv64") == "x86_64"
    assert first_musl_release("statx", "ppc64le") == (1, 2, 5)
    # i386 only: the 64-bit time_t symbols of 1.2.0.
    assert first_musl_release("__clock_gettime64", "x86_64") is None


def test_last_release_marks_removed_symbols() -> None:
    # Still exported by the newest release the table covers (1.2.6).
    assert last_musl_release("statx", "x86_64") == (1, 2, 6)
    assert last_musl_release("renameat2", "x86_64") == (1, 2, 6)
    assert last_musl_release("malloc", "aarch64") == (1, 2, 6)
    assert last_musl_release("stat64", "x86_64") == (1, 2, 3)


@pytest.mark.parametrize("arch", ["x86_64", "i686", "aarch64"])
def test_lfs64_aliases_are_exactly_what_the_loader_remaps(arch: str) -> None:
    table = parse_symbol_table(_data_text())
    rows = table[table_arch(arch)].releases
    aliases = {name for name in rows if is_lfs64_alias(name, arch)}
    expected = {f"{base}64" for base in MUSL_LDSO_LFS64_BASES} | {"readdir64_r"}
    assert aliases == expected


@pytest.mark.parametrize(
    ("alias", "base"),
    [("stat64", "stat"), ("readdir64_r", "readdir_r"), ("fopen64", "fopen")],
)
def test_lfs64_base_names(alias: str, base: str) -> None:
    assert lfs64_base_name(alias) == base
    assert is_lfs64_alias(alias, "x86_64")


def test_not_every_64_is_an_lfs64_alias() -> None:
    assert lfs64_base_name("stat") is None
    for name in ("__clock_gettime64", "htobe64", "strtoimax", "statx"):
        assert not is_lfs64_alias(name, "x86_64"), name
    assert not is_lfs64_alias("__clock_gettime64", "i686")


def test_lfs64_remapping_by_release() -> None:
    assert not musl_remaps_lfs64("stat64", "x86_64", (1, 2, 3))
    assert musl_remaps_lfs64("stat64", "x86_64", (1, 2, 4))
    assert musl_remaps_lfs64("readdir64_r", "x86_64", (1, 2, 5))
    # musl 1.2.4 and 1.2.5 copy the name into a 16-byte buffer first: the one
    # longer alias is not remapped by them.
    assert not musl_remaps_lfs64("posix_fallocate64", "x86_64", (1, 2, 4))
    assert not musl_remaps_lfs64("posix_fallocate64", "x86_64", (1, 2, 5))
    assert musl_remaps_lfs64("posix_fallocate64", "x86_64", (1, 2, 6))
    assert musl_remaps_lfs64("posix_fadvise64", "x86_64", (1, 2, 4))
    assert not musl_remaps_lfs64("statx", "x86_64", (1, 2, 5))


def test_musllinux_needed_for() -> None:
    assert musllinux_needed_for([], "x86_64") is None
    assert musllinux_needed_for(["PyLong_FromLong"], "x86_64") is None
    assert musllinux_needed_for(["malloc", "PyLong_FromLong"], "x86_64") == (1, 1)
    assert musllinux_needed_for(["malloc", "qsort_r"], "x86_64") == (1, 2)
    assert musllinux_needed_for(["statx", "malloc"], "x86_64") == (1, 2)
    assert musllinux_needed_for(["posix_getdents", "malloc"], "x86_64") == (1, 2)
    # 32-bit: the time64 symbols make a musllinux_1_2 binary.
    assert musllinux_needed_for(["__clock_gettime64"], "i686") == (1, 2)


def _data_text() -> str:
    package = resources.files("pip._internal.libc")
    return package.joinpath(musl_symbols.DATA_FILE).read_text("utf-8")


def test_data_file_is_well_formed() -> None:
    table = parse_symbol_table(_data_text())
    assert set(table) == {"x86_64", "i386", "aarch64"}
    for rows in table.values():
        assert len(rows.releases) > 1900
        for symbol, (first, last) in rows.releases.items():
            assert symbol
            assert (1, 1, 0) <= first <= last <= (1, 2, 6), symbol


def test_data_file_covers_1_2_6() -> None:
    """1.2.6 added exactly renameat2, posix_getdents and __getauxval and
    dropped nothing: every symbol 1.2.5 exported is still exported."""
    table = parse_symbol_table(_data_text())
    for arch, rows in table.items():
        new = {s for s, (first, _) in rows.releases.items() if first == (1, 2, 6)}
        assert new == {"renameat2", "posix_getdents", "__getauxval"}, arch
        dropped = {
            s for s, (_, last) in rows.releases.items() if last == (1, 2, 5)
        }
        assert not dropped, (arch, sorted(dropped)[:5])


def test_parse_rejects_a_foreign_file() -> None:
    with pytest.raises(ValueError, match="unexpected header"):
        parse_symbol_table("name\tversion\nfoo\t1\n")
