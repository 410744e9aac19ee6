"""Real projects on PyPI, on the old-musl host (musl 1.2.3, CPython 3.11).

Today's ``musllinux_1_2`` wheels of numpy, cryptography and Pillow bundle a
``libgcc_s``/``libstdc++``/``libX*`` with packed relative relocations
(``DT_RELR``), which musl's loader applies only from 1.2.4. With
``--only-binary=:all:`` the fork walks back, judging each release's wheel from a
few HTTP range requests against the real index, to the newest release whose
wheel loads, and that install works. The oracle is the loader, not the check:
the next newer release's wheel, installed with the check off, really fails to
import there.

Network tests: they need PyPI (pip's HTTP cache under ``~/.cache/pip-musl``
keeps reruns cheap).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.conftest import Imported, output_of
from tests.lib.hosts import OLD_MUSL, HostSpec, MuslHost, resolve
from tests.lib.venvs import Venv, clean_env, make_venv

pytestmark = [pytest.mark.musl, pytest.mark.network]

HOST = HostSpec("3.11", OLD_MUSL)

#: project -> (the newest release whose musllinux wheel loads on musl 1.2.3
#: for CPython 3.11, the next newer release, a smoke that prints ``ok``).
CASES = {
    "numpy": (
        "2.1.3",
        "2.2.0",
        "import numpy\nassert numpy.arange(6).reshape(2, 3).sum() == 15\nprint('ok')",
    ),
    "cryptography": (
        "42.0.8",
        "43.0.0",
        "from cryptography.hazmat.primitives import hashes\n"
        "h = hashes.Hash(hashes.SHA256())\nh.update(b'musl')\n"
        "assert h.finalize().hex().startswith('ed0f6c9c')\nprint('ok')",
    ),
    "pillow": (
        "10.3.0",
        "10.4.0",
        "import io\nfrom PIL import Image\nb = io.BytesIO()\n"
        "Image.new('RGB', (4, 4), 'red').save(b, 'PNG')\n"
        "assert Image.open(io.BytesIO(b.getvalue())).getpixel((0, 0)) == (255, 0, 0)\n"
        "print('ok')",
    ),
}


@pytest.fixture(scope="module")
def old_musl_host() -> MuslHost:
    try:
        return resolve(HOST)
    except LookupError as exc:
        pytest.fail(f"the musl 1.2.3 host is missing: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def old_musl_venv(
    tmp_path_factory: pytest.TempPathFactory, fork_wheel: Path, old_musl_host: MuslHost
) -> Venv:
    return make_venv(
        tmp_path_factory.mktemp("old-musl") / "v", old_musl_host.interpreter, fork_wheel
    )


def _smoke(venv: Venv, host: MuslHost, code: str, *paths: Path) -> Imported:
    # Pillow's wheels need the system's libz.so.1, as Alpine has it; the host
    # provides a musl build of it (tests/lib/hosts.py).
    env = clean_env(
        PYTHONPATH=os.pathsep.join(map(str, paths)),
        LD_LIBRARY_PATH=str(host.system_libs),
    )
    proc = venv.run("-c", code, check=False, env=env)
    return Imported(proc.returncode == 0, proc.stdout, proc.stderr, proc.returncode)


def _pip(venv: Venv, *args: str | Path) -> str:
    http_cache = venv.root.parent / "pip-cache"  # fresh: verdicts are cached too
    proc = venv.pip(
        "install", "-v", "--cache-dir", http_cache, *args, check=False, timeout=900
    )
    assert proc.returncode == 0, output_of(proc)
    return proc.stdout + proc.stderr


@pytest.mark.parametrize("project", sorted(CASES))
def test_only_binary_installs_the_newest_loadable_release(
    project: str, old_musl_venv: Venv, old_musl_host: MuslHost, tmp_path: Path
) -> None:
    loadable, newer, smoke = CASES[project]
    target = tmp_path / "fork"
    out = _pip(
        old_musl_venv,
        "--target",
        target,
        "--only-binary=:all:",
        f"{project}<={newer}",
    )
    (done,) = [
        line for line in out.splitlines() if line.startswith("Successfully installed")
    ]
    assert f"{project}-{loadable}" in done.split(), out[-4000:]
    assert "RELR" in out, out[-4000:]
    # The refused candidates were read piecewise, not downloaded.
    checked = [line for line in out.splitlines() if "over HTTP range requests" in line]
    assert checked, out[-4000:]
    for line in checked:
        fetched, total = (int(w) for w in line.split(": ")[-1].split()[::2][:2])
        # Wheels up to 512 KiB (cffi's) are read whole by design.
        assert total <= 512 * 1024 or fetched <= total * 0.05, line
    used = _smoke(old_musl_venv, old_musl_host, smoke, target)
    assert used.ok and used.stdout.strip() == "ok", str(used)

    # The oracle: the next newer release's wheel, forced in, does not work here.
    broken = tmp_path / "forced"
    _pip(
        old_musl_venv,
        "--target",
        broken,
        "--only-binary=:all:",
        "--no-deps",
        "--skip-wheel-abi-check",
        f"{project}=={newer}",
    )
    # Its dependencies (cryptography's cffi) from the working install.
    failed = _smoke(old_musl_venv, old_musl_host, smoke, broken, target)
    assert not failed.ok, f"{project} {newer} works on musl 1.2.3:\n{failed}"
