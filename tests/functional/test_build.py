"""The fork's wheel: upstream pip 26.3 plus our overlay, installable like pip."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.lib.venvs import Venv, clean_env, hatchling_links, make_venv

ROOT = Path(__file__).resolve().parents[2]
FORK_VERSION = "26.3+musl.1"


def _normalised_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    return {
        "DIST-INFO/" + n.split("/", 1)[1] if ".dist-info/" in n else n for n in names
    }


def test_wheel_has_every_upstream_file_plus_overlay(
    fork_wheel: Path, stock_wheel: Path
) -> None:
    ours = _normalised_names(fork_wheel)
    upstream = _normalised_names(stock_wheel)
    assert upstream - ours == set(), "upstream files dropped from the fork's wheel"
    overlay = {
        "pip/" + str(p.relative_to(ROOT / "src" / "pip"))
        for p in (ROOT / "src" / "pip").rglob("*")
        if p.is_file() and "_vendor" not in p.parts and "__pycache__" not in p.parts
    }
    assert overlay <= ours
    # Nothing besides the overlay is new (RECORD etc. exist in both).
    assert ours - upstream == overlay - upstream
    # Upstream's license files keep their upstream paths.
    assert "DIST-INFO/licenses/src/pip/_vendor/urllib3/LICENSE.txt" in ours
    with zipfile.ZipFile(fork_wheel) as zf:
        metadata = zf.read(f"pip-{FORK_VERSION}.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata
    assert "License-File: src/pip/_vendor/msgpack/COPYING" in metadata


def test_upstream_files_are_unchanged_except_patch_points(
    fork_wheel: Path, stock_wheel: Path
) -> None:
    patched_modules = {"pip/__init__.py", "pip/_internal/self_outdated_check.py"}
    table = (ROOT / "src/pip/_internal/libc/patch_points.py").read_text()
    with zipfile.ZipFile(fork_wheel) as ours, zipfile.ZipFile(stock_wheel) as up:
        changed = {
            name
            for name in up.namelist()
            if name.startswith("pip/") and ours.read(name) != up.read(name)
        }
        for name in changed:
            # Every change is an insertion after an anchor, marked as a patch point.
            added = set(ours.read(name).decode().splitlines()) - set(
                up.read(name).decode().splitlines()
            )
            assert any("musl build patch point" in line for line in added), name
    assert patched_modules <= changed
    for name in changed:
        module = name[:-3].replace("/__init__", "").replace("/", ".")
        assert f'module="{module}"' in table, f"{name} changed without a patch point"


@pytest.mark.parametrize("creator", ["venv", "virtualenv"])
def test_install_replaces_venv_pip_and_works(
    tmp_path: Path, fork_wheel: Path, host_python: str, creator: str
) -> None:
    root = tmp_path / "v"
    if creator == "venv":
        subprocess.run(
            [host_python, "-m", "venv", str(root)], check=True, env=clean_env()
        )
    else:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "virtualenv",
                "--quiet",
                "--python",
                host_python,
                str(root),
            ],
            check=True,
            env=clean_env(),
        )
    venv = Venv(root)
    assert FORK_VERSION not in venv.pip("--version").stdout
    venv.pip("install", "--quiet", "--no-index", str(fork_wheel))
    assert venv.pip("--version").stdout.startswith(f"pip {FORK_VERSION} from ")
    console = subprocess.run(
        [str(root / "bin" / "pip"), "--version"],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=True,
    )
    assert console.stdout.startswith(f"pip {FORK_VERSION} ")
    assert venv.installed()["pip"] == FORK_VERSION

    # A local pure-Python project, built in an isolated env from find-links.
    project = tmp_path / "hello"
    (project / "hello").mkdir(parents=True)
    (project / "hello" / "__init__.py").write_text("GREETING = 'hi'\n")
    (project / "pyproject.toml").write_text(
        textwrap.dedent("""\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [project]
        name = "hello"
        version = "0.1"
    """)
    )
    links = hatchling_links()
    venv.pip(
        "install", "--quiet", "--no-index", "--find-links", str(links), str(project)
    )
    assert venv.run("-c", "import hello; print(hello.GREETING)").stdout == "hi\n"

    # A wheel from a --find-links directory.
    venv.pip(
        "install", "--quiet", "--no-index", "--find-links", str(links), "packaging"
    )
    assert "packaging" in venv.installed()

    venv.pip("uninstall", "--yes", "hello", "packaging")
    left = venv.installed()
    assert "hello" not in left and "packaging" not in left
    assert left["pip"] == FORK_VERSION


def test_upgrade_to_stock_same_version_keeps_the_fork(
    tmp_path: Path,
    fork_venv: Venv,
    stock_wheel: Path,
    host_python: str,
    fork_wheel: Path,
) -> None:
    """`pip install --upgrade pip==26.3` keeps 26.3+musl.1.

    PEP 440: ``==26.3`` matches the local version ``26.3+musl.1``, and a local
    version sorts after its public one, so the installed fork is already the best
    candidate and pip leaves it alone.
    """
    venv = make_venv(tmp_path / "v", host_python, fork_wheel)
    links = tmp_path / "links"
    links.mkdir()
    shutil.copy(stock_wheel, links)
    proc = venv.pip(
        "install", "--upgrade", "--no-index", "--find-links", str(links), "pip==26.3"
    )
    assert "Requirement already satisfied: pip==26.3" in proc.stdout
    assert venv.installed()["pip"] == FORK_VERSION
    # Asking for stock pip explicitly is still possible (and documented).
    venv.pip(
        "install",
        "--no-index",
        "--find-links",
        str(links),
        "--force-reinstall",
        "pip===26.3",
    )
    assert venv.installed()["pip"] == "26.3"


def _fake_newer_pip(links: Path) -> None:
    """A pip 99.0 wheel on a local index: what the self-check would find upstream."""
    name = "pip-99.0"
    with zipfile.ZipFile(links / f"{name}-py3-none-any.whl", "w") as zf:
        zf.writestr(
            f"{name}.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: pip\nVersion: 99.0\n",
        )
        zf.writestr(
            f"{name}.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n",
        )
        zf.writestr(f"{name}.dist-info/RECORD", "")


@pytest.mark.parametrize("which", ["fork", "stock"])
def test_self_version_check_never_steers_to_stock_pip(
    tmp_path: Path, host_python: str, fork_wheel: Path, stock_wheel: Path, which: str
) -> None:
    venv = make_venv(
        tmp_path / "v", host_python, fork_wheel if which == "fork" else stock_wheel
    )
    links = tmp_path / "links"
    links.mkdir()
    _fake_newer_pip(links)
    env = clean_env(PIP_CACHE_DIR=str(tmp_path / "cache"))
    del env["PIP_DISABLE_PIP_VERSION_CHECK"]
    proc = venv.pip(
        "install",
        "--index-url",
        links.as_uri(),
        "--find-links",
        str(links),
        "nothing-here",
        check=False,
        env=env,
    )
    prompted = "A new release of pip is available" in proc.stderr
    # The stock run proves the check does fire in this setup.
    assert prompted is (which == "stock"), proc.stderr


def _copy_project(tmp_path: Path) -> Path:
    dest = tmp_path / "project"
    shutil.copytree(
        ROOT,
        dest,
        ignore=shutil.ignore_patterns(
            ".git",
            ".nox",
            "build",
            "docs",
            "tests",
            "benchmarks",
            "__pycache__",
            "AUTHORS.txt",
            "_vendor",
        ),
    )
    return dest


@pytest.fixture(scope="module")
def build_venv(
    tmp_path_factory: pytest.TempPathFactory, host_python: str, stock_wheel: Path
) -> Venv:
    """Stock pip 26.3 plus hatchling: builds without isolation, offline after setup."""
    venv = make_venv(tmp_path_factory.mktemp("build") / "v", host_python, stock_wheel)
    venv.pip(
        "install",
        "--quiet",
        "--no-index",
        "--find-links",
        str(hatchling_links()),
        "hatchling",
    )
    return venv


def _build(venv: Venv, project: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return venv.pip(
        "wheel",
        "--no-build-isolation",
        "--no-deps",
        "-w",
        str(out),
        str(project),
        check=False,
    )


def test_build_refuses_another_upstream_version(
    tmp_path: Path, build_venv: Venv
) -> None:
    project = _copy_project(tmp_path)
    fork = project / "src/pip/_internal/libc/fork.py"
    fork.write_text(
        fork.read_text().replace(
            'UPSTREAM_VERSION = "26.3"', 'UPSTREAM_VERSION = "26.2"'
        )
    )
    proc = _build(build_venv, project, tmp_path / "out")
    assert proc.returncode != 0
    assert (
        "the build environment has pip 26.3, but this musl build is made from "
        "pip 26.2" in proc.stdout + proc.stderr
    )
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_build_fails_naming_a_missing_anchor(tmp_path: Path, build_venv: Venv) -> None:
    project = _copy_project(tmp_path)
    table = project / "src/pip/_internal/libc/patch_points.py"
    table.write_text(
        table.read_text().replace(
            'anchor="pip_self_version_check_fetch"', 'anchor="no_such_function"'
        )
    )
    proc = _build(build_venv, project, tmp_path / "out")
    assert proc.returncode != 0
    assert (
        "patch point anchor pip._internal.self_outdated_check.no_such_function"
        in proc.stdout + proc.stderr
    )



def test_build_fails_when_a_build_time_anchor_is_not_a_literal(
    tmp_path: Path, build_venv: Venv
) -> None:
    project = _copy_project(tmp_path)
    table = project / "src/pip/_internal/libc/patch_points.py"
    text = table.read_text()
    marked = text.replace(
        'wrapper="pip._internal.libc.patches:silence_self_version_check",',
        'wrapper="pip._internal.libc.patches:silence_self_version_check",\n'
        "        at_build=True,",
    )
    assert marked != text
    table.write_text(marked)
    proc = _build(build_venv, project, tmp_path / "out")
    assert proc.returncode != 0
    assert (
        "patch point anchor pip._internal.self_outdated_check."
        "pip_self_version_check_fetch not usable in upstream pip: it is not an "
        "assignment" in proc.stdout + proc.stderr
    )


def test_unchanged_project_builds_in_the_same_setup(
    tmp_path: Path, build_venv: Venv
) -> None:
    """The two failures above are caused by the edits, not by the setup."""
    proc = _build(build_venv, _copy_project(tmp_path), tmp_path / "out")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == [
        f"pip-{FORK_VERSION}-py3-none-any.whl"
    ]


def test_editable_install_fails_at_once_pointing_to_nox(
    tmp_path: Path, build_venv: Venv
) -> None:
    proc = build_venv.pip(
        "install",
        "--no-build-isolation",
        "--no-deps",
        "-e",
        str(_copy_project(tmp_path)),
        check=False,
    )
    assert proc.returncode != 0
    assert "editable installs of the musl build of pip are not supported" in (
        proc.stdout + proc.stderr
    )
    assert "nox -s tests" in proc.stdout + proc.stderr
    assert build_venv.installed()["pip"] == "26.3"


PINNED_RECORD = ROOT / "tools" / "upstream-pip-26.3.RECORD"


def test_pinned_record_is_the_official_wheels_record(stock_wheel: Path) -> None:
    with zipfile.ZipFile(stock_wheel) as zf:
        official = zf.read("pip-26.3.dist-info/RECORD")
    assert PINNED_RECORD.read_bytes() == official


@pytest.mark.network
def test_pin_command_regenerates_the_pinned_record(tmp_path: Path) -> None:
    """The documented command, downloading from the package index."""
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "pin-upstream-record.py"),
            "26.3",
            "--output-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / PINNED_RECORD.name).read_bytes() == PINNED_RECORD.read_bytes()
    assert "sha256 of pip-26.3-py3-none-any.whl: " in proc.stdout


def test_pin_command_refuses_a_wheel_that_does_not_match_its_record(
    tmp_path: Path, stock_wheel: Path
) -> None:
    bad = tmp_path / stock_wheel.name
    with zipfile.ZipFile(stock_wheel) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "pip/_internal/cli/main.py":
                data += b"\n# tampered\n"
            dst.writestr(info, data)
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "pin-upstream-record.py"),
            "26.3",
            "--wheel",
            str(bad),
            "--output-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "pip/_internal/cli/main.py does not match its RECORD" in proc.stderr
    assert not (tmp_path / PINNED_RECORD.name).exists()


def test_build_fails_without_the_pinned_record(
    tmp_path: Path, build_venv: Venv
) -> None:
    project = _copy_project(tmp_path)
    (project / "tools" / PINNED_RECORD.name).unlink()
    proc = _build(build_venv, project, tmp_path / "out")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "tools/upstream-pip-26.3.RECORD is missing" in out
    assert "python tools/pin-upstream-record.py 26.3" in out


def test_build_fails_naming_tampered_upstream_files(
    tmp_path: Path, host_python: str, stock_wheel: Path
) -> None:
    """A build environment whose pip 26.3 is not the official wheel's content."""
    venv = make_venv(tmp_path / "v", host_python, stock_wheel)
    venv.pip(
        "install",
        "--quiet",
        "--no-index",
        "--find-links",
        str(hatchling_links()),
        "hatchling",
    )
    project = _copy_project(tmp_path)
    # Untampered, this environment builds: the failure below is the tampering's.
    ok = _build(venv, project, tmp_path / "ok")
    assert ok.returncode == 0, ok.stdout + ok.stderr

    site = Path(
        venv.run(
            "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        ).stdout.strip()
    )
    changed = site / "pip/_internal/utils/misc.py"
    changed.write_text(changed.read_text() + "\n# tampered\n")
    (site / "pip/_internal/extra_module.py").write_text("X = 1\n")
    (site / "pip-26.3.dist-info/licenses/src/pip/_vendor/rich/LICENSE").unlink()

    proc = _build(venv, project, tmp_path / "out")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert (
        "upstream pip 26.3 in the build environment is not the official wheel "
        "pinned in tools/upstream-pip-26.3.RECORD: "
        "pip-26.3.dist-info/licenses/src/pip/_vendor/rich/LICENSE is missing; "
        "pip/_internal/extra_module.py is not in the official wheel; "
        "pip/_internal/utils/misc.py differs (sha256)" in out
    ), out
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
