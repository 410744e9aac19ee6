"""The choice matrix: which file of ``muslprobe 1.0`` each host installs.

Host {every musl host of ``tests.lib.hosts``, the glibc CPython} x index
contents. Every cell is real: the
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
from tests.lib.hosts import MuslHost
from tests.lib.index import LocalIndex
from tests.lib.venvs import Venv, make_venv
from tests.lib.wheels import build_pure_wheel

# The matrix and the install-check cases run on every musl host; what differs
# by host is derived from its musl release (MuslHost.loads_statx, loads_relr).
pytestmark = [pytest.mark.musl, pytest.mark.every_musl_host]

SDIST = "muslprobe-1.0.tar.gz"

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

#: The platform of the ``Tag:`` line of the installed ``WHEEL`` file, per
#: variant and host (the interpreter/ABI tag is the host CPython's).
INSTALLED_PLATFORM = {
    "linux_musl": "x86_64_linux_musl",
    "musl-generic": "linux_x86_64",
    "musllinux_1_2": "musllinux_1_2_x86_64",
    "musllinux_1_1": "musllinux_1_1_x86_64",
    "manylinux": "manylinux_2_17_x86_64",
    "glibc-generic": "linux_x86_64",
    ("sdist", "musl"): "x86_64_linux_musl",
    ("sdist", "glibc"): "linux_x86_64",
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
    """The lines of wheels the resolver's check skipped (pip indents them
    under ``-v``)."""
    return [
        line.strip()
        for line in output.splitlines()
        if line.strip().startswith("Skipping ")
        and "cannot load on this host" in line
    ]


def _wheel_name(variants: dict[str, Path], variant: str) -> str:
    return SDIST if variant == "sdist" else variants[variant].name


@pytest.fixture
def upload(local_index: LocalIndex, tools_wheels: list[Path]) -> LocalIndex:
    """The fresh index with setuptools; tests add their own files."""
    local_index.upload_all(tools_wheels)
    return local_index


MUSL_CELLS = [c for (h, c) in EXPECTED if h == "musl"]
GLIBC_CELLS = [c for (h, c) in EXPECTED if h == "glibc"]


@pytest.mark.parametrize("contents", MUSL_CELLS)
def test_choice_on_musl(
    *,
    contents: str,
    musl_host: MuslHost,
    musl_fork_venv: Venv,
    upload: LocalIndex,
    variant_wheels: dict[str, Path],
    tmp_path: Path,
) -> None:
    _check_choice(
        host="musl",
        contents=contents,
        venv=musl_fork_venv,
        upload=upload,
        variant_wheels=variant_wheels,
        tmp_path=tmp_path,
        cp_tag=musl_host.cp_tag,
        ext_suffix=musl_host.ext_suffix,
        host_text=musl_host.host_text,
    )


@pytest.mark.parametrize("contents", GLIBC_CELLS)
def test_choice_on_glibc(
    *,
    contents: str,
    fork_venv: Venv,
    upload: LocalIndex,
    glibc_variant_wheels: dict[str, Path],
    host_cp_tag: str,
    tmp_path: Path,
) -> None:
    minor = host_cp_tag[2:]
    _check_choice(
        host="glibc",
        contents=contents,
        venv=fork_venv,
        upload=upload,
        variant_wheels=glibc_variant_wheels,
        tmp_path=tmp_path,
        cp_tag=host_cp_tag,
        ext_suffix=f".cpython-{minor}-x86_64-linux-gnu.so",
        host_text=None,
    )


def _check_choice(
    *,
    host: str,
    contents: str,
    venv: Venv,
    upload: LocalIndex,
    variant_wheels: dict[str, Path],
    tmp_path: Path,
    cp_tag: str,
    ext_suffix: str,
    host_text: str | None,
) -> None:
    expect = EXPECTED[(host, contents)]
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

    # The one skip line, exactly when a wheel had to be skipped.
    skips = _skip_lines(out)
    if expect.skipped is None:
        assert skips == [], output_of(proc)
    else:
        assert len(skips) == 1, output_of(proc)
        line = skips[0]
        skipped_name = _wheel_name(variant_wheels, expect.skipped)
        used_name = _wheel_name(variant_wheels, expect.variant)
        assert line.startswith(
            f"Skipping {skipped_name}: it cannot load on this host ("
        ), line
        if host_text is not None:
            assert f"on this host ({host_text})" in line, line
        wrong = {"musl": ("glibc", "libc.so.6"), "glibc": ("musl", "libc.so")}[host]
        assert all(w in line for w in wrong), line
        assert used_name in out, output_of(proc)

    # What is on disk: the extension's libc is the host's, never the other one.
    exts = sorted((target / "muslprobe").glob("_ext*.so"))
    assert len(exts) == 1, exts
    assert _libc_of_elf(exts[0]) == host, f"{exts[0]}: {dt_needed(exts[0])}"
    tag_key = ("sdist", host) if expect.variant == "sdist" else expect.variant
    assert f"{cp_tag}-{cp_tag}-{INSTALLED_PLATFORM[tag_key]}" in _installed_tags(
        target
    )

    if expect.variant == "sdist":
        # Really built here, by this host's compiler.
        assert "Building wheel for muslprobe" in proc.stdout, output_of(proc)
        assert "Successfully built muslprobe" in proc.stdout, output_of(proc)
        if host == "musl":
            assert "/bin/x86_64-linux-musl-gcc " in out, (
                "the sdist was not compiled by the musl CPython's CC wrapper\n"
                + output_of(proc)
            )
        else:
            assert "x86_64-linux-musl-gcc" not in out, output_of(proc)
        assert exts[0].name == "_ext" + ext_suffix
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


# A glibc build needs libc.so.6 on every musl release alike: one host per minor.
@pytest.mark.every_python_minor
def test_glibc_wheel_named_directly_on_musl_is_refused(
    *,
    tmp_path: Path,
    musl_host: MuslHost,
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
    assert musl_host.musl_text in out, output_of(proc)
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


def test_statx_wheel_or_sdist_by_musl_release(
    *,
    tmp_path: Path,
    musl_host: MuslHost,
    musl_fork_venv: Venv,
    musl_stock_venv: Venv,
    upload: LocalIndex,
    statx_wheel: Path,
    sdist: Path,
) -> None:
    """A ``musllinux_1_2`` wheel whose extension needs ``statx`` (musl >= 1.2.5).

    On musl 1.2.5 and later it loads: the fork installs it, as stock pip does.
    Before that the fork skips it and builds the sdist; recorded beside it:
    stock pip 26.3 installs the wheel (its tag matches), and the import fails in
    musl's loader with "Error relocating …: statx: symbol not found".
    """
    upload.upload_all([statx_wheel, sdist])
    code = "import muslprobe; print(muslprobe.variant())"

    fork_target = tmp_path / "fork"
    proc = pip_install(musl_fork_venv, upload, "--target", fork_target, "muslprobe")
    assert proc.returncode == 0, output_of(proc)
    skips = _skip_lines(proc.stdout + proc.stderr)
    imported = run_code(musl_fork_venv, fork_target, code)
    if musl_host.loads_statx:
        assert skips == [], output_of(proc)
        assert f"Downloading {statx_wheel.name}" in proc.stdout, output_of(proc)
        assert imported.ok, str(imported)
        assert imported.stdout.strip() == "musllinux_1_2-statx", str(imported)
    else:
        (line,) = skips
        assert line.startswith(
            f"Skipping {statx_wheel.name}: it cannot load on this host "
            f"({musl_host.host_text}): "
        ), line
        assert "statx" in line and "1.2.5" in line, line
        assert imported.ok and imported.stdout.strip() == "sdist", str(imported)

    stock_target = tmp_path / "stock"
    proc = pip_install(musl_stock_venv, upload, "--target", stock_target, "muslprobe")
    assert proc.returncode == 0, output_of(proc)
    assert f"Downloading {statx_wheel.name}" in proc.stdout, output_of(proc)
    assert "Building wheel" not in proc.stdout, output_of(proc)
    stock = run_code(musl_stock_venv, stock_target, code)
    if musl_host.loads_statx:
        assert stock.ok and stock.stdout.strip() == "musllinux_1_2-statx", str(stock)
    else:
        assert not stock.ok, str(stock)
        assert "Error relocating" in stock.stderr, str(stock)
        assert "statx: symbol not found" in stock.stderr, str(stock)


def test_statx_wheel_alone(
    musl_host: MuslHost,
    musl_fork_venv: Venv,
    upload: LocalIndex,
    statx_wheel: Path,
    tmp_path: Path,
) -> None:
    """Nothing else of that version on the index: before musl 1.2.5 an error
    naming the symbol, not a broken install; from 1.2.5 on a working install."""
    upload.upload(statx_wheel)
    target = tmp_path / "t"
    proc = pip_install(musl_fork_venv, upload, "--target", target, "muslprobe")
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, output_of(proc)
    if musl_host.loads_statx:
        assert proc.returncode == 0, output_of(proc)
        imported = run_code(musl_fork_venv, target, "import muslprobe")
        assert imported.ok, str(imported)
        return
    assert proc.returncode == 1, output_of(proc)
    assert statx_wheel.name in out, output_of(proc)
    assert musl_host.musl_text in out, output_of(proc)
    assert "statx" in out and "1.2.5" in out, output_of(proc)
    assert not (target / "muslprobe").exists()


def test_relr_wheel_by_musl_release(
    *,
    tmp_path: Path,
    musl_host: MuslHost,
    musl_fork_venv: Venv,
    musl_stock_venv: Venv,
    upload: LocalIndex,
    relr_wheel: Path,
    sdist: Path,
) -> None:
    """A ``musllinux_1_2`` extension linked with ``-z pack-relative-relocs``.

    ``DT_RELR`` is understood by musl's dynamic linker only since 1.2.4 (glibc:
    2.36); Debian's musl 1.2.3 ignores it, leaves the relative relocations
    unapplied, and the process crashes when the module is loaded. Alpine's
    toolchain emits ``DT_RELR`` (real musllinux wheels on PyPI carry it, see
    ``test_real_wheels.py``), so this is not hypothetical. On musl >= 1.2.4 the
    wheel loads and both pips install it. Before that the fork must skip it and
    build the sdist; recorded beside it: stock pip installs the wheel and the
    import dies with SIGSEGV.
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
    code = "import muslprobe; print(muslprobe.variant())"

    stock_target = tmp_path / "stock"
    proc = pip_install(musl_stock_venv, upload, "--target", stock_target, "muslprobe")
    assert proc.returncode == 0, output_of(proc)
    assert f"Downloading {relr_wheel.name}" in proc.stdout, output_of(proc)
    stock = run_code(musl_stock_venv, stock_target, code)
    if musl_host.loads_relr:
        assert stock.ok and stock.stdout.strip() == "musllinux_1_2-relr", str(stock)
    else:
        assert stock.returncode == -11, f"expected SIGSEGV on musl 1.2.3:\n{stock}"

    fork_target = tmp_path / "fork"
    proc = pip_install(musl_fork_venv, upload, "--target", fork_target, "muslprobe")
    assert proc.returncode == 0, output_of(proc)
    imported = run_code(musl_fork_venv, fork_target, code)
    skips = _skip_lines(proc.stdout + proc.stderr)
    if musl_host.loads_relr:
        assert skips == [], output_of(proc)
        assert imported.ok, str(imported)
        assert imported.stdout.strip() == "musllinux_1_2-relr", str(imported)
        return
    assert imported.ok and imported.stdout.strip() == "sdist", (
        f"the fork installed a wheel that crashes {musl_host.musl_text}'s loader "
        f"(DT_RELR needs musl >= 1.2.4):\nimport: {imported}\ninstall: "
        f"{output_of(proc)}"
    )
    (line,) = skips
    assert relr_wheel.name in line and "RELR" in line, line


