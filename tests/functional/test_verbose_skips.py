"""Which skipped wheels ``pip install -v`` explains, and where.

On glibc, ``-v`` is stock pip's (tests/functional/test_parity.py,
``install-verbose-foreign-platforms``). On a musl host, ``-v`` explains only the
skipped wheels that matter: the versions pip is considering, with python/abi tags
that fit the interpreter. ``-vv`` explains every one. The wheels here are pure
files with foreign tags: they are skipped for their tags before anything opens
them, so their contents do not matter.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lib.parity import write_wheel
from tests.lib.venvs import Venv


def _py_tag(venv: Venv) -> str:
    return venv.run(
        "-c", "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')"
    ).stdout.strip()


def _links(dest: Path, py: str) -> dict[str, str]:
    """name -> wheel file name, for a 1.0 (the one asked for) and a 2.0."""
    files = {
        "pure-1.0": write_wheel(dest, "vskip", "1.0"),
        "glibc-1.0": write_wheel(dest, "vskip", "1.0", tag=f"{py}-{py}-manylinux_2_17_x86_64"),
        "aarch64-1.0": write_wheel(
            dest, "vskip", "1.0", tag=f"{py}-{py}-musllinux_1_2_aarch64"
        ),
        "win-1.0": write_wheel(dest, "vskip", "1.0", tag=f"{py}-{py}-win_amd64"),
        "other-python-1.0": write_wheel(
            dest, "vskip", "1.0", tag="cp30-cp30-manylinux_2_17_x86_64"
        ),
        "glibc-2.0": write_wheel(dest, "vskip", "2.0", tag=f"{py}-{py}-manylinux_2_17_x86_64"),
    }
    return {key: path.name for key, path in files.items()}


def _install(venv: Venv, links: Path, *flags: str) -> str:
    proc = venv.pip(
        "install", *flags, "--dry-run", "--no-index", "--find-links", str(links),
        "vskip==1.0",
    )
    return proc.stdout + proc.stderr


@pytest.mark.musl
def test_musl_verbose_explains_only_the_wheels_that_matter(
    musl_fork_venv: Venv, tmp_path: Path
) -> None:
    names = _links(tmp_path, _py_tag(musl_fork_venv))
    out = _install(musl_fork_venv, tmp_path, "-v")
    assert "Would install vskip-1.0" in out
    explained = {
        line.split()[1].rstrip(":")
        for line in out.splitlines()
        if line.strip().startswith("Skipping vskip-")
    }
    assert explained == {names["glibc-1.0"], names["aarch64-1.0"]}, out
    assert f"Skipping {names['glibc-1.0']}: manylinux_2_17 wheel is for glibc; this host uses musl" in out
    assert f"Skipping {names['aarch64-1.0']}: musllinux_1_2_aarch64 is for aarch64; this host is x86_64" in out


@pytest.mark.musl
def test_musl_very_verbose_explains_every_skipped_wheel(
    musl_fork_venv: Venv, tmp_path: Path
) -> None:
    names = _links(tmp_path, _py_tag(musl_fork_venv))
    out = _install(musl_fork_venv, tmp_path, "-vv")
    for key in ("glibc-1.0", "other-python-1.0", "glibc-2.0", "aarch64-1.0"):
        line = next(
            (ln for ln in out.splitlines() if "Skipping link:" in ln and names[key] in ln),
            None,
        )
        assert line is not None, (key, out)
        assert "this host" in line, line


def test_glibc_verbose_explains_nothing(fork_venv: Venv, tmp_path: Path) -> None:
    _links(tmp_path, _py_tag(fork_venv))
    out = _install(fork_venv, tmp_path, "-v")
    assert "Would install vskip-1.0" in out
    assert "this host" not in out, out


def _binary_links(dest: Path) -> Path:
    """Wheels for this host's platforms only: none for macOS or musl."""
    for plat in ("manylinux_2_17_x86_64", "linux_x86_64"):
        write_wheel(dest, "vskip", "1.0", tag=f"cp311-cp311-{plat}")
    return dest


def _download_for(venv: Venv, links: Path, dest: Path, *platforms: str) -> str:
    flags = [f"--platform={p}" for p in platforms]
    proc = venv.pip(
        "download", "--only-binary=:all:", *flags, "--no-index", "--find-links",
        str(links), "-d", str(dest), "vskip", check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_nothing_for_a_musl_platform_names_the_platforms(
    fork_venv: Venv, stock_venv: Venv, tmp_path: Path
) -> None:
    _binary_links(tmp_path / "links")
    out = _download_for(fork_venv, tmp_path / "links", tmp_path / "d", "x86_64_linux_musl")
    lines = out.splitlines()
    at = lines.index(
        "ERROR: Could not find a version that satisfies the requirement vskip "
        "(from versions: none)"
    )
    assert lines[at + 1] == (
        "ERROR: Looked only for wheels with these platform tags (from --platform): "
        "x86_64_linux_musl"
    ), out
    assert "HINT: PyPI does not accept x86_64_linux_musl wheels" in out
    assert "--platform musllinux_1_2_x86_64" in out
    # The expansion of a musllinux platform is what was looked for.
    out = _download_for(fork_venv, tmp_path / "links", tmp_path / "d", "musllinux_1_2_x86_64")
    assert (
        "ERROR: Looked only for wheels with these platform tags (from --platform): "
        "musllinux_1_2_x86_64, musllinux_1_1_x86_64, musllinux_1_0_x86_64"
    ) in out, out
    assert "HINT" not in out


def test_nothing_for_another_platform_is_stock(
    fork_venv: Venv, stock_venv: Venv, tmp_path: Path
) -> None:
    """Not a musl platform: the error is stock pip's, line for line."""
    _binary_links(tmp_path / "links")
    fork = _download_for(fork_venv, tmp_path / "links", tmp_path / "d", "macosx_11_0_arm64")
    stock = _download_for(stock_venv, tmp_path / "links", tmp_path / "d", "macosx_11_0_arm64")
    assert fork == stock
