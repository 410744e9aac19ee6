"""Wheels built on musl carry a musl tag; a shared cache never crosses libcs.

Real builds (setuptools, musl-gcc through the musl CPython's own compiler
configuration, gcc on the host) and real interpreters on both sides. The
shared-cache sequences run on one musl host per CPython minor, each against a
glibc CPython of the same minor version (``glibc_partner_python``): pip's cache
key and the wheel tags separate different minors anyway, so only a same-minor
pair can show that the libc alone keeps the builds apart. The musl release
changes neither what is built (every host compiles with the same musl-gcc) nor
its cache key or tag, so one host per minor shows it (``every_python_minor``).
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.lib.hosts import MuslHost
from tests.lib.index import build_tools_wheels
from tests.lib.venvs import Venv, clean_env
from tests.lib.wheels import build_sdist, check_wheel

pytestmark = [pytest.mark.musl, pytest.mark.every_python_minor]


@pytest.fixture(scope="session")
def sdist_links(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A find-links directory with the muslprobe sdist and setuptools."""
    links = tmp_path_factory.mktemp("sdist-links")
    build_sdist(links)
    for wheel in build_tools_wheels():
        shutil.copy(wheel, links)
    return links


def _install(venv: Venv, links: Path, cache: Path, target: Path,
             *extra: str) -> subprocess.CompletedProcess[str]:
    return venv.pip("install", "-v", "--no-index", "--find-links", str(links),
                    "--cache-dir", str(cache), "--target", str(target), *extra,
                    "muslprobe")


def _ext_libc(target: Path) -> str:
    (ext,) = list((target / "muslprobe").glob("_ext*.so"))
    out = subprocess.run(["readelf", "-d", str(ext)], capture_output=True, text=True,
                         check=True).stdout
    if "[libc.so.6]" in out:
        return "glibc"
    if "[libc.so]" in out or "libc.musl-" in out:
        return "musl"
    raise AssertionError(f"no libc in DT_NEEDED of {ext}:\n{out}")


def _imports(venv: Venv, target: Path) -> str:
    proc = venv.run("-c", "import muslprobe; print(muslprobe.variant())", check=False,
                    env=clean_env(PYTHONPATH=str(target)))
    return proc.stdout.strip() if proc.returncode == 0 else f"FAILED: {proc.stderr}"


def _cached_wheels(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "wheels").rglob("*.whl"))


def test_pip_wheel_on_musl_is_tagged_linux_musl(tmp_path: Path, sdist_links: Path,
                                               musl_host: MuslHost,
                                               musl_fork_venv: Venv) -> None:
    tag = musl_host.cp_tag
    out = tmp_path / "wheelhouse"
    musl_fork_venv.pip("wheel", "--no-deps", "--no-index", "--find-links",
                       str(sdist_links), "--no-cache-dir", "-w", str(out), "muslprobe")
    (wheel,) = list(out.glob("muslprobe-*.whl"))
    assert wheel.name == f"muslprobe-1.0-{tag}-{tag}-x86_64_linux_musl.whl"
    fields = check_wheel(wheel)  # RECORD hashes and Tag lines are consistent
    assert fields["Tag"] == f"{tag}-{tag}-x86_64_linux_musl"
    target = tmp_path / "t"
    musl_fork_venv.pip("install", "--no-index", "--target", str(target), str(wheel))
    assert _imports(musl_fork_venv, target) == "sdist"


def test_pip_wheel_on_glibc_is_upstreams_linux_tag(tmp_path: Path, sdist_links: Path,
                                                   fork_venv: Venv,
                                                   host_cp_tag: str) -> None:
    tag = host_cp_tag
    out = tmp_path / "wheelhouse"
    fork_venv.pip("wheel", "--no-deps", "--no-index", "--find-links", str(sdist_links),
                  "--no-cache-dir", "-w", str(out), "muslprobe")
    assert [p.name for p in out.glob("muslprobe-*.whl")] == [
        f"muslprobe-1.0-{tag}-{tag}-linux_x86_64.whl"]


