"""Measuring machinery for ``benchmarks/run.py``: timed children, statistics,
interleaved contenders, a local pypiserver, cached downloads, and Markdown.

Standard library only (plus ``tests.lib.venvs`` from this repository). Every
child runs with :func:`tests.lib.venvs.clean_env`: no pip configuration file,
no ``PIP_*`` variables from the outer environment.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.lib.venvs import clean_env  # noqa: E402


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A benchmark could not be run (a child failed, a tool is missing)."""


# --------------------------------------------------------------------------
# One timed child
# --------------------------------------------------------------------------


@dataclass
class Sample:
    """One run of a child process."""

    wall: float  # seconds, perf_counter around spawn .. reap
    maxrss_kb: int  # peak RSS of the child and its reaped descendants (wait4)
    cpu: float  # seconds of user + system CPU of the child and its descendants
    returncode: int
    stdout: str
    stderr: str
    extra: dict[str, Any] = field(default_factory=dict)  # what the child printed

    def check(self, what: str) -> Sample:
        if self.returncode != 0:
            raise BenchError(
                f"{what} exited {self.returncode}\n--- stdout\n{self.stdout[-3000:]}"
                f"\n--- stderr\n{self.stderr[-3000:]}"
            )
        return self


class _Spawner:
    """The small process of ``spawner.py``, started on first use; see there
    why the runner does not spawn timed children itself."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-I",
                        "-S",
                        str(Path(__file__).with_name("spawner.py")),
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            assert self._proc.stdin is not None
            assert self._proc.stdout is not None
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            reply = self._proc.stdout.readline()
        if not reply:
            raise BenchError(f"the spawner died (exit {self._proc.wait()})")
        return json.loads(reply)  # type: ignore[no-any-return]


_SPAWNER = _Spawner()


def run_child(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 900.0,
) -> Sample:
    """Run ``argv`` to completion; return its wall time and peak RSS.

    The child is forked by ``spawner.py`` (a process of a few MiB, so the
    runner's own size does not floor the child's peak) and reaped there with
    ``os.wait4``, whose resource usage belongs to that child alone
    (``ru_maxrss``: its own peak or that of its largest reaped descendant).
    Output goes to temporary files, so no pipe reading runs while the clock
    ticks. Before the clock starts, ``os.sync()`` writes out what earlier work
    left dirty (the venv just copied for this run, the files the previous run
    installed or deleted), so the kernel's writeback of it does not land inside
    this run's time. After ``timeout`` seconds the child's session is killed.
    """
    with tempfile.TemporaryDirectory(prefix="bench-child-") as tmp:
        out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
        out.touch()
        err.touch()
        reply = _SPAWNER.run(
            {
                "argv": [str(a) for a in argv],
                "env": dict(env) if env is not None else clean_env(),
                "cwd": str(cwd) if cwd is not None else os.getcwd(),
                "stdout": str(out),
                "stderr": str(err),
                "timeout": timeout,
            }
        )
        return Sample(
            wall=reply["wall"],
            maxrss_kb=int(reply["maxrss_kb"]),
            cpu=reply["cpu"],
            returncode=reply["returncode"],
            stdout=out.read_bytes().decode("utf-8", "replace"),
            stderr=err.read_bytes().decode("utf-8", "replace"),
        )


def last_json_line(text: str) -> dict[str, Any]:
    for raw in reversed(text.splitlines()):
        line = raw.strip()
        if line.startswith("{"):
            return dict(json.loads(line))
    raise BenchError(f"no JSON line in child output:\n{text[-2000:]}")


def median_child_ms(
    argv: Sequence[str | os.PathLike[str]], what: str, runs: int = 5
) -> float:
    """Median over ``runs`` runs of ``argv`` of the ``ms`` its last JSON line
    reports (a time the child takes itself, around the work alone)."""
    return Stats.of(
        [
            float(last_json_line(run_child(argv).check(what).stdout)["ms"])
            for _ in range(runs)
        ]
    ).median


# --------------------------------------------------------------------------
# Contenders, interleaved
# --------------------------------------------------------------------------

#: A contender: called once per run with the run's number; it does its own
#: untimed set-up (e.g. a fresh venv) and returns the timed :class:`Sample`.
RunFn = Callable[[int], Sample]


#: How :func:`interleave` orders a round, for the reports' notes.
ORDER_NOTE = (
    "contenders interleaved (round orders from a balanced Latin square: each "
    "contender runs right after every other one equally often)"
)


def rounds_note(warmup: int, repeat: int) -> str:
    """The note a section ends with: its rounds and how they were ordered."""
    return (
        f"{warmup} warm-up round(s) discarded, {repeat} measured rounds, {ORDER_NOTE}."
    )


def round_orders(n: int) -> list[list[int]]:
    """The rows of a balanced Latin square (Williams design) of ``n``
    contenders: in each row every contender runs once, and over the rows every
    contender runs right after every other one equally often. Two contenders
    give A B, B A."""
    first, low, high = [0], 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [[(i + shift) % n for i in first] for shift in range(n)]
    if n % 2:
        rows += [row[::-1] for row in rows]
    return rows


def interleave(
    contenders: Mapping[str, RunFn],
    *,
    repeat: int,
    warmup: int,
    label: str,
) -> dict[str, list[Sample]]:
    """Run every contender ``warmup + repeat`` times, interleaved.

    Round *r* runs the contenders in the order of row *r* of
    :func:`round_orders`, so drift in machine load falls on every contender
    alike, and so does what a run leaves behind for the next (page cache,
    files being deleted, CPU frequency): no contender follows a heavier one
    more often than another does. The first ``warmup`` rounds are discarded.
    """
    names = list(contenders)
    rows = round_orders(len(names))
    kept: dict[str, list[Sample]] = {n: [] for n in names}
    total = warmup + repeat
    for rnd in range(total):
        order = [names[i] for i in rows[rnd % len(rows)]]
        tag = "warm-up" if rnd < warmup else f"run {rnd - warmup + 1}/{repeat}"
        for name in order:
            sample = contenders[name](rnd)
            if rnd >= warmup:
                kept[name].append(sample)
            if total > 1 and sample.wall > 1.0:
                log(f"{label}: {name} {tag}: {sample.wall:.2f} s")
    return kept


# --------------------------------------------------------------------------
# Statistics and results
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    n: int
    min: float
    median: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        if not values:
            raise BenchError("no samples")
        return cls(len(values), min(values), statistics.median(values), max(values))


class PairedRatio(float):
    """A median of per-round ratios, carrying the interval of that median."""

    #: Order statistics of the per-round ratios that hold the true median with
    #: at least 95 % confidence, whatever their distribution; None with fewer
    #: than 6 rounds (no such pair exists).
    interval: tuple[float, float] | None

    def __new__(cls, value: float, interval: tuple[float, float] | None) -> PairedRatio:
        obj = super().__new__(cls, value)
        obj.interval = interval
        return obj


def median_interval(
    values: Sequence[float], confidence: float = 0.95
) -> tuple[float, float] | None:
    """The distribution-free confidence interval of the median of ``values``:
    the k-th smallest and k-th largest, k the largest rank with
    P(Binomial(n, 1/2) < k) <= (1 - confidence) / 2. None when n is too small
    for any k (n < 6 at 95 %)."""
    xs = sorted(values)
    n = len(xs)
    tail = (1 - confidence) / 2
    k, below = 0, 0.0
    while k < n:
        below += math.comb(n, k) / 2**n
        if below > tail:
            break
        k += 1
    if k == 0:
        return None
    return xs[k - 1], xs[n - k]


def paired_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """The median of the per-round ratios ``a[i] / b[i]`` (a :class:`PairedRatio`
    with the interval of that median).

    :func:`interleave` runs the contenders of a round back to back, so the ratio
    within a round cancels what the machine was doing at that moment (a disk
    flush, another process): on this 2-CPU machine whole commands swing by 20 %
    between rounds while the contenders of one round stay within a few per cent
    of each other. Unaligned samples (other lengths) fall back to the ratio of
    the medians.
    """
    if len(a) == len(b) and a and all(y > 0 for y in b):
        ratios = [x / y for x, y in zip(a, b, strict=True)]
        return PairedRatio(statistics.median(ratios), median_interval(ratios))
    return Stats.of(a).median / Stats.of(b).median


@dataclass
class Row:
    """A measured quantity of one contender."""

    measure: str
    contender: str
    stats: Stats
    unit: str  # "ms", "s", "MiB", "MB/s", "count", "%"
    note: str = ""


@dataclass
class Ratio:
    """A derived number, optionally with a target (``value <= target`` to pass)."""

    name: str
    value: float | None
    target: float | None = None
    note: str = ""
    unit: str = "x"

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "not measured"
        if self.target is None:
            return "(no target)"
        return "met" if self.value <= self.target else "MISSED"

    @property
    def target_inside_interval(self) -> bool:
        """Whether the interval of a paired ratio holds its target."""
        interval = getattr(self.value, "interval", None)
        return (
            self.target is not None
            and interval is not None
            and interval[0] <= self.target <= interval[1]
        )


@dataclass
class Section:
    title: str
    blurb: str
    rows: list[Row] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)  # Markdown after the notes
    skipped: str = ""  # why the section was not run


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------


def fmt_value(value: float, unit: str) -> str:
    if unit == "count":
        return f"{value:g}"
    if unit == "%":
        return f"{value:.2f} %"
    if unit == "x":
        return f"{value:.3f}"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    if unit == "MB/s":
        return f"{value:.0f} MB/s"
    return f"{value:.3g} {unit}"


def fmt_target(ratio: Ratio) -> str:
    if ratio.target is None:
        return "—"
    if ratio.unit == "%":
        return f"≤ {ratio.target:g} %"
    return f"≤ {ratio.target:g}"


def fmt_interval(ratio: Ratio) -> str:
    interval = getattr(ratio.value, "interval", None)
    if interval is None:
        return "—"
    lo, hi = interval
    return f"{fmt_value(lo, ratio.unit)} .. {fmt_value(hi, ratio.unit)}"


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def ratio_rows(ratios: Sequence[Ratio]) -> list[list[str]]:
    return [
        [
            r.name,
            "—" if r.value is None else fmt_value(r.value, r.unit),
            fmt_interval(r),
            fmt_target(r),
            r.verdict,
            r.note,
        ]
        for r in ratios
    ]


RATIO_HEADER = ("Ratio", "Value", "95 % interval", "Target", "Target met?", "Note")


def render_section(number: int, section: Section) -> str:
    out = [f"## {number}. {section.title}", "", section.blurb, ""]
    if section.skipped:
        out += [f"**Not run:** {section.skipped}", ""]
        return "\n".join(out)
    if section.rows:
        out.append(
            md_table(
                ("Measurement", "Contender", "n", "min", "median", "max", "Note"),
                [
                    [
                        r.measure,
                        r.contender,
                        str(r.stats.n),
                        fmt_value(r.stats.min, r.unit),
                        fmt_value(r.stats.median, r.unit),
                        fmt_value(r.stats.max, r.unit),
                        r.note,
                    ]
                    for r in section.rows
                ],
            )
        )
        out.append("")
    if section.ratios:
        out += [md_table(RATIO_HEADER, ratio_rows(section.ratios)), ""]
    out += [f"- {n}" for n in section.notes]
    if section.notes:
        out.append("")
    for block in section.blocks:
        out += [block, ""]
    return "\n".join(out)


# --------------------------------------------------------------------------
# Venvs
# --------------------------------------------------------------------------


DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def page_cache_droppable() -> bool:
    """Whether this process may drop the kernel's page cache (root, Linux)."""
    return os.geteuid() == 0 and os.access(DROP_CACHES, os.W_OK)