def test_verbose_explains_why_manylinux_is_not_a_candidate_on_musl(
    musl_host: MuslHost,
    musl_fork_venv: Venv,
    upload: LocalIndex,
    variant_wheels: dict[str, Path],
) -> None:
    """A glibc-only index on the musl host: nothing to install, and ``-v`` says why."""
    upload.upload(variant_wheels["manylinux"])
    proc = pip_install(musl_fork_venv, upload, "--dry-run", "muslprobe")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, output_of(proc)
    assert (
        f"manylinux_2_17 wheel is for glibc; this host uses {musl_host.musl_text}"
    ) in out, output_of(proc)
    assert "No matching distribution found for muslprobe" in out, output_of(proc)


# Stock pip's ranking does not look at the musl release: one host per minor.
@pytest.mark.every_python_minor
def test_stock_pip_takes_the_glibc_generic_build_on_musl(
    *,
    musl_stock_venv: Venv,
    upload: LocalIndex,
    variant_wheels: dict[str, Path],
    tmp_path: Path,
) -> None:
    """Recorded beside the fork: a glibc ``linux_x86_64`` wheel + sdist on musl.

    The fork skips the wheel and builds the sdist (matrix cell
    ``glibc-generic+sdist``); stock pip 26.3 ranks ``linux_x86_64`` above the
    sdist and installs the glibc build. This tiny glibc build even imports,
    because musl's loader maps a ``libc.so.6`` need onto itself: it runs by
    accident, not by promise (anything using glibc-only symbols or symbol
    versions fails).
    """
    _stock_takes_other(musl_stock_venv, "musl", "glibc-generic", upload,
                       variant_wheels, tmp_path)


