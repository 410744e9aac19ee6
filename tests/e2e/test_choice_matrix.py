"""The choice matrix: which file of ``muslprobe 1.0`` each host installs.

Host {musl CPython, glibc CPython} x index contents. Every cell is real: the
variant wheels are compiled with ``musl-gcc`` / ``gcc`` (session fixtures in
``conftest.py``), uploaded to a fresh pypiserver together with setuptools (so an
isolated sdist build works offline), installed with the fork into a fresh
``--target`` directory, and then imported by the same interpreter in a new
process: ``muslprobe.variant()`` says which build it is, ``libc_pid()`` calls
into the C library it was linked with.

Expected, from the design (§3):

* musl host: ``x86_64_linux_musl`` > musl-generic ``linux_x86_64`` >
  ``musllinux_1_2`` > ``musllinux_1_1`` > sdist, and never a glibc build: a glibc
  ``linux_x86_64`` wheel is skipped with one WARNING line naming what is used
  instead. An sdist is really built, by ``musl-gcc`` (the musl CPython's
  sysconfig ``CC`` wrapper), and the built wheel is tagged
  ``x86_64_linux_musl``.
* glibc host: upstream's order (``linux_x86_64`` > manylinux), never a musl
  build: a musl ``linux_x86_64`` wheel is skipped with the WARNING, musl tags are
  not candidates at all.

To add a case: add an entry to ``CONTENTS`` (name -> variants of
``tests.lib.wheels.VARIANTS``) and one line per host to ``EXPECTED``.
"""

from __future__ import annotations

import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import dt_needed, output_of, pip_install, run_code
from tests.lib.index import LocalIndex
from tests.lib.venvs import Venv, make_venv
from tests.lib.wheels import build_pure_wheel

pytestmark = pytest.mark.musl

SDIST = "muslprobe-1.0.tar.gz"
HOST_TEXT = {"musl": "musl 1.2.3 (x86_64)"}

#: Index contents: name -> the variants uploaded (see tests.lib.wheels.VARIANTS).
CONTENTS: dict[str, list[str]] = {
    "all": ["linux_musl", "musllinux_1_2", "musllinux_1_1", "manylinux", "sdist"],
    "no-musllinux": ["linux_musl", "manylinux", "sdist"],
    "linux_musl+sdist": ["linux_musl", "sdist"],
    "manylinux+sdist": ["manylinux", "sdist"],
    "sdist-only": ["sdist"],
    "glibc-generic+sdist": ["glibc-generic", "sdist"],
    "musl-generic+sdist": ["musl-generic", "sdist"],
    "musllinux_1_2+musllinux_1_1+sdist": ["musllinux_1_2", "musllinux_1_1", "sdist"],
    "musllinux_1_1+sdist": ["musllinux_1_1", "sdist"],
    "musl-generic+musllinux+sdist": [
        "musl-generic",
        "musllinux_1_2",
        "musllinux_1_1",
        "sdist",
    ],
    "glibc-generic+musllinux_1_2+sdist": ["glibc-generic", "musllinux_1_2", "sdist"],
    "glibc-generic+manylinux+sdist": ["glibc-generic", "manylinux", "sdist"],
}


@dataclass(frozen=True)
class Expect:
    variant: str  #: what ``muslprobe.variant()`` returns after the install
    skipped: str | None = None  #: the variant skipped with the WARNING line


