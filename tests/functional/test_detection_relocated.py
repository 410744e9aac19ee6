"""Detection on real interpreters whose PT_INTERP was rewritten by patchelf.

``patchelf --set-interpreter`` with a longer path moves PT_INTERP to the end of
the file (megabytes in), as relocated interpreters (Nix-style, vendor builds)
have it. Copies of the real musl CPython and of the glibc host CPython are
patched to name:

- musl 1.2.3 / 1.2.5 / 1.2.6 loaders (Debian's packages, unpacked into the
  cache), by their ``ld-musl-x86_64.so.1`` name and by the ``libc.so`` file
  itself (musl's loader and libc are one file);
- a copy of glibc's own loader, by its name and by a name that says nothing.

Each patched interpreter then runs the built fork (its site-packages on
PYTHONPATH) and reports what it detected; the expectations come from the
loader itself (its banner) and from the host (os.confstr).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pip._internal.libc.elf_ident import HEADER_MAX_BYTES
from pip._internal.libc.musl_version import musl_version_by_running
from tests.lib import musl_releases
from tests.lib.musl_releases import ReleaseLoader
from tests.lib.venvs import Venv, clean_env

release_loaders = musl_releases.release_loaders

REPORT = """
import json, sys
spawned = []
SPAWNS = ("subprocess.Popen", "os.posix_spawn", "os.fork", "os.exec", "os.system")
sys.addaudithook(lambda event, args: event in SPAWNS and spawned.append(event))
from pip._internal.libc.host import host_libc
from pip._internal.utils.compatibility_tags import get_supported
h = host_libc()
t = get_supported()
platforms = list(dict.fromkeys(x.platform for x in t))[:6]
print(json.dumps({**h._asdict(), "first_platforms": platforms, "spawned": spawned}))
"""


def _patchelf() -> str:
    found = shutil.which("patchelf")
    if found is None:
        pytest.fail(
            "patchelf not found: apt-get install --no-install-recommends patchelf "
            "(tools/setup-system.sh installs it)",
            pytrace=False,
        )
    return found


def _interp_offset(binary: Path) -> int:
    """PT_INTERP's file offset according to binutils' readelf (not our reader)."""
    out = subprocess.run(
        ["readelf", "-lW", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == "INTERP":
            return int(fields[1], 16)
    raise AssertionError(f"no INTERP in readelf -l {binary}:\n{out}")


def _relocated_copy(python: Path, dest: Path, interpreter: str) -> Path:
    """A copy of ``python`` whose PT_INTERP is ``interpreter``, beside a link
    to its standard library so it starts like the original."""
    prefix = python.resolve().parent.parent
    (dest / "bin").mkdir(parents=True)
    (dest / "lib").symlink_to(prefix / "lib")
    copy = dest / "bin" / python.name
    shutil.copy2(python.resolve(), copy)
    if copy.stat().st_size < 2 * HEADER_MAX_BYTES:
        # A small launcher (the host CPython links libpython): trailing bytes,
        # which neither the kernel nor the loader reads, make patchelf put the
        # new PT_INTERP past 64 KiB as it does in a big binary.
        with copy.open("ab") as f:
            f.write(bytes(2 * HEADER_MAX_BYTES))
    subprocess.run(
        [_patchelf(), "--set-interpreter", interpreter, str(copy)], check=True
    )
    offset = _interp_offset(copy)
    # What the regression was about: PT_INTERP past the first 64 KiB.
    assert offset > HEADER_MAX_BYTES, offset
    return copy


def _site_packages(venv: Venv) -> str:
    return venv.run(
        "-c", "import pip, os; print(os.path.dirname(os.path.dirname(pip.__file__)))"
    ).stdout.strip()


def _detect(python: Path, fork_venv: Venv) -> dict[str, object]:
    env = clean_env(PYTHONPATH=_site_packages(fork_venv))
    proc = subprocess.run(
        [str(python), "-c", REPORT],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["interpreter"] == str(python)
    return report


@pytest.mark.musl
@pytest.mark.parametrize(
    "case",
    [
        f"{suite}/{name}"
        for suite in musl_releases.SUITES
        for name in ("ld-musl", "libc.so")
    ],
)
def test_relocated_musl_cpython(
    tmp_path: Path,
    musl_python: Path,
    musl_fork_venv: Venv,
    release_loaders: dict[str, ReleaseLoader],
    case: str,
) -> None:
    suite, name = case.split("/")
    item = release_loaders[f"{suite}-amd64"]
    loader = item.loader if name == "ld-musl" else item.libc
    # The oracle: the loader's own banner.
    expected = musl_version_by_running(loader)
    assert expected == item.deb_version
    python = _relocated_copy(musl_python, tmp_path / "py", str(loader))
    report = _detect(python, musl_fork_venv)
    assert report["family"] == "musl", report
    assert report["loader"] == str(loader)
    assert tuple(report["version"]) == expected  # type: ignore[arg-type]
    assert report["family_by"] == (
        "loader name" if name == "ld-musl" else "loader image"
    )
    assert "version from image" in str(report["method"])
    major, minor = expected[0], expected[1]
    assert report["first_platforms"][:3] == [  # type: ignore[index]
        "x86_64_linux_musl",
        "linux_x86_64",
        f"musllinux_{major}_{minor}_x86_64",
    ]
    # Nothing was spawned to learn it.
    assert report["spawned"] == []


@pytest.mark.parametrize("name", ["ld-linux-x86-64.so.2", "rtld"])
def test_relocated_glibc_cpython(
    tmp_path: Path, host_python: str, fork_venv: Venv, name: str
) -> None:
    real_loader = Path("/lib64/ld-linux-x86-64.so.2").resolve()
    # A long directory: the new PT_INTERP does not fit where the old one was.
    loader_dir = tmp_path / ("relocated-glibc-loader-" + "x" * 40)
    loader_dir.mkdir()
    loader = loader_dir / name
    shutil.copy2(real_loader, loader)
    python = _relocated_copy(Path(host_python), tmp_path / "py", str(loader))
    report = _detect(python, fork_venv)
    confstr = os.confstr("CS_GNU_LIBC_VERSION")
    assert confstr and confstr.startswith("glibc ")
    expected = [int(part) for part in confstr.split()[1].split(".")[:2]]
    assert report["family"] == "glibc", report
    assert report["loader"] == str(loader)
    assert report["version"] == expected
    assert report["family_by"] == ("loader name" if name != "rtld" else "loader image")
    # Upstream's list: linux_x86_64, then manylinux from this glibc down.
    assert report["first_platforms"][:2] == [  # type: ignore[index]
        "linux_x86_64",
        f"manylinux_2_{expected[1]}_x86_64",
    ]
    assert report["spawned"] == []