def test_stock_pip_takes_the_musl_generic_build_on_glibc(
    *,
    stock_venv: Venv,
    upload: LocalIndex,
    glibc_variant_wheels: dict[str, Path],
    tmp_path: Path,
) -> None:
    """The other way round: the import then fails (``libc.so`` is glibc's
    linker script, "invalid ELF header")."""
    _stock_takes_other(stock_venv, "glibc", "musl-generic", upload,
                       glibc_variant_wheels, tmp_path)


def _stock_takes_other(  # noqa: PLR0917
    venv: Venv,
    host: str,
    other: str,
    upload: LocalIndex,
    variant_wheels: dict[str, Path],
    tmp_path: Path,
) -> None:
    upload.upload_all([variant_wheels[other], variant_wheels["sdist"]])
    target = tmp_path / "stock"
    proc = pip_install(venv, upload, "--target", target, "muslprobe")
    assert proc.returncode == 0, output_of(proc)
    assert f"Downloading {variant_wheels[other].name}" in proc.stdout, output_of(proc)
    assert "Building wheel" not in proc.stdout, output_of(proc)
    (ext,) = (target / "muslprobe").glob("_ext*.so")
    assert _libc_of_elf(ext) != host
    imported = run_code(venv, target, "import muslprobe; print(muslprobe.variant())")
    if host == "glibc":
        assert not imported.ok, str(imported)
        assert "libc.so: invalid ELF header" in imported.stderr, str(imported)
    else:
        assert imported.ok and imported.stdout.strip() == "glibc-generic", str(imported)
