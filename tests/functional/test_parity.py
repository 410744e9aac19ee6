"""Differential tests: the fork and stock pip 26.3 on the glibc host, side by side.

Every case runs the same pip commands twice -- with the fork and with stock pip
26.3, each in its own venv of the same glibc interpreter -- against the same local
index (pypiserver) and find-links directory, and compares exit codes, stdout,
stderr and the resulting files (venv, ``--target``/``--prefix``/user dirs,
download and wheel dirs, config files).

Before comparing, only side-specific *paths* are normalised (venv root, work dir,
pip's random temporary-directory suffixes; both sides get paths of equal length so
that wrapped text wraps the same). Every other difference is an *intended
difference* from :data:`tests.lib.parity.DIFFERENCES`, declared by name on the step
where it appears; a declared difference that does not show up fails the test, and
anything left over after removing the declared ones is a parity bug.

The intended differences on glibc:

``version``
    ``26.3+musl.1`` instead of ``26.3`` (global: replaced wherever it appears).
``libc-debug-section``
    ``pip debug``'s ``libc:`` section.
``help-skip-wheel-abi-check``
    ``--help`` lists ``--skip-wheel-abi-check``.
``skip-wheel-abi-check-unknown-to-stock``
    stock pip refuses that option as unknown (exit 2).
``help-check-wheel-command`` / ``check-wheel-unknown-to-stock``
    the fork's own command ``pip check-wheel``: listed in ``--help``; stock pip
    says "unknown command".
``self-version-check-silenced``
    no "new release of pip" notice.
``pip-own-metadata``
    ``pip inspect`` shows the fork's own METADATA for pip.
``abi-check-verbose-verdict``
    ``install -v`` logs the install-time check's verdict.
``musllinux-platform-expansion`` / ``debug-musllinux-platform-expansion``
    ``--platform musllinux_1_2_<arch>`` expands to 1_2/1_1/1_0.
``malformed-musl-platform``
    a malformed musl ``--platform`` is an error up front.
"""

from __future__ import annotations

import json
import shutil
import sys
import sysconfig
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.lib.index import LocalIndex, build_tools_wheels
from tests.lib.parity import (
    DIFFERENCES,
    Outcome,
    Side,
    StepResult,
    make_side,
    normalize,
    replace_version,
    sha256_of,
    snapshot,
    unified_diff,
    write_sdist,
    write_wheel,
)
from tests.lib.venvs import Venv, make_venv
from tests.lib.wheels import build_ext_wheel, build_sdist

PY = f"{sys.version_info[0]}.{sys.version_info[1]}"
#: The running CPython's tag, and an older one whose wheels it does not take.
CP = f"cp{sys.version_info[0]}{sys.version_info[1]}"
OLDER_CP = f"cp{sys.version_info[0]}{sys.version_info[1] - 1}"

# Platforms a glibc x86_64 CPython 3.11 cannot use: the fork knows why for
# each one (other libc, other machine, too new a glibc), and on glibc it must
# still say nothing more than stock pip at -v.
FOREIGN_PLATFORMS = (
    ("cp311", "musllinux_1_2_x86_64"),
    ("cp311", "musllinux_1_1_x86_64"),
    ("cp311", "x86_64_linux_musl"),
    ("cp311", "musllinux_1_2_aarch64"),
    ("cp311", "musllinux_1_2_i686"),
    ("cp311", "manylinux_2_17_aarch64"),
    ("cp311", "manylinux_2_17_i686"),
    ("cp311", "manylinux_2_99_x86_64"),
    ("cp311", "linux_armv7l"),
    ("cp311", "win_amd64"),
    ("cp311", "macosx_11_0_arm64"),
    ("cp311", "macosx_10_9_x86_64"),
    ("cp310", "musllinux_1_2_x86_64"),
)

