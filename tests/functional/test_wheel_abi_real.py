"""The wheel ABI check on real binaries: compiled here, from Debian, from PyPI.

* Shared objects compiled with ``musl-gcc`` and ``gcc``, packed into wheels and
  judged against this machine's real musl (Debian's 1.2.3, whose exports are read
  from ``/lib/ld-musl-x86_64.so.1``) and real glibc. Where the question is "does
  it load", the real musl loader is asked too (its ldd mode), and the verdict
  must agree with it.
* Hostile archives, inspected in a child process with limited address space and
  CPU time: a runaway fails the child, not the machine.
* musllinux and manylinux wheels of popular projects, downloaded from PyPI once
  and cached in ``${PIP_MUSL_CACHE:-~/.cache/pip-musl}/wheels/real/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pip._internal.libc.elf import parse_elf
from pip._internal.libc.elf_summary import elf_member_from
from pip._internal.libc.host import HostLibc
from pip._internal.libc.musl_symbols import first_musl_release, is_lfs64_alias
from pip._internal.libc.musl_version import read_musl_version
from pip._internal.libc.wheel_abi import (
    AbiProblem,
    WheelAbi,
    check_wheel_file,
    deserved_musllinux,
    host_libc_exports,
    inspect_wheel,
    wheel_abi_problems,
)
from tests.lib import loaders
from tests.lib.elfbuild import (
    EM_AARCH64,
    compile_so,
    extract,
    glibc_host,
    musl_host,
    musl_loader_verdict,
    real_glibc_version,
    require_musl_loader,
    run_bounded,
    set_machine,
    symbol_flood_elf,
    write_wheel,
    write_zero_bomb,
)
from tests.lib.index import cache_dir, pip_env
from tests.lib.wheels import EXTRA_C_STATX, build_ext_wheel, python_include_of

debian_loaders = loaders.debian_loaders

MUSL_CC = "musl-gcc"
GLIBC_CC = "gcc"

# An extension-like module: calls into libc, so every build links it.
PLAIN_SOURCE = """
    #include <string.h>
    #include <unistd.h>
    char *probe_copy(const char *s) { return strdup(s); }
    long probe_pid(void) { return (long)getpid(); }
"""
# Declares statx itself: musl 1.2.3's headers lack it. Never called.
STATX_SOURCE = """
    struct statx;
    int statx(int, const char *, int, unsigned int, struct statx *);
    int probe_statx(void) { return statx(-100, ".", 0, 0u, (struct statx *)0); }
"""
# The LFS64 names, declared by hand: musl's headers would #define them away.
LFS64_SOURCE = """
    struct stat;
    typedef struct _IO_FILE FILE;
    int stat64(const char *, struct stat *);
    FILE *fopen64(const char *, const char *);
    int probe_lfs64(void) { return stat64("/", 0) + (fopen64("/", "r") != 0); }
"""
# Bundled library providing statx (a stub: what matters is the export).
STATX_PROVIDER_SOURCE = """
    struct statx;
    int statx(int d, const char *p, int f, unsigned int m, struct statx *b)
    { (void)d; (void)p; (void)f; (void)m; (void)b; return -1; }
"""
# pthread_create moved into glibc's libc.so.6 in 2.34: GLIBC_2.34.
PTHREAD_SOURCE = """
    #include <pthread.h>
    static void *run(void *arg) { return arg; }
    int probe_thread(void) { pthread_t t; return pthread_create(&t, 0, run, 0); }
