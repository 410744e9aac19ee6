"""On a glibc host the fork's tags are upstream pip 26.3's, tag for tag."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.lib.venvs import Venv

TAGS = (
    "import sys\n"
    "from pip._internal.utils.compatibility_tags import get_supported\n"
    "kw = eval(sys.argv[1])\n"
    "print('\\n'.join(map(str, get_supported(**kw))))\n"
)


@pytest.mark.parametrize(
    "kwargs",
    [
        "{}",
        "{'platforms': ['manylinux2014_x86_64']}",
        "{'platforms': ['linux_x86_64'], 'version': '310', 'impl': 'cp'}",
        "{'platforms': ['macosx_11_0_arm64'], 'abis': ['abi3']}",
        "{'impl': 'pp', 'version': '310'}",
    ],
)
def test_glibc_tags_equal_upstream(
    fork_venv: Venv, stock_venv: Venv, kwargs: str
) -> None:
    ours = fork_venv.run("-c", TAGS, kwargs).stdout
    upstream = stock_venv.run("-c", TAGS, kwargs).stdout
    assert ours.splitlines() == upstream.splitlines()
    assert "musl" not in ours
    assert len(ours.splitlines()) > 10


def test_pip_debug_tags_equal_upstream(fork_venv: Venv, stock_venv: Venv) -> None:
    def tags(venv: Venv) -> list[str]:
        out = venv.pip("debug", "--verbose").stdout
        return out.split("Compatible tags:", 1)[1].splitlines()

    assert tags(fork_venv) == tags(stock_venv)


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        (
            "musllinux_1_2_x86_64",
            ["musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64"],
        ),
        ("x86_64_linux_musl", ["x86_64_linux_musl"]),
    ],
)
def test_debug_platform_expansion(
    fork_venv: Venv, platform: str, expected: list[str]
) -> None:
    out = fork_venv.pip(
        "debug",
        "--verbose",
        "--platform",
        platform,
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--abi",
        "cp311",
    ).stdout
    tags = [
        line.strip() for line in out.split("Compatible tags:", 1)[1].splitlines()[1:]
    ]
    platforms = list(dict.fromkeys(t.rsplit("-", 1)[1] for t in tags if t))
    assert platforms == [*expected, "any"]


@pytest.mark.parametrize("platform", ["musllinux_1_x86_64", "x86_64_linux_musl2"])
def test_malformed_musl_platform_is_a_clear_error(
    fork_venv: Venv, tmp_path, platform: str
) -> None:
    proc = fork_venv.pip(
        "download",
        "--no-index",
        "--find-links",
        str(tmp_path),
        "--only-binary=:all:",
        "--platform",
        platform,
        "-d",
        str(tmp_path / "d"),
        "anything",
        check=False,
    )
    assert proc.returncode == 1
    assert f"ERROR: invalid platform {platform!r}" in proc.stderr
    assert "Traceback" not in proc.stderr
    # pip creates the download directory first (as upstream does); nothing lands in it.
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())


@pytest.fixture(scope="module")
def musl_only_links(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """musllinux_1_1 and _linux_musl wheels of muslprobe, nothing else."""
    import sysconfig

    from tests.lib.wheels import build_variant_set

    links = tmp_path_factory.mktemp("musl-only")
    build_variant_set(
        links, ["musllinux_1_1", "linux_musl"], sysconfig.get_paths()["include"]
    )
    return links


def _download_for(venv: Venv, links: Path, dest: Path, *platforms: str):
    """`pip download` of muslprobe for CPython 3.11 on the given platforms."""
    options = [arg for platform in platforms for arg in ("--platform", platform)]
    return venv.pip("download", "--no-index", "--find-links", str(links),
                    "--only-binary=:all:", *options, "--python-version", "3.11",
                    "--implementation", "cp", "--abi", "cp311", "-d", str(dest),
                    "muslprobe", check=False)


def test_platform_download_picks_older_musllinux(fork_venv: Venv, tmp_path: Path,
                                                 musl_only_links: Path) -> None:
    _download_for(fork_venv, musl_only_links, tmp_path, "musllinux_1_2_x86_64")
    assert sorted(p.name for p in tmp_path.glob("*.whl")) == [
        "muslprobe-1.0-cp311-cp311-musllinux_1_1_x86_64.whl"]


def test_platform_download_of_linux_musl_tag(fork_venv: Venv, tmp_path: Path,
                                            musl_only_links: Path) -> None:
    _download_for(fork_venv, musl_only_links, tmp_path, "x86_64_linux_musl",
                  "musllinux_1_2_x86_64")
    assert sorted(p.name for p in tmp_path.glob("*.whl")) == [
        "muslprobe-1.0-cp311-cp311-x86_64_linux_musl.whl"]


def test_stock_pip_does_not_expand_musllinux(stock_venv: Venv, tmp_path: Path,
                                             musl_only_links: Path) -> None:
    """Recorded beside it: upstream takes musllinux_1_2 literally and finds nothing."""
    proc = _download_for(stock_venv, musl_only_links, tmp_path, "musllinux_1_2_x86_64")
    assert proc.returncode == 1
    assert "No matching distribution found for muslprobe" in proc.stderr


def _install_verbose(venv: Venv, links: Path, flag: str) -> str:
    proc = venv.pip(
        "install",
        flag,
        "--dry-run",
        "--no-index",
        "--find-links",
        str(links),
        "muslprobe",
        check=False,
    )
    assert proc.returncode == 1
    return proc.stdout + proc.stderr


def test_very_verbose_install_says_why_musl_wheels_do_not_fit(
    fork_venv: Venv, musl_only_links: Path
) -> None:
    out = _install_verbose(fork_venv, musl_only_links, "-vv")
    assert re.search(
        r"Skipping link: none of the wheel's tags \(cp311-cp311-musllinux_1_1_x86_64\) "
        r"are compatible \(run pip debug --verbose to show compatible tags\): "
        r"musllinux_1_1 wheel is for musl; this host uses glibc [\d.]+ \(x86_64\): "
        r"\S+muslprobe-1.0-cp311-cp311-musllinux_1_1_x86_64.whl",
        out,
    ), out
    assert (
        "x86_64_linux_musl wheel is for musl; this host uses glibc"
    ) in out


def test_verbose_install_on_glibc_says_no_more_than_stock(
    fork_venv: Venv, stock_venv: Venv, musl_only_links: Path
) -> None:
    """-v on glibc: the libc explanations are not news there (-vv has them)."""
    fork = _install_verbose(fork_venv, musl_only_links, "-v")
    stock = _install_verbose(stock_venv, musl_only_links, "-v")
    assert "this host uses glibc" not in fork
    assert len(fork.splitlines()) == len(stock.splitlines()), (fork, stock)