# --------------------------------------------------------------------------
# The repository both sides install from
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Repo:
    index: LocalIndex
    links: Path
    stock_links: Path
    """A find-links dir holding only stock pip 26.3's wheel."""
    hashes: Mapping[str, str]

    @property
    def vars(self) -> dict[str, str]:
        return {
            "index": self.index.url,
            "links": str(self.links),
            "stock_links": str(self.stock_links),
            **self.hashes,
        }


def _build_repo_files(dest: Path) -> list[Path]:
    files = [
        write_wheel(
            dest, "parity-gamma", "1.0", scripts={"gamma-cli": "parity_gamma:main"}
        ),
        write_wheel(
            dest, "parity-gamma", "2.0", scripts={"gamma-cli": "parity_gamma:main"}
        ),
        write_wheel(dest, "parity-beta", "1.0", requires=["parity-gamma"]),
        write_wheel(dest, "parity-beta", "1.5", requires=["parity-gamma<2"]),
        write_wheel(dest, "parity-alpha", "1.0"),
        write_wheel(dest, "parity-alpha", "1.1", requires=["parity-beta"]),
        write_wheel(
            dest,
            "parity-alpha",
            "2.0",
            requires=["parity-beta>=1.0"],
            extras={
                "fast": ["parity-omega"],
                "all": ["parity-omega", "parity-gamma>=1.0"],
            },
        ),
        write_wheel(dest, "parity-omega", "1.0"),
        # One pure wheel among wheels for a dozen platforms this host is not.
        write_wheel(dest, "parity-kappa", "1.0"),
        *(
            write_wheel(dest, "parity-kappa", "1.0", tag=f"{py}-{py}-{plat}")
            for py, plat in FOREIGN_PLATFORMS
        ),
        write_wheel(dest, "parity-omega", "2.0a1"),
        write_sdist(dest, "parity-epsilon", "1.0", requires=["parity-gamma"]),
        # A C extension sdist (gcc builds it when installed from source).
        build_sdist(dest, name="parity-zeta", version="1.0", variant="zeta"),
        # A newer "pip" so that stock pip's self version check has news.
        write_wheel(dest, "pip", "99.0"),
        *build_tools_wheels(),
    ]
    include = sysconfig.get_paths()["include"]
    for name, py, compiler, plat, variant in (
        # A generic glibc build: the only kind of binary wheel the fork still
        # opens on glibc (manylinux wheels are trusted there, as auditwheel
        # checked them).
        ("parity-eta", CP, "gcc", "linux_x86_64", "glibc-generic"),
        (
            "parity-delta",
            CP,
            "gcc",
            "manylinux_2_17_x86_64.manylinux2014_x86_64",
            "manylinux",
        ),
        (
            "parity-delta",
            OLDER_CP,
            "gcc",
            "manylinux_2_17_x86_64.manylinux2014_x86_64",
            "manylinux",
        ),
        ("parity-delta", CP, "musl-gcc", "musllinux_1_1_x86_64", "musllinux_1_1"),
        ("parity-delta", CP, "musl-gcc", "x86_64_linux_musl", "linux_musl"),
    ):
        if shutil.which(compiler) is None:
            pytest.fail(
                f"{compiler} is missing (Debian: apt-get install gcc musl-tools)",
                pytrace=False,
            )
        files.append(
            build_ext_wheel(
                dest,
                tag_platform=plat,
                compiler=compiler,
                python_include=include,
                variant=variant,
                name=name,
                version="1.0",
                python_tag=py,
                abi_tag=py,
            )
        )
    return files


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, stock_wheel: Path) -> Iterator[Repo]:
    base = tmp_path_factory.mktemp("parity-repo")
    links = base / "links"
    files = _build_repo_files(links)
    stock_links = base / "stock-links"
    stock_links.mkdir()
    shutil.copy2(stock_wheel, stock_links / stock_wheel.name)
    hashes = {
        "sha_gamma_1_0": sha256_of(links / "parity_gamma-1.0-py3-none-any.whl"),
        "sha_beta_1_0": sha256_of(links / "parity_beta-1.0-py3-none-any.whl"),
    }
    with LocalIndex(base / "packages", base / "pypiserver.log") as index:
        index.upload_all(files)
        yield Repo(index, links, stock_links, hashes)