#: (host, contents) -> expected outcome.
EXPECTED: dict[tuple[str, str], Expect] = {
    ("musl", "all"): Expect("linux_musl"),
    ("musl", "no-musllinux"): Expect("linux_musl"),
    ("musl", "linux_musl+sdist"): Expect("linux_musl"),
    ("musl", "manylinux+sdist"): Expect("sdist"),
    ("musl", "sdist-only"): Expect("sdist"),
    ("musl", "glibc-generic+sdist"): Expect("sdist", skipped="glibc-generic"),
    ("musl", "musl-generic+sdist"): Expect("musl-generic"),
    ("musl", "musllinux_1_2+musllinux_1_1+sdist"): Expect("musllinux_1_2"),
    ("musl", "musllinux_1_1+sdist"): Expect("musllinux_1_1"),
    ("musl", "musl-generic+musllinux+sdist"): Expect("musl-generic"),
    ("musl", "glibc-generic+musllinux_1_2+sdist"): Expect(
        "musllinux_1_2", skipped="glibc-generic"
    ),
    ("musl", "glibc-generic+manylinux+sdist"): Expect("sdist", skipped="glibc-generic"),
    ("glibc", "all"): Expect("manylinux"),
    ("glibc", "no-musllinux"): Expect("manylinux"),
    ("glibc", "linux_musl+sdist"): Expect("sdist"),
    ("glibc", "manylinux+sdist"): Expect("manylinux"),
    ("glibc", "sdist-only"): Expect("sdist"),
    ("glibc", "glibc-generic+sdist"): Expect("glibc-generic"),
    ("glibc", "musl-generic+sdist"): Expect("sdist", skipped="musl-generic"),
    ("glibc", "musllinux_1_2+musllinux_1_1+sdist"): Expect("sdist"),
    ("glibc", "musllinux_1_1+sdist"): Expect("sdist"),
    ("glibc", "musl-generic+musllinux+sdist"): Expect("sdist", skipped="musl-generic"),
    ("glibc", "glibc-generic+musllinux_1_2+sdist"): Expect("glibc-generic"),
    ("glibc", "glibc-generic+manylinux+sdist"): Expect("glibc-generic"),
}

LIBC_OF_VARIANT = {
    "linux_musl": "musl",
    "musl-generic": "musl",
    "musllinux_1_2": "musl",
    "musllinux_1_1": "musl",
    "manylinux": "glibc",
    "glibc-generic": "glibc",
}

#: The ``Tag:`` line of the installed ``WHEEL`` file, per variant and host.
INSTALLED_TAG = {
    "linux_musl": "cp311-cp311-x86_64_linux_musl",
    "musl-generic": "cp311-cp311-linux_x86_64",
    "musllinux_1_2": "cp311-cp311-musllinux_1_2_x86_64",
    "musllinux_1_1": "cp311-cp311-musllinux_1_1_x86_64",
    "manylinux": "cp311-cp311-manylinux_2_17_x86_64",
    "glibc-generic": "cp311-cp311-linux_x86_64",
    ("sdist", "musl"): "cp311-cp311-x86_64_linux_musl",
    ("sdist", "glibc"): "cp311-cp311-linux_x86_64",
}


def _libc_of_elf(path: Path) -> str:
    needed = dt_needed(path)
    if "libc.so.6" in needed:
        return "glibc"
    if "libc.so" in needed or any(n.startswith("libc.musl-") for n in needed):
        return "musl"
    raise AssertionError(f"no libc in DT_NEEDED of {path}: {needed}")


def _installed_tags(target: Path) -> list[str]:
    (wheel_file,) = target.glob("muslprobe-1.0.dist-info/WHEEL")
    return [
        line.split(":", 1)[1].strip()
        for line in wheel_file.read_text().splitlines()
        if line.startswith("Tag:")
    ]


def _skip_lines(output: str) -> list[str]:
    """The WARNING lines of skipped wheels (pip indents them under ``-v``)."""
    return [
        line.strip()
        for line in output.splitlines()
        if line.strip().startswith("WARNING: Skipping")
        and "cannot load on this host" in line
    ]


def _wheel_name(variants: dict[str, Path], variant: str) -> str:
    return SDIST if variant == "sdist" else variants[variant].name


@pytest.fixture
def upload(
    local_index: LocalIndex, variant_wheels: dict[str, Path], tools_wheels: list[Path]
) -> LocalIndex:
    """The fresh index with setuptools; tests add their own files."""
    local_index.upload_all(tools_wheels)
    return local_index


