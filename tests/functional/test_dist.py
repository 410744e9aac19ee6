"""Release artifacts (`nox -s dist`, i.e. tools/dist.py) and the zipapp.

The reproducibility test builds the committed HEAD twice (the second time from a
fresh clone, another umask, time zone and a wrong SOURCE_DATE_EPOCH in the
environment) and compares the bytes. The zipapp tests run `pip-<version>.pyz`, made
from the fork's wheel by the same code, on the glibc host CPython and on the musl
CPython, in venvs that have no pip at all.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.lib.venvs import Venv, clean_env, hatchling_links, make_venv
from tests.lib.wheels import EXTRA_C_STATX, build_ext_wheel, build_pure_wheel

ROOT = Path(__file__).resolve().parents[2]
DIST_SCRIPT = ROOT / "tools" / "dist.py"
FORK_VERSION = "26.3+musl.1"
PYZ = f"pip-{FORK_VERSION}.pyz"
WHEEL = f"pip-{FORK_VERSION}-py3-none-any.whl"
SDIST = f"pip-{FORK_VERSION}.tar.gz"


def load_dist_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pip_musl_dist", DIST_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def run_dist(
    script: Path, out: Path, env: dict[str, str], **kwargs: object
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, str(script), "--out", str(out)],
        cwd=script.parents[1],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_dist_builds_the_same_bytes_twice_from_the_commit(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    first = tmp_path / "first"
    run_dist(DIST_SCRIPT, first, env)

    clone = tmp_path / "clone"
    git("clone", "--quiet", str(ROOT), str(clone))
    assert git("rev-parse", "HEAD", cwd=clone) == git("rev-parse", "HEAD")
    second = tmp_path / "second"
    other_env = dict(env, TZ="Asia/Kolkata", SOURCE_DATE_EPOCH="315532800")
    run_dist(clone / "tools" / "dist.py", second, other_env, umask=0o077)

    names = {WHEEL, PYZ, SDIST}
    for out in (first, second):
        assert {p.name for p in out.iterdir()} == names | {"SHA256SUMS"}
        check = subprocess.run(
            ["sha256sum", "-c", "SHA256SUMS"],
            cwd=out,
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stdout + check.stderr
    assert (first / "SHA256SUMS").read_text() == (second / "SHA256SUMS").read_text()
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name

    # SOURCE_DATE_EPOCH came from the commit, not from the environment.
    epoch = int(git("log", "-1", "--format=%ct", "HEAD"))
    stamp = time.gmtime(epoch)[:6]
    zip_stamp = (*stamp[:5], stamp[5] // 2 * 2)  # zip stores even seconds
    with zipfile.ZipFile(first / WHEEL) as zf:
        assert {i.date_time for i in zf.infolist()} == {zip_stamp}
    with tarfile.open(first / SDIST) as tar:
        members = tar.getmembers()
        assert {m.mtime for m in members} == {epoch}
        assert {(m.uid, m.gid) for m in members} == {(0, 0)}
        assert f"pip-{FORK_VERSION}/tools/upstream-pip-26.3.RECORD" in tar.getnames()

    # The zipapp: sorted entries, fixed times and permissions, no .dist-info.
    pyz = first / PYZ
    assert pyz.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(pyz) as zf:
        infos = zf.infolist()
    names_in_zip = [i.filename for i in infos]
    assert names_in_zip == sorted(names_in_zip)
    assert "__main__.py" in names_in_zip
    assert "pip/_internal/libc/musl-libc-symbols.tsv" in names_in_zip
    assert "licenses/src/pip/_vendor/certifi/LICENSE" in names_in_zip
    assert not [n for n in names_in_zip if ".dist-info/" in n]
    assert {i.date_time for i in infos} == {zip_stamp}
    assert {i.external_attr for i in infos} == {0o100644 << 16}


def test_the_sdist_check_tells_different_wheels_apart(
    tmp_path: Path, fork_wheel: Path
) -> None:
    """The comparison dist.py makes between the sdist's and the checkout's wheel."""
    dist = load_dist_module()
    assert dist.differing_members(fork_wheel, fork_wheel) == []
    other = tmp_path / fork_wheel.name
    with zipfile.ZipFile(fork_wheel) as src, zipfile.ZipFile(other, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "pip/_internal/libc/fork.py":
                data += b"\n"
            dst.writestr(info, data)
    assert dist.differing_members(fork_wheel, other) == ["pip/_internal/libc/fork.py"]


# ------------------------------------------------------------------ zipapp ---


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory, fork_wheel: Path) -> Path:
    out = tmp_path_factory.mktemp("pyz")
    proc = subprocess.run(
        [
            sys.executable,
            str(DIST_SCRIPT),
            "--zipapp-from",
            str(fork_wheel),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out / PYZ


@pytest.fixture(params=["glibc", pytest.param("musl", marks=pytest.mark.musl)])
def interpreter(request: pytest.FixtureRequest, host_python: str) -> tuple[str, Path]:
    """(libc family, interpreter): the glibc host CPython and the musl CPython."""
    if request.param == "musl":
        from tests.lib.hosts import PRIMARY, resolve

        try:
            return "musl", resolve(PRIMARY).interpreter
        except LookupError as exc:
            pytest.fail(f"the primary musl host is missing: {exc}", pytrace=False)
    return "glibc", Path(host_python)


@pytest.fixture
def bare_venv(tmp_path: Path, interpreter: tuple[str, Path]) -> Venv:
    """A venv of the interpreter without any pip: the zipapp is all there is."""
    venv = make_venv(tmp_path / "bare", interpreter[1], None)
    assert venv.run("-c", "import pip", check=False).returncode != 0
    return venv


def _hello_project(parent: Path) -> Path:
    project = parent / "hello"
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
    return project


def test_zipapp_runs_pip_without_installing_it(
    tmp_path: Path, pyz: Path, bare_venv: Venv, interpreter: tuple[str, Path]
) -> None:
    family, _ = interpreter
    version = bare_venv.run(pyz, "--version").stdout
    assert version.startswith(f"pip {FORK_VERSION} from {pyz}/pip (python 3.")

    debug = bare_venv.run(pyz, "debug", "--verbose").stdout
    assert f"  family: {family}" in debug.splitlines()
    (where,) = re.findall(r"^pip\._vendor\.certifi\.where\(\): (.*)$", debug, re.M)
    assert where.endswith("cacert.pem") and ".pyz" not in where  # extracted by as_file

    # `install -r requirements.txt`: a wheel, and a local project built in an
    # isolated build environment, which pip fills by running the zipapp again.
    links = tmp_path / "links"
    build_pure_wheel(links, name="muslprobe", variant="zipapp")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"muslprobe==1.0\n{_hello_project(tmp_path)}\n")
    bare_venv.run(
        pyz,
        "install",
        "--no-index",
        "--find-links",
        links,
        "--find-links",
        hatchling_links(),
        "-r",
        requirements,
    )
    imported = bare_venv.run(
        "-c", "import hello, muslprobe; print(muslprobe.variant(), hello.GREETING)"
    )
    assert imported.stdout == "zipapp hi\n"
    listed = {
        d["name"]
        for d in json.loads(bare_venv.run(pyz, "list", "--format", "json").stdout)
    }
    assert {"muslprobe", "hello"} <= listed and "pip" not in listed
    assert bare_venv.run("-c", "import pip", check=False).returncode != 0


def test_zipapp_reads_its_data_from_inside_the_zip(pyz: Path, bare_venv: Venv) -> None:
    code = textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(pyz)!r})
        from importlib import resources
        from pip._internal.libc import musl_symbols
        from pip._vendor import certifi
        print(musl_symbols.__spec__.origin)
        print(musl_symbols._symbol_table.cache_info().currsize)
        data = resources.files("pip._internal.libc").joinpath(musl_symbols.DATA_FILE)
        print(type(data).__module__)
        print(musl_symbols.first_musl_release("statx", "x86_64"))
        print(musl_symbols._symbol_table.cache_info().currsize)
        with open(certifi.where()) as f:
            print(f.read().count("BEGIN CERTIFICATE") > 50)
    """)
    lines = bare_venv.run("-c", code).stdout.splitlines()
    assert lines == [
        f"{pyz}/pip/_internal/libc/musl_symbols.py",
        "0",  # importing does not read the table
        lines[2],
        "(1, 2, 5)",
        "1",
        "True",
    ]
    assert lines[2].startswith("zipfile")  # a member of the zip, not a file path