# --------------------------------------------------------------------------
# Venvs: templates copied per case, with paths of equal length on both sides
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Templates:
    fork: Path
    stock: Path


@pytest.fixture(scope="module")
def templates(
    tmp_path_factory: pytest.TempPathFactory,
    fork_wheel: Path,
    stock_wheel: Path,
    host_python: str,
) -> Templates:
    base = tmp_path_factory.mktemp("parity-templates")
    fork = make_venv(base / "f" / "venv", host_python, fork_wheel)
    stock = make_venv(base / "s" / "venv", host_python, stock_wheel)
    version = {
        v.root: v.pip("--version", "--disable-pip-version-check").stdout
        for v in (fork, stock)
    }
    assert "pip 26.3+musl.1 " in version[fork.root], version
    assert "pip 26.3 " in version[stock.root], version
    return Templates(fork.root, stock.root)


def _sides(
    base: Path,
    templates: Templates,
    repo: Repo,
    *,
    system_site_packages: bool = False,
) -> tuple[Side, Side]:
    return (
        make_side(
            "fork",
            templates.fork,
            base / "f",
            index_url=repo.index.url,
            system_site_packages=system_site_packages,
        ),
        make_side(
            "stock",
            templates.stock,
            base / "s",
            index_url=repo.index.url,
            system_site_packages=system_site_packages,
        ),
    )


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    args: tuple[str, ...]
    differences: tuple[str, ...] = ()
    env: Mapping[str, str | None] = field(default_factory=dict)
    """Extra environment (formatted like args); ``None`` removes a variable."""
    json_out: bool = False
    """stdout is JSON: compare it parsed (keys sorted) after normalisation."""


