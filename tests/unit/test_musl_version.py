"""musl version detection: banner parsing, the image rule, and the fallback
to running the loader.

The real loader is this machine's /lib/ld-musl-x86_64.so.1 (Debian's musl
1.2.3, package ``musl``). The "loader-banner" path is tested with a copy of
that loader whose read-only data has a second, different version-like
string spliced in (an unused resolver default, "127.0.0.1"): the image rule
must then refuse to choose, while running the copy still prints the real
banner, because the banner prints the genuine version string, not the
spliced one.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from pip._internal.libc.musl_version import (
    MAX_IMAGE_BYTES,
    musl_version_by_running,
    musl_version_from_banner,
    musl_version_from_image,
    read_musl_version,
)
from tests.lib.loaders import build_elf

HOST_LOADER = Path("/lib/ld-musl-x86_64.so.1")
HOST_MUSL_VERSION = (1, 2, 3)
USAGE = b"musl libc (x86_64)\nVersion %s\nDynamic Program Loader\n"


@pytest.fixture(scope="module")
def host_loader() -> bytes:
    if not HOST_LOADER.is_file():
        pytest.fail(
            f"{HOST_LOADER} not found: apt-get install musl (Debian's musl 1.2.3)",
            pytrace=False,
        )
    return HOST_LOADER.read_bytes()


# -- the banner ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "musl libc (x86_64)\nVersion 1.2.3\nDynamic Program Loader\n"
            "Usage: /lib/ld-musl-x86_64.so.1 [options] [--] pathname [args]\n",
            (1, 2, 3),
        ),
        ("musl libc (aarch64)\nVersion 1.2.5\n", (1, 2, 5)),
        ("musl libc (armhf)\r\nVersion 1.1.24\r\n", (1, 1, 24)),
        ("musl libc (x86_64)\nVersion 1.2.4-git-12-gabcdef0\n", (1, 2, 4)),
        ("some noise\nmusl libc (i386)\nVersion 1.2.3\n", (1, 2, 3)),
        ("musl libc (x86_64)\nVersion 1.2\n", None),
        ("musl libc (x86_64)\nVersion 1.2.3.4\n", None),
        ("musl libc (x86_64)\nVersion x.y.z\n", None),
        ("Version 1.2.3\n", None),
        ("ld.so (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36.\n", None),
        ("", None),
    ],
)
def test_version_from_banner(text: str, expected: tuple[int, int, int] | None) -> None:
    assert musl_version_from_banner(text) == expected


# -- the image rule ----------------------------------------------------------------


def test_version_from_the_real_loader_image(host_loader: bytes) -> None:
    assert musl_version_from_image(host_loader) == HOST_MUSL_VERSION


def test_image_rule_is_fast(host_loader: bytes) -> None:
    started = time.perf_counter()
    for _ in range(10):
        musl_version_from_image(host_loader)
    assert (time.perf_counter() - started) / 10 < 0.02


def test_glibc_is_not_musl() -> None:
    libc = Path("/lib/x86_64-linux-gnu/libc.so.6")
    assert musl_version_from_image(libc.read_bytes()) is None


def _image(rodata: bytes, *, writable: bool = False) -> bytes:
    return build_elf(extra=rodata, extra_writable=writable, dynamic=False).data


@pytest.mark.parametrize(
    ("rodata", "expected"),
    [
        (USAGE + b"\x001.2.3\x00", (1, 2, 3)),
        # What precedes the string does not matter (i386 has float bytes).
        (USAGE + b"\x80=1.2.5\x00", (1, 2, 5)),
        # The same version twice is still one answer.
        (b"\x001.2.3\x00" + USAGE + b"\x001.2.3\x00", (1, 2, 3)),
        # A git build.
        (USAGE + b"\x001.2.4-12-gabcdef0\x00", (1, 2, 4)),
        # Not versions: part of a word, of a dotted quad, a compound.
        (USAGE + b"\x001.2.3\x00LINUX_2.6.39\x00127.0.0.1\x00gcc-12.2.0\x00", (1, 2, 3)),
        # Zero candidates.
        (USAGE + b"\x001.2\x00", None),
        (USAGE, None),
        # Two different candidates: not sure, so no answer.
        (USAGE + b"\x001.2.3\x009.9.9\x00", None),
        # A version but no musl usage banner: not a musl loader.
        (b"\x001.2.3\x00", None),
        # Not NUL-terminated.
        (USAGE + b"\x001.2.3", None),
    ],
    ids=[
        "plain", "odd-prefix", "twice", "git", "not-versions", "no-patch",
        "none", "two", "no-banner", "unterminated",
    ],
)  # fmt: skip
def test_version_from_crafted_image(
    rodata: bytes, expected: tuple[int, int, int] | None
) -> None:
    assert musl_version_from_image(_image(rodata)) == expected


def test_only_read_only_segments_are_searched() -> None:
    # Writable data is no place for a string constant.
    image = build_elf(
        extra=USAGE + b"\x001.2.3\x00", extra_writable=True, dynamic=False
    )
    assert musl_version_from_image(image.data) is None


def test_not_elf_is_no_answer() -> None:
    assert musl_version_from_image(USAGE + b"\x001.2.3\x00") is None
    assert musl_version_from_image(b"") is None


def test_many_candidates_are_bounded() -> None:
    # A hostile image full of version-like strings: answered (None) fast.
    rodata = USAGE + b"\x00" + b"1.1.1\x002.2.2\x00" * 400_000
    data = _image(rodata)
    assert len(data) < MAX_IMAGE_BYTES
    started = time.perf_counter()
    assert musl_version_from_image(data) is None
    assert time.perf_counter() - started < 0.5


# -- running the loader, and the combination -------------------------------------


def _spliced_copy(host_loader: bytes, directory: Path) -> Path:
    """The host loader with "127.0.0.1\\0" (the resolver's default name
    server, unused by the banner) replaced by "9.9.9\\0" and padding."""
    marker = b"\x00127.0.0.1\x00"
    assert host_loader.count(marker) == 1, "the loader changed: pick another string"
    replacement = b"\x009.9.9\x00".ljust(len(marker), b"\x00")
    copy = directory / "ld-musl-spliced.so.1"
    copy.write_bytes(host_loader.replace(marker, replacement))
    copy.chmod(0o755)
    return copy


def test_read_musl_version_uses_the_image(host_loader: bytes) -> None:
    assert read_musl_version(HOST_LOADER) == (HOST_MUSL_VERSION, "image")


def test_running_the_host_loader() -> None:
    assert musl_version_by_running(HOST_LOADER) == HOST_MUSL_VERSION


def test_ambiguous_image_falls_back_to_the_banner(
    host_loader: bytes, tmp_path: Path
) -> None:
    copy = _spliced_copy(host_loader, tmp_path)
    assert musl_version_from_image(copy.read_bytes()) is None
    assert read_musl_version(copy) == (HOST_MUSL_VERSION, "loader-banner")


def test_ambiguous_image_that_cannot_run_is_unknown(
    host_loader: bytes, tmp_path: Path
) -> None:
    copy = _spliced_copy(host_loader, tmp_path)
    copy.chmod(0o644)  # even root cannot execute a file without an x bit
    assert read_musl_version(copy) == (None, "unknown")


def test_broken_version_string_is_unknown(host_loader: bytes, tmp_path: Path) -> None:
    # "1.2.3\0" -> "1.2.3." runs into the next string: the image has no
    # candidate, and the running loader prints a banner that is no version.
    assert host_loader.count(b"\x001.2.3\x00") == 1
    copy = tmp_path / "ld-musl-broken.so.1"
    copy.write_bytes(host_loader.replace(b"\x001.2.3\x00", b"\x001.2.3."))
    copy.chmod(0o755)
    assert musl_version_from_image(copy.read_bytes()) is None
    assert musl_version_by_running(copy) is None
    assert read_musl_version(copy) == (None, "unknown")


def test_running_failures_give_none(tmp_path: Path) -> None:
    assert musl_version_by_running(tmp_path / "missing") is None
    assert musl_version_by_running(tmp_path) is None
    not_executable = tmp_path / "plain"
    not_executable.write_text("musl libc (x86_64)\nVersion 1.2.3\n")
    assert musl_version_by_running(not_executable) is None


def test_running_a_banner_printer(tmp_path: Path) -> None:
    script = tmp_path / "fake-loader"
    script.write_text(
        "#!/bin/sh\nprintf 'musl libc (x86_64)\\nVersion 1.2.5\\n' >&2\nexit 1\n"
    )
    script.chmod(0o755)
    assert musl_version_by_running(script) == (1, 2, 5)
    assert read_musl_version(script) == ((1, 2, 5), "loader-banner")


def test_running_is_bounded_by_the_timeout(tmp_path: Path) -> None:
    script = tmp_path / "slow-loader"
    sleep = shutil.which("sleep") or "/bin/sleep"
    script.write_text(f"#!/bin/sh\nexec {sleep} 30\n")
    script.chmod(0o755)
    started = time.perf_counter()
    assert musl_version_by_running(script, timeout=0.3) is None
    assert time.perf_counter() - started < 5


def test_read_musl_version_never_raises(tmp_path: Path) -> None:
    assert read_musl_version(tmp_path / "missing") == (None, "unknown")
    assert read_musl_version(tmp_path) == (None, "unknown")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert read_musl_version(fifo) == (None, "unknown")
