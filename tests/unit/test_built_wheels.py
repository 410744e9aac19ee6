"""Retagging wheels built on a musl host."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest

from pip._internal.libc.built_wheels import retag_built_wheel, retagged_filename
from pip._internal.libc.host import HostLibc

MUSL = HostLibc("musl", (1, 2, 3), "x86_64", loader="/lib/ld-musl-x86_64.so.1")
GLIBC = HostLibc("glibc", (2, 36), "x86_64", loader="/lib64/ld-linux-x86-64.so.2")


@pytest.mark.parametrize(
    ("filename", "host", "expected"),
    [
        (
            "p-1.0-cp311-cp311-linux_x86_64.whl",
            MUSL,
            "p-1.0-cp311-cp311-x86_64_linux_musl.whl",
        ),
        (
            "p-1.0-1build-cp311-abi3-linux_x86_64.whl",
            MUSL,
            "p-1.0-1build-cp311-abi3-x86_64_linux_musl.whl",
        ),
        ("p-1.0-py3-none-any.whl", MUSL, None),
        ("p-1.0-cp311-cp311-linux_aarch64.whl", MUSL, None),
        ("p-1.0-cp311-cp311-musllinux_1_2_x86_64.whl", MUSL, None),
        ("p-1.0-cp311-cp311-linux_x86_64.whl", GLIBC, None),
        ("p-1.0-cp311-cp311-linux_x86_64.whl", HostLibc("unknown"), None),
        ("p-1.0-cp311-cp311-linux_x86_64.tar.gz", MUSL, None),
    ],
)
def test_retagged_filename(filename: str, host: HostLibc, expected: str | None) -> None:
    assert retagged_filename(filename, host) == expected


def _digest(data: bytes) -> str:
    return (
        "sha256="
        + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    )


def _make_wheel(path: Path) -> None:
    files = {
        "p/__init__.py": b"",
        "p/_ext.so": b"\x7fELF not really",
        "p-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: p\nVersion: 1.0\n",
        "p-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\n"
        b"Root-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n",
    }
    record = "".join(f"{n},{_digest(d)},{len(d)}\n" for n, d in files.items())
    record += "p-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("p-1.0.dist-info/RECORD", record)


def test_retag_rewrites_filename_wheel_and_record(tmp_path: Path) -> None:
    original = tmp_path / "p-1.0-cp311-cp311-linux_x86_64.whl"
    _make_wheel(original)
    new = Path(retag_built_wheel(str(original), MUSL))
    assert new.name == "p-1.0-cp311-cp311-x86_64_linux_musl.whl"
    assert not original.exists()
    with zipfile.ZipFile(new) as zf:
        wheel = zf.read("p-1.0.dist-info/WHEEL")
        assert b"Tag: cp311-cp311-x86_64_linux_musl\n" in wheel
        assert b"linux_x86_64" not in wheel
        record = zf.read("p-1.0.dist-info/RECORD").decode()
        # Every RECORD hash matches the file it describes.
        for line in record.splitlines():
            name, digest, size = line.rsplit(",", 2)
            if digest:
                data = zf.read(name)
                assert digest == _digest(data) and int(size) == len(data), name
        assert zf.read("p/_ext.so") == b"\x7fELF not really"
        assert zf.namelist()[-1] == "p-1.0.dist-info/RECORD"


def test_retag_leaves_glibc_builds_alone(tmp_path: Path) -> None:
    original = tmp_path / "p-1.0-cp311-cp311-linux_x86_64.whl"
    _make_wheel(original)
    before = original.read_bytes()
    assert retag_built_wheel(str(original), GLIBC) == str(original)
    assert original.read_bytes() == before