"""


def kinds(problems: tuple[AbiProblem, ...]) -> set[str]:
    return {p.kind for p in problems}


# -- fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def musl_exports() -> frozenset[str]:
    """The real musl 1.2.3 libc's exports (Debian's build)."""
    loader = require_musl_loader()
    version, how = read_musl_version(loader)
    assert version == (1, 2, 3), (
        f"these tests expect Debian bookworm's musl 1.2.3 at {loader}; found "
        f"{version} ({how})"
    )
    exports = host_libc_exports(musl_host())
    assert exports is not None, f"cannot read the exports of {loader}"
    assert {"malloc", "stat64", "qsort_r"} <= exports
    assert "statx" not in exports
    return exports


@pytest.fixture(scope="module")
def musl() -> HostLibc:
    return musl_host((1, 2, 3))


@pytest.fixture(scope="module")
def glibc() -> HostLibc:
    return glibc_host()


@dataclass(frozen=True)
class Hosts:
    musl: HostLibc
    glibc: HostLibc
    musl_exports: frozenset[str]


@pytest.fixture(scope="module")
def hosts(musl: HostLibc, glibc: HostLibc, musl_exports: frozenset[str]) -> Hosts:
    return Hosts(musl, glibc, musl_exports)


@dataclass(frozen=True)
class Built:
    wheel: Path
    so: Path


def _wheel_with(tmp: Path, compiler: str, source: str, **kw: object) -> Built:
    so = tmp / "build" / "_ext.so"
    data = compile_so(so, source, compiler=compiler, **kw)  # type: ignore[arg-type]
    return Built(write_wheel(tmp / "dist", {"abiprobe/_ext.so": data}), so)


# -- compiled here --------------------------------------------------------------------


def test_musl_build_loads_on_musl_and_not_on_glibc(
    tmp_path: Path, musl: HostLibc, glibc: HostLibc, musl_exports: frozenset[str]
) -> None:
    built = _wheel_with(tmp_path, MUSL_CC, PLAIN_SOURCE)
    abi = inspect_wheel(built.wheel)
    (member,) = abi.members
    assert member.libc == "musl"
    assert member.needed == ("libc.so",)
    assert {"strdup", "getpid"} <= member.undefined
    assert wheel_abi_problems(abi, musl, musl_exports) == ()
    assert musl_loader_verdict(built.so)[0]
    (problem,) = wheel_abi_problems(abi, glibc, None)
    assert problem.kind == "libc-family"
    assert "linked against musl" in problem.message
    assert deserved_musllinux(abi, "x86_64") == (1, 1)


def test_glibc_build_loads_on_glibc_and_not_on_musl(
    tmp_path: Path, musl: HostLibc, glibc: HostLibc, musl_exports: frozenset[str]
) -> None:
    built = _wheel_with(tmp_path, GLIBC_CC, PLAIN_SOURCE)
    abi = inspect_wheel(built.wheel)
    (member,) = abi.members
    assert member.libc == "glibc"
    assert wheel_abi_problems(abi, glibc, None) == ()
    (problem,) = wheel_abi_problems(abi, musl, musl_exports)
    assert problem.kind == "libc-family"
    assert "`libc.so.6`" in problem.message
    assert "musl 1.2.3" in problem.message


def test_real_cpython_extensions_from_the_harness(
    tmp_path: Path, musl: HostLibc, glibc: HostLibc
) -> None:
    """Through check_wheel_file, with tests/lib/wheels.py's real extensions."""
    include = python_include_of(sys.executable)
    musl_wheel = build_ext_wheel(
        tmp_path / "musl",
        tag_platform="musllinux_1_2_x86_64",
        compiler=MUSL_CC,
        python_include=include,
        variant="musl",
    )
    glibc_wheel = build_ext_wheel(
        tmp_path / "glibc",
        tag_platform="manylinux_2_17_x86_64",
        compiler=GLIBC_CC,
        python_include=include,
        variant="glibc",
    )
    statx_wheel = build_ext_wheel(
        tmp_path / "statx",
        tag_platform="musllinux_1_2_x86_64",
        compiler=MUSL_CC,
        python_include=include,
        variant="statx",
        extra_c=EXTRA_C_STATX,
    )
    assert check_wheel_file(musl_wheel, musl) == ()
    assert kinds(check_wheel_file(musl_wheel, glibc)) == {"libc-family"}
    assert check_wheel_file(glibc_wheel, glibc) == ()
    assert kinds(check_wheel_file(glibc_wheel, musl)) == {"libc-family"}
    (problem,) = check_wheel_file(statx_wheel, musl)
    assert problem.symbols == ("statx",)
    assert problem.message.startswith("`muslprobe/_ext.so` needs `statx`, which ")


