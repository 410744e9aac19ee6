"""`pip check-wheel`: the install-time check's verdict, on demand.

Exit statuses: 0 every wheel can load here, 1 some wheel cannot, 2 some file is
not a wheel or cannot be read (or none was given). ``--format json``: one object
per file with the keys documented in docs/wheel-check.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.lib.hosts import MuslHost
from tests.lib.venvs import Venv, clean_env
from tests.lib.wheels import EXTRA_C_STATX, build_ext_wheel

FILE_KEYS = {
    "file", "path", "verdict", "host", "error", "problems", "notes", "elf_files",
    "oldest_musllinux",
}
HOST_KEYS = {"family", "version", "arch", "description"}
PROBLEM_KEYS = {"member", "kind", "message", "symbols", "required_version", "suffix"}
NOTE_KEYS = {"member", "kind", "message"}
ELF_KEYS = {"name", "arch", "libc", "needed"}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    include = sysconfig.get_paths()["include"]
    out = tmp_path_factory.mktemp("check-wheel")
    made = {}
    for key, compiler, platform, extra, ldflags in [
        ("glibc", "gcc", "manylinux_2_17_x86_64", "", ()),
        ("musl", "musl-gcc", "musllinux_1_1_x86_64", "", ()),
        ("statx", "musl-gcc", "musllinux_1_2_x86_64", EXTRA_C_STATX, ()),
        # Several DT_NEEDED entries: -v must list every one.
        ("needs", "gcc", "linux_x86_64", "", ("-Wl,--no-as-needed", "-lm")),
    ]:
        d = out / key
        d.mkdir()
        made[key] = build_ext_wheel(d, tag_platform=platform, compiler=compiler,
                                    python_include=include, variant=key, extra_c=extra,
                                    extra_ldflags=ldflags)
    return made


def _json(venv: Venv, *args: str | Path) -> tuple[int, list[dict[str, object]]]:
    proc = venv.pip("check-wheel", "--format", "json", *args, check=False)
    return proc.returncode, json.loads(proc.stdout)


def _readelf_needed(wheel: Path, member: str) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(member)
    so = wheel.parent / "member.so"
    so.write_bytes(data)
    out = subprocess.run(["readelf", "-d", str(so)], capture_output=True, text=True,
                         check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def test_glibc_host_verdicts_and_exit_statuses(
    fork_venv: Venv, wheels: dict[str, Path]
) -> None:
    ok = fork_venv.pip("check-wheel", wheels["glibc"])
    assert ok.returncode == 0
    lines = ok.stdout.splitlines()
    assert re.fullmatch(r"Host: glibc [\d.]+ \(x86_64\)", lines[0]), lines
    assert lines[1:] == [f"{wheels['glibc'].name}: can load here"]
    bad = fork_venv.pip("check-wheel", wheels["glibc"], wheels["musl"], check=False)
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    # The host once, then exactly one line per wheel.
    assert len(lines) == 3 and sum("glibc 2." in line for line in lines[1:]) <= 1
    assert lines[2].startswith(f"{wheels['musl'].name}: cannot load here: ")
    assert "is linked against musl" in lines[2]
    assert bad.stderr == ""


def test_bad_input_has_its_own_exit_status(
    fork_venv: Venv, wheels: dict[str, Path], tmp_path: Path
) -> None:
    junk = tmp_path / "junk-1.0-py3-none-any.whl"
    junk.write_bytes(b"this is not a zip file")
    proc = fork_venv.pip("check-wheel", junk, check=False)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"ERROR: {junk} is not a valid zip archive: File is not a zip file"
    ]
    # A bad file beats an incompatible one: the artifact itself is broken.
    proc = fork_venv.pip("check-wheel", wheels["musl"], junk, check=False)
    assert proc.returncode == 2
    assert "cannot load here" in proc.stdout


def test_not_a_wheel_gets_pip_installs_words(
    fork_venv: Venv, stock_venv: Venv, tmp_path: Path
) -> None:
    zipped = tmp_path / "notawheel.whl"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("a.txt", "a")
    sdist = tmp_path / "muslprobe-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz"):
        pass
    for path in (zipped, sdist):
        proc = fork_venv.pip("check-wheel", path, check=False)
        assert proc.returncode == 2, proc
        assert proc.stdout == ""
        (line,) = proc.stderr.splitlines()
        assert line.startswith("ERROR: Invalid wheel filename ("), line
    # The very words of `pip install` for the same file (stock pip 26.3).
    stock = stock_venv.pip("install", "--dry-run", "--no-deps", zipped, check=False,
                           cwd=tmp_path)
    fork = fork_venv.pip("check-wheel", zipped, check=False)
    assert fork.stderr.strip() in stock.stderr, (fork.stderr, stock.stderr)


def test_no_arguments_says_what_is_expected(fork_venv: Venv) -> None:
    proc = fork_venv.pip("check-wheel", check=False)
    assert proc.returncode == 2
    assert proc.stderr == (
        'ERROR: You must give at least one wheel file to check (see "pip help '
        'check-wheel")\n'
    )


def test_off_switch_is_refused_and_hidden(
    fork_venv: Venv, wheels: dict[str, Path]
) -> None:
    proc = fork_venv.pip("check-wheel", "--skip-wheel-abi-check", wheels["glibc"],
                         check=False)
    assert proc.returncode == 2
    assert "--skip-wheel-abi-check does not apply to check-wheel" in proc.stderr
    assert "skip-wheel-abi-check" not in fork_venv.pip("check-wheel", "--help").stdout
    assert "skip-wheel-abi-check" in fork_venv.pip("install", "--help").stdout
    # Set for installs in the environment: check-wheel still checks.
    env = clean_env(PIP_SKIP_WHEEL_ABI_CHECK="1")
    proc = fork_venv.pip("check-wheel", wheels["musl"], env=env, check=False)
    assert proc.returncode == 1 and "cannot load here" in proc.stdout


def test_verbose_lists_every_elf_file_and_every_dt_needed(
    fork_venv: Venv, wheels: dict[str, Path]
) -> None:
    proc = fork_venv.pip("check-wheel", "-v", wheels["needs"])
    needed = _readelf_needed(wheels["needs"], "muslprobe/_ext.so")
    assert len(needed) >= 2 and "libm.so.6" in needed, needed
    lines = proc.stdout.splitlines()
    assert lines[1] == f"{wheels['needs'].name}: can load here"
    (member,) = [line for line in lines if "`muslprobe/_ext.so`" in line]
    assert member.endswith("DT_NEEDED: " + ", ".join(needed)), member
    assert member.startswith("  `muslprobe/_ext.so`: x86_64, links glibc")


def test_verbose_puts_each_problem_on_its_own_line(
    fork_venv: Venv, wheels: dict[str, Path]
) -> None:
    proc = fork_venv.pip("check-wheel", "-v", wheels["musl"], check=False)
    lines = proc.stdout.splitlines()
    assert lines[1] == f"{wheels['musl'].name}: cannot load here"
    assert lines[2].startswith("  ") and "is linked against musl" in lines[2]
    assert proc.stdout.count("is linked against musl") == 1


def test_json_schema(fork_venv: Venv, wheels: dict[str, Path], tmp_path: Path) -> None:
    sdist = tmp_path / "muslprobe-1.0.tar.gz"
    sdist.write_bytes(b"")
    status, records = _json(fork_venv, wheels["glibc"], wheels["musl"], sdist)
    assert status == 2
    assert [r["file"] for r in records] == [
        wheels["glibc"].name, wheels["musl"].name, sdist.name
    ]
    for record in records:
        assert set(record) == FILE_KEYS, record
        assert set(record["host"]) == HOST_KEYS  # type: ignore[arg-type]
    ok, bad, notwheel = records
    assert ok["verdict"] == "loads" and ok["problems"] == [] and ok["error"] is None
    assert ok["host"]["family"] == "glibc"  # type: ignore[index]
    (elf,) = ok["elf_files"]  # type: ignore[misc]
    assert set(elf) == ELF_KEYS and elf["libc"] == "glibc"
    assert "libc.so.6" in elf["needed"]
    assert bad["verdict"] == "cannot-load"
    (problem,) = bad["problems"]  # type: ignore[misc]
    assert set(problem) == PROBLEM_KEYS, problem
    assert problem["member"] == "muslprobe/_ext.so"
    assert problem["kind"] == "libc-family"
    assert notwheel["verdict"] == "not-a-wheel"
    assert str(notwheel["error"]).startswith("Invalid wheel filename")
    status, _ = _json(fork_venv, wheels["glibc"])
    assert status == 0


def test_listed_in_pip_help(fork_venv: Venv) -> None:
    assert "check-wheel" in fork_venv.pip("help").stdout


@pytest.mark.musl
@pytest.mark.every_musl_host
def test_musl_host_verdicts(musl_host: MuslHost, musl_fork_venv: Venv,
                            wheels: dict[str, Path]) -> None:
    proc = musl_fork_venv.pip("check-wheel", wheels["musl"], wheels["statx"],
                              wheels["glibc"], check=False)
    assert proc.returncode == 1
    host = musl_fork_venv.run(
        "-c", "from pip._internal.libc.host import host_libc; "
        "print(host_libc().describe())"
    ).stdout.strip()
    lines = proc.stdout.splitlines()
    assert lines[0] == f"Host: {host}"
    assert lines[1] == f"{wheels['musl'].name}: can load here"
    if musl_host.loads_statx:
        assert lines[2] == f"{wheels['statx'].name}: can load here"
    else:
        assert lines[2].startswith(f"{wheels['statx'].name}: cannot load here: ")
        assert "statx" in lines[2] and "1.2.5" in lines[2]
    assert "is linked against glibc" in lines[3]
    assert len(lines) == 4


@pytest.mark.musl
def test_musl_json_missing_symbol(
    musl_host: MuslHost, musl_fork_venv: Venv, wheels: dict[str, Path]
) -> None:
    status, (record,) = _json(musl_fork_venv, wheels["statx"])
    if musl_host.loads_statx:
        assert status == 0
        assert record["verdict"] == "loads"
        assert record["problems"] == []
        return
    assert status == 1
    assert record["verdict"] == "cannot-load"
    assert record["host"]["family"] == "musl"  # type: ignore[index]
    (problem,) = record["problems"]  # type: ignore[misc]
    assert set(problem) == PROBLEM_KEYS
    assert problem["kind"] == "missing-symbol"
    assert problem["symbols"] == ["statx"]
    assert problem["required_version"] == "1.2.5"
    assert problem["suffix"] is None
    assert record["oldest_musllinux"] == "musllinux_1_2"