def _loader_version(debug: str) -> tuple[int, ...]:
    """The musl release of the loader the interpreter names, asked directly."""
    (loader,) = re.findall(r"^  loader \(PT_INTERP\): (\S+)$", debug, re.M)
    out = subprocess.run(
        [loader, "--version"], capture_output=True, text=True, check=False
    )
    (version,) = re.findall(r"^Version (\d+\.\d+\.\d+)$", out.stderr, re.M)
    return tuple(int(p) for p in version.split("."))


@pytest.fixture(scope="module")
def ext_wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import sysconfig

    include = sysconfig.get_paths()["include"]
    out = tmp_path_factory.mktemp("pyz-wheels")
    made = {}
    for key, compiler, platform, extra in [
        ("glibc", "gcc", "manylinux_2_17_x86_64", ""),
        ("statx", "musl-gcc", "musllinux_1_2_x86_64", EXTRA_C_STATX),
    ]:
        made[key] = build_ext_wheel(
            out / key,
            tag_platform=platform,
            compiler=compiler,
            python_include=include,
            variant=key,
            extra_c=extra,
        )
    return made


def test_zipapp_check_wheel(
    pyz: Path,
    bare_venv: Venv,
    interpreter: tuple[str, Path],
    ext_wheels: dict[str, Path],
) -> None:
    family, _ = interpreter
    glibc, statx = ext_wheels["glibc"], ext_wheels["statx"]
    proc = bare_venv.run(pyz, "check-wheel", glibc, statx, check=False)
    lines = proc.stdout.splitlines()
    if family == "glibc":
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert lines[0].startswith("Host: glibc "), lines
        assert lines[1] == f"{glibc.name}: can load here", lines
        assert lines[2].startswith(f"{statx.name}: cannot load here: "), lines
        assert "is linked against musl" in proc.stdout
        return
    host = _loader_version(bare_venv.run(pyz, "debug", "--verbose").stdout)
    release = ".".join(map(str, host))
    assert "is linked against glibc" in proc.stdout
    if host < (1, 2, 5):
        # The explanation comes from the symbol table inside the zip.
        assert lines[0] == f"Host: musl {release} (x86_64)", lines
        assert lines[2].startswith(f"{statx.name}: cannot load here: "), lines
        assert "statx" in proc.stdout and "1.2.5" in proc.stdout
    else:
        assert lines[0] == f"Host: musl {release} (x86_64)", lines
        assert lines[2] == f"{statx.name}: can load here", lines