def test_symbol_newer_than_the_host_musl(
    tmp_path: Path, musl: HostLibc, musl_exports: frozenset[str]
) -> None:
    built = _wheel_with(tmp_path, MUSL_CC, STATX_SOURCE)
    abi = inspect_wheel(built.wheel)
    (problem,) = wheel_abi_problems(abi, musl, musl_exports)
    assert problem.kind == "missing-symbol"
    assert problem.member == "abiprobe/_ext.so"
    assert problem.message == (
        "`abiprobe/_ext.so` needs `statx`, which musl exports from 1.2.5; "
        "this host has musl 1.2.3"
    )
    assert problem.required_version == (1, 2, 5)
    # The real loader agrees.
    loads, output = musl_loader_verdict(built.so)
    assert not loads
    assert "statx" in output
    # A musl 1.2.5 host exports it.
    assert wheel_abi_problems(abi, musl_host((1, 2, 5)), musl_exports | {"statx"}) == ()
    assert deserved_musllinux(abi, "x86_64") == (1, 2)


def test_bundled_library_provides_the_symbol(
    tmp_path: Path, musl: HostLibc, musl_exports: frozenset[str]
) -> None:
    lib_name = "libstatx-1a2b3c4d.so.1"
    lib = compile_so(
        tmp_path / "build" / lib_name,
        STATX_PROVIDER_SOURCE,
        compiler=MUSL_CC,
        soname=lib_name,
    )
    ext = compile_so(
        tmp_path / "build" / "_ext.so",
        STATX_SOURCE,
        compiler=MUSL_CC,
        ldflags=[
            f"-L{tmp_path / 'build'}",
            f"-l:{lib_name}",
            "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../abiprobe.libs",
        ],
    )
    wheel = write_wheel(
        tmp_path / "dist",
        {"abiprobe/_ext.so": ext, f"abiprobe.libs/{lib_name}": lib},
    )
    abi = inspect_wheel(wheel)
    ext_member = next(m for m in abi.members if m.name == "abiprobe/_ext.so")
    assert lib_name in ext_member.needed
    assert ext_member.runpath == ("$ORIGIN/../abiprobe.libs",)
    assert wheel_abi_problems(abi, musl, musl_exports) == ()
    # Its only libc symbol comes from the bundled library.
    assert deserved_musllinux(abi, "x86_64") is None
    # The real loader, run on the installed layout, agrees.
    installed = extract(wheel, tmp_path / "site")
    loads, output = musl_loader_verdict(installed / "abiprobe" / "_ext.so")
    assert loads, output
    # Without the library in the wheel, statx is missing again.
    alone = write_wheel(tmp_path / "alone", {"abiprobe/_ext.so": ext})
    (problem,) = wheel_abi_problems(inspect_wheel(alone), musl, musl_exports)
    assert problem.symbols == ("statx",)


def test_lfs64_aliases(
    tmp_path: Path, musl: HostLibc, musl_exports: frozenset[str]
) -> None:
    built = _wheel_with(tmp_path, MUSL_CC, LFS64_SOURCE)
    abi = inspect_wheel(built.wheel)
    (member,) = abi.members
    assert {"stat64", "fopen64"} <= member.undefined
    # Debian's musl 1.2.3 still exports them; the loader agrees.
    assert wheel_abi_problems(abi, musl, musl_exports) == ()
    assert musl_loader_verdict(built.so)[0]
    # A musl 1.2.4 image: the aliases are gone, and its loader remaps them.
    exports_124 = frozenset(s for s in musl_exports if not is_lfs64_alias(s, "x86_64"))
    assert "stat64" not in exports_124
    assert "stat" in exports_124
    assert wheel_abi_problems(abi, musl_host((1, 2, 4)), exports_124) == ()
    # The same exports with a 1.2.3 loader (no remapping): refused.
    (problem,) = wheel_abi_problems(abi, musl, exports_124)
    assert problem.kind == "missing-symbol"
    assert set(problem.symbols) == {"fopen64", "stat64"}


