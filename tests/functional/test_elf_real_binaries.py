"""The ELF reader and the musl version rule against real binaries.

- Debian's musl loaders and glibc libc.so.6/ld.so for amd64, arm64, armhf,
  i386, ppc64el and s390x (32/64-bit, little/big-endian), fetched by
  tools/fetch-loaders.sh, compared with binutils' readelf.
- The musl version read from each loader's image, compared with the banner
  the loader prints when run (through qemu-user for foreign architectures)
  and with the version in the Debian package's name.
- Programs and libraries compiled here with gcc and musl-gcc.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from pip._internal.libc.elf import (
    ElfFile,
    ElfTruncatedError,
    parse_elf,
    read_elf,
    read_elf_header,
)
from pip._internal.libc.musl_version import (
    musl_version_from_banner,
    musl_version_from_image,
    read_musl_version,
)
from tests.lib import loaders
from tests.lib.loaders import ARCHES, LoaderSet, ReadelfView, readelf_view

debian_loaders = loaders.debian_loaders

ARCH_NAMES = list(ARCHES)
FILES = ["musl_loader", "glibc_libc", "glibc_loader"]


def assert_same_as_readelf(ours: ElfFile, reference: ReadelfView) -> None:
    assert ours.elf_class == reference.elf_class
    assert ours.byte_order == reference.byte_order
    assert ours.elf_type == reference.elf_type
    assert ours.interpreter == reference.interpreter
    assert ours.needed == reference.needed
    assert ours.soname == reference.soname
    assert ours.rpath == reference.rpath
    assert ours.runpath == reference.runpath
    assert ours.defined_symbols == reference.defined
    assert ours.undefined_symbols == reference.undefined
    versions = {s.name: s.version for s in ours.symbols if s.version is not None}
    assert versions == reference.undefined_versions
    assert ours.version_needs == reference.version_needs


@pytest.mark.parametrize("which", FILES)
@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_debian_binaries_match_readelf(
    debian_loaders: dict[str, LoaderSet], arch: str, which: str
) -> None:
    loader_set = debian_loaders[arch]
    path: Path = getattr(loader_set, which)
    ours = read_elf(path)
    reference = readelf_view(path)
    assert_same_as_readelf(ours, reference)
    assert ours.machine_name == loader_set.arch.machine_name
    assert reference.machine == loader_set.arch.readelf_machine
    assert (ours.elf_class, ours.byte_order) == (
        loader_set.arch.elf_class,
        loader_set.arch.byte_order,
    )
    # Sanity: these are the files we think they are.
    assert len(ours.defined_symbols) > 20
    if which == "musl_loader":
        assert {"malloc", "dlopen", "qsort_r"} <= ours.defined_symbols
        assert ours.needed == ()
    elif which == "glibc_libc":
        assert ours.soname == "libc.so.6"
        assert ours.interpreter == loader_set.arch.glibc_interp


@pytest.mark.parametrize("which", ["musl_libc", "glibc_libc"])
@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_prefixes_of_debian_binaries(
    debian_loaders: dict[str, LoaderSet], arch: str, which: str
) -> None:
    """What a wheel check does with a compressed member: parse a prefix and,
    on ElfTruncatedError, read up to ``needed`` and retry. That converges on
    the full answer, and every prefix gives that answer or asks for more."""
    data: bytes = getattr(debian_loaders[arch], which).read_bytes()
    full = parse_elf(data)
    length, steps = 64, 0
    while not isinstance(outcome := parse_prefix(data, length), ElfFile):
        assert length < outcome <= len(data)
        length = outcome
        steps += 1
        assert steps < 50
    assert outcome == full
    for length in range(0, len(data), len(data) // 40):
        outcome = parse_prefix(data, length)
        assert outcome == full if isinstance(outcome, ElfFile) else outcome > length


def parse_prefix(data: bytes, length: int) -> ElfFile | int:
    """The parse of ``data[:length]``, or how many bytes it asks for."""
    try:
        return parse_elf(data[:length])
    except ElfTruncatedError as exc:
        return exc.needed


def _deb_upstream_version(deb_name: str) -> tuple[int, int, int]:
    match = re.match(r"musl_(\d+)\.(\d+)\.(\d+)", deb_name)
    assert match, deb_name
    return int(match[1]), int(match[2]), int(match[3])


@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_musl_version_from_image_matches_the_banner(
    debian_loaders: dict[str, LoaderSet], arch: str
) -> None:
    loader_set = debian_loaders[arch]
    from_image = musl_version_from_image(loader_set.musl_libc.read_bytes())
    proc = subprocess.run(
        loader_set.run_command(loader_set.musl_loader),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    banner = proc.stderr + proc.stdout
    assert "musl libc (" in banner, banner
    from_banner = musl_version_from_banner(banner)
    assert from_banner is not None, banner
    assert from_image == from_banner
    assert from_image == _deb_upstream_version(loader_set.musl_deb)


@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_glibc_images_have_no_musl_version(
    debian_loaders: dict[str, LoaderSet], arch: str
) -> None:
    loader_set = debian_loaders[arch]
    for path in (loader_set.glibc_libc, loader_set.glibc_loader):
        assert musl_version_from_image(path.read_bytes()) is None


# -- programs and libraries built here --------------------------------------------

HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("elf-real")


@dataclass(frozen=True)
class Program:
    compiler: str
    flags: tuple[str, ...]
    interpreter: str | None
    needed: tuple[str, ...]


PROGRAMS = {
    "musl-dynamic": Program("musl-gcc", (), "/lib/ld-musl-x86_64.so.1", ("libc.so",)),
    "glibc-dynamic": Program("gcc", (), "/lib64/ld-linux-x86-64.so.2", ("libc.so.6",)),
    "musl-static": Program("musl-gcc", ("-static",), None, ()),
    "glibc-static-pie": Program("gcc", ("-static-pie",), None, ()),
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_built_programs(build_dir: Path, name: str) -> None:
    spec = PROGRAMS[name]
    program = loaders.compile_c(
        HELLO, build_dir / name, compiler=spec.compiler, flags=spec.flags
    )
    ours = read_elf(program)
    assert_same_as_readelf(ours, readelf_view(program))
    assert ours.interpreter == spec.interpreter
    assert ours.needed == spec.needed
    assert read_elf_header(program).interpreter == spec.interpreter
    if name == "glibc-dynamic":
        # __libc_start_main@GLIBC_2.34, puts@GLIBC_2.2.5
        assert dict(ours.version_needs)["libc.so.6"]
        assert {"__libc_start_main", "puts"} <= ours.undefined_symbols
    if name == "musl-dynamic":
        # What host detection does with it: the loader's own version.
        assert read_musl_version("/lib/ld-musl-x86_64.so.1") == ((1, 2, 3), "image")
    if name == "musl-static":
        assert not ours.has_dynamic


def test_built_glibc_library_symbol_versions(build_dir: Path) -> None:
    library = loaders.build_small_library(build_dir / "libsmall-glibc.so")
    ours = read_elf(library)
    assert_same_as_readelf(ours, readelf_view(library))
    versions = {s.name: s.version for s in ours.symbols if not s.defined}
    assert versions["memcpy"] == "GLIBC_2.14"
    assert versions["statx"] == "GLIBC_2.28"
    (file_name, names), *_ = ours.version_needs
    assert file_name == "libc.so.6"
    assert {"GLIBC_2.14", "GLIBC_2.28"} <= set(names)
    assert ours.soname == "libsmall.so.1"
    assert {"small_copy", "small_statx", "small_answer"} <= ours.defined_symbols


def test_built_musl_library_has_no_versions(build_dir: Path) -> None:
    library = loaders.build_small_library(
        build_dir / "libsmall-musl.so", compiler="musl-gcc"
    )
    ours = read_elf(library)
    assert_same_as_readelf(ours, readelf_view(library))
    assert ours.needed == ("libc.so",)
    assert ours.version_needs == ()
    assert all(s.version is None for s in ours.symbols)
    assert "memcpy" in ours.undefined_symbols


def test_rpath_and_runpath(build_dir: Path) -> None:
    library = loaders.compile_c(
        "int f(void) { return 1; }\n",
        build_dir / "librpath.so",
        flags=(
            "-shared", "-fPIC",
            "-Wl,--disable-new-dtags,-rpath,/opt/one:/opt/two",
        ),
    )  # fmt: skip
    ours = read_elf(library)
    assert ours.rpath == ("/opt/one", "/opt/two")
    assert ours.runpath == ()
    assert_same_as_readelf(ours, readelf_view(library))
    library = loaders.compile_c(
        "int f(void) { return 1; }\n",
        build_dir / "librunpath.so",
        flags=("-shared", "-fPIC", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib"),
    )
    ours = read_elf(library)
    assert ours.runpath == ("$ORIGIN/../lib",)
    assert_same_as_readelf(ours, readelf_view(library))