@pytest.mark.parametrize("first", ["musl", "glibc"])
def test_shared_cache_gives_each_libc_its_own_build(
    *, tmp_path: Path, sdist_links: Path, musl_host: MuslHost, musl_fork_venv: Venv,
    partner_fork_venv: Venv, first: str,
) -> None:
    tag = musl_host.cp_tag
    cache = tmp_path / "shared-cache"
    hosts = {"musl": musl_fork_venv, "glibc": partner_fork_venv}
    order = [first, "glibc" if first == "musl" else "musl"]
    for libc in order:
        target = tmp_path / f"target-{libc}"
        _install(hosts[libc], sdist_links, cache, target)
        assert _ext_libc(target) == libc
        assert _imports(hosts[libc], target) == "sdist"
    assert _cached_wheels(cache) == [
        f"muslprobe-1.0-{tag}-{tag}-linux_x86_64.whl",
        f"muslprobe-1.0-{tag}-{tag}-x86_64_linux_musl.whl",
    ]
    # A second install on each side is served from the cache, its own build.
    for libc in order:
        target = tmp_path / f"again-{libc}"
        proc = _install(hosts[libc], sdist_links, cache, target)
        assert "Building wheel for muslprobe" not in proc.stdout
        assert _ext_libc(target) == libc
    listed = hosts["glibc"].pip("--cache-dir", str(cache), "cache", "list").stdout
    assert f"muslprobe-1.0-{tag}-{tag}-x86_64_linux_musl.whl" in listed
    hosts["glibc"].pip("--cache-dir", str(cache), "cache", "remove", "muslprobe")
    assert _cached_wheels(cache) == []


def test_cache_prefilled_by_stock_pip_on_musl_is_not_used_on_glibc(
    *, tmp_path: Path, sdist_links: Path, musl_host: MuslHost, musl_stock_venv: Venv,
    partner_fork_venv: Venv, partner_stock_venv: Venv,
) -> None:
    tag = musl_host.cp_tag
    fork_venv, stock_venv = partner_fork_venv, partner_stock_venv
    cache = tmp_path / "cache"
    _install(musl_stock_venv, sdist_links, cache, tmp_path / "stock-musl")
    # Stock pip caches its musl build under the generic tag.
    assert _cached_wheels(cache) == [f"muslprobe-1.0-{tag}-{tag}-linux_x86_64.whl"]
    snapshot = tmp_path / "snapshot"
    shutil.copytree(cache, snapshot)

    proc = _install(fork_venv, sdist_links, cache, tmp_path / "fork-glibc")
    assert (f"Ignoring cached wheel muslprobe-1.0-{tag}-{tag}-linux_x86_64.whl: it "
            "cannot load on this host (glibc") in proc.stdout + proc.stderr
    assert "Building wheel for muslprobe" in proc.stdout
    assert _ext_libc(tmp_path / "fork-glibc") == "glibc"
    assert _imports(fork_venv, tmp_path / "fork-glibc") == "sdist"

    # Recorded beside it: stock pip on glibc takes the musl build from the same
    # cache, and the import fails.
    _install(stock_venv, sdist_links, snapshot, tmp_path / "stock-glibc")
    assert _ext_libc(tmp_path / "stock-glibc") == "musl"
    assert _imports(stock_venv, tmp_path / "stock-glibc").startswith("FAILED")


def _truncate_cached_extension(cache: Path) -> Path:
    (wheel,) = list((cache / "wheels").rglob("*.whl"))
    damaged = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(damaged, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".so"):
                data = data[:100]  # a truncated ELF: header only
            dst.writestr(info, data)
    damaged.replace(wheel)
    return wheel


def test_tampered_cached_wheel_is_skipped_and_rebuilt(
    tmp_path: Path, sdist_links: Path, fork_venv: Venv,
) -> None:
    cache = tmp_path / "cache"
    _install(fork_venv, sdist_links, cache, tmp_path / "first")
    wheel = _truncate_cached_extension(cache)
    proc = _install(fork_venv, sdist_links, cache, tmp_path / "second")
    output = proc.stdout + proc.stderr
    assert f"Ignoring cached wheel {wheel.name}: it cannot load on this host" in output
    assert "Traceback" not in output
    assert "Building wheel for muslprobe" in proc.stdout
    assert _imports(fork_venv, tmp_path / "second") == "sdist"
