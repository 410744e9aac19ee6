"""`pip check-wheel`: the install-time check's verdict, on demand."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from tests.lib.hosts import MuslHost
from tests.lib.venvs import Venv
from tests.lib.wheels import EXTRA_C_STATX, build_ext_wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    include = sysconfig.get_paths()["include"]
    out = tmp_path_factory.mktemp("check-wheel")
    made = {}
    for key, compiler, platform, extra in [
        ("glibc", "gcc", "manylinux_2_17_x86_64", ""),
        ("musl", "musl-gcc", "musllinux_1_1_x86_64", ""),
        ("statx", "musl-gcc", "musllinux_1_2_x86_64", EXTRA_C_STATX),
    ]:
        d = out / key
        d.mkdir()
        made[key] = build_ext_wheel(d, tag_platform=platform, compiler=compiler,
                                    python_include=include, variant=key, extra_c=extra)
    return made


def test_glibc_host_verdicts(fork_venv: Venv, wheels: dict[str, Path]) -> None:
    ok = fork_venv.pip("check-wheel", wheels["glibc"])
    assert ok.stdout.startswith(f"{wheels['glibc'].name}: can load on this host (glibc ")
    bad = fork_venv.pip("check-wheel", wheels["glibc"], wheels["musl"], check=False)
    assert bad.returncode == 1
    assert f"{wheels['musl'].name}: cannot load on this host (glibc" in bad.stdout
    assert "is linked against musl" in bad.stdout


def test_unreadable_wheel_is_one_line_error(fork_venv: Venv, tmp_path: Path) -> None:
    junk = tmp_path / "junk-1.0-py3-none-any.whl"
    junk.write_bytes(b"this is not a zip file")
    proc = fork_venv.pip("check-wheel", junk, check=False)
    assert proc.returncode == 1
    assert proc.stdout.startswith("junk-1.0-py3-none-any.whl: cannot be read: ")
    assert len(proc.stdout.splitlines()) == 1
    assert "Traceback" not in proc.stderr


@pytest.mark.musl
@pytest.mark.every_musl_host
def test_musl_host_verdicts(musl_host: MuslHost, musl_fork_venv: Venv,
                            wheels: dict[str, Path]) -> None:
    proc = musl_fork_venv.pip("check-wheel", wheels["musl"], wheels["statx"],
                              wheels["glibc"], check=False)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    host = musl_host.host_text
    assert f"{wheels['musl'].name}: can load on this host ({host})" in lines
    statx = "can load" if musl_host.loads_statx else "cannot load"
    assert f"{wheels['statx'].name}: {statx} on this host ({host})" in lines
    if not musl_host.loads_statx:
        assert "statx" in proc.stdout and "1.2.5" in proc.stdout
    assert "is linked against glibc" in proc.stdout


def test_listed_in_pip_help(fork_venv: Venv) -> None:
    assert "check-wheel" in fork_venv.pip("help").stdout
