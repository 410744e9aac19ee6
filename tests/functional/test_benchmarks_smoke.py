"""Smoke test of benchmarks/run.py: a tiny end-to-end run, no timing assertions.

It checks that every case runs against the real fork, stock pip 26.3, the musl
CPython and a local pypiserver, and that the Markdown report has every section
and a verdict for every target. The numbers of a ``--quick`` run mean nothing.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lib import hosts as hosts_lib

ROOT = Path(__file__).resolve().parents[2]

SECTIONS = (
    "## Summary",
    "## 1. Cold tag computation",
    "## 2. pip install from a local index (musl CPython)",
    "## 3. Alpine image: `_linux_musl` wheels vs sdists",
    "## 4. Install-time ABI check on a large binary wheel",
    "## 5. Peak memory (case 2)",
    "## 6. Host detection: the fork's reads vs stock's loader spawn",
    "## 7. Whole commands",
)

#: Ratios with a target: each must appear with a verdict.
TARGETED = (
    "musl: in-process get_supported() call alone fork/stock",
    "musl: processes spawned by the fork's get_supported()",
    "install fork/stock",
    "install peak RSS with check / with --skip-wheel-abi-check",
    "peak RSS fork/stock",
    "glibc: in-process (import + get_supported) fork/stock",
    "install with check / with --skip-wheel-abi-check",
    "musl: fork's detection / stock's loader spawn",
    "glibc: pip --version fork/stock",
    "musl: pip list fork/stock",
    "glibc: pip install fork/stock",
    "musl: pip install --dry-run fork/stock",
)

VERDICTS = {"met", "MISSED", "(no target)", "not measured"}


def _quick_run(
    tmp_path: Path, fork_wheel: Path, musl_python: Path, *options: str
) -> tuple[str, str]:
    """A ``--quick --repeat 1`` run of benchmarks/run.py: (report, stdout)."""
    out = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--fork-wheel",
            str(fork_wheel),
            "--musl-python",
            str(musl_python),
            *options,
            "--quick",
            "--repeat",
            "1",
            "--out",
            str(out),
            "--work-dir",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return out.read_text(), proc.stdout


@pytest.mark.musl
@pytest.mark.network
def test_quick_run_writes_every_section(
    tmp_path: Path, fork_wheel: Path
) -> None:
    # The benchmarks download cp311 wheels: they run on the musl CPython 3.11
    # (what nox passes them as PIP_MUSL_PYTHON), not on the primary host.
    try:
        musl_python = hosts_lib.resolve(hosts_lib.HostSpec("3.11", (1, 2, 3))).interpreter
    except LookupError as e:
        pytest.fail(f"the musl CPython 3.11 is missing: {e}", pytrace=False)
    text, stdout = _quick_run(tmp_path, fork_wheel, musl_python)
    assert text.strip() in stdout, "the report is printed as well as written"

    assert text.startswith("# Benchmarks")
    for header in SECTIONS:
        assert f"\n{header}\n" in text, f"missing section {header!r}\n{text}"
    assert "**Not run:**" not in text
    for field in ("| CPU |", "| glibc CPython |", "| musl CPython |", "| Fork |"):
        assert field in text
    assert "| Stock | pip 26.3 " in text
    assert "+musl." in text.split("| Fork |", 1)[1].splitlines()[0]
    assert "| Mode | --quick" in text
    # CI runs as root: install rounds start from a dropped page cache.
    expected = "dropped before each" if os.geteuid() == 0 else "kept between"
    assert f"| Page cache | {expected}" in text

    # Detail tables with min/median/max, and a verdict per targeted ratio.
    assert "| Measurement | Contender | n | min | median | max | Note |" in text
    assert "| Ratio | Value | 95 % interval | Target | Target met? | Note |" in text
    summary = text.split("## Summary", 1)[1].split("\n## 1.", 1)[0]
    rows = [line for line in summary.splitlines() if line.startswith("| ")]
    for name in TARGETED:
        matching = [r for r in rows if name in r]
        assert matching, f"no summary row for {name!r}\n{summary}"
        cells = [c.strip() for c in matching[0].strip("|").split(" | ")]
        assert cells[3].startswith("≤"), cells
        assert cells[4] in VERDICTS, cells
    for row in rows[2:]:  # every row has a verdict column
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[4] in VERDICTS, row

    # Real work happened: tags were computed, the Alpine case used the fork's
    # _linux_musl wheels while stock pip built from the sdist.
    assert re.search(r"first cp3\d+-cp3\d+-x86_64_linux_musl", text)
    assert "1/1 installed from `_linux_musl` wheels" in text
    assert "1/1 built from sdists" in text
    # The floors of the musl install and dry run are measured, and the fork
    # without its check.
    for command in ("2. install", "7. musl: pip install --dry-run"):
        floor = [r for r in rows if f"{command}, floor of a fork that checks" in r]
        assert floor, f"no floor row for {command!r}\n{summary}"
        assert float(floor[0].strip("|").split(" | ")[1]) > 1.0, floor
    assert any(
        re.search(r"first range request of each of the \d+ binary wheels / stock's install", r)
        for r in rows
    ), summary
    assert any("dry-run fork, --skip-wheel-abi-check / stock" in r for r in rows)
    # The garbage collector's share: a row per contender with its collections.
    gc_rows = [
        line
        for line in text.splitlines()
        if line.startswith("| musl: pip install --dry-run, time in the garbage")
    ]
    assert len(gc_rows) == 3, gc_rows
    assert all("collections of generation 0 / 1 / 2: " in r for r in gc_rows)
    assert any("extra time in the garbage collector / stock" in r for r in rows)


@pytest.mark.musl
@pytest.mark.network
def test_quick_run_on_the_primary_host_measures_musl_only(
    tmp_path: Path, fork_wheel: Path
) -> None:
    # What `nox -s benchmarks` runs second: CPython 3.13 on musl 1.2.5, its
    # own cp313 wheels from the index, no glibc rows and no Alpine case.
    try:
        host = hosts_lib.resolve(hosts_lib.PRIMARY)
    except LookupError as e:
        pytest.fail(f"the primary musl host is missing: {e}", pytrace=False)
    text, _ = _quick_run(
        tmp_path, fork_wheel, host.interpreter, "--musl-only", "--cases", "1,4,6,7"
    )
    assert f"| musl host (fork's detection) | {host.host_text} |" in text
    assert "| glibc CPython | not measured here (--musl-only) |" in text
    summary = text.split("## Summary", 1)[1].split("\n## 1.", 1)[0]
    names = [r.split(" | ")[0] for r in summary.splitlines() if r.startswith("| ")]
    assert not [n for n in names if "glibc" in n], names
    for name in (
        "musl: in-process get_supported() call alone fork/stock",
        "install with check / with --skip-wheel-abi-check",
        "musl: fork's detection / stock's loader spawn",
        "musl: pip install --dry-run fork/stock",
    ):
        assert any(name in n for n in names), (name, names)
    assert f"first {host.cp_tag}-{host.cp_tag}-x86_64_linux_musl" in text
    assert f"-{host.cp_tag}-musllinux_1_2_x86_64.whl" in text
    assert "fork on glibc" not in text
    assert "## 3. Alpine image" in text and "not selected with --cases" in text


def test_a_ratio_is_the_median_of_the_rounds() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from benchlib import paired_ratio
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    # Round 2 ran while the machine was busy: both contenders slowed alike.
    fork, stock = [1.0, 2.0, 1.02], [1.0, 2.1, 1.0]
    assert paired_ratio(fork, stock) == pytest.approx(1.0)
    # Ratio of the medians, for samples that are not rounds.
    assert paired_ratio([1.0, 3.0], [2.0]) == pytest.approx(1.0)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_each_contender_follows_every_other_equally_often(n: int) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from benchlib import round_orders
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    rows = round_orders(n)
    assert all(sorted(row) == list(range(n)) for row in rows), rows
    follows: dict[tuple[int, int], int] = {}
    for row in rows:
        for before, after in itertools.pairwise(row):
            follows[before, after] = follows.get((before, after), 0) + 1
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
    assert sorted(follows) == pairs, rows
    assert len(set(follows.values())) <= 1, follows
    if n == 2:
        assert rows == [[0, 1], [1, 0]]


def test_the_interval_of_a_median_is_from_order_statistics() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from benchlib import Ratio, median_interval, paired_ratio
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    # n = 10: P(Binomial(10, 1/2) <= 1) = 0.011 <= 0.025 < P(<= 2) = 0.055, so
    # the 2nd smallest and the 2nd largest.
    assert median_interval([float(v) for v in range(10, 0, -1)]) == (2.0, 9.0)
    # n = 21: P(<= 5) = 0.013 <= 0.025 < P(<= 6) = 0.039: the 6th of each end.
    assert median_interval([float(v) for v in range(21)]) == (5.0, 15.0)
    # Five rounds cannot give 95 %: even the extremes hold it with 94 %.
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) is None
    assert median_interval([float(v) for v in range(6)]) == (0.0, 5.0)
    ratio = paired_ratio([1.0] * 10, [float(v) for v in range(1, 11)])
    assert ratio.interval == pytest.approx((1 / 9, 1 / 2))  # type: ignore[attr-defined]
    # A miss whose interval holds the target is told apart from a clear one.
    wide = Ratio("a", paired_ratio([1.1, 1.0, 1.2, 1.05, 0.95, 1.1], [1.0] * 6), 1.02)
    assert wide.verdict == "MISSED" and wide.target_inside_interval
    clear = Ratio("b", paired_ratio([1.2] * 6, [1.0] * 6), 1.02)
    assert clear.verdict == "MISSED" and not clear.target_inside_interval


def test_a_childs_peak_memory_is_its_own_not_the_runners() -> None:
    # Linux keeps the spawning process's peak RSS across execve: a runner
    # holding 256 MiB must not make a child of a few MiB report 256 MiB.
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from benchlib import run_child
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    ballast = bytearray(256 << 20)
    ballast[::4096] = b"\x01" * len(range(0, len(ballast), 4096))
    small = run_child([sys.executable, "-c", "pass"]).check("a small child")
    big = run_child(
        [sys.executable, "-c", "b = bytearray(96 << 20); b[::4096] = b'1' * (24 << 10)"]
    ).check("a 96 MiB child")
    assert len(ballast) == 256 << 20  # still resident while the children ran
    assert small.maxrss_kb < 64 * 1024, small.maxrss_kb
    assert 96 * 1024 < big.maxrss_kb < 200 * 1024, big.maxrss_kb
