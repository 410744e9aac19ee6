"""The README's quick start works as written, from a fresh clone.

The quick start is one line that makes a venv and two commands. The first command
(install the fork into the active environment) runs here, verbatim, in ``bash``
from a fresh ``git clone`` of this repository, with nothing but ``python3`` on
``PATH`` (a fresh Debian has no ``python``) and the machine's own pip
configuration, as a new user would have it. The second command is the whole suite:
CI runs it, so the test checks that ``.ci/run`` runs exactly the README's command.
The Alpine section's lines run the same way on the real musl CPython. The clone is
of the committed ``HEAD``: commit before running this test.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _section(title: str) -> str:
    text = README.read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match is not None, f"README has no '## {title}' section"
    return match.group(1)


def _blocks(section: str, lang: str = "sh") -> list[list[str]]:
    return [
        [line for line in body.splitlines() if line.strip()]
        for body in re.findall(rf"^```{lang}\n(.*?)^```", section, re.M | re.S)
    ]


def quick_start() -> tuple[str, str, str]:
    """(the venv line, the install command, the test command)."""
    blocks = _blocks(_section("Quick start"))
    assert [len(b) for b in blocks] == [1, 2], blocks
    ((venv,), (install, test)) = blocks
    return venv, install, test


def _fresh_clone(dest: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True)
    return dest


def _user_env(bin_dir: Path) -> dict[str, str]:
    """The caller's environment minus the test harness: no active venv, and only
    ``python3`` (pointing at the interpreter under test) ahead of the system PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
        and not k.startswith(("PIP_MUSL_", "PYTEST_", "NOX_"))
    }
    active = os.environ.get("VIRTUAL_ENV")
    path = [
        p for p in env.get("PATH", "").split(os.pathsep)
        if not (active and p.startswith(active))
    ]
    env["PATH"] = os.pathsep.join([str(bin_dir), *path])
    return env


def _run_lines(lines: list[str], cwd: Path, python3: str | Path, tmp: Path) -> str:
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(python3)
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    proc = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=_user_env(bin_dir),
        capture_output=True, text=True, timeout=900, check=False,
    )
    out = f"$ bash -c {script!r}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert proc.returncode == 0, out
    return proc.stdout


def test_quick_start_is_one_venv_line_and_two_commands() -> None:
    venv, install, test = quick_start()
    assert venv == "python3 -m venv .venv && . .venv/bin/activate"
    assert install == "python -m pip install ."
    assert test.endswith("nox -s ci")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, _, test = quick_start()
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands[-1] == test, commands


def test_quick_start_install_from_fresh_clone(tmp_path: Path, host_python: str) -> None:
    clone = _fresh_clone(tmp_path / "clone")
    venv, install, _ = quick_start()
    out = _run_lines([venv, install, "python -m pip --version"], clone, host_python,
                     tmp_path)
    assert re.search(
        rf"^pip 26\.3\+musl\.\d+ from {re.escape(str(clone))}/\.venv/lib/python3\.\d+/"
        r"site-packages/pip ",
        out, re.M,
    ), out


def test_setup_system_installs_without_recommends() -> None:
    text = (ROOT / "tools" / "setup-system.sh").read_text()
    installs = [line for line in text.splitlines() if "apt-get install" in line]
    assert installs and all("--no-install-recommends" in line for line in installs)
    # The README names every package the script installs.
    (packages,) = re.findall(r"^packages=\((.*)\)$", text, re.M)
    section = _section("Quick start")
    for package in packages.split():
        assert f"`{package}`" in section, package


@pytest.mark.musl
def test_alpine_lines_on_the_musl_cpython(tmp_path: Path, musl_python: Path) -> None:
    """The Alpine section's commands, verbatim, with the musl CPython as python3."""
    (lines,) = _blocks(_section("On Alpine / in a Dockerfile"))
    clone = _fresh_clone(tmp_path / "clone")
    out = _run_lines(lines, clone, musl_python, tmp_path)
    assert "libc:\n  family: musl\n" in out, out
    assert re.search(r"^pip version: pip 26\.3\+musl\.\d+ ", out, re.M), out