def S(*args: str, diff: tuple[str, ...] = (), **kw: object) -> Step:
    return Step(tuple(args), diff, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Case:
    name: str
    steps: tuple[Step, ...]
    trees: tuple[str, ...] = ("{venv}",)
    """Directories (formatted) whose contents must match afterwards."""
    files: Mapping[str, str] = field(default_factory=dict)
    """Files written into the work dir first (contents formatted)."""
    system_site_packages: bool = False
    tree_differences: tuple[tuple[int, str], ...] = ()
    outputs: tuple[str, ...] = ()
    """Files (formatted, JSON) compared like a step's stdout afterwards."""


def C(name: str, *steps: Step, **kw: object) -> Case:
    return Case(name, steps, **kw)  # type: ignore[arg-type]


IDX = "--index-url={index}"

CASES: tuple[Case, ...] = (
    # -- install -------------------------------------------------------------------
    C("install-deps", S("install", "parity-alpha")),
    C("install-extra", S("install", "parity-alpha[fast]")),
    C(
        "install-dry-run-report",
        S(
            "install",
            "--dry-run",
            "--quiet",
            "--report",
            "-",
            "parity-alpha[all]",
            json_out=True,
        ),
    ),
    C(
        "install-report-file",
        S("install", "--report", "{work}/report.json", "parity-beta==1.0"),
        outputs=("{work}/report.json",),
    ),
    C(
        "install-requirements-constraints",
        S("install", "-r", "{work}/req.txt", "-c", "{work}/constraints.txt"),
        files={
            "req.txt": "parity-alpha[fast]\nparity-gamma\n",
            "constraints.txt": "parity-beta==1.0\nparity-omega<2\nparity-gamma==1.0\n",
        },
    ),
    C(
        "install-target",
        S("install", "--target", "{work}/target", "parity-alpha"),
        S("install", "--target", "{work}/target", "--upgrade", "parity-gamma==2.0"),
        trees=("{venv}", "{work}/target"),
    ),
    C(
        "install-prefix",
        S("install", "--prefix", "{work}/prefix", "parity-gamma"),
        trees=("{venv}", "{work}/prefix"),
    ),
    C(
        "install-user",
        S("install", "--user", "parity-gamma==1.0"),
        S("install", "--user", "--upgrade", "parity-gamma"),
        S("list", "--user"),
        S("freeze", "--user"),
        trees=("{venv}", "{work}/userbase"),
        system_site_packages=True,
    ),
    C(
        "install-upgrade",
        S("install", "parity-alpha==1.0"),
        S("install", "--upgrade", "parity-alpha"),
        S("install", "--upgrade", "parity-alpha"),
        S("install", "--upgrade", "--upgrade-strategy", "eager", "parity-alpha"),
    ),
    C(
        "install-force-reinstall",
        S("install", "parity-gamma==1.0"),
        S("install", "--force-reinstall", "parity-gamma==1.0"),
        S("install", "--force-reinstall", "--no-deps", "parity-beta==1.0"),
    ),
    C(
        "install-no-deps-and-check",
        S("install", "--no-deps", "parity-alpha"),
        S("check"),
    ),
    C(
        "install-require-hashes",
        S("install", "--require-hashes", "-r", "{work}/hashed.txt"),
        files={"hashed.txt": "parity-gamma==1.0 --hash=sha256:{sha_gamma_1_0}\n"},
    ),
    C(
        "install-require-hashes-mismatch",
        S("install", "--require-hashes", "-r", "{work}/hashed.txt"),
        files={"hashed.txt": "parity-gamma==1.0 --hash=sha256:" + "0" * 64 + "\n"},
    ),
    C(
        "install-require-hashes-missing",
        S("install", "-r", "{work}/hashed.txt"),
        files={"hashed.txt": "parity-beta==1.0 --hash=sha256:{sha_beta_1_0}\n"},
    ),
    C(
        "install-find-links-no-index",
        S("install", "--no-index", "--find-links", "{links}", "parity-alpha==1.1"),
    ),
    C(
        "install-local-wheel-file",
        S("install", "{links}/parity_gamma-2.0-py3-none-any.whl"),
    ),
    C("install-sdist", S("install", "parity-epsilon")),
    C("install-binary-manylinux", S("install", "parity-delta")),
    C("install-binary-generic-linux", S("install", "parity-eta")),
    C(
        "install-binary-verbose",
        # The musl wheels of parity-delta are skipped for their tags: on glibc
        # the fork explains that only at -vv, so -v is stock's exactly.
        S("install", "-v", "parity-delta"),
        S("install", "-v", "parity-eta", diff=("abi-check-verbose-verdict",)),
    ),
    C(
        "install-verbose-foreign-platforms",
        # -v on glibc: the fork's output is stock's, word for word.
        S(
            "install",
            "-v",
            "--dry-run",
            "--no-index",
            "--find-links",
            "{links}",
            "parity-kappa",
        ),
        S("install", "-v", "--dry-run", "parity-kappa"),
    ),
    C(
        "install-binary-env-off-switch",
        S("install", "parity-eta", env={"PIP_SKIP_WHEEL_ABI_CHECK": "1"}),
    ),
    C(
        "install-skip-option",
        S(
            "install",
            "--dry-run",
            "--skip-wheel-abi-check",
            "parity-gamma",
            diff=("skip-wheel-abi-check-unknown-to-stock",),
        ),
        S("install", "--dry-run", "parity-gamma"),
    ),
    C("install-not-found", S("install", "parity-nope")),
    C("install-conflict", S("install", "parity-beta==1.5", "parity-gamma==2.0")),
    C(
        "install-self-version-check",
        S(
            "install",
            "parity-gamma",
            env={"PIP_DISABLE_PIP_VERSION_CHECK": None},
            diff=("self-version-check-silenced",),
        ),
    ),
    C(
        "install-pip-pin-keeps-build",
        S("install", "--no-index", "--find-links", "{stock_links}", "pip==26.3"),
        S(
            "install",
            "--no-index",
            "--find-links",
            "{stock_links}",
            "--upgrade",
            "pip==26.3",
        ),
    ),
    # -- uninstall -----------------------------------------------------------------
    C(
        "uninstall",
        S("install", "parity-alpha"),
        S("uninstall", "-y", "parity-alpha", "parity-gamma"),
        S("uninstall", "-y", "parity-nope"),
        S("freeze"),
        S("uninstall", "-y", "-r", "{work}/req.txt"),
        S("list"),
        files={"req.txt": "parity-beta\n"},
    ),
    # -- download ------------------------------------------------------------------
    C(
        "download-deps",
        S("download", "-d", "{work}/dl", "parity-alpha==2.0"),
        S("download", "-d", "{work}/dl", "parity-alpha==2.0"),
        trees=("{work}/dl",),
    ),
    C(
        "download-sdist",
        S(
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-d",
            "{work}/dl",
            "parity-epsilon",
        ),
        trees=("{work}/dl",),
    ),
    C(
        "download-platform-manylinux2014-cp310",
        S(
            "download",
            "--only-binary=:all:",
            "--platform",
            "manylinux2014_x86_64",
            "--python-version",
            "3.10",
            "--implementation",
            "cp",
            "--abi",
            "cp310",
            "-d",
            "{work}/dl",
            "parity-delta",
        ),
        trees=("{work}/dl",),
    ),
    C(
        "download-platform-manylinux_2_17-311",
        S(
            "download",
            "--only-binary=:all:",
            "--platform",
            "manylinux_2_17_x86_64",
            "--python-version",
            PY.replace(".", ""),
            "--abi",
            CP,
            "-d",
            "{work}/dl",
            "parity-delta",
        ),
        trees=("{work}/dl",),
    ),
    C(
        "download-platform-linux-musl",
        S(
            "download",
            "--only-binary=:all:",
            "--platform",
            "x86_64_linux_musl",
            "--python-version",
            PY,
            "--implementation",
            "cp",
            "--abi",
            CP,
            "-d",
            "{work}/dl",
            "parity-delta",
        ),
        trees=("{work}/dl",),
    ),
    C(
        "download-platform-musllinux_1_1",
        S(
            "download",
            "--only-binary=:all:",
            "--platform",
            "musllinux_1_1_x86_64",
            "--python-version",
            PY,
            "--implementation",
            "cp",
            "--abi",
            CP,
            "-d",
            "{work}/dl",
            "parity-delta",
        ),
        trees=("{work}/dl",),
    ),
    C(
        "download-platform-musllinux_1_2-expands",
        S(
            "download",
            "--only-binary=:all:",
            "--platform",
            "musllinux_1_2_x86_64",
            "--python-version",
            PY,
            "--implementation",
            "cp",
            "--abi",
            CP,
            "-d",
            "{work}/dl",
            "parity-delta",
        ),
        trees=("{work}/dl",),
        tree_differences=((0, "musllinux-platform-expansion"),),
    ),
    C(
        "download-platform-malformed-musl",
        S(
            "download",
            "--only-binary=:all:",
            "--platform",
            "musllinux_1_x86_64",
            "-d",
            "{work}/dl",
            "parity-delta",
            diff=("malformed-musl-platform",),
        ),
        trees=("{work}/dl",),
    ),
    C(
        "download-platform-needs-only-binary",
        S(
            "download",
            "--platform",
            "manylinux2014_x86_64",
            "-d",
            "{work}/dl",
            "parity-delta",
        ),
        trees=("{work}/dl",),
    ),
    # -- wheel ---------------------------------------------------------------------
    C(
        "wheel-from-index",
        S("wheel", "-w", "{work}/wh", "parity-alpha==2.0"),
        trees=("{work}/wh",),
    ),
    C(
        "wheel-pure-sdist",
        S("wheel", "--no-deps", "-w", "{work}/wh", "parity-epsilon"),
        trees=("{work}/wh", "{work}/cache/wheels"),
    ),
    C(
        "wheel-c-extension-sdist",
        # -g0: no DWARF, whose DW_AT_comp_dir names pip's random build dir (the
        # compiled file would differ between any two builds, fork or not).
        S(
            "wheel",
            "--no-deps",
            "-w",
            "{work}/wh",
            "parity-zeta",
            env={"CFLAGS": "-g0"},
        ),
        trees=("{work}/wh",),
    ),
    # -- cache ---------------------------------------------------------------------
    C(
        "cache",
        S("install", "parity-epsilon"),
        S("cache", "dir"),
        S("cache", "info"),
        S("cache", "list"),
        S("cache", "list", "--format", "abspath"),
        S("cache", "remove", "parity_epsilon"),
        S("cache", "list"),
        S("cache", "purge"),
        S("cache", "info"),
        S("cache", "dir", "--no-cache-dir"),
        trees=("{venv}", "{work}/cache"),
    ),
    # -- config --------------------------------------------------------------------
    C(
        "config",
        S("config", "list"),
        S("config", "get", "global.timeout"),
        S("config", "get", "install.no-compile"),
        S("config", "get", "global.nope"),
        S(
            "config",
            "--user",
            "set",
            "global.index-url",
            "http://example.invalid/simple",
        ),
        S("config", "--user", "set", "global.skip-wheel-abi-check", "true"),
        S("config", "--user", "get", "global.index-url"),
        S("config", "--user", "list"),
        S("config", "--site", "set", "global.timeout", "30"),
        S("config", "--site", "list"),
        S("config", "--user", "unset", "global.index-url"),
        S("config", "--user", "unset", "global.nope"),
        S("config", "debug"),
        S("config", "list", env={"PIP_CONFIG_FILE": None}),
        files={"pip.conf": "[global]\ntimeout = 60\n\n[install]\nno-compile = true\n"},
        trees=("{venv}", "{work}/home", "{work}/pip.conf"),
    ),
    # -- hash, index, help, version, debug ----------------------------------------
    C(
        "hash",
        S("hash", "{links}/parity_gamma-1.0-py3-none-any.whl"),
        S(
            "hash",
            "-a",
            "sha512",
            "{links}/parity_gamma-1.0-py3-none-any.whl",
            "{links}/parity_epsilon-1.0.tar.gz",
        ),
        S("hash", "{work}/missing.whl"),
        trees=(),
    ),
    C(
        "index-versions",
        S("index", "versions", "parity-alpha"),
        S("index", "versions", "--pre", "parity-omega"),
        S("index", "versions", "parity-omega"),
        S("index", "versions", "--json", "parity-alpha", json_out=True),
        S("index", "versions", "parity-nope"),
        S("index", "versions", "--no-index", "--find-links", "{links}", "parity-gamma"),
        S(
            "index",
            "versions",
            "--platform",
            "manylinux2014_x86_64",
            "--python-version",
            "3.10",
            "--only-binary=:all:",
            "parity-delta",
        ),
        trees=(),
    ),
    C(
        "help",
        S("--help", diff=("help-skip-wheel-abi-check", "help-check-wheel-command")),
        S("install", "--help", diff=("help-skip-wheel-abi-check",)),
        S("download", "--help", diff=("help-skip-wheel-abi-check",)),
        S("config", "--help", diff=("help-skip-wheel-abi-check",)),
        S("help", "list", diff=("help-skip-wheel-abi-check",)),
        S("nosuchcommand"),
        S(
            "check-wheel",
            "{links}/parity_delta-1.0-" + f"{CP}-{CP}"
            + "-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "{links}/parity_gamma-1.0-py3-none-any.whl",
            diff=("check-wheel-unknown-to-stock",),
        ),
        trees=(),
    ),
    C(
        "version",
        S("--version", diff=("version",)),
        S("-V", diff=("version",)),
        trees=(),
    ),
    C(
        "debug",
        S("debug", diff=("libc-debug-section",)),
        S("debug", "--verbose", diff=("libc-debug-section",)),
        S(
            "debug",
            "--verbose",
            "--platform",
            "manylinux2014_x86_64",
            "--python-version",
            "3.10",
            "--implementation",
            "cp",
            "--abi",
            "cp310",
            diff=("libc-debug-section",),
        ),
        S(
            "debug",
            "--verbose",
            "--platform",
            "musllinux_1_2_x86_64",
            diff=("libc-debug-section", "debug-musllinux-platform-expansion"),
        ),
        trees=(),
    ),
)

# Read-only commands, run in one shared pair of populated venvs.
POPULATE = (
    "install", "--no-deps", "parity-alpha==1.1", "parity-beta==1.5",
    "parity-gamma==2.0", "parity-omega==1.0",
)  # fmt: skip

READONLY: tuple[Step, ...] = (
    S("list"),
    S("list", "--format", "json", json_out=True),
    S("list", "--format", "freeze"),
    S("list", "-v"),
    S("list", "--outdated"),
    S("list", "--outdated", "--format", "json", json_out=True),
    S("list", "--outdated", "--pre"),
    S("list", "--uptodate"),
    S("list", "--not-required"),
    S("list", "--exclude", "pip", "--format", "json", json_out=True),
    S("show", "parity-beta"),
    S("show", "-f", "parity-gamma"),
    S("show", "-v", "parity-alpha", "parity-omega"),
    S("show", "parity-nope"),
    S("freeze"),
    S("freeze", "--all", diff=("pip-own-metadata",)),
    S("freeze", "--exclude", "parity-omega"),
    S("freeze", "-r", "{work}/req.txt"),
    S("check"),
    S("inspect", diff=("pip-own-metadata",), json_out=True),
)


# --------------------------------------------------------------------------
# Running and comparing
# --------------------------------------------------------------------------


def _env_for(side: Side, step: Step, fmt: Mapping[str, str]) -> dict[str, str]:
    env = dict(side.env)
    for key, value in step.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = side.fmt(value, fmt)
    return env


def _run_step(side: Side, step: Step, fmt: Mapping[str, str]) -> StepResult:
    args = tuple(side.fmt(a, fmt) for a in step.args)
    proc = side.venv.pip(
        *args, check=False, env=_env_for(side, step, fmt), cwd=side.work
    )
    out, err = normalize(proc.stdout, side), normalize(proc.stderr, side)
    if step.json_out and proc.returncode == 0:
        try:
            out = json.dumps(json.loads(out), indent=2, sort_keys=True) + "\n"
        except json.JSONDecodeError as exc:
            raise AssertionError(
                f"{side.name}: stdout is not JSON ({exc}):\n{out}"
            ) from None
    return StepResult(step.args, proc.returncode, out, err)


def _tree(side: Side, pattern: str, fmt: Mapping[str, str]) -> dict[str, str]:
    path = Path(side.fmt(pattern, fmt))
    if path.is_file():
        return {path.name: snapshot(path.parent, side, skip_pip=False)[path.name]}
    return snapshot(path, side)


def _apply_global_version(outcome: Outcome) -> Outcome:
    """The one global intended difference: ``version`` (see DIFFERENCES)."""
    outcome = outcome.clone()
    for r in outcome.steps:
        r.stdout, r.stderr = replace_version(r.stdout), replace_version(r.stderr)
    return outcome


def _compare(
    case_name: str,
    steps: tuple[Step, ...],
    fork: Outcome,
    stock: Outcome,
    tree_differences: tuple[tuple[int, str], ...] = (),
) -> None:
    for i, step in enumerate(steps):
        for name in step.differences:
            fork, stock = DIFFERENCES[name].apply(fork, stock, i)
    for i, name in tree_differences:
        if name not in steps[i].differences:
            fork, stock = DIFFERENCES[name].apply(fork, stock, i)
    fork = _apply_global_version(fork)
    problems = []
    for i, (f, s) in enumerate(zip(fork.steps, stock.steps, strict=True)):
        if (f.returncode, f.stdout, f.stderr) != (s.returncode, s.stdout, s.stderr):
            problems.append(
                f"step {i}: pip {' '.join(steps[i].args)}\n"
                f"exit codes: fork {f.returncode}, stock {s.returncode}\n"
                + unified_diff(f.stdout, s.stdout, "fork stdout", "stock stdout")
                + unified_diff(f.stderr, s.stderr, "fork stderr", "stock stderr")
            )
    for key in fork.trees:
        if fork.trees[key] != stock.trees[key]:
            ft, st = fork.trees[key], stock.trees[key]
            lines = [
                f"{k}: fork {ft.get(k)!r} stock {st.get(k)!r}"
                for k in sorted(set(ft) | set(st))
                if ft.get(k) != st.get(k)
            ]
            problems.append(f"files under {key} differ:\n" + "\n".join(lines))
    assert not problems, (
        f"UNINTENDED difference between the fork and stock pip in {case_name!r}:\n\n"
        + "\n\n".join(problems)
    )


def _run_case(case: Case, fork: Side, stock: Side, fmt: Mapping[str, str]) -> None:
    outcomes = {}
    for side in (fork, stock):
        for rel, content in case.files.items():
            (side.work / rel).write_text(side.fmt(content, fmt))
        steps = [_run_step(side, step, fmt) for step in case.steps]
        for out in case.outputs:
            text = Path(side.fmt(out, fmt)).read_text()
            text = json.dumps(
                json.loads(normalize(text, side)), indent=2, sort_keys=True
            )
            steps.append(StepResult(("<file>", out), 0, text + "\n", ""))
        trees = {t: _tree(side, t, fmt) for t in case.trees}
        outcomes[side.name] = Outcome(steps, trees)
    all_steps = case.steps + tuple(Step(("<file>", out)) for out in case.outputs)
    _compare(
        case.name, all_steps, outcomes["fork"], outcomes["stock"], case.tree_differences
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_parity(case: Case, tmp_path: Path, templates: Templates, repo: Repo) -> None:
    fork, stock = _sides(
        tmp_path, templates, repo, system_site_packages=case.system_site_packages
    )
    _run_case(case, fork, stock, repo.vars)


@pytest.fixture(scope="module")
def populated(
    tmp_path_factory: pytest.TempPathFactory, templates: Templates, repo: Repo
) -> tuple[Side, Side]:
    fork, stock = _sides(tmp_path_factory.mktemp("parity-populated"), templates, repo)
    setup = (S(*POPULATE),)
    for side in (fork, stock):
        (side.work / "req.txt").write_text("parity-gamma\nparity-alpha==1.0\n")
    _run_case(C("populate", *setup), fork, stock, repo.vars)
    return fork, stock


@pytest.mark.parametrize("step", READONLY, ids=[" ".join(s.args) for s in READONLY])
def test_parity_readonly(step: Step, populated: tuple[Side, Side], repo: Repo) -> None:
    fork, stock = populated
    fmt = repo.vars
    _compare(
        " ".join(step.args),
        (step,),
        Outcome([_run_step(fork, step, fmt)], {}),
        Outcome([_run_step(stock, step, fmt)], {}),
    )


def test_every_intended_difference_is_exercised() -> None:
    """Each registered difference is declared by some case (no dead entries)."""
    used = {"version"}
    for case in CASES:
        for step in case.steps:
            used.update(step.differences)
        used.update(name for _, name in case.tree_differences)
    for step in READONLY:
        used.update(step.differences)
    assert used == set(DIFFERENCES), sorted(set(DIFFERENCES) ^ used)


def test_sides_differ_in_pip_only(templates: Templates) -> None:
    """The two templates are the same interpreter with different pips."""
    f, s = Venv(templates.fork), Venv(templates.stock)
    code = "import sys, pip; print(sys._base_executable, sys.version); print(pip.__version__)"
    fo, so = (
        f.run("-c", code).stdout.splitlines(),
        s.run("-c", code).stdout.splitlines(),
    )
    assert fo[0] == so[0]
    assert (fo[1], so[1]) == ("26.3+musl.1", "26.3")
