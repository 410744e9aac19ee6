"""The loader-image rule (pip._internal.libc.musl_version) on real loaders.

musl 1.2.3, 1.2.5 and 1.2.6 for amd64, arm64, armhf, i386, ppc64el and s390x
(Debian's packages, see tests/lib/musl_releases.py): the family and version read
from each image are compared with the banner the loader prints when run
(through qemu-user for foreign architectures) and with the package's version;
glibc's loaders of the same architectures are told apart by their image too.
Also: how much of the file the rule reads.
"""

from __future__ import annotations

import subprocess

import pytest

from pip._internal.libc import elf_ident
from pip._internal.libc.musl_version import (
    identify_loader,
    musl_version_from_banner,
    musl_version_from_image,
)
from tests.lib import loaders, musl_releases
from tests.lib.loaders import ARCHES, LoaderSet, qemu_prefix
from tests.lib.musl_releases import RELEASE_IDS, ReleaseLoader

debian_loaders = loaders.debian_loaders
release_loaders = musl_releases.release_loaders


def _banner_version(item: ReleaseLoader) -> tuple[int, int, int]:
    proc = subprocess.run(
        [*qemu_prefix(item.arch), str(item.loader)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    banner = proc.stderr + proc.stdout
    version = musl_version_from_banner(banner)
    assert version is not None, banner
    return version


@pytest.mark.parametrize("release", RELEASE_IDS)
def test_image_rule_matches_the_banner(
    release_loaders: dict[str, ReleaseLoader], release: str
) -> None:
    item = release_loaders[release]
    expected = _banner_version(item)
    assert expected == item.deb_version
    # By either name: the ld-musl-<arch>.so.1 symlink and libc.so itself.
    assert identify_loader(item.loader) == ("musl", expected)
    assert identify_loader(item.libc) == ("musl", expected)
    assert musl_version_from_image(item.libc.read_bytes()) == expected


@pytest.mark.parametrize("release", RELEASE_IDS)
def test_image_rule_reads_a_fraction_of_the_file(
    release_loaders: dict[str, ReleaseLoader],
    release: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Header + program headers, section headers + names, and .rodata: no more."""
    item = release_loaders[release]
    reads: list[tuple[int, int]] = []
    original = elf_ident.ElfReader.read

    def counting(self: elf_ident.ElfReader, offset: int, size: int) -> bytes:
        reads.append((offset, size))
        return original(self, offset, size)

    monkeypatch.setattr(elf_ident.ElfReader, "read", counting)
    assert identify_loader(item.libc)[0] == "musl"
    monkeypatch.undo()
    with elf_ident.ElfReader(item.libc) as reader:
        rodata = elf_ident.section_range(reader.ident(), b".rodata", reader.read)
    assert rodata is not None
    total = sum(size for _, size in reads)
    assert len(reads) == 4, reads  # first page, shdrs, shstrtab, .rodata
    assert rodata in reads
    assert total <= rodata[1] + 4096 + 4096, (total, rodata)
    assert total < item.libc.stat().st_size * 0.4


@pytest.mark.parametrize("arch", list(ARCHES))
def test_glibc_loaders_are_glibc_by_their_image(
    debian_loaders: dict[str, LoaderSet], arch: str
) -> None:
    loader_set = debian_loaders[arch]
    assert identify_loader(loader_set.glibc_loader) == ("glibc", None)
    # glibc's libc.so.6 is neither loader.
    assert identify_loader(loader_set.glibc_libc) == (None, None)
    assert musl_version_from_image(loader_set.glibc_loader.read_bytes()) is None
