"""The install writes the ELF members the check already inflated from that copy.

On the real musl CPython: ``pip install`` of a local wheel keeps the members the
check read in full and installs them from those copies (``-vv`` says how many);
the installed tree is byte for byte, mode for mode, what the same install with
``--skip-wheel-abi-check`` (upstream's extraction) writes. A dry run, ``pip
download`` and a refused wheel keep nothing. A member whose CRC does not match
is found by the check, before anything is installed.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import output_of
from tests.lib.elfbuild import compile_so, write_wheel
from tests.lib.venvs import Venv, clean_env

pytestmark = pytest.mark.musl

KEPT = "kept {} inflated members of"
TAG = "py3-none-musllinux_1_1_x86_64"

PADDED = """\
__asm__(".text\\n.globl padding\\npadding:\\n.fill 12000000, 1, 0x90\\n");
int probe_answer(void) { return 42; }
"""
# Calls into libc, so the C library it was linked with shows.
SMALL = (
    "#include <string.h>\nint probe_small(const char *s) { return (int)strlen(s); }\n"
)


def _wheel(tmp_path: Path, *, compiler: str = "musl-gcc", stored: bool = False) -> Path:
    big = compile_so(tmp_path / "so" / "big.so", PADDED, compiler=compiler)
    small = compile_so(tmp_path / "so" / "small.so", SMALL, compiler=compiler)
    files = {
        "reuseprobe/__init__.py": b"VALUE = 1\n",
        "reuseprobe/_big.so": big,
        "reuseprobe/_small.so": small,
        "reuseprobe.libs/libtool-0123abcd.so": small,
    }
    return write_wheel(
        tmp_path / ("stored" if stored else "wheel"),
        files,
        name="reuseprobe",
        tag=TAG,
        modes={"reuseprobe.libs/libtool-0123abcd.so": 0o755},
        stored=frozenset({"reuseprobe/_big.so"}) if stored else frozenset(),
    )


def _install(
    venv: Venv, target: Path, wheel: Path, *args: str, tmpdir: Path | None = None
) -> str:
    # --prefix, not --target: pip installs straight to the destination (with
    # --target it installs into its temporary directory, then moves the tree).
    env = clean_env(TMPDIR=str(tmpdir)) if tmpdir is not None else None
    proc = venv.pip(
        "install", "-vv", "--no-cache-dir", "--no-deps", "--no-compile",
        "--prefix", str(target), *args, str(wheel), check=False, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, output_of(proc)
    return proc.stdout + proc.stderr


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "dist-info" not in path.parent.name:
            mode = stat.S_IMODE(path.stat().st_mode)
            found[str(path.relative_to(root))] = (path.read_bytes(), mode)
    return found


#: pip's temporary directory on the destination's filesystem (the copy is
#: renamed into place) or on another one (tmpfs: the copy is written out).
PLACEMENTS = {
    "same-filesystem": "moved into place",
    "other-filesystem": "copied from another filesystem",
}


@pytest.fixture(params=sorted(PLACEMENTS))
def pip_tmpdir(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """pip's TMPDIR for the install, on the test directory's filesystem or not."""
    if request.param == "same-filesystem":
        yield tmp_path / "pip-tmp"
        return
    assert os.stat("/dev/shm").st_dev != os.stat(tmp_path).st_dev, (
        "/dev/shm must be another filesystem than the test's directory"
    )
    path = Path(tempfile.mkdtemp(dir="/dev/shm"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_install_writes_checked_members_from_their_copies(
    tmp_path: Path, musl_fork_venv: Venv, pip_tmpdir: Path
) -> None:
    wheel = _wheel(tmp_path)
    tmpdir = pip_tmpdir
    tmpdir.mkdir(exist_ok=True)
    placement = "same-filesystem" if tmpdir.is_relative_to(tmp_path) else "other-filesystem"
    reused = _install(musl_fork_venv, tmp_path / "reused", wheel, tmpdir=tmpdir)
    assert f"Wheel ABI check: the inflated members are {PLACEMENTS[placement]}" in (
        reused
    ), reused
    # The large member only: small ones inflate again faster than a copy.
    assert KEPT.format(1) in reused, reused
    upstream = _install(
        musl_fork_venv, tmp_path / "upstream", wheel, "--skip-wheel-abi-check"
    )
    assert "inflated members" not in upstream
    got, want = _tree(tmp_path / "reused"), _tree(tmp_path / "upstream")
    assert got == want
    (big_path,) = [name for name in got if name.endswith("/reuseprobe/_big.so")]
    site = big_path.removesuffix("reuseprobe/_big.so")
    with zipfile.ZipFile(wheel) as archive:
        big = archive.read("reuseprobe/_big.so")
        assert got[site + "reuseprobe/_big.so"][0] == big
    # The executable bit comes from the archive, as upstream sets it.
    assert got[site + "reuseprobe.libs/libtool-0123abcd.so"][1] & 0o111
    assert not got[site + "reuseprobe/_small.so"][1] & 0o111
    # The copies are gone once installed.
    temp_dirs = [line for line in reused.splitlines() if "wheel-abi-inflated" in line]
    assert temp_dirs, reused
    for line in temp_dirs:
        path = line.split()[-1].rstrip(".")
        assert not os.path.exists(path), f"{path} left behind"
    assert not any(tmpdir.iterdir()), sorted(tmpdir.iterdir())


@pytest.mark.parametrize("command", ["dry-run", "download"])
def test_nothing_is_kept_when_nothing_is_installed(
    tmp_path: Path, musl_fork_venv: Venv, command: str
) -> None:
    wheel = _wheel(tmp_path)
    if command == "dry-run":
        args = ["install", "--dry-run", "--target", str(tmp_path / "t")]
    else:
        args = ["download", "-d", str(tmp_path / "d")]
    # -X importtime lists every module the process imports (on stderr).
    proc = musl_fork_venv.run(
        "-X", "importtime", "-m", "pip",
        *args, "-vv", "--no-cache-dir", "--no-deps", str(wheel), check=False,
    )  # fmt: skip
    assert proc.returncode == 0, output_of(proc)
    out = proc.stdout + proc.stderr
    assert "Wheel ABI check: read 3 ELF members" in out, out
    assert "inflated members" not in out
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "pip._internal.libc.wheel_abi" in imported, sorted(imported)
    # Nothing is kept, so the spool's module is not even imported.
    assert "pip._internal.libc.inflated_members" not in imported


def test_a_refused_wheel_keeps_nothing(tmp_path: Path, musl_fork_venv: Venv) -> None:
    wheel = _wheel(tmp_path, compiler="gcc")  # glibc-linked, tagged musllinux
    proc = musl_fork_venv.pip(
        "install", "-vv", "--no-cache-dir", "--no-deps",
        "--target", str(tmp_path / "t"), str(wheel), check=False,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "cannot load on this host" in out, out
    assert "inflated members" not in out
    assert not (tmp_path / "t").exists() or not any((tmp_path / "t").iterdir())


def test_a_member_with_a_bad_crc_stops_before_anything_is_installed(
    tmp_path: Path, musl_fork_venv: Venv
) -> None:
    wheel = _wheel(tmp_path, stored=True)
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo("reuseprobe/_big.so")
    data = bytearray(wheel.read_bytes())
    # A byte of the padding (machine code), past the ELF tables: the member
    # still parses, only its CRC says it is damaged.
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 6_000_000] ^= 0xFF
    wheel.write_bytes(bytes(data))
    target = tmp_path / "t"
    proc = musl_fork_venv.pip(
        "install", "--no-cache-dir", "--no-deps", "--target", str(target),
        str(wheel), check=False,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    # pip's diagnostic error: one reference, one reason.
    assert [ln for ln in out.splitlines() if ln.startswith("error:")] == [
        "error: unreadable-wheel"
    ], out
    assert "cannot be read as a wheel" in out, out
    assert "cannot load on this host" not in out, out
    (reason,) = [ln for ln in out.splitlines() if "damaged zip archive" in ln]
    assert "Bad CRC-32 for file 'reuseprobe/_big.so'" in reason, out
    assert not target.exists() or not any(target.rglob("*.so"))
