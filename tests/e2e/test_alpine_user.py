"""The "Alpine user": a musl CPython without pip gets the fork and uses it.

The interpreter is the real musl CPython built by ``tools/build-musl-python.sh``
on each musl host of ``tests/lib/hosts.py`` (PT_INTERP naming that release's
loader: ``pip debug`` must report it, also when patchelf put it past the first
64 KiB of the file). It has no pip: the fork's wheel is run
as a zip application to install itself (``python pip.whl/pip install pip.whl``,
what ``tests.lib.venvs.make_venv`` does), exactly how one bootstraps pip on a
minimal image.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import output_of, run_code
from tests.lib.hosts import MuslHost
from tests.lib.index import LocalIndex
from tests.lib.venvs import Venv, clean_env, make_venv

pytestmark = pytest.mark.musl

RANKING = (
    "x86_64_linux_musl > linux_x86_64 > musllinux_1_2_x86_64 > "
    "musllinux_1_1_x86_64 > musllinux_1_0_x86_64"
)


@pytest.fixture
def alpine_venv(tmp_path: Path, musl_python: Path, fork_wheel: Path) -> Venv:
    """A fresh venv of the musl CPython, the fork bootstrapped from its own wheel."""
    return make_venv(tmp_path / "alpine", musl_python, fork_wheel)


def _pt_interp(python: Path) -> str:
    out = subprocess.run(
        ["readelf", "-l", str(python)], capture_output=True, text=True, check=True
    ).stdout
    m = re.search(r"\[Requesting program interpreter: (.*)\]", out)
    assert m, out
    return m.group(1)


def test_the_interpreter_really_is_musl(musl_python: Path) -> None:
    """Sanity: the interpreter under test is a musl binary (read with readelf)."""
    assert _pt_interp(musl_python).endswith("/ld-musl-x86_64.so.1")


@pytest.mark.every_musl_host
def test_bootstrap_version_and_debug(
    alpine_venv: Venv, musl_host: MuslHost, musl_python: Path
) -> None:
    version = alpine_venv.pip("--version").stdout
    assert version.startswith("pip 26.3+musl.1 from "), version
    assert str(alpine_venv.root) in version, version
    # The console script works too, and is the same pip.
    script = alpine_venv.root / "bin" / "pip"
    assert script.is_file(), f"no {script} after the bootstrap"
    proc = subprocess.run(
        [str(script), "--version"],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
    assert proc.stdout.startswith("pip 26.3+musl.1 from "), output_of(proc)

    debug = alpine_venv.pip("debug", "--verbose")
    out = debug.stdout
    assert re.search(r"^\s*family: musl$", out, re.M), out
    version = re.escape(musl_host.musl_text.split()[1])
    assert re.search(rf"^\s*version: {version}$", out, re.M), out
    loader = re.escape(_pt_interp(musl_python))
    assert re.search(rf"^\s*loader \(PT_INTERP\): {loader}$", out, re.M), out
    assert f"platform ranking: {RANKING}" in out, out
    # The ranked tags start with the libc-qualified generic tag.
    tags = out.split("Compatible tags:", 1)[1].split()
    cp = f"{musl_host.cp_tag}-{musl_host.cp_tag}"
    assert tags[1:6] == [
        f"{cp}-x86_64_linux_musl",
        f"{cp}-linux_x86_64",
        f"{cp}-musllinux_1_2_x86_64",
        f"{cp}-musllinux_1_1_x86_64",
        f"{cp}-musllinux_1_0_x86_64",
    ], out
    assert not any("manylinux" in t for t in tags), "a musl host lists manylinux tags"


def test_pure_install_and_uninstall(
    alpine_venv: Venv, local_index: LocalIndex, pure_wheel: Path
) -> None:
    local_index.upload(pure_wheel)
    before = alpine_venv.installed()
    assert "muslprobe" not in before
    proc = alpine_venv.pip("install", "--index-url", local_index.url, "muslprobe")
    assert "Successfully installed muslprobe-1.0" in proc.stdout, output_of(proc)
    assert "WARNING" not in proc.stdout + proc.stderr, output_of(proc)
    assert alpine_venv.installed()["muslprobe"] == "1.0"
    imported = run_code(
        alpine_venv, None, "import muslprobe; print(muslprobe.variant())"
    )
    assert imported.ok and imported.stdout.strip() == "pure", str(imported)

    proc = alpine_venv.pip("uninstall", "--yes", "muslprobe")
    assert "Successfully uninstalled muslprobe-1.0" in proc.stdout, output_of(proc)
    assert alpine_venv.installed() == before
    gone = run_code(alpine_venv, None, "import muslprobe")
    assert not gone.ok and "ModuleNotFoundError" in gone.stderr, str(gone)