@pytest.mark.parametrize(
    ("host", "contents"),
    [pytest.param(h, c, id=f"{h}-{c}") for (h, c) in EXPECTED],
)
def test_choice(
    *,
    host: str,
    contents: str,
    hosts: dict[str, Venv],
    upload: LocalIndex,
    variant_wheels: dict[str, Path],
    tmp_path: Path,
) -> None:
    expect = EXPECTED[(host, contents)]
    venv = hosts[host]
    upload.upload_all(variant_wheels[v] for v in CONTENTS[contents])
    target = tmp_path / "target"

    # -v (pip_install) shows the build backend's output, on stderr.
    proc = pip_install(venv, upload, "--target", target, "muslprobe")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, output_of(proc)
    assert "Successfully installed muslprobe-1.0" in proc.stdout, output_of(proc)

    # The expected build was installed, and it imports and calls into libc.
    imported = run_code(
        venv,
        target,
        "import muslprobe; print(muslprobe.variant(), muslprobe.libc_pid())",
    )
    assert imported.ok, (
        f"import failed on the {host} host:\n{imported}\n{output_of(proc)}"
    )
    got_variant, pid = imported.stdout.split()
    assert got_variant == expect.variant, (
        f"{host} host, index {CONTENTS[contents]}: installed {got_variant!r}, "
        f"expected {expect.variant!r}\n{output_of(proc)}"
    )
    assert int(pid) > 0

    # The one WARNING line, exactly when a wheel had to be skipped.
    skips = _skip_lines(out)
    if expect.skipped is None:
        assert skips == [], output_of(proc)
    else:
        assert len(skips) == 1, output_of(proc)
        line = skips[0]
        skipped_name = _wheel_name(variant_wheels, expect.skipped)
        used_name = _wheel_name(variant_wheels, expect.variant)
        assert line.startswith(
            f"WARNING: Skipping {skipped_name}: it cannot load on this host ("
        ), line
        if host in HOST_TEXT:
            assert f"on this host ({HOST_TEXT[host]})" in line, line
        wrong = {"musl": ("glibc", "libc.so.6"), "glibc": ("musl", "libc.so")}[host]
        assert all(w in line for w in wrong), line
        assert line.endswith(f"Using {used_name} instead."), line

    # What is on disk: the extension's libc is the host's, never the other one.
    exts = sorted((target / "muslprobe").glob("_ext*.so"))
    assert len(exts) == 1, exts
    assert _libc_of_elf(exts[0]) == host, f"{exts[0]}: {dt_needed(exts[0])}"
    tag_key = ("sdist", host) if expect.variant == "sdist" else expect.variant
    assert INSTALLED_TAG[tag_key] in _installed_tags(target)

    if expect.variant == "sdist":
        # Really built here, by this host's compiler.
        assert "Building wheel for muslprobe" in proc.stdout, output_of(proc)
        assert "Successfully built muslprobe" in proc.stdout, output_of(proc)
        if host == "musl":
            assert "/bin/x86_64-linux-musl-gcc " in out, (
                "the sdist was not compiled by the musl CPython's CC wrapper\n"
                + output_of(proc)
            )
            assert exts[0].name == "_ext.cpython-311-x86_64-linux-musl.so"
        else:
            assert "x86_64-linux-musl-gcc" not in out, output_of(proc)
            assert exts[0].name == "_ext.cpython-311-x86_64-linux-gnu.so"
    else:
        assert "Building wheel" not in proc.stdout, output_of(proc)
        assert f"Downloading {_wheel_name(variant_wheels, expect.variant)}" in (
            proc.stdout
        ), output_of(proc)
        assert LIBC_OF_VARIANT[expect.variant] == host


def test_every_cell_has_an_expectation() -> None:
    for host in ("musl", "glibc"):
        for contents in CONTENTS:
            assert (host, contents) in EXPECTED, (host, contents)


# --------------------------------------------------------------------------
# Named files, missing symbols, explanations
# --------------------------------------------------------------------------


