"""The loadability check where pip chooses candidates, on the real musl CPython.

Release 2.0 of ``muslprobe`` has one wheel that cannot load on this host and an
sdist that does not build; release 1.0 has a wheel that loads. Which wheel
cannot load depends on the host's musl (derived from its loader, never
assumed): below 1.2.5 a ``musllinux_1_2`` extension that needs ``statx``; on
newer musl a ``musllinux_1_2``-tagged extension linked against glibc.

The oracle for resolver results is stock pip 26.3 on an index from which the
unloadable file is simply absent: "what pip would pick had that file never
existed".
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import dt_needed, output_of, pip_install, run_code
from tests.lib.counting_proxy import CountingProxy
from tests.lib.index import LocalIndex
from tests.lib.venvs import Venv, clean_env
from tests.lib.wheels import (
    EXTRA_C_STATX,
    build_ext_wheel,
    build_pure_wheel,
    build_sdist,
    compile_shared_lib,
)

pytestmark = pytest.mark.musl

BROKEN_SDIST_C = "#error this sdist does not build on this host\n"


def interpreter_tag(venv: Venv) -> str:
    out = venv.run("-c", "import sys; print('cp%d%d' % sys.version_info[:2])").stdout
    return out.strip()


def host_musl_version(venv: Venv) -> tuple[int, ...]:
    """The musl release of the venv's interpreter, asked of its loader itself."""
    real = venv.run("-c", "import os, sys; print(os.path.realpath(sys.executable))")
    headers = subprocess.run(
        ["readelf", "-lW", real.stdout.strip()],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    match = re.search(r"interpreter: ([^\]]+)\]", headers)
    assert match, f"no PT_INTERP in {real.stdout}:\n{headers}"
    banner = subprocess.run([match[1]], capture_output=True, text=True, check=False)
    found = re.search(r"Version (\d+(?:\.\d+)+)", banner.stdout + banner.stderr)
    assert found, f"{match[1]} printed no version: {banner.stderr}"
    return tuple(int(p) for p in found[1].split("."))


class Release2:
    """The files of the unloadable release, built for this host."""

    def __init__(self, root: Path, venv: Venv, musl_include: str) -> None:
        self.tag = interpreter_tag(venv)
        self.musl = host_musl_version(venv)
        needs_statx = self.musl < (1, 2, 5)
        self.bad_wheel = build_ext_wheel(
            root / "bad",
            tag_platform="musllinux_1_2_x86_64",
            compiler="musl-gcc" if needs_statx else "gcc",
            python_include=musl_include,
            variant="w20",
            version="2.0",
            python_tag=self.tag,
            abi_tag=self.tag,
            extra_c=EXTRA_C_STATX if needs_statx else "",
            extra_ldflags=() if needs_statx else ("-Wl,--no-as-needed", "-lc"),
        )
        self.reason = "statx" if needs_statx else "glibc"
        self.broken_sdist = build_sdist(
            root / "sdist2", version="2.0", variant="sdist-2.0", extra_c=BROKEN_SDIST_C
        )
        self.good_wheel = build_ext_wheel(
            root / "good",
            tag_platform="musllinux_1_1_x86_64",
            compiler="musl-gcc",
            python_include=musl_include,
            variant="w10",
            version="1.0",
            python_tag=self.tag,
            abi_tag=self.tag,
        )


@pytest.fixture
def release2(tmp_path: Path, musl_fork_venv: Venv, musl_include: str) -> Release2:
    return Release2(tmp_path / "files", musl_fork_venv, musl_include)


def _variant(venv: Venv, target: Path) -> str:
    result = run_code(venv, target, "import muslprobe; print(muslprobe.variant())")
    assert result.ok, str(result)
    return result.stdout.strip()


@pytest.mark.every_musl_host
@pytest.mark.parametrize("option", ["--only-binary=:all:", "--prefer-binary"])
def test_options_take_the_newest_release_whose_wheel_loads(
    *,
    option: str,
    tmp_path: Path,
    local_index: LocalIndex,
    release2: Release2,
    tools_wheels: list[Path],
    musl_fork_venv: Venv,
    musl_stock_venv: Venv,
) -> None:
    local_index.upload_all(
        [release2.bad_wheel, release2.broken_sdist, release2.good_wheel, *tools_wheels]
    )
    target = tmp_path / "fork"
    proc = pip_install(
        musl_fork_venv, local_index, "--target", target, option, "muslprobe"
    )
    assert proc.returncode == 0, output_of(proc)
    assert f"Skipping {release2.bad_wheel.name}: it cannot load on this host" in (
        proc.stdout
    ), output_of(proc)
    assert release2.reason in proc.stdout, output_of(proc)
    assert _variant(musl_fork_venv, target) == "w10"

    # Stock pip 26.3 beside it: takes the 2.0 wheel, whose import fails.
    stock = tmp_path / "stock"
    proc = pip_install(
        musl_stock_venv, local_index, "--target", stock, option, "muslprobe"
    )
    assert proc.returncode == 0, output_of(proc)
    assert "Processing" in proc.stdout or "Downloading" in proc.stdout
    assert release2.bad_wheel.name in proc.stdout, output_of(proc)
    if release2.reason == "statx":
        broken = run_code(musl_stock_venv, stock, "import muslprobe._ext")
        assert not broken.ok, str(broken)
    else:
        # musl's loader maps libc.so.6 onto itself, so this tiny glibc build may
        # even import; it is still a glibc build on a musl host.
        (ext,) = (stock / "muslprobe").glob("_ext*.so")
        assert "libc.so.6" in dt_needed(ext)


def test_default_fails_on_the_sdist_with_a_note_naming_the_loadable_release(
    tmp_path: Path,
    local_index: LocalIndex,
    release2: Release2,
    tools_wheels: list[Path],
    musl_fork_venv: Venv,
) -> None:
    local_index.upload_all(
        [release2.bad_wheel, release2.broken_sdist, release2.good_wheel, *tools_wheels]
    )
    proc = pip_install(
        musl_fork_venv, local_index, "--target", tmp_path / "t", "muslprobe"
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, output_of(proc)
    assert "does not build on this host" in out, output_of(proc)
    note = out[out.index("note: muslprobe 2.0 was built from source") :]
    assert release2.bad_wheel.name in note, output_of(proc)
    assert "pip install 'muslprobe==1.0'" in note, output_of(proc)
    assert not (tmp_path / "t" / "muslprobe").exists()


def _resolved(venv: Venv, index_url: str, *args: str | Path) -> dict[str, str]:
    proc = venv.pip(
        "install",
        "--dry-run",
        "--quiet",
        "--report",
        "-",
        "--no-cache-dir",
        "--index-url",
        index_url,
        "--target",
        "/nonexistent-target",
        *map(str, args),
        check=False,
    )
    assert proc.returncode == 0, output_of(proc)
    report = json.loads(proc.stdout)
    return {
        item["metadata"]["name"]: os.path.basename(item["download_info"]["url"])
        for item in report["install"]
    }


def test_requirements_and_constraints_match_stock_without_the_file(
    *,
    tmp_path: Path,
    local_index: LocalIndex,
    release2: Release2,
    tools_wheels: list[Path],
    musl_fork_venv: Venv,
    musl_stock_venv: Venv,
) -> None:
    """The fork on the full index = stock pip on the index without the bad wheel."""
    # A dependent whose 1.0 needs muslprobe 2.0 and whose 0.9 accepts 1.0.
    dep_new = build_pure_wheel(
        tmp_path / "dn", name="needsprobe", version="1.0", requires=["muslprobe>=2.0"]
    )
    dep_old = build_pure_wheel(
        tmp_path / "do", name="needsprobe", version="0.9", requires=["muslprobe>=1.0"]
    )
    common = [release2.good_wheel, dep_new, dep_old, *tools_wheels]
    local_index.upload_all([release2.bad_wheel, *common])
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("needsprobe\n")
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("muslprobe<3\n")
    cases = [
        ("--only-binary=:all:", "-r", requirements),
        ("--only-binary=:all:", "-c", constraints, "needsprobe"),
    ]
    fork = [_resolved(musl_fork_venv, local_index.url, *c) for c in cases]
    with LocalIndex(tmp_path / "without", tmp_path / "without.log") as without:
        without.upload_all(common)
        stock = [_resolved(musl_stock_venv, without.url, *c) for c in cases]
    assert fork == stock
    assert fork[0] == {
        "needsprobe": dep_old.name,
        "muslprobe": release2.good_wheel.name,
    }


# The first range request asks for the last 64 KiB of a wheel.
_TAIL = 64 << 10


def _padded_wheel(
    root: Path,
    release2: Release2,
    musl_include: str,
    *,
    loads: bool,
    padding: int = 200 << 10,
) -> Path:
    """A wheel whose extension module is followed by ``padding`` bytes of
    incompressible data, so that the module lies outside the last 64 KiB and
    the first range request cannot judge it. ``loads``: a musl-linked module;
    else one linked against glibc (cannot load on any musl host)."""
    return build_ext_wheel(
        root,
        tag_platform="musllinux_1_2_x86_64" if not loads else "musllinux_1_1_x86_64",
        compiler="gcc" if not loads else "musl-gcc",
        python_include=musl_include,
        variant="pad20" if not loads else "pad10",
        version="2.0" if not loads else "1.5",
        python_tag=release2.tag,
        abi_tag=release2.tag,
        extra_ldflags=("-Wl,--no-as-needed", "-lc") if not loads else (),
        bundled_libs={"muslprobe/data.bin": os.urandom(padding)},
    )


def _install_muslprobe(
    venv: Venv, index_url: str, target: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    return venv.pip(
        "install",
        "--no-cache-dir",
        *options,
        "--index-url",
        index_url,
        "--target",
        target,
        "--only-binary=:all:",
        "muslprobe",
        check=False,
    )


def test_a_refused_remote_wheel_costs_a_fraction_of_its_bytes(
    tmp_path: Path,
    local_index: LocalIndex,
    release2: Release2,
    musl_fork_venv: Venv,
    musl_include: str,
) -> None:
    """pypiserver (bottle's static files) answers range requests; a counting
    proxy in front of it tells the bytes it served for each file."""
    big_bad = _padded_wheel(
        tmp_path / "big", release2, musl_include, loads=False, padding=4 << 20
    )
    local_index.upload_all([big_bad, release2.good_wheel])
    with CountingProxy(local_index.root_url) as proxy:
        proc = _install_muslprobe(musl_fork_venv, proxy.url, tmp_path / "t", "-v")
        assert proc.returncode == 0, output_of(proc)
        served = proxy.bytes_of(big_bad.name)
    size = big_bad.stat().st_size
    assert 0 < served <= size * 0.05, (served, size, output_of(proc))
    assert f"Checked {big_bad.name} over HTTP range requests" in proc.stdout
    assert _variant(musl_fork_venv, tmp_path / "t") == "w10"


def test_a_small_wheel_is_judged_from_the_download_pip_makes_anyway(
    tmp_path: Path,
    local_index: LocalIndex,
    release2: Release2,
    musl_fork_venv: Venv,
    musl_include: str,
) -> None:
    """pypiserver serves no PEP 658 metadata, so pip downloads every candidate
    wheel to read its metadata. A small wheel the first range request cannot
    judge is judged from that download: fetched once, reported in pip's own
    words under its "Collecting" line, and refused there, after which the
    resolver moves on as for any refusal."""
    bad = _padded_wheel(tmp_path / "bad", release2, musl_include, loads=False)
    local_index.upload_all([bad, release2.good_wheel])
    with CountingProxy(local_index.root_url) as proxy:
        proc = _install_muslprobe(
            musl_fork_venv, proxy.url, tmp_path / "t", "--progress-bar", "off"
        )
        served, requests = proxy.bytes_of(bad.name), proxy.requests_of(bad.name)
    assert proc.returncode == 0, output_of(proc)
    size = bad.stat().st_size
    # The first range request, then pip's one download: not the file twice.
    assert size <= served <= size + _TAIL, (served, size, output_of(proc))
    assert requests == 2, (requests, output_of(proc))
    lines = proc.stdout.splitlines()
    downloading = f"  Downloading {bad.name} "
    at = next((i for i, ln in enumerate(lines) if ln.startswith(downloading)), None)
    assert at is not None, output_of(proc)
    assert lines[at - 1].startswith("Collecting muslprobe"), output_of(proc)
    assert f"Skipping {bad.name}: it cannot load on this host" in proc.stdout
    assert _variant(musl_fork_venv, tmp_path / "t") == "w10"


def test_a_dry_run_whose_wheels_load_prints_what_stock_pip_prints(
    *,
    tmp_path: Path,
    local_index: LocalIndex,
    release2: Release2,
    musl_fork_venv: Venv,
    musl_stock_venv: Venv,
    musl_include: str,
) -> None:
    """On an index without PEP 658 metadata, where every wheel loads: the
    fork's output is stock pip's, line for line, and each wheel is fetched
    once (plus at most the first range request)."""
    good = _padded_wheel(tmp_path / "good", release2, musl_include, loads=True)
    local_index.upload_all([good])
    outputs = []
    for venv in (musl_fork_venv, musl_stock_venv):
        with CountingProxy(local_index.root_url) as proxy:
            proc = venv.pip(
                "install",
                "--dry-run",
                "--no-cache-dir",
                "--progress-bar",
                "off",
                "--index-url",
                proxy.url,
                "muslprobe",
                check=False,
            )
            served = proxy.bytes_of(good.name)
        assert proc.returncode == 0, output_of(proc)
        outputs.append((proc.stdout.replace(proxy.url, "<index>"), served))
    (fork_out, fork_served), (stock_out, stock_served) = outputs
    assert "Would install muslprobe-1.5" in fork_out, fork_out
    assert fork_out == stock_out
    assert stock_served == good.stat().st_size
    assert stock_served <= fork_served <= stock_served + _TAIL


def test_verdicts_are_cached_and_a_tampered_entry_is_ignored(
    tmp_path: Path, release2: Release2, musl_fork_venv: Venv
) -> None:
    links = tmp_path / "links"
    links.mkdir()
    for f in (release2.bad_wheel, release2.good_wheel):
        (links / f.name).write_bytes(f.read_bytes())
    cache = tmp_path / "cache"

    def install() -> str:
        proc = musl_fork_venv.pip(
            "install",
            "-vv",
            "--cache-dir",
            cache,
            "--no-index",
            "--find-links",
            links,
            "--target",
            tmp_path / "t",
            "--upgrade",
            "muslprobe",
            check=False,
        )
        assert proc.returncode == 0, output_of(proc)
        return proc.stdout

    first = install()
    assert f"read 1 ELF members of {release2.bad_wheel.name}" in first
    second = install()
    assert f"read 1 ELF members of {release2.bad_wheel.name}" not in second
    assert (
        f"Wheel ABI verdict for {release2.bad_wheel.name} taken from the cache"
        in second
    )
    entries = list((cache / "libc-verdicts").rglob("*.json"))
    assert len(entries) == 2, entries
    for entry in entries:
        data = json.loads(entry.read_text())
        data["payload"]["problems"] = []
        entry.write_text(json.dumps(data))
    third = install()
    assert f"read 1 ELF members of {release2.bad_wheel.name}" in third
    assert f"Skipping {release2.bad_wheel.name}" in third
    assert _variant(musl_fork_venv, tmp_path / "t") == "w10"


def test_glibc_named_extension_is_refused_on_musl(
    tmp_path: Path,
    release2: Release2,
    musl_fork_venv: Venv,
    musl_include: str,
) -> None:
    """A libc-free extension built on glibc CPython carries
    ``.cpython-3XY-x86_64-linux-gnu.so``: the musl CPython cannot import that
    name, whatever its ELF says (the interpreter's own EXTENSION_SUFFIXES)."""
    wheel = build_ext_wheel(
        tmp_path / "gnu",
        tag_platform="linux_x86_64",
        compiler="musl-gcc",
        python_include=musl_include,
        variant="gnu-named",
        version="1.0",
        python_tag=release2.tag,
        abi_tag=release2.tag,
        extension_name=f"_ext.cpython-{release2.tag[2:]}-x86_64-linux-gnu.so",
    )
    suffixes = run_code(
        musl_fork_venv,
        None,
        "import importlib.machinery as m; print(' '.join(m.EXTENSION_SUFFIXES))",
    ).stdout.split()
    assert not any(s.endswith("-linux-gnu.so") for s in suffixes), suffixes
    proc = musl_fork_venv.pip("check-wheel", wheel, check=False)
    assert proc.returncode != 0, output_of(proc)
    assert "cannot be imported by this interpreter" in proc.stdout + proc.stderr
    proc = musl_fork_venv.pip(
        "install", "--no-index", "--target", tmp_path / "t", wheel, check=False
    )
    assert proc.returncode == 1, output_of(proc)
    assert "linux-gnu.so" in proc.stdout + proc.stderr, output_of(proc)


def test_missing_system_library_is_a_warning_not_a_refusal(
    tmp_path: Path, release2: Release2, musl_fork_venv: Venv, musl_include: str
) -> None:
    lib = compile_shared_lib(
        "int probe_helper(void) { return 7; }\n",
        compiler="musl-gcc",
        soname="libprobehelper.so.1",
    )
    wheel = build_ext_wheel(
        tmp_path / "needs",
        tag_platform="musllinux_1_1_x86_64",
        compiler="musl-gcc",
        python_include=musl_include,
        variant="needs-helper",
        version="1.0",
        python_tag=release2.tag,
        abi_tag=release2.tag,
        extra_ldflags=(f"-L{_lib_dir(tmp_path, lib)}", "-l:libprobehelper.so.1"),
    )
    install = ("install", "--no-index", "--target", tmp_path / "t", wheel)
    proc = musl_fork_venv.pip(*install, check=False)
    assert proc.returncode == 0, output_of(proc)
    warning = [
        line for line in proc.stderr.splitlines() if "libprobehelper.so.1" in line
    ]
    assert len(warning) == 1 and warning[0].strip().startswith("WARNING:"), output_of(
        proc
    )
    assert "muslprobe/_ext.so" in warning[0]

    env = clean_env(LD_LIBRARY_PATH=str(_lib_dir(tmp_path, lib)))
    proc = musl_fork_venv.pip(*install, "--upgrade", check=False, env=env)
    assert proc.returncode == 0, output_of(proc)
    assert "libprobehelper.so.1" not in proc.stderr, output_of(proc)


def _lib_dir(tmp_path: Path, lib: bytes) -> Path:
    d = tmp_path / "libdir"
    d.mkdir(exist_ok=True)
    (d / "libprobehelper.so.1").write_bytes(lib)
    return d


def _foreign_suffix_falls_back_to_the_sdist(
    tmp_path: Path,
    venv: Venv,
    *,
    compiler: str,
    include: str,
    foreign_suffix: str,
    tools_wheels: list[Path],
) -> None:
    """A find-links dir with a wheel whose extension carries ``foreign_suffix``
    (its ELF is fine for this host) and the project's sdist: the sdist is used."""
    tag = interpreter_tag(venv)
    links = tmp_path / "links"
    wheel = build_ext_wheel(
        links,
        tag_platform="linux_x86_64",
        compiler=compiler,
        python_include=include,
        variant="foreign-name",
        version="1.0",
        python_tag=tag,
        abi_tag=tag,
        extension_name=f"_ext.cpython-{tag[2:]}-{foreign_suffix}.so",
    )
    build_sdist(links, version="1.0", variant="sdist")
    for tool in tools_wheels:
        (links / tool.name).write_bytes(tool.read_bytes())
    target = tmp_path / "t"
    proc = venv.pip(
        "install", "--no-cache-dir", "--no-index", "--find-links", links,
        "--target", target, "muslprobe", check=False,
    )  # fmt: skip
    assert proc.returncode == 0, output_of(proc)
    assert f"Skipping {wheel.name}: it cannot load on this host" in proc.stdout
    assert "cannot be imported by this interpreter" in proc.stdout, output_of(proc)
    assert _variant(venv, target) == "sdist"


def test_glibc_named_extension_from_find_links_falls_back_to_the_sdist(
    tmp_path: Path, musl_fork_venv: Venv, musl_include: str, tools_wheels: list[Path]
) -> None:
    _foreign_suffix_falls_back_to_the_sdist(
        tmp_path, musl_fork_venv, compiler="musl-gcc", include=musl_include,
        foreign_suffix="x86_64-linux-gnu", tools_wheels=tools_wheels,
    )  # fmt: skip


def test_musl_named_extension_on_glibc_falls_back_to_the_sdist(
    tmp_path: Path, fork_venv: Venv, host_include: str, tools_wheels: list[Path]
) -> None:
    _foreign_suffix_falls_back_to_the_sdist(
        tmp_path, fork_venv, compiler="gcc", include=host_include,
        foreign_suffix="x86_64-linux-musl", tools_wheels=tools_wheels,
    )  # fmt: skip
