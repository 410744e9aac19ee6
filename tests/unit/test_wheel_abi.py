"""Wheel ABI inspection: the pure verdict, and reading synthetic wheels.

The verdict (``wheel_abi_problems``) is tested on ``ElfMember`` data; reading
(``inspect_wheel``) on wheels holding small synthetic ELF images from
``tests.lib.loaders.build_elf``. Real compilers, loaders and PyPI wheels are in
``tests/functional/test_wheel_abi_real.py``.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pip._internal.libc.elf import parse_elf
from pip._internal.libc.elf_format import ET_DYN, ET_EXEC, ET_REL
from pip._internal.libc.elf_summary import glibc_version_of
from pip._internal.libc.host import HostLibc
from pip._internal.libc.linkage import reachable
from pip._internal.libc.member_names import is_shared_object_name
from pip._internal.libc.wheel_abi import (
    AbiProblem,
    ElfMember,
    InspectionLimits,
    WheelAbi,
    WheelAbiError,
    deserved_musllinux,
    elf_member_from,
    host_libc_exports,
    inspect_wheel,
    libc_link_of,
    wheel_abi_problems,
)
from pip._internal.libc.wheel_archive import is_loadable_name
from tests.lib.elfbuild import symbol_flood_elf, write_wheel
from tests.lib.loaders import (
    EM_AARCH64,
    EM_X86_64,
    STB_WEAK,
    SymbolSpec,
    build_elf,
    patch,
)

MUSL = HostLibc("musl", (1, 2, 3), "x86_64", loader="/nonexistent/ld-musl.so.1")
MUSL_124 = MUSL._replace(version=(1, 2, 4))
GLIBC = HostLibc("glibc", (2, 36), "x86_64")
OLD_GLIBC = HostLibc("glibc", (2, 17), "x86_64")

# A stand-in for a musl 1.2.3 libc's exports: enough for these tests.
EXPORTS_123 = frozenset({"malloc", "free", "stat", "stat64", "fopen", "fopen64"})
EXPORTS_124 = frozenset({"malloc", "free", "stat", "fopen", "posix_fallocate"})


def member(
    name: str = "pkg/_ext.so",
    *,
    arch: str = "x86_64",
    elf_class: int = 64,
    libc: str | None = "musl",
    undefined: frozenset[str] = frozenset(),
    weak: frozenset[str] = frozenset(),
    defined: frozenset[str] = frozenset(),
    needed: tuple[str, ...] = (),
    soname: str | None = None,
    runpath: tuple[str, ...] = (),
    glibc_version: tuple[int, ...] | None = None,
    glibc_symbols: tuple[str, ...] = (),
) -> ElfMember:
    evidence = {"musl": "`libc.musl-x86_64.so.1`", "glibc": "`libc.so.6`"}
    return ElfMember(
        name=name,
        arch=arch,
        elf_class=elf_class,
        byte_order="little",
        elf_type=ET_DYN,
        interpreter=None,
        libc=libc,  # type: ignore[arg-type]
        libc_evidence=evidence.get(libc or "", ""),
        needed=needed,
        soname=soname,
        rpath=(),
        runpath=runpath,
        undefined=undefined,
        weak_undefined=weak,
        defined=defined,
        glibc_version=glibc_version,
        glibc_version_symbols=glibc_symbols,
    )


def abi(*members: ElfMember) -> WheelAbi:
    return WheelAbi("abiprobe-1.0-cp311-cp311-linux_x86_64.whl", members=members)


def kinds(problems: tuple[AbiProblem, ...]) -> list[str]:
    return [p.kind for p in problems]


# -- names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pkg/_ext.so", True),
        ("pkg/_ext.cpython-311-x86_64-linux-musl.so", True),
        ("pkg.libs/libfoo-1a2b3c.so.1.2.3", True),
        ("pkg.libs/anything", True),
        ("pkg-1.0.data/scripts/tool", True),
        ("pkg-1.0.data/purelib/pkg/mod.so", True),
        ("pkg/_ext.so.py", False),
        ("pkg/solver.py", False),
        ("pkg/bin/tool", False),
        ("pkg-1.0.data/data/share/x", False),
    ],
)
def test_loadable_names(name: str, expected: bool) -> None:
    assert is_loadable_name(name) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.so", True),
        ("a.so.1", True),
        ("a.so.1.2.3", True),
        ("a.so.1.so", True),
        ("a.so.", False),
        ("a.so..1", False),
        ("a.so.1.", False),
        ("a.so.x", False),
        ("a.so.1a", False),
        ("a.sox", False),
        ("a.so.1.sox", False),
        # Only ASCII digits are a version: the loader reads no others.
        ("a.so.\u0661", False),
        ("so", False),
    ],
)
def test_shared_object_names(name: str, expected: bool) -> None:
    assert is_shared_object_name(name) is expected


# -- libc of a file ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"needed": ["libc.musl-x86_64.so.1"]}, "musl"),
        ({"needed": ["libc.so"]}, "musl"),
        ({"interpreter": b"/lib/ld-musl-x86_64.so.1"}, "musl"),
        ({"needed": ["libc.so.6"]}, "glibc"),
        ({"needed": ["libpthread.so.0"]}, "glibc"),
        ({"needed": ["libm.so.6", "libc.so"]}, "glibc"),
        ({"interpreter": b"/lib64/ld-linux-x86-64.so.2"}, "glibc"),
        (
            {
                "needed": ["libfoo.so"],
                "symbols": [SymbolSpec("memcpy", defined=False, version="GLIBC_2.14")],
                "version_needs": [("libc.so.6", ["GLIBC_2.14"])],
            },
            "glibc",
        ),
        (
            # Alpine's libgcc_s defines a GLIBC_2.0 node of its own; numpy's and
            # cryptography's musllinux aarch64 wheels bundle it (found on the
            # emulated aarch64 host): needing it says nothing about glibc.
            {
                "needed": ["libc.musl-aarch64.so.1", "libgcc_s-2d945d6c.so.1"],
                "symbols": [SymbolSpec("__aarch64_cas4", defined=False)],
                "version_needs": [("libgcc_s-2d945d6c.so.1", ["GLIBC_2.0"])],
            },
            "musl",
        ),
        ({"needed": ["libfoo.so.1"]}, None),
        ({"interpreter": b"/lib/ld-linux.so.2"}, "glibc"),
        # glibc's loader on 32-bit PowerPC and MIPS.
        ({"interpreter": b"/lib/ld.so.1"}, "glibc"),
        ({"interpreter": b"/lib64/ld64.so.2"}, "glibc"),
        ({"interpreter": b"/lib/ld-linux-aarch64.so.1"}, "glibc"),
        ({"needed": ["ld-linux-x86-64.so.2"]}, "glibc"),
        ({"interpreter": b"/lib/ld-linux-x86-64.so.x"}, None),
        ({"interpreter": b"/lib/ld-linux-x86-64.so."}, None),
        ({"interpreter": b"/lib/ld65.so.1"}, None),
        ({"interpreter": b"/lib/ld-musl-.so.1"}, None),
        ({"interpreter": b"/lib/ld-musl-armhf.so.2"}, None),
        ({"needed": ["libc.musl-.so.1"]}, None),
        ({"needed": ["libc.musl-x86-64.so.1"]}, None),
        ({"needed": ["libc.musl-x86_64.so.2"]}, None),
        ({}, None),
    ],
)
def test_libc_link_of(kwargs: dict[str, object], expected: str | None) -> None:
    elf = parse_elf(build_elf(**kwargs).data)  # type: ignore[arg-type]
    assert libc_link_of(elf)[0] == expected


def test_only_glibc_files_give_a_glibc_version_need() -> None:
    elf = parse_elf(
        build_elf(
            needed=["libc.musl-x86_64.so.1", "libgcc_s-2d945d6c.so.1"],
            symbols=[SymbolSpec("_Unwind_Find_FDE", defined=False, version="GLIBC_2.0")],
            version_needs=[("libgcc_s-2d945d6c.so.1", ["GLIBC_2.0"])],
        ).data
    )
    found = elf_member_from("pkg/_ext.so", elf)
    assert (found.libc, found.glibc_version) == ("musl", None)
    assert wheel_abi_problems(
        WheelAbi("w.whl", members=(found,)), MUSL, EXPORTS_123
    ) == ()


def test_glibc_version_names() -> None:
    assert glibc_version_of("GLIBC_2.17") == (2, 17)
    assert glibc_version_of("GLIBC_2.2.5") == (2, 2, 5)
    assert glibc_version_of("GLIBC_ABI_DT_RELR") == (2, 36)
    assert glibc_version_of("GLIBC_PRIVATE") is None
    assert glibc_version_of("GLIBCXX_3.4.29") is None
    for name in ("GLIBC_2", "GLIBC_2.", "GLIBC_.2", "GLIBC_2..3", "GLIBC_2.x", "glibc_2.17"):
        assert glibc_version_of(name) is None, name


# -- the verdict ---------------------------------------------------------------------


def test_musl_build_on_musl_host_is_fine() -> None:
    wheel = abi(member(undefined=frozenset({"malloc", "PyLong_FromLong"})))
    assert wheel_abi_problems(wheel, MUSL, EXPORTS_123) == ()


def test_packed_relative_relocations_need_musl_124(tmp_path: Path) -> None:
    """DT_RELR (``-z pack-relative-relocs``): musl < 1.2.4 leaves the relocations
    undone and the process crashes; tests/e2e shows it with real wheels."""
    src = tmp_path / "relr.c"
    src.write_text("static int x; int *p = &x; int *get(void) { return p; }\n")
    so = tmp_path / "librelr.so"
    subprocess.run(
        [
            "musl-gcc",
            "-shared",
            "-fPIC",
            "-Wl,-z,pack-relative-relocs",
            "-o",
            str(so),
            str(src),
        ],
        check=True,
    )
    elf = parse_elf(so.read_bytes())
    relr = elf_member_from("pkg.libs/librelr.so", elf)
    assert relr.uses_relr
    problems = wheel_abi_problems(abi(relr), MUSL, EXPORTS_123)
    assert kinds(problems) == ["loader-feature"]
    assert problems[0].message == (
        "`pkg.libs/librelr.so` uses packed relative relocations (DT_RELR), which "
        "musl's loader applies from 1.2.4 on; this host has musl 1.2.3"
    )
    newer = MUSL._replace(version=(1, 2, 4))
    assert wheel_abi_problems(abi(relr), newer, EXPORTS_123) == ()
    plain = relr._replace(uses_relr=False)
    assert wheel_abi_problems(abi(plain), MUSL, EXPORTS_123) == ()


def test_libc_family_mismatch_both_ways() -> None:
    musl_build = abi(member(libc="musl"))
    glibc_build = abi(member(libc="glibc"))
    (problem,) = wheel_abi_problems(musl_build, GLIBC, None)
    assert problem.kind == "libc-family"
    assert "musl" in problem.message
    assert "glibc 2.36" in problem.message
    (problem,) = wheel_abi_problems(glibc_build, MUSL, EXPORTS_123)
    assert problem.kind == "libc-family"
    assert "`libc.so.6`" in problem.message
    assert "musl 1.2.3" in problem.message
    assert wheel_abi_problems(glibc_build, GLIBC, None) == ()


def test_file_linking_no_libc_is_judged_by_symbols_only() -> None:
    wheel = abi(member(libc=None, undefined=frozenset({"PyLong_FromLong"})))
    assert wheel_abi_problems(wheel, MUSL, EXPORTS_123) == ()
    assert wheel_abi_problems(wheel, GLIBC, None) == ()


def test_missing_symbol_names_symbol_and_releases() -> None:
    wheel = abi(member(undefined=frozenset({"statx", "malloc"})))
    (problem,) = wheel_abi_problems(wheel, MUSL, EXPORTS_123)
    assert problem.kind == "missing-symbol"
    assert problem.symbols == ("statx",)
    assert problem.required_version == (1, 2, 5)
    assert problem.message == (
        "`pkg/_ext.so` needs `statx`, which musl exports from 1.2.5; "
        "this host has musl 1.2.3"
    )


def test_many_missing_symbols_make_one_message() -> None:
    newer = {"statx", "preadv2", "pwritev2", "qsort_r", "gettid", "reallocarray"}
    wheel = abi(member(undefined=frozenset(newer | {"malloc"})))
    host = MUSL._replace(version=(1, 2, 1))
    (problem,) = wheel_abi_problems(wheel, host, frozenset({"malloc"}))
    assert set(problem.symbols) == newer
    # Newest first.
    assert problem.symbols[:3] == ("preadv2", "pwritev2", "statx")
    assert problem.required_version == (1, 2, 5)
    assert "needs 6 libc symbols" in problem.message
    assert "and 1 more" in problem.message
    assert "`statx` (from 1.2.5)" in problem.message


def test_symbol_the_host_build_lacks() -> None:
    # Debian's musl 1.2.3 does not export crypt, though upstream has since 1.1.0.
    wheel = abi(member(undefined=frozenset({"crypt"})))
    (problem,) = wheel_abi_problems(wheel, MUSL, EXPORTS_123)
    assert "`crypt`" in problem.message
    assert "upstream musl exports from 1.1.0" in problem.message
    assert problem.required_version is None


def test_weak_and_non_libc_symbols_are_not_judged() -> None:
    wheel = abi(
        member(
            undefined=frozenset({"PyLong_FromLong", "_ZdlPv", "__gmon_start__"}),
            weak=frozenset({"statx"}),
        )
    )
    assert wheel_abi_problems(wheel, MUSL, EXPORTS_123) == ()


def test_lfs64_aliases_and_the_remapping_loader() -> None:
    wheel = abi(member(undefined=frozenset({"stat64", "fopen64"})))
    # musl 1.2.3 exports them.
    assert wheel_abi_problems(wheel, MUSL, EXPORTS_123) == ()
    # 1.2.4 does not, but its loader binds them to stat/fopen.
    assert wheel_abi_problems(wheel, MUSL_124, EXPORTS_124) == ()
    # A 1.2.3 without them (and without the remapping) cannot load it.
    (problem,) = wheel_abi_problems(wheel, MUSL, EXPORTS_124)
    assert problem.kind == "missing-symbol"
    assert set(problem.symbols) == {"stat64", "fopen64"}
    assert "LFS64 alias" in problem.message


def test_long_lfs64_alias_is_not_remapped_by_124() -> None:
    wheel = abi(member(undefined=frozenset({"posix_fallocate64"})))
    (problem,) = wheel_abi_problems(wheel, MUSL_124, EXPORTS_124)
    assert problem.symbols == ("posix_fallocate64",)


def test_lfs64_remapping_inferred_when_the_release_is_unknown() -> None:
    unknown = MUSL._replace(version=None)
    wheel = abi(member(undefined=frozenset({"stat64"})))
    # The libc exports no LFS64 alias: a 1.2.4+ one, whose loader remaps.
    assert wheel_abi_problems(wheel, unknown, EXPORTS_124) == ()


def test_bundled_library_provides_symbols() -> None:
    ext = member(
        undefined=frozenset({"statx", "foo"}),
        needed=("libfoo-1a2b.so.1", "libc.musl-x86_64.so.1"),
        runpath=("$ORIGIN/../pkg.libs",),
    )
    lib = member(
        "pkg.libs/libfoo-1a2b.so.1",
        soname="libfoo-1a2b.so.1",
        defined=frozenset({"foo", "statx"}),
    )
    assert wheel_abi_problems(abi(ext, lib), MUSL, EXPORTS_123) == ()
    # Without the library, statx is missing.
    (problem,) = wheel_abi_problems(abi(ext), MUSL, EXPORTS_123)
    assert problem.symbols == ("statx",)


def test_bundled_libraries_count_transitively_and_are_checked_too() -> None:
    ext = member(needed=("liba.so",), undefined=frozenset({"statx"}))
    liba = member("pkg.libs/liba.so", needed=("libb.so",), soname="liba.so")
    libb = member(
        "pkg.libs/libb.so",
        soname="libb.so",
        defined=frozenset({"statx"}),
        undefined=frozenset({"gettid"}),
    )
    host = MUSL._replace(version=(1, 2, 1))
    problems = wheel_abi_problems(abi(ext, liba, libb), host, frozenset({"malloc"}))
    assert [(p.member, p.symbols) for p in problems] == [
        ("pkg.libs/libb.so", ("gettid",))
    ]


def test_origin_directory_is_preferred_among_same_named_libraries() -> None:
    ext = member(
        "pkg/sub/_ext.so",
        needed=("libx.so",),
        runpath=("$ORIGIN/../../pkg.libs",),
        undefined=frozenset({"statx"}),
    )
    decoy = member("other/libx.so", soname="libx.so")
    real = member("pkg.libs/libx.so", soname="libx.so", defined=frozenset({"statx"}))
    assert wheel_abi_problems(abi(ext, decoy, real), MUSL, EXPORTS_123) == ()


def test_without_host_exports_the_table_decides() -> None:
    wheel = abi(member(undefined=frozenset({"statx", "qsort_r", "stat64"})))
    (problem,) = wheel_abi_problems(wheel, MUSL, None)
    assert problem.symbols == ("statx",)
    assert (
        wheel_abi_problems(wheel, MUSL._replace(version=(1, 2, 5)), None)
        == ()
    )
    assert (
        wheel_abi_problems(wheel, MUSL._replace(version=None), None) == ()
    )


def test_glibc_version_needs() -> None:
    wheel = abi(
        member(
            libc="glibc",
            glibc_version=(2, 34),
            glibc_symbols=("pthread_create",),
        )
    )
    assert wheel_abi_problems(wheel, GLIBC, None) == ()
    (problem,) = wheel_abi_problems(wheel, OLD_GLIBC, None)
    assert problem.kind == "glibc-version"
    assert problem.required_version == (2, 34)
    assert problem.message == (
        "`pkg/_ext.so` needs glibc 2.34 (for `pthread_create`); "
        "this host has glibc 2.17"
    )


def test_machine_mismatch() -> None:
    wheel = abi(member(arch="aarch64"), member("pkg/_b.so", arch="aarch64"))
    problems = wheel_abi_problems(wheel, MUSL, EXPORTS_123)
    assert kinds(problems) == ["machine", "machine"]
    assert "aarch64" in problems[0].message
    assert "this host is x86_64" in problems[0].message
    # ELF class counts too: an i386 file on an x86_64 host.
    wheel = abi(member(arch="i386", elf_class=32))
    assert kinds(wheel_abi_problems(wheel, GLIBC, None)) == ["machine"]
    # And the other way round.
    i686 = GLIBC._replace(arch="i686")
    assert kinds(wheel_abi_problems(abi(member(libc="glibc")), i686, None)) == [
        "machine"
    ]


def test_files_for_other_machines_beside_host_ones_are_left_alone() -> None:
    # Like a debugger's attach helpers shipped for several machines.
    wheel = abi(
        member("pkg/attach_x86_64.so"),
        member("pkg/attach_aarch64.so", arch="aarch64", libc="glibc"),
    )
    assert wheel_abi_problems(wheel, MUSL, EXPORTS_123) == ()


def test_unknown_hosts_get_only_the_machine_check() -> None:
    wheel = abi(member(libc="glibc", undefined=frozenset({"statx"})))
    unknown = HostLibc("unknown", arch="x86_64")
    static = HostLibc("static", arch="x86_64")
    assert wheel_abi_problems(wheel, unknown, None) == ()
    assert wheel_abi_problems(wheel, static, None) == ()
    aarch64 = abi(member(arch="aarch64"))
    assert kinds(wheel_abi_problems(aarch64, unknown, None)) == ["machine"]


def test_deserved_musllinux() -> None:
    assert deserved_musllinux(abi(), "x86_64") is None
    assert deserved_musllinux(
        abi(member(undefined=frozenset({"malloc"}))), "x86_64"
    ) == (1, 1)
    ext = member(needed=("libx.so",), undefined=frozenset({"statx", "malloc"}))
    assert deserved_musllinux(abi(ext), "x86_64") == (1, 2)
    lib = member("pkg.libs/libx.so", soname="libx.so", defined=frozenset({"statx"}))
    assert deserved_musllinux(abi(ext, lib), "x86_64") == (1, 1)


def test_host_exports_for_hosts_without_a_musl_image() -> None:
    assert host_libc_exports(GLIBC) is None
    assert host_libc_exports(MUSL) is None  # loader path does not exist
    assert host_libc_exports(HostLibc("musl", (1, 2, 3), "x86_64")) is None


# -- reading wheels ---------------------------------------------------------------------


def _so(**kwargs: object) -> bytes:
    return build_elf(**kwargs).data  # type: ignore[arg-type]


def test_inspect_reads_members_and_symbols(tmp_path: Path) -> None:
    ext = _so(
        needed=["libc.musl-x86_64.so.1"],
        runpath="$ORIGIN/../pkg.libs",
        symbols=[
            SymbolSpec("statx", defined=False),
            SymbolSpec("weakling", defined=False, binding=STB_WEAK),
            SymbolSpec("PyInit__ext"),
        ],
    )
    wheel = write_wheel(tmp_path, {"pkg/_ext.so": ext, "pkg/__init__.py": b""})
    result = inspect_wheel(wheel)
    (found,) = result.members
    assert found.name == "pkg/_ext.so"
    assert (found.arch, found.elf_class, found.libc) == ("x86_64", 64, "musl")
    assert found.undefined == {"statx"}
    assert found.weak_undefined == {"weakling"}
    assert found.defined == {"PyInit__ext"}
    assert found.runpath == ("$ORIGIN/../pkg.libs",)
    assert found.found_by == "name"
    assert result.notes == ()
    assert result.malformed == ()


def test_glibc_versions_are_read(tmp_path: Path) -> None:
    ext = _so(
        needed=["libc.so.6"],
        symbols=[
            SymbolSpec("pthread_create", defined=False, version="GLIBC_2.34"),
            SymbolSpec("memcpy", defined=False, version="GLIBC_2.14"),
        ],
        version_needs=[("libc.so.6", ["GLIBC_2.34", "GLIBC_2.14"])],
    )
    (found,) = inspect_wheel(write_wheel(tmp_path, {"pkg/_ext.so": ext})).members
    assert found.libc == "glibc"
    assert found.glibc_version == (2, 34)
    assert found.glibc_version_symbols == ("pthread_create",)


def test_executables_are_found_by_content_and_in_scripts(tmp_path: Path) -> None:
    exe = _so(elf_type=ET_EXEC, interpreter=b"/lib64/ld-linux-x86-64.so.2")
    wheel = write_wheel(
        tmp_path,
        {
            "pkg/bin/tool": exe,
            "abiprobe-1.0.data/scripts/tool2": exe,
            "pkg/data.txt": exe,  # not probed: text suffix
        },
    )
    result = inspect_wheel(wheel)
    found = {m.name: m.found_by for m in result.members}
    assert found == {
        "abiprobe-1.0.data/scripts/tool2": "name",
        "pkg/bin/tool": "content",
    }
    assert {m.libc for m in result.members} == {"glibc"}


def test_non_elf_shared_object_is_a_note(tmp_path: Path) -> None:
    wheel = write_wheel(tmp_path, {"pkg/_ext.so": b"GROUP ( libc.so )\n"})
    result = inspect_wheel(wheel)
    assert result.members == ()
    assert [(n.member, n.kind) for n in result.notes] == [("pkg/_ext.so", "not-elf")]
    assert wheel_abi_problems(result, MUSL, EXPORTS_123) == ()


def test_truncated_elf_is_malformed(tmp_path: Path) -> None:
    data = _so(needed=["libc.so"], symbols=[SymbolSpec("malloc", defined=False)])
    wheel = write_wheel(tmp_path, {"pkg/_ext.so": data[: len(data) - 40]})
    result = inspect_wheel(wheel)
    (broken,) = result.malformed
    assert broken.name == "pkg/_ext.so"
    (problem,) = wheel_abi_problems(result, MUSL, EXPORTS_123)
    assert problem.kind == "malformed"
    assert problem.message.startswith("`pkg/_ext.so` is not a loadable ELF file: ")


def test_huge_hash_table_claim_is_malformed(tmp_path: Path) -> None:
    image = build_elf(symbols=[SymbolSpec("malloc", defined=False)], hash_style="sysv")
    # nchain, the symbol count the SysV hash table claims: 2**32 - 1.
    data = patch(image, image.offsets["hash"] + 4, 0xFFFFFFFF, 4)
    result = inspect_wheel(write_wheel(tmp_path, {"pkg/_ext.so": data}))
    (broken,) = result.malformed
    assert "4294967295" in broken.reason


def test_relocatable_object_named_so_is_malformed(tmp_path: Path) -> None:
    data = _so(elf_type=ET_REL, dynamic=False)
    result = inspect_wheel(write_wheel(tmp_path, {"pkg/_ext.so": data}))
    (broken,) = result.malformed
    assert "neither a shared object nor an executable" in broken.reason


def test_foreign_machine_file(tmp_path: Path) -> None:
    data = _so(machine=EM_AARCH64, needed=["libc.musl-aarch64.so.1"])
    result = inspect_wheel(write_wheel(tmp_path, {"pkg/_ext.so": data}))
    assert result.members[0].arch == "aarch64"
    (problem,) = wheel_abi_problems(result, MUSL, EXPORTS_123)
    assert problem.kind == "machine"


def test_member_cap_and_budget_give_notes_not_problems(tmp_path: Path) -> None:
    # Its symbol and hash tables reach far beyond the first read and the cap.
    data = symbol_flood_elf(20_000)
    assert len(parse_elf(data).symbols) == 19_999
    wheel = write_wheel(tmp_path, {"pkg/a.so": data, "pkg/b.so": data})
    small = InspectionLimits(first_read=1024, member_cap=4096)
    result = inspect_wheel(wheel, limits=small)
    assert result.members == ()
    assert [n.kind for n in result.notes] == ["not-inspected", "not-inspected"]
    assert "cap" in result.notes[0].message
    assert wheel_abi_problems(result, MUSL, EXPORTS_123) == ()

    budget = InspectionLimits(first_read=1024, wheel_budget=len(data) + 2048)
    result = inspect_wheel(wheel, limits=budget)
    assert [m.name for m in result.members] == ["pkg/a.so"]
    assert [(n.member, n.kind) for n in result.notes] == [("pkg/b.so", "not-inspected")]
    assert result.bytes_read <= budget.wheel_budget


def test_max_elf_members(tmp_path: Path) -> None:
    data = _so(needed=["libc.so"])
    files = {f"pkg/m{i}.so": data for i in range(5)}
    result = inspect_wheel(
        write_wheel(tmp_path, files), limits=InspectionLimits(max_elf_members=3)
    )
    assert len(result.members) == 3
    assert len(result.notes) == 2


def test_symbol_budget(tmp_path: Path) -> None:
    data = _so(symbols=[SymbolSpec(f"s{i}") for i in range(50)])
    files = {f"pkg/m{i}.so": data for i in range(3)}
    result = inspect_wheel(
        write_wheel(tmp_path, files), limits=InspectionLimits(max_symbols=60)
    )
    assert len(result.members) == 2
    assert "symbol budget" in result.notes[0].message


def test_notes_are_capped(tmp_path: Path) -> None:
    files = {f"pkg/m{i}.so": b"not elf at all" for i in range(10)}
    result = inspect_wheel(
        write_wheel(tmp_path, files), limits=InspectionLimits(max_notes=3)
    )
    assert len(result.notes) == 4
    assert result.notes[-1].message == "7 more notes omitted"


def test_not_a_zip_and_empty_zip(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus-1.0-py3-none-any.whl"
    bogus.write_bytes(b"this is not a zip file" * 10)
    with pytest.raises(WheelAbiError, match="not a valid zip archive"):
        inspect_wheel(bogus)
    with pytest.raises(WheelAbiError, match="cannot read"):
        inspect_wheel(tmp_path / "missing.whl")
    with pytest.raises(WheelAbiError, match="not a regular file"):
        inspect_wheel(tmp_path)
    empty = tmp_path / "empty-1.0-py3-none-any.whl"
    zipfile.ZipFile(empty, "w").close()
    result = inspect_wheel(empty)
    assert result == WheelAbi(empty.name)
    assert wheel_abi_problems(result, MUSL, EXPORTS_123) == ()


def test_damaged_member_data_is_an_archive_error(tmp_path: Path) -> None:
    data = _so(needed=["libc.so"], extra=bytes(range(256)) * 64)
    wheel = write_wheel(tmp_path, {"pkg/_ext.so": data})
    raw = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo("pkg/_ext.so")
    # Scribble over the middle of the member's deflate stream.
    start = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    raw[start : start + 64] = b"\xff" * 64
    wheel.write_bytes(bytes(raw))
    with pytest.raises(WheelAbiError, match="damaged zip archive"):
        inspect_wheel(wheel)


def test_executable_elf_type_is_loadable() -> None:
    assert member().is_loadable
    assert member()._replace(elf_type=ET_EXEC).is_loadable
    assert not member()._replace(elf_type=ET_REL).is_loadable
    assert EM_X86_64 == 62


def test_opened_members_cap_prefers_named_members(tmp_path: Path) -> None:
    exe = _so(elf_type=ET_EXEC, interpreter=b"/lib/ld-musl-x86_64.so.1")
    files = {f"pkg/bin/tool{i}": exe for i in range(4)}
    files["pkg/_ext.so"] = _so(needed=["libc.so"])
    result = inspect_wheel(
        write_wheel(tmp_path, files), limits=InspectionLimits(max_opened_members=2)
    )
    assert [m.name for m in result.members] == ["pkg/_ext.so", "pkg/bin/tool0"]
    (note,) = result.notes
    assert "3 members that may be ELF files were not opened" in note.message


# -- the linkage graph ---------------------------------------------------------------


def _closure_by_search(edges: list[list[int]]) -> list[int]:
    result = []
    for start in range(len(edges)):
        seen = {start}
        todo = [start]
        while todo:
            for target in edges[todo.pop()]:
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        result.append(sum(1 << n for n in seen))
    return result


@given(
    st.integers(min_value=0, max_value=12).flatmap(
        lambda n: st.lists(
            st.lists(st.integers(min_value=0, max_value=max(n - 1, 0)), max_size=4)
            if n
            else st.just([]),
            min_size=n,
            max_size=n,
        )
    )
)
def test_reachability_matches_a_plain_search(edges: list[list[int]]) -> None:
    assert reachable(edges) == _closure_by_search(edges)


def test_reachability_of_a_long_chain_and_a_big_cycle() -> None:
    count = 5000
    chain = [[i + 1] for i in range(count - 1)] + [[]]
    reach = reachable(chain)
    assert reach[0] == (1 << count) - 1
    assert reach[-1] == 1 << (count - 1)
    cycle = [[(i + 1) % count] for i in range(count)]
    assert set(reachable(cycle)) == {(1 << count) - 1}


def test_crafted_linkage_graph_stays_cheap() -> None:
    # 2000 files, each needing 500 others and missing statx: the verdict must
    # not walk the graph once per file.
    count = 2000
    members = tuple(
        member(
            f"pkg.libs/lib{i}.so",
            soname=f"lib{i}.so",
            needed=tuple(f"lib{(i + k) % count}.so" for k in range(1, 501)),
            runpath=tuple(f"$ORIGIN/d{k}" for k in range(100)),
            undefined=frozenset({"statx", "malloc"}),
            defined=frozenset({f"f{i}"}),
        )
        for i in range(count)
    )
    problems = wheel_abi_problems(WheelAbi("x.whl", members=members), MUSL, EXPORTS_123)
    assert len(problems) == count


def test_scripts_that_are_not_elf_are_not_noted(tmp_path: Path) -> None:
    files = {
        "abiprobe-1.0.data/scripts/run": b"#!/bin/sh\nexec python -m abiprobe\n",
        "abiprobe.libs/README": b"bundled by a repair tool\n",
    }
    result = inspect_wheel(write_wheel(tmp_path, files))
    # Both are named like loadable files (a script, a file in ``.libs/``),
    # so they are read: not ELF, nothing to say.
    assert result == WheelAbi(
        result.wheel, bytes_read=result.bytes_read, names=tuple(sorted(files))
    )