def test_glibc_symbol_versions(tmp_path: Path, glibc: HostLibc) -> None:
    built = _wheel_with(tmp_path, GLIBC_CC, PTHREAD_SOURCE, ldflags=["-pthread"])
    abi = inspect_wheel(built.wheel)
    (member,) = abi.members
    if real_glibc_version() >= (2, 34):
        assert member.glibc_version == (2, 34)
        assert "pthread_create" in member.glibc_version_symbols
    assert wheel_abi_problems(abi, glibc, None) == ()
    assert wheel_abi_problems(abi, glibc_host((2, 36)), None) == ()
    (problem,) = wheel_abi_problems(abi, glibc_host((2, 17)), None)
    assert problem.kind == "glibc-version"
    assert problem.message.startswith("`abiprobe/_ext.so` needs glibc 2.34 (for ")
    assert "`pthread_create`" in problem.message
    assert problem.message.endswith("this host has glibc 2.17")


def test_machine_mismatch_by_patched_header(
    tmp_path: Path, musl: HostLibc, musl_exports: frozenset[str]
) -> None:
    # No cross compiler here: a real musl .so whose e_machine says AArch64.
    data = compile_so(tmp_path / "x.so", PLAIN_SOURCE, compiler=MUSL_CC)
    wheel = write_wheel(tmp_path, {"abiprobe/_ext.so": set_machine(data, EM_AARCH64)})
    (problem,) = wheel_abi_problems(inspect_wheel(wheel), musl, musl_exports)
    assert problem.kind == "machine"
    assert "aarch64" in problem.message
    assert "this host is x86_64" in problem.message


def test_real_foreign_libcs(
    tmp_path: Path,
    musl: HostLibc,
    musl_exports: frozenset[str],
    debian_loaders: dict[str, loaders.LoaderSet],
) -> None:
    """Debian's arm64 musl and glibc: another machine on x86_64; at home on
    an aarch64 musl host whose exports are that very libc's."""
    arm64 = debian_loaders["arm64"]
    wheel = write_wheel(
        tmp_path,
        {
            "abiprobe.libs/libc.musl-aarch64.so.1": arm64.musl_libc.read_bytes(),
            "abiprobe.libs/libc.so.6": arm64.glibc_libc.read_bytes(),
        },
    )
    abi = inspect_wheel(wheel)
    assert {m.arch for m in abi.members} == {"aarch64"}
    problems = wheel_abi_problems(abi, musl, musl_exports)
    assert kinds(problems) == {"machine"}
    assert len(problems) == 2
    aarch64_musl = HostLibc("musl", (1, 2, 3), "aarch64", loader=str(arm64.musl_loader))
    exports = host_libc_exports(aarch64_musl)
    assert exports is not None
    assert "malloc" in exports
    # glibc's libc.so.6 links the glibc loader: a glibc file on a musl host.
    problems = wheel_abi_problems(abi, aarch64_musl, exports)
    assert [(p.member, p.kind) for p in problems] == [
        ("abiprobe.libs/libc.so.6", "libc-family")
    ]


# -- hostile archives, inspected in a bounded child ----------------------------------

CHILD_MEMORY = 1 << 30  # 1 GiB of address space
CHILD_CPU = 30  # seconds


@dataclass(frozen=True)
class ChildResult:
    """What ``inspect_wheel`` said in the bounded child, and how long it took."""

    seconds: float
    error: str | None = None
    members: tuple[str, ...] = ()
    malformed: tuple[tuple[str, str], ...] = ()
    notes: tuple[tuple[str, str, str], ...] = ()
    bytes_read: int = 0