def drop_page_cache(*warm: Path) -> None:
    """Before an install round (untimed): write out what is dirty, drop the
    clean page cache, then read ``warm`` (the files the round installs) back.

    On this kind of virtual machine the page cache of earlier rounds pushes
    each new round onto guest memory the host has not backed yet, and every
    first touch of such a page is a host-side fault charged to the run as
    system time: with the cache kept, the same install's system time grew
    from 0.7 s to 1.8 s over eight rounds; dropped before each, it stayed
    within 0.56-0.63 s. What the round reads and is not in ``warm`` (the
    interpreter's standard library) is read cold by every contender alike.
    Without root this does nothing; the header says which.
    """
    if not page_cache_droppable():
        return
    os.sync()
    DROP_CACHES.write_text("1\n")
    for path in warm:
        files = [path] if path.is_file() else sorted(path.rglob("*"))
        for file in files:
            if file.is_file() and not file.is_symlink():
                with file.open("rb") as f:
                    while f.read(1 << 20):
                        pass


def fresh_copy(template: Path, dest: Path) -> Path:
    """A throw-away copy of a venv (``python -m pip`` works from any path)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(template, dest, symlinks=True)
    return dest


# --------------------------------------------------------------------------
# A local index: pypiserver serving a directory
# --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_directory(packages: Path, log_path: Path) -> Iterator[str]:
    """Run pypiserver on 127.0.0.1 over ``packages``; yield its ``/simple/`` URL.

    The same server settings as ``tests.lib.index.LocalIndex`` (no auth, no
    fallback to pypi.org, no listing cache); files are placed in the directory
    rather than uploaded.
    """
    probe = subprocess.run(
        [sys.executable, "-c", "import pypiserver"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        raise BenchError(
            f"pypiserver is not importable by {sys.executable}: "
            "run through `nox -s benchmarks`, or pip install pypiserver"
        )
    for _attempt in range(3):
        port = _free_port()
        cmd = [
            sys.executable,
            "-m",
            "pypiserver",
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-a",
            ".",
            "-P",
            ".",
            "--disable-fallback",
            "--backend",
            "simple-dir",
            "--hash-algo",
            "sha256",
            str(packages),
        ]
        with open(log_path, "ab") as logf:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT
            )
        url = f"http://127.0.0.1:{port}/simple/"
        deadline = time.monotonic() + 30
        ready = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    ready = resp.status == 200
            except (urllib.error.URLError, OSError):
                pass
            if ready:
                break
            time.sleep(0.1)
        if ready:
            try:
                yield url
            finally:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    raise BenchError(f"pypiserver did not start; see {log_path}")


# --------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------


def cache_root() -> Path:
    env = os.environ.get("PIP_MUSL_CACHE")
    base = Path(env) if env else Path.home() / ".cache" / "pip-musl"
    return base / "bench"


def key_of(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:12]


@contextlib.contextmanager
def building(final: Path) -> Iterator[Path]:
    """Yield a scratch dir that becomes ``final`` only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=final.name + ".part-", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def pip_download(python: Path, dest: Path, args: Sequence[str]) -> None:
    """``<python> -m pip download -d dest args…`` against PyPI only."""
    proc = subprocess.run(
        [str(python), "-m", "pip", "download", "--quiet", "-d", str(dest), *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(
            f"pip download {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )


# --------------------------------------------------------------------------
# Machine description
# --------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    for line in text.splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kb = int(line.split()[1])
                return f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def command_output(argv: Sequence[str | os.PathLike[str]]) -> str:
    try:
        proc = subprocess.run(
            [str(a) for a in argv],
            capture_output=True,
            text=True,
            check=False,
            env=clean_env(),
            timeout=60,
        )
    except OSError as exc:
        return f"unavailable ({exc})"
    return (
        (proc.stdout or proc.stderr).strip().splitlines()[0]
        if (proc.stdout or proc.stderr).strip()
        else "unknown"
    )
