"""The loader-image rule (pip._internal.libc.musl_version) on real loaders.

musl 1.2.3, 1.2.5 and 1.2.6 for amd64, arm64, armhf, i386, ppc64el and s390x
(Debian's packages, see tests/lib/musl_releases.py): the family and version read
from each image are compared with the banner the loader prints when run
(through qemu-user for foreign architectures) and with the package's version;
glibc's loaders of the same architectures are told apart by their image too.
Also: how much of the file the rule reads.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from pip._internal.libc import elf_ident, musl_version
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
    """The first page, section headers + names, and .rodata once: no more."""
    item = release_loaders[release]
    reads: list[tuple[int, int]] = []
    original_read, original_preadv = elf_ident.ElfReader.read, os.preadv

    def counting_read(self: elf_ident.ElfReader, offset: int, size: int) -> bytes:
        reads.append((offset, size))
        return original_read(self, offset, size)

    def counting_preadv(fd: int, buffers: list[memoryview], offset: int) -> int:
        got = original_preadv(fd, buffers, offset)
        reads.append((offset, got))
        return got

    monkeypatch.setattr(elf_ident.ElfReader, "read", counting_read)
    monkeypatch.setattr(os, "preadv", counting_preadv)
    assert identify_loader(item.libc)[0] == "musl"
    monkeypatch.undo()
    with elf_ident.ElfReader(item.libc) as reader:
        ident = reader.ident()
        rodata = elf_ident.section_range(ident, b".rodata", reader.read)
    assert rodata is not None
    start, size = rodata
    assert reads[0] == (0, 4096)
    assert (ident.shoff, ident.shnum * ident.shentsize) in reads
    # Everything after the headers lies in .rodata, which is covered once
    # (windows overlap by OVERLAP bytes).
    body = reads[3:]
    assert all(start <= off and off + n <= start + size for off, n in body), body
    windows = len(body)
    assert sum(n for _, n in body) <= size + windows * musl_version.OVERLAP
    total = sum(n for _, n in reads)
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


@pytest.mark.parametrize("window", [300, 1000, 4096, 65536])
@pytest.mark.parametrize("release", ["bookworm-amd64", "trixie-i386", "sid-s390x"])
def test_windowed_reads_give_the_same_answer(
    release_loaders: dict[str, ReleaseLoader],
    release: str,
    window: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Windows of any size (down to just over the overlap) see every candidate
    exactly as one read of the whole region does: a version string or usage
    text across a window edge is found whole in one window."""
    item = release_loaders[release]
    monkeypatch.setattr(musl_version, "WINDOW_BYTES", window)
    assert identify_loader(item.libc) == ("musl", item.deb_version)
