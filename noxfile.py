"""Development sessions for the musl build of pip.

The fork is never run from the source tree (it is assembled from upstream pip at
build time), so every session that needs it builds the wheel first and installs it.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.options.sessions = ["lint", "docs", "tests"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
DIST = ROOT / "build" / "dist"
TEST_REQUIREMENTS = [
    # pytest 9.2 keeps node ids in `Node._id`; pytest-xdist 3.8 still renames
    # `_nodeid` for --dist loadgroup, so under 9.2 no group is kept together and
    # every musl host's venvs are made on both workers (tests/conftest.py fails
    # the run when that happens).
    "pytest>=8,<9.2",
    "pytest-xdist",
    "hypothesis",
    "pyelftools",
    "virtualenv",
    "pypiserver",
    "twine",
    "wheel",
    "build",
    "setuptools",
]


def build_fork_wheel(session: nox.Session) -> Path:
    """Build the fork's wheel with the session's own (stock) pip."""
    shutil.rmtree(DIST, ignore_errors=True)
    session.run(
        "python",
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--quiet",
        "--wheel-dir",
        str(DIST),
        str(ROOT),
    )
    (wheel,) = glob.glob(str(DIST / "pip-*.whl"))
    return Path(wheel)


def install_fork(session: nox.Session) -> Path:
    wheel = build_fork_wheel(session)
    session.run(
        "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--force-reinstall",
        "--no-deps",
        str(wheel),
    )
    # From here on the session's `python -m pip` is the fork.
    session.run("python", "-m", "pip", "--version")
    return wheel


BUILD_SCRIPT = ROOT / "tools" / "build-musl-python.sh"
#: glibc CPythons are built from Debian's sources (tools/build-musl-python.sh
#: --glibc): the interpreter of `tests-3.13`, and the partners (same minor) of
#: the musl hosts of another minor than the session's.


def _build(session: nox.Session, *args: str) -> str:
    """Run the build script: its progress lines (stderr) show as they come,
    its stdout is returned."""
    session.log(f"bash {BUILD_SCRIPT.relative_to(ROOT)} {' '.join(args)}")
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT), *args], stdout=subprocess.PIPE, text=True, check=False
    )
    if proc.returncode != 0:
        session.error(f"{BUILD_SCRIPT.name} {' '.join(args)} failed (exit {proc.returncode})")
    return proc.stdout


def musl_python(session: nox.Session) -> str:
    """The musl CPython 3.11 (the build script's default, for the benchmarks)."""
    return _build(session).strip().splitlines()[-1]


def musl_hosts(session: nox.Session) -> Path:
    """Build every musl host (tests/lib/hosts.py); their list, in a file."""
    lines = _build(session, "--hosts").strip()
    path = ROOT / "build" / "musl-hosts.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(lines + "\n")
    for line in lines.splitlines():
        session.log("musl host: " + line.replace("\t", "  "))
    return path


# --- aarch64 under qemu-user (issue 16) -------------------------------------
# One CPython 3.13 cross-built for arm64, on Debian's arm64 musl 1.2.3 and 1.2.5
# (tools/build-musl-python.sh --aarch64; it builds the glibc 3.13 it needs).
# Its tests (tests/e2e/test_aarch64.py) run in `tests` (and so in `ci`);
# `nox -s aarch64` runs only them.


def aarch64_hosts(session: nox.Session) -> Path:
    """Build the aarch64 hosts; their list, in a file."""
    lines = _build(session, "--aarch64").strip()
    path = ROOT / "build" / "aarch64-hosts.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(lines + "\n")
    for line in lines.splitlines():
        session.log("aarch64 host: " + line.replace("\t", "  "))
    return path


@nox.session(python="3.11")
def aarch64(session: nox.Session) -> None:
    """Only the aarch64 tests (qemu-user), on both aarch64 hosts."""
    setup_system(session)
    run_pytest(session, *XDIST, "tests/e2e/test_aarch64.py")


# --- end aarch64 --------------------------------------------------------------


def glibc_python(session: nox.Session, version: str) -> str:
    return _build(session, "--glibc", "--python", version).strip().splitlines()[-1]


def setup_system(session: nox.Session) -> None:
    session.run("bash", str(ROOT / "tools" / "setup-system.sh"), external=True)


def test_env(wheel: Path) -> dict[str, str]:
    return {"PIP_MUSL_WHEEL": str(wheel), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def run_pytest(session: nox.Session, *default_args: str) -> None:
    wheel = install_fork(session)
    session.run("python", "-m", "pip", "install", "--quiet", *TEST_REQUIREMENTS)
    hosts = musl_hosts(session)
    versions = {
        line.split("\t")[1]
        for line in hosts.read_text().splitlines()
        if line and not line.startswith("#")
    }
    session_minor = session.run(
        "python", "-c", "import sys; print('%d.%d' % sys.version_info[:2])", silent=True
    )
    assert isinstance(session_minor, str)
    for version in sorted(versions - {session_minor.strip()}):
        glibc_python(session, version)
    env = {
        **test_env(wheel),
        "PIP_MUSL_HOSTS_FILE": str(hosts),
        "PIP_MUSL_PYTHON": musl_python(session),
        "PIP_MUSL_AARCH64_HOSTS_FILE": str(aarch64_hosts(session)),
    }
    args = session.posargs or list(default_args)
    session.run("python", "-m", "pytest", *args, env=env)


# pytest-xdist over both cores; --dist loadgroup keeps each musl host's tests on
# one worker (tests/conftest.py groups them), so its venvs are made once.
XDIST = ("-n", "2", "--dist", "loadgroup")


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The whole suite: unit, functional and real-musl end-to-end tests."""
    setup_system(session)
    run_pytest(session, *XDIST, "tests")


@nox.session(name="tests-3.13", python=False)
def tests_glibc_313(session: nox.Session) -> None:
    """Unit, functional and parity suites under a glibc CPython 3.13 built from
    Debian trixie's sources (tools/build-musl-python.sh --glibc --python 3.13).

    The real-musl tests (marker ``musl``) run in `tests`; here the patch points
    are proven on a second CPython minor.
    """
    setup_system(session)
    py = glibc_python(session, "3.13")
    venv = ROOT / ".nox" / "tests-3-13-glibc"
    shutil.rmtree(venv, ignore_errors=True)
    session.run(py, "-m", "venv", "--without-pip", str(venv), external=True)
    vpy = str(venv / "bin" / "python")
    # The fork's wheel, built by the pip running nox; the venv gets it from the
    # wheel itself (the glibc CPython has no pip of its own).
    shutil.rmtree(DIST, ignore_errors=True)
    session.run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                "--wheel-dir", str(DIST), str(ROOT), external=True)
    (wheel,) = glob.glob(str(DIST / "pip-*.whl"))
    session.run(vpy, f"{wheel}/pip", "install", "--quiet", "--no-index", wheel,
                external=True)
    session.run(vpy, "-m", "pip", "--version", external=True)
    session.run(vpy, "-m", "pip", "install", "--quiet", *TEST_REQUIREMENTS,
                external=True)
    # The docs' sample outputs are those of the documented hosts (glibc CPython
    # 3.11, musl 1.2.3 + CPython 3.11): they run in `tests`, not here. So do the
    # tests of tooling that runs on the nox interpreter, not on the fork's
    # (the benchmark harness, the reproducible release build).
    args = session.posargs or [
        *XDIST, "-m", "not musl", "tests/unit", "tests/functional",
        "--ignore=tests/functional/test_docs_samples.py",
        "--ignore=tests/functional/test_benchmarks_smoke.py",
        "--deselect=tests/functional/test_dist.py"
        "::test_dist_builds_the_same_bytes_twice_from_the_commit",
    ]
    session.run(vpy, "-m", "pytest", *args, env=test_env(Path(wheel)), external=True)


@nox.session(python="3.11")
def musl(session: nox.Session) -> None:
    """Build (or reuse) the musl hosts and run the real-musl end-to-end tests."""
    setup_system(session)
    run_pytest(session, *XDIST, "tests/e2e")


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff on everything, mypy --strict on our own code (against the built fork)."""
    install_fork(session)
    session.run("python", "-m", "pip", "install", "--quiet", "ruff", "mypy", "nox")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", "src", "hatch_build.py", "benchmarks")
    session.run("mypy", "--strict", "-p", "pip._internal.libc", env={"MYPYPATH": ""})


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Sphinx, with warnings as errors."""
    session.install("sphinx", "myst-parser", "furo")
    out = ROOT / "docs" / "_build" / "html"
    session.run(
        "sphinx-build", "-W", "--keep-going", "-b", "html", str(ROOT / "docs"), str(out)
    )


@nox.session(python="3.11")
def benchmarks(session: nox.Session) -> None:
    """Fork vs stock pip 26.3 (and uv): ratios written to benchmarks/RESULTS.md
    (CPython 3.11 on musl 1.2.3, and glibc), then the musl figures again on the
    primary host, CPython 3.13 on musl 1.2.5, in RESULTS-musl-1.2.5.md.
    Arguments after ``--`` go to both runs."""
    setup_system(session)
    wheel = install_fork(session)
    session.run("python", "-m", "pip", "install", "--quiet", "pypiserver", "uv")
    run = ["python", str(ROOT / "benchmarks" / "run.py"), "--fork-wheel", str(wheel)]
    session.run(*run, "--musl-python", musl_python(session), *session.posargs)
    sys.path.insert(0, str(ROOT))
    from tests.lib import hosts  # PRIMARY: what current Alpine users run

    os.environ[hosts.HOSTS_FILE_ENV] = str(musl_hosts(session))
    try:
        primary = hosts.resolve(hosts.PRIMARY)
    except LookupError as exc:
        session.error(f"the primary host: {exc}")
    session.run(
        *run,
        "--musl-python",
        str(primary.interpreter),
        "--musl-only",
        # Case 3 (sdists compiled on the host) is the main run's.
        "--cases",
        "1,2,4,5,6,7",
        *session.posargs,
        "--out",
        str(ROOT / "benchmarks" / f"RESULTS-{primary.musl_text.replace(' ', '-')}.md"),
    )


@nox.session(python="3.11")
def backtracking(session: nox.Session) -> None:
    """The resolver check against PyPI on musl 1.2.3 (CPython 3.11), fork vs stock:
    wall time and bytes per refused candidate, in benchmarks/RESULTS-backtracking.md."""
    setup_system(session)
    wheel = install_fork(session)
    session.run(
        "python",
        str(ROOT / "benchmarks" / "backtracking.py"),
        "--fork-wheel",
        str(wheel),
        "--musl-python",
        musl_python(session),  # the 3.11 build runs on the system's musl 1.2.3
        *session.posargs,
    )


@nox.session(python="3.11")
def fuzz(session: nox.Session) -> None:
    """Fuzz the ELF reader and the wheel inspector for a fixed budget."""
    setup_system(session)  # the seeds are compiled with gcc and musl-gcc
    install_fork(session)
    session.run("python", "-m", "pip", "install", "--quiet", "hypothesis", "pytest",
                "atheris")
    budget = os.environ.get("PIP_MUSL_FUZZ_SECONDS", "60")
    session.run("python", str(ROOT / "tools" / "fuzz.py"), "--seconds", budget)


@nox.session(python="3.11")
def dist(session: nox.Session) -> None:
    """Release artifacts from the committed HEAD into dist/: sdist, wheel, zipapp
    and SHA256SUMS, the same bytes every time (tools/dist.py; docs/building.md)."""
    session.install("build")
    shutil.rmtree(ROOT / "dist", ignore_errors=True)
    session.run("python", str(ROOT / "tools" / "dist.py"), "--out", str(ROOT / "dist"),
                *session.posargs)


@nox.session(python=False)
def ci(session: nox.Session) -> None:
    """lint, docs, the whole test suite (every musl host), the glibc suites on
    CPython 3.13 and a short fuzz run (.ci/run runs the same, timed)."""
    session.notify("lint")
    session.notify("docs")
    session.notify("tests")
    session.notify("tests-3.13")
    session.notify("fuzz")