def inspect_bounded(path: Path) -> ChildResult:
    """inspect_wheel in a child limited to 1 GiB and 30 s of CPU; a summary."""
    code = f"""
        import json, time
        from pip._internal.libc.wheel_abi import WheelAbiError, inspect_wheel
        start = time.perf_counter()
        try:
            abi = inspect_wheel({str(path)!r})
        except WheelAbiError as exc:
            out = {{"error": str(exc)}}
        else:
            out = {{
                "members": [m.name for m in abi.members],
                "malformed": [[m.name, m.reason] for m in abi.malformed],
                "notes": [[n.member, n.kind, n.message] for n in abi.notes],
                "bytes_read": abi.bytes_read,
            }}
        out["seconds"] = time.perf_counter() - start
        print(json.dumps(out))
    """
    proc = run_bounded(code, memory_bytes=CHILD_MEMORY, cpu_seconds=CHILD_CPU)
    assert proc.returncode == 0, (
        f"inspecting {path.name} failed in the bounded child "
        f"(exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    )
    raw = json.loads(proc.stdout.strip().splitlines()[-1])
    return ChildResult(
        seconds=float(raw["seconds"]),
        error=raw.get("error"),
        members=tuple(raw.get("members", ())),
        malformed=tuple((n, r) for n, r in raw.get("malformed", ())),
        notes=tuple((m, k, t) for m, k, t in raw.get("notes", ())),
        bytes_read=int(raw.get("bytes_read", 0)),
    )


@pytest.fixture(scope="module")
def adversarial_dir() -> Path:
    # Zip bombs take seconds to deflate: made once and kept with the cache.
    path = cache_dir() / "wheels" / "adversarial"
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_zip_bomb_named_like_a_shared_object(adversarial_dir: Path) -> None:
    bomb = adversarial_dir / "bomb4g-1.0-py3-none-any.whl"
    if not bomb.exists():
        write_zero_bomb(bomb.with_suffix(".part"), "bomb/x.so", 4 << 30)
        bomb.with_suffix(".part").rename(bomb)
    assert bomb.stat().st_size < 8 << 20
    with zipfile.ZipFile(bomb) as archive:
        assert archive.getinfo("bomb/x.so").file_size == 4 << 30
    result = inspect_bounded(bomb)
    assert result.members == ()
    assert result.notes == (("bomb/x.so", "not-elf", "`bomb/x.so` is not an ELF file"),)
    assert result.bytes_read == 64


def _far_tables_elf(symtab_offset: int, file_size: int) -> bytes:
    """A small ELF whose PT_LOAD claims ``file_size`` bytes and whose symbol
    table lies at ``symtab_offset``: the reader asks for that many bytes."""
    image = bytearray(symbol_flood_elf(16))
    # PT_LOAD p_filesz and p_memsz (first program header at 64).
    image[64 + 32 : 64 + 48] = file_size.to_bytes(8, "little") * 2
    # DT_SYMTAB's d_val: the fourth dynamic entry (at 64 + 2 * 56).
    dyn = 64 + 2 * 56
    assert int.from_bytes(image[dyn + 48 : dyn + 56], "little") == 6
    image[dyn + 56 : dyn + 64] = symtab_offset.to_bytes(8, "little")
    return bytes(image)


def test_elf_bomb_asking_for_gigabytes(adversarial_dir: Path) -> None:
    bomb = adversarial_dir / "elfbomb4g-1.0-py3-none-any.whl"
    if not bomb.exists():
        head = _far_tables_elf(3 << 30, 4 << 30)
        write_zero_bomb(bomb.with_suffix(".part"), "bomb/x.so", 4 << 30, head=head)
        bomb.with_suffix(".part").rename(bomb)
    result = inspect_bounded(bomb)
    assert result.members == ()
    assert result.malformed == ()
    ((member, kind, message),) = result.notes
    assert (member, kind) == ("bomb/x.so", "not-inspected")
    assert "cap per file" in message


def test_many_elf_bombs_stop_at_the_wheel_budget(tmp_path: Path) -> None:
    # Ten members each asking for 48 MiB (under the 64 MiB cap): the 256 MiB
    # budget lets five be read, then the rest are noted.
    head = _far_tables_elf(48 << 20, 56 << 20)
    wheel = tmp_path / "elfbombs-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        member = head + bytes((56 << 20) - len(head))
        for i in range(10):
            archive.writestr(f"bomb/x{i}.so", member)
    result = inspect_bounded(wheel)
    assert result.bytes_read <= 256 << 20
    inspected = len(result.members) + len(result.malformed)
    assert 1 <= inspected <= 5
    assert len(result.notes) == 10 - inspected


def test_truncated_real_elf(tmp_path: Path) -> None:
    data = compile_so(tmp_path / "x.so", PLAIN_SOURCE, compiler=MUSL_CC)
    wheel = write_wheel(tmp_path, {"abiprobe/_ext.so": data[: len(data) // 2]})
    result = inspect_bounded(wheel)
    ((name, reason),) = result.malformed
    assert name == "abiprobe/_ext.so"
    assert reason.startswith("truncated")


def test_hash_table_claiming_two_to_the_32_symbols(tmp_path: Path) -> None:
    image = loaders.build_elf(
        needed=["libc.so"],
        symbols=[loaders.SymbolSpec("malloc", defined=False)],
        hash_style="sysv",
    )
    data = loaders.patch(image, image.offsets["hash"] + 4, 0xFFFFFFFF, 4)
    result = inspect_bounded(write_wheel(tmp_path, {"abiprobe/_ext.so": data}))
    ((_name, reason),) = result.malformed
    assert "4294967295" in reason


def test_million_symbol_tables_stop_at_the_symbol_budget(tmp_path: Path) -> None:
    flood = symbol_flood_elf(1_000_000)
    files = {f"abiprobe/x{i}.so": flood for i in range(20)}
    wheel = write_wheel(tmp_path, files)
    assert wheel.stat().st_size < 4 << 20  # ~60 KiB per 28 MB member
    result = inspect_bounded(wheel)
    # The budget (2 000 000) is checked before each member: the third starts
    # with 2 symbols left, the fourth finds it spent.
    assert len(result.members) == 3
    assert len(result.notes) == 17
    assert "symbol budget" in result.notes[0][2]


def test_symbols_sharing_one_long_name(tmp_path: Path) -> None:
    """A million symbols naming one 4 KiB string: each name is decoded once."""
    flood = symbol_flood_elf(1_000_000, name_length=4095)
    wheel = write_wheel(tmp_path, {"abiprobe/_ext.so": flood})
    result = inspect_bounded(wheel)
    assert len(result.members) == 1


def test_many_members_named_like_shared_objects(tmp_path: Path) -> None:
    wheel = tmp_path / "many-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i in range(20_000):
            archive.writestr(f"many/m{i}.so", b"not an ELF file")
    result = inspect_bounded(wheel)
    assert result.members == ()
    assert len(result.notes) == 101
    assert result.notes[0][2] == (
        "10000 members that may be ELF files were not opened (more than 10000)"
    )
    assert result.notes[-1][2] == "9901 more notes omitted"


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "odd-1.0-py3-none-any.whl"
    path.write_bytes(b"\x7fELF but not a zip" * 100)
    result = inspect_bounded(path)
    assert result.error == f"{path} is not a valid zip archive: File is not a zip file"


def test_empty_zip(tmp_path: Path) -> None:
    path = tmp_path / "odd-1.0-py3-none-any.whl"
    zipfile.ZipFile(path, "w").close()
    result = inspect_bounded(path)
    assert result == ChildResult(seconds=result.seconds)


def test_non_elf_shared_object(tmp_path: Path) -> None:
    path = write_wheel(tmp_path, {"odd/_ext.so": b"INPUT(-lc)\n"})
    result = inspect_bounded(path)
    assert result.error is None
    assert result.members == ()
    assert result.malformed == ()
    assert result.notes == (
        ("odd/_ext.so", "not-elf", "`odd/_ext.so` is not an ELF file"),
    )


# -- real wheels from PyPI ---------------------------------------------------------------

REAL_PROJECTS = {
    "markupsafe": "3.0.4",
    "pyyaml": "6.0.3",
    "cffi": "2.1.1",
    "charset-normalizer": "3.5.2",
    "msgpack": "1.2.4",
    "orjson": "3.13.0",
    "pydantic-core": "2.50.4",
    "cryptography": "50.0.2",
    "lxml": "6.1.3",
    "pillow": "13.0.0",
    "zstandard": "0.25.0",
    "psutil": "7.2.2",
    "numpy": "2.4.6",
}
PLATFORMS = {
    "musllinux": ["musllinux_1_2_x86_64", "musllinux_1_1_x86_64"],
    "manylinux": [
        "manylinux_2_28_x86_64",
        "manylinux_2_17_x86_64",
        "manylinux2014_x86_64",
    ],
}
#: What the wheels' ELF files really need, where not musllinux_1_1: Pillow's
#: bundled libzstd calls qsort_r, which musl exports from 1.2.3.
# DT_RELR (musl 1.2.4) puts numpy and cryptography in the 1.2 series too.
DESERVED = {"pillow": (1, 2), "numpy": (1, 2), "cryptography": (1, 2)}


def _normalized(project: str) -> str:
    return project.replace("-", "_").lower()


def _download(project: str, version: str, flavour: str) -> Path:
    dest = cache_dir() / "wheels" / "real" / flavour
    prefix = f"{_normalized(project)}-{version}-"
    found = sorted(dest.glob(f"{prefix}*.whl")) if dest.is_dir() else []
    if found:
        return found[0]
    argv = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--python-version", "3.11", "--implementation", "cp",
        "--abi", "cp311", "--abi", "abi3",
        "--index-url", "https://pypi.org/simple", "-d", str(dest),
        *(arg for plat in PLATFORMS[flavour] for arg in ("--platform", plat)),
        f"{project}=={version}",
    ]  # fmt: skip
    proc = subprocess.run(
        argv, capture_output=True, text=True, env=pip_env(), check=False
    )
    found = sorted(dest.glob(f"{prefix}*.whl"))
    if proc.returncode != 0 or not found:
        pytest.fail(
            f"downloading the {flavour} wheel of {project}=={version} from PyPI "
            f"failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}",
            pytrace=False,
        )
    return found[0]


def _real_cases() -> Iterator[object]:
    for project, version in REAL_PROJECTS.items():
        for flavour in PLATFORMS:
            yield pytest.param(project, version, flavour, id=f"{project}-{flavour}")


@pytest.mark.network
@pytest.mark.parametrize(("project", "version", "flavour"), list(_real_cases()))
def test_real_wheel_verdicts(
    project: str, version: str, flavour: str, hosts: Hosts
) -> None:
    musl, glibc, musl_exports = hosts.musl, hosts.glibc, hosts.musl_exports
    wheel = _download(project, version, flavour)
    abi = inspect_wheel(wheel)
    assert abi.members, f"{wheel.name} has no ELF files?"
    assert abi.malformed == ()
    assert abi.notes == ()
    on_musl = wheel_abi_problems(abi, musl, musl_exports)
    on_glibc = wheel_abi_problems(abi, glibc, None)
    if flavour == "musllinux":
        if project in RELR_WHEELS:
            # A real finding: these wheels bundle libraries linked with packed
            # relative relocations, which musl applies only from 1.2.4: on 1.2.3
            # (Debian's, Alpine 3.17) the import crashes (see tests/e2e).
            assert kinds(on_musl) == {"loader-feature"}
            assert all("DT_RELR" in p.message for p in on_musl)
            newer = musl_host((1, 2, 4))
            assert wheel_abi_problems(abi, newer, musl_exports) == ()
        else:
            assert on_musl == (), [p.message for p in on_musl]
        assert kinds(on_glibc) == {"libc-family"}
        assert "musl" in {m.libc for m in abi.members}
        assert "glibc" not in {m.libc for m in abi.members}
        assert deserved_musllinux(abi, "x86_64") == DESERVED.get(project, (1, 1))
    else:
        assert on_glibc == (), [p.message for p in on_glibc]
        assert kinds(on_musl) == {"libc-family"}
        assert deserved_musllinux(abi, "x86_64") is None


def _exports_before(
    exports: frozenset[str], release: tuple[int, int, int]
) -> frozenset[str]:
    """The real image's exports less those upstream musl added after ``release``."""
    return frozenset(
        s for s in exports if (first_musl_release(s, "x86_64") or (0, 0, 0)) <= release
    )


#: musllinux_1_2 wheels whose bundled libraries use DT_RELR (need musl >= 1.2.4).
RELR_WHEELS = frozenset({"numpy", "cryptography", "pillow"})


@pytest.mark.network
def test_pillow_musllinux_wheel_needs_musl_123(musl_exports: frozenset[str]) -> None:
    """A real finding: Pillow 13.0.0's musllinux_1_2 wheel does not load on musl
    1.2.2 (Alpine 3.14), because its bundled libzstd calls qsort_r."""
    abi = inspect_wheel(_download("pillow", REAL_PROJECTS["pillow"], "musllinux"))
    host = musl_host((1, 2, 2))
    problems = wheel_abi_problems(abi, host, _exports_before(musl_exports, (1, 2, 2)))
    (problem,) = [p for p in problems if p.kind == "missing-symbol"]
    assert problem.member.startswith("pillow.libs/libzstd-")
    assert problem.symbols == ("qsort_r",)
    assert "which musl exports from 1.2.3; this host has musl 1.2.2" in problem.message
    # The table alone says the same.
    problems = wheel_abi_problems(abi, host, None)
    (problem,) = [p for p in problems if p.kind == "missing-symbol"]
    assert problem.symbols == ("qsort_r",)


@pytest.mark.network
def test_inspection_throughput_on_numpy(capsys: pytest.CaptureFixture[str]) -> None:
    wheel = _download("numpy", REAL_PROJECTS["numpy"], "musllinux")
    timings = []
    abi: WheelAbi | None = None
    for _ in range(3):
        start = time.perf_counter()
        abi = inspect_wheel(wheel)
        timings.append(time.perf_counter() - start)
    assert abi is not None
    best = min(timings)
    size = wheel.stat().st_size
    with capsys.disabled():
        print(
            f"\ninspect_wheel({wheel.name}): {best * 1000:.0f} ms best of 3; "
            f"{size / 2**20:.1f} MiB wheel ({size / 2**20 / best:.0f} MiB/s), "
            f"{abi.bytes_read / 2**20:.1f} MiB inflated "
            f"({abi.bytes_read / 2**20 / best:.0f} MiB/s), {len(abi.members)} ELF files"
        )


def test_needed_entries_naming_one_long_string(tmp_path: Path) -> None:
    # 90 000 DT_NEEDED entries, one 4000-byte name: ~1.4 MB, deflates to ~2 KiB.
    image = loaders.build_elf(needed=["L" * 4000] * 90_000)
    files = {f"abiprobe/x{i}.so": image.data for i in range(6)}
    result = inspect_bounded(write_wheel(tmp_path, files))
    assert len(result.members) == 6


@pytest.mark.network
@pytest.mark.parametrize(("project", "version", "flavour"), list(_real_cases()))
def test_streamed_members_equal_whole_reads(
    project: str, version: str, flavour: str
) -> None:
    # The reader keeps only the loader's tables of a large member (see
    # wheel_member.py); what it learns must be what parsing the whole file
    # teaches, on the layouts real linkers and auditwheel's patchelf write.
    wheel = _download(project, version, flavour)
    abi = inspect_wheel(wheel)
    with zipfile.ZipFile(wheel) as archive:
        for found in abi.members:
            whole = elf_member_from(found.name, parse_elf(archive.read(found.name)))
            assert found == whole, found.name
        inflated = sum(archive.getinfo(m.name).file_size for m in abi.members)
    # Never more than one pass over a member (plus the first read of each).
    assert abi.bytes_read <= inflated + 256 * 1024 * len(abi.members)
