"""Real musl loaders of three releases for six architectures.

musl 1.2.3 is Debian bookworm's (``tools/fetch-loaders.sh``, the same files as
``tests.lib.loaders.debian_loaders``); 1.2.5 (trixie) and 1.2.6 (sid) come from
``tools/fetch-loaders.sh --releases``, cached under
``${PIP_MUSL_CACHE:-~/.cache/pip-musl}/loaders-releases``. Use the session
fixture ``release_loaders`` (import it into the test module).
"""

from __future__ import annotations

import functools
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.lib.loaders import ARCHES, FETCH_SCRIPT, DebianArch, fetch_debian_loaders

#: Debian suite -> the musl release it ships (checked against the .deb name).
SUITES = {"bookworm": (1, 2, 3), "trixie": (1, 2, 5), "sid": (1, 2, 6)}


@dataclass(frozen=True)
class ReleaseLoader:
    suite: str
    arch: DebianArch
    #: ``.../ld-musl-<arch>.so.1`` (a symlink to ``libc``).
    loader: Path
    #: The file itself: ``.../<triplet>/libc.so``.
    libc: Path
    deb: str

    @property
    def id(self) -> str:
        return f"{self.suite}-{self.arch.debian}"

    @property
    def deb_version(self) -> tuple[int, int, int]:
        match = re.match(r"musl_(\d+)\.(\d+)\.(\d+)", self.deb)
        assert match, self.deb
        return int(match[1]), int(match[2]), int(match[3])


def _fetch_releases() -> Path:
    proc = subprocess.run(
        ["bash", str(FETCH_SCRIPT), "--releases"],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        pytest.fail(
            f"tools/fetch-loaders.sh --releases failed (exit {proc.returncode}); it "
            "needs apt-get/dpkg and access to the Debian archive:\n" + tail,
            pytrace=False,
        )
    return Path(lines[-1])


def _locate(unpacked: Path, arch: DebianArch) -> tuple[Path, Path]:
    for lib in (unpacked / "usr" / "lib", unpacked / "lib"):
        name = arch.musl_interp.rpartition("/")[2]
        loader, libc = lib / name, lib / arch.musl_triplet / "libc.so"
        if libc.is_file() and loader.exists():
            return loader, libc
    pytest.fail(f"no musl loader for {arch.debian} in {unpacked}", pytrace=False)


@functools.cache
def fetch_release_loaders() -> tuple[ReleaseLoader, ...]:
    found = [
        ReleaseLoader("bookworm", s.arch, s.musl_loader, s.musl_libc, s.musl_deb)
        for s in fetch_debian_loaders().values()
    ]
    root = _fetch_releases()
    for suite in ("trixie", "sid"):
        for arch in ARCHES.values():
            unpacked = root / suite / f"musl-{arch.debian}"
            stamp = unpacked / ".fetched"
            if not stamp.is_file():
                pytest.fail(f"{unpacked} was not fetched", pytrace=False)
            loader, libc = _locate(unpacked, arch)
            found.append(
                ReleaseLoader(suite, arch, loader, libc, stamp.read_text().strip())
            )
    for item in found:
        assert item.deb_version == SUITES[item.suite], (item.deb, item.suite)
    return tuple(found)


@pytest.fixture(scope="session")
def release_loaders() -> dict[str, ReleaseLoader]:
    """``<suite>-<debian arch>`` -> that release's musl loader."""
    return {item.id: item for item in fetch_release_loaders()}


RELEASE_IDS = [f"{suite}-{arch}" for suite in SUITES for arch in ARCHES]