# ------------------------------------------------------- README "Get it" ---


def readme_get_it() -> dict[str, list[str]]:
    """The README's "Get it" code blocks: language -> list of blocks."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Get it\n", 1)[1].split("\n## ", 1)[0]
    blocks: dict[str, list[str]] = {}
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", section, re.S):
        blocks.setdefault(lang, []).append(body)
    return blocks


def _release_dir(parent: Path, pyz: Path, fork_wheel: Path) -> Path:
    release = parent / "release"
    release.mkdir()
    shutil.copy(pyz, release / PYZ)
    shutil.copy(fork_wheel, release / WHEEL)
    load_dist_module().write_sums(release, [release / PYZ, release / WHEEL])
    (release / "requirements.txt").write_text("muslprobe==1.0\n")
    return release


def _bin_dir(parent: Path, python: Path, **links: Path) -> Path:
    """A PATH directory: ``python`` runs the venv's interpreter (a wrapper, not a
    symlink, so that Python still finds the venv's pyvenv.cfg); ``links`` are
    symlinks (BusyBox applets)."""
    bin_dir = parent / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "python"
    wrapper.write_text(f'#!/bin/sh\nexec {python} "$@"\n')
    wrapper.chmod(0o755)
    for name, target in links.items():
        (bin_dir / name).symlink_to(target)
    return bin_dir


def test_readme_release_artifact_commands(
    tmp_path: Path, pyz: Path, fork_wheel: Path, host_python: str
) -> None:
    """The two ``sh`` blocks, run as written on the glibc host."""
    sh = readme_get_it()["sh"]
    assert len(sh) == 2
    assert f"grep ' {PYZ}$' SHA256SUMS | sha256sum -c -" in sh[0]
    assert f"python {PYZ} install -r requirements.txt" in sh[0]
    assert f"python {PYZ} install {WHEEL}" in sh[1]
    release = _release_dir(tmp_path, pyz, fork_wheel)
    links = tmp_path / "links"
    build_pure_wheel(links, name="muslprobe", variant="readme")
    venv = make_venv(tmp_path / "v", host_python, None)
    path = f"{_bin_dir(tmp_path, venv.python)}:{os.environ['PATH']}"
    env = clean_env(PATH=path, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(links))

    def run(block: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + block],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    # A download that does not match SHA256SUMS stops the block before pip runs.
    bad = tmp_path / "bad"
    shutil.copytree(release, bad)
    (bad / PYZ).write_bytes((bad / PYZ).read_bytes() + b"\0")
    proc = run(sh[0], bad)
    assert proc.returncode != 0 and "FAILED" in proc.stdout + proc.stderr
    assert venv.run("-c", "import muslprobe", check=False).returncode != 0

    proc = run(sh[0], release)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert venv.run("-c", "import muslprobe; print(muslprobe.variant())").stdout == (
        "readme\n"
    )
    proc = run(sh[1], release)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert venv.pip("--version").stdout.startswith(f"pip {FORK_VERSION} from ")


@pytest.mark.musl
def test_readme_dockerfile_run_line_on_musl(
    tmp_path: Path, pyz: Path, fork_wheel: Path, musl_python: Path
) -> None:
    """The Dockerfile's COPY and RUN lines, without Docker.

    No Docker daemon is usable on this machine, so the image is stood in for: the
    musl CPython plays python:3.13-alpine's interpreter, BusyBox provides the
    shell, ``grep`` and ``sha256sum`` (as in Alpine), and COPY is a copy into a
    directory that plays the image's /tmp.
    """
    (dockerfile,) = readme_get_it()["dockerfile"]
    lines = dockerfile.replace("\\\n", " ").splitlines()
    assert lines[0].startswith("FROM python:") and lines[0].endswith("-alpine")
    (copy,) = [line for line in lines if line.startswith("COPY ")]
    (run_line,) = [line for line in lines if line.startswith("RUN ")]
    *sources, dest = copy.split()[1:]
    assert dest == "/tmp/" and PYZ in sources
    busybox = shutil.which("busybox")
    assert busybox, (
        "busybox is missing: apt-get install busybox (tools/setup-system.sh)"
    )

    context = _release_dir(tmp_path, pyz, fork_wheel)
    image_tmp = tmp_path / "image-tmp"
    image_tmp.mkdir()
    for source in sources:
        shutil.copy(context / source, image_tmp / source)
    links = tmp_path / "links"
    build_pure_wheel(links, name="muslprobe", variant="alpine")
    venv = make_venv(tmp_path / "v", musl_python, None)
    bin_dir = _bin_dir(
        tmp_path, venv.python, grep=Path(busybox), sha256sum=Path(busybox)
    )
    command = run_line.removeprefix("RUN ").replace("cd /tmp ", f"cd {image_tmp} ", 1)
    assert str(image_tmp) in command
    env = clean_env(
        PATH=f"{bin_dir}:/usr/bin:/bin", PIP_NO_INDEX="1", PIP_FIND_LINKS=str(links)
    )
    proc = subprocess.run(
        [busybox, "sh", "-c", command],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{PYZ}: OK" in proc.stdout
    assert venv.run("-c", "import muslprobe; print(muslprobe.variant())").stdout == (
        "alpine\n"
    )


@pytest.mark.network
def test_readme_from_a_clone(
    tmp_path: Path, host_python: str, stock_wheel: Path
) -> None:
    """``python -m pip install .`` in a fresh clone, with stock pip, isolated build."""
    clone = tmp_path / "clone"
    git("clone", "--quiet", str(ROOT), str(clone))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    get_it = readme.split("\n## Get it\n", 1)[1].split("\n## ", 1)[0]
    assert "`python -m pip install .`" in get_it and "`nox -s dist`" in get_it
    venv = make_venv(tmp_path / "v", host_python, stock_wheel)
    venv.pip("install", "--quiet", ".", cwd=clone, env=os.environ.copy())
    assert venv.pip("--version").stdout.startswith(f"pip {FORK_VERSION} from ")