def test_glibc_wheel_named_directly_on_musl_is_refused(
    tmp_path: Path,
    musl_python: Path,
    fork_wheel: Path,
    local_index: LocalIndex,
    variant_wheels: dict[str, Path],
) -> None:
    """The user names a glibc ``linux_x86_64`` wheel file: exit 1, nothing changes.

    The environment already holds ``muslprobe 0.9`` (pure): the refused 1.0 must
    not uninstall it on the way.
    """
    venv = make_venv(tmp_path / "v", musl_python, fork_wheel)
    local_index.upload(build_pure_wheel(tmp_path / "pure", version="0.9"))
    venv.pip("install", "--index-url", local_index.url, "muslprobe==0.9")
    before = venv.installed()
    assert before["muslprobe"] == "0.9"

    wheel = variant_wheels["glibc-generic"]
    proc = venv.pip("install", wheel, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, output_of(proc)
    assert wheel.name in out, output_of(proc)
    assert "musl 1.2.3" in out, output_of(proc)
    assert "libc.so.6" in out and "glibc" in out, output_of(proc)
    assert "Traceback" not in out, output_of(proc)
    assert "Successfully installed" not in out, output_of(proc)
    assert venv.installed() == before
    still = run_code(venv, None, "import muslprobe; print(muslprobe.variant())")
    assert still.ok and still.stdout.strip() == "pure", str(still)

    # The off switch: the same file then installs (as stock pip would).
    proc = venv.pip("install", "--skip-wheel-abi-check", wheel, check=False)
    assert proc.returncode == 0, output_of(proc)
    assert venv.installed()["muslprobe"] == "1.0"


def test_missing_musl_symbol_falls_back_to_sdist_stock_pip_breaks(
    *,
    tmp_path: Path,
    hosts: dict[str, Venv],
    stock_hosts: dict[str, Venv],
    upload: LocalIndex,
    statx_wheel: Path,
    sdist: Path,
) -> None:
    """A ``musllinux_1_2`` wheel whose extension needs ``statx`` (musl >= 1.2.5).

    The fork skips it on musl 1.2.3 and builds the sdist. Recorded beside it:
    stock pip 26.3 installs the wheel (its tag matches), and the import fails in
    musl's loader with "Error relocating …: statx: symbol not found".
    """
    upload.upload_all([statx_wheel, sdist])

    fork_target = tmp_path / "fork"
    proc = pip_install(hosts["musl"], upload, "--target", fork_target, "muslprobe")
    assert proc.returncode == 0, output_of(proc)
    (line,) = _skip_lines(proc.stdout + proc.stderr)
    assert line.startswith(
        f"WARNING: Skipping {statx_wheel.name}: it cannot load on this host "
        "(musl 1.2.3 (x86_64)): "
    ), line
    assert "statx" in line and "1.2.5" in line, line
    assert line.endswith(f"Using {SDIST} instead."), line
    imported = run_code(
        hosts["musl"], fork_target, "import muslprobe; print(muslprobe.variant())"
    )
    assert imported.ok and imported.stdout.strip() == "sdist", str(imported)

    stock_target = tmp_path / "stock"
    proc = pip_install(
        stock_hosts["musl"], upload, "--target", stock_target, "muslprobe"
    )
    assert proc.returncode == 0, output_of(proc)
    assert f"Downloading {statx_wheel.name}" in proc.stdout, output_of(proc)
    assert "Building wheel" not in proc.stdout, output_of(proc)
    broken = run_code(stock_hosts["musl"], stock_target, "import muslprobe")
    assert not broken.ok, str(broken)
    assert "Error relocating" in broken.stderr, str(broken)
    assert "statx: symbol not found" in broken.stderr, str(broken)


def test_statx_wheel_alone_is_an_error_naming_the_symbol(
    hosts: dict[str, Venv], upload: LocalIndex, statx_wheel: Path, tmp_path: Path
) -> None:
    """Nothing else of that version on the index: an error, not a broken install."""
    upload.upload(statx_wheel)
    target = tmp_path / "t"
    proc = pip_install(hosts["musl"], upload, "--target", target, "muslprobe")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, output_of(proc)
    assert statx_wheel.name in out, output_of(proc)
    assert "musl 1.2.3" in out, output_of(proc)
    assert "statx" in out and "1.2.5" in out, output_of(proc)
    assert "Traceback" not in out, output_of(proc)
    assert not (target / "muslprobe").exists()


def test_relr_wheel_is_not_installed_on_musl_1_2_3(
    *,
    tmp_path: Path,
    hosts: dict[str, Venv],
    stock_hosts: dict[str, Venv],
    upload: LocalIndex,
    relr_wheel: Path,
    sdist: Path,
) -> None:
    """A ``musllinux_1_2`` extension linked with ``-z pack-relative-relocs``.

    ``DT_RELR`` is understood by musl's dynamic linker only since 1.2.4 (glibc:
    2.36); Debian's musl 1.2.3 ignores it, leaves the relative relocations
    unapplied, and the process crashes when the module is loaded. Alpine's
    toolchain emits ``DT_RELR`` (real musllinux wheels on PyPI carry it, see
    ``test_real_wheels.py``), so this is not hypothetical. The fork promises to
    never install a binary that cannot load: it must skip the wheel and build
    the sdist. Recorded beside it: stock pip installs the wheel and the import
    dies with SIGSEGV.
    """
    with zipfile.ZipFile(relr_wheel) as zf:
        so = zf.read("muslprobe/_ext.so")
    so_path = tmp_path / "relr_ext.so"
    so_path.write_bytes(so)
    dyn = subprocess.run(
        ["readelf", "-d", str(so_path)], capture_output=True, text=True, check=True
    ).stdout
    assert "(RELR)" in dyn, f"the test wheel has no DT_RELR:\n{dyn}"

    upload.upload_all([relr_wheel, sdist])

    stock_target = tmp_path / "stock"
    proc = pip_install(
        stock_hosts["musl"], upload, "--target", stock_target, "muslprobe"
    )
    assert proc.returncode == 0, output_of(proc)
    assert f"Downloading {relr_wheel.name}" in proc.stdout, output_of(proc)
    crashed = run_code(stock_hosts["musl"], stock_target, "import muslprobe")
    assert crashed.returncode == -11, f"expected SIGSEGV on musl 1.2.3:\n{crashed}"

    fork_target = tmp_path / "fork"
    proc = pip_install(hosts["musl"], upload, "--target", fork_target, "muslprobe")
    assert proc.returncode == 0, output_of(proc)
    imported = run_code(
        hosts["musl"], fork_target, "import muslprobe; print(muslprobe.variant())"
    )
    assert imported.ok and imported.stdout.strip() == "sdist", (
        "the fork installed a wheel that crashes musl 1.2.3's loader (DT_RELR "
        f"needs musl >= 1.2.4):\nimport: {imported}\ninstall: {output_of(proc)}"
    )
    (line,) = _skip_lines(proc.stdout + proc.stderr)
    assert relr_wheel.name in line and "RELR" in line, line


def test_verbose_explains_why_manylinux_is_not_a_candidate_on_musl(
    hosts: dict[str, Venv], upload: LocalIndex, variant_wheels: dict[str, Path]
) -> None:
    """A glibc-only index on the musl host: nothing to install, and ``-v`` says why."""
    upload.upload(variant_wheels["manylinux"])
    proc = pip_install(hosts["musl"], upload, "--dry-run", "muslprobe")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, output_of(proc)
    assert "manylinux_2_17 wheel is for glibc; this host uses musl 1.2.3" in out, (
        output_of(proc)
    )
    assert "No matching distribution found for muslprobe" in out, output_of(proc)


@pytest.mark.parametrize(
    ("host", "other"), [("musl", "glibc-generic"), ("glibc", "musl-generic")]
)
def test_stock_pip_takes_the_other_libcs_generic_build(
    *,
    host: str,
    other: str,
    hosts: dict[str, Venv],
    stock_hosts: dict[str, Venv],
    upload: LocalIndex,
    variant_wheels: dict[str, Path],
    tmp_path: Path,
) -> None:
    """Recorded beside the fork: the other libc's ``linux_x86_64`` wheel + sdist.

    The fork skips the wheel and builds the sdist (matrix cells
    ``musl-glibc-generic+sdist`` and ``glibc-musl-generic+sdist``); stock pip 26.3
    ranks ``linux_x86_64`` above the sdist and installs the other libc's build.
    On glibc the import then fails (``libc.so`` is glibc's linker script, "invalid
    ELF header"). On musl this tiny glibc build even imports, because musl's loader
    maps a ``libc.so.6`` need onto itself: it runs by accident, not by promise
    (anything using glibc-only symbols or symbol versions fails).
    """
    upload.upload_all([variant_wheels[other], variant_wheels["sdist"]])
    target = tmp_path / "stock"
    proc = pip_install(stock_hosts[host], upload, "--target", target, "muslprobe")
    assert proc.returncode == 0, output_of(proc)
    assert f"Downloading {variant_wheels[other].name}" in proc.stdout, output_of(proc)
    assert "Building wheel" not in proc.stdout, output_of(proc)
    (ext,) = (target / "muslprobe").glob("_ext*.so")
    assert _libc_of_elf(ext) != host
    imported = run_code(
        stock_hosts[host], target, "import muslprobe; print(muslprobe.variant())"
    )
    if host == "glibc":
        assert not imported.ok, str(imported)
        assert "libc.so: invalid ELF header" in imported.stderr, str(imported)
    else:
        assert imported.ok and imported.stdout.strip() == "glibc-generic", str(imported)
