"""Every sample output in the docs comes from a real run, and stays that way.

A sample in ``docs/*.md`` is a fenced ``text`` or ``console`` block preceded by a
MyST comment line naming the scenario that produces it::

    % docs-sample: check-wheel-wheelhouse (host: musl)
    ```console
    $ python -m pip check-wheel wheelhouse/*.whl
    ...
    ```

Add ``excerpt`` after the id when the block shows only some consecutive lines of
the output (``% docs-sample: verbose-skips excerpt (host: musl)``). A block that
is not output (a grammar, a file name) says so: ``% not-output: <why>``. Every
``text``/``console`` block must carry one of the two markers.

This test runs each scenario for real (the fork in a venv of the glibc host
CPython or of the real musl CPython, wheels compiled with gcc and musl-gcc) and
compares: a ``$ ...`` first line must be the scenario's command as shown; a line
that is only ``…`` stands for any number of lines, a ``…`` inside a line for any
text. Before comparing, the venv's path becomes ``/opt/venv`` and the scenario's
work directory ``.``; nothing else is rewritten, so the host's libc and Python
versions shown in the docs are the ones of the hosts that run this test (musl
1.2.3 with CPython 3.11; glibc 2.36). When a sample drifts, the failure prints the
real output to paste.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.lib.hosts import HostSpec, resolve
from tests.lib.index import build_tools_wheels, cache_dir
from tests.lib.venvs import Venv, clean_env, make_venv
from tests.lib.wheels import (
    EXTRA_C_STATX,
    build_ext_wheel,
    build_sdist,
    python_include_of,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))

_MARKER = re.compile(
    r"^(?P<indent>\s*)% (?:docs-sample: (?P<id>[\w-]+)(?P<excerpt> excerpt)?"
    r"(?: \(host: (?P<host>musl|glibc)\))?|(?P<not>not-output): .+)$"
)
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w{}-]*)\s*$")
ELLIPSIS = ("…", "...")
#: The docs show the old-musl host, where the check has the most to say (musl
#: 1.2.3 lacks statx and DT_RELR support), with CPython 3.11.
DOCS_HOST = HostSpec("3.11", (1, 2, 3))
_VENVS: dict[str, Venv] = {}


@dataclass(frozen=True)
class Sample:
    doc: str
    line: int
    id: str
    host: str
    excerpt: bool
    text: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}:{self.id}"


def _parse(path: Path) -> tuple[list[Sample], list[str]]:
    """The samples of one doc, and its unmarked output blocks (as file:line)."""
    lines = path.read_text().splitlines()
    samples: list[Sample] = []
    unmarked: list[str] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        start = i
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        body = [ln[len(fence["indent"]) :] for ln in lines[start + 1 : end]]
        i = end + 1
        if fence["lang"] not in ("text", "console"):
            continue
        prev = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = _MARKER.match(prev)
        if marker is None:
            unmarked.append(f"{path.name}:{start + 1}")
        elif marker["id"]:
            samples.append(
                Sample(path.name, start + 1, marker["id"], marker["host"] or "glibc",
                       bool(marker["excerpt"]), "\n".join(body))
            )
    return samples, unmarked


def all_samples() -> list[Sample]:
    return [s for doc in DOCS for s in _parse(doc)[0]]


def _pattern(block: str) -> re.Pattern[str]:
    parts = []
    for line in block.splitlines():
        if line.strip() in ELLIPSIS:
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        pieces = re.split(r"…|\.\.\.", line)
        parts.append(".*?".join(map(re.escape, pieces)) + r"\n")
    return re.compile("".join(parts))


def matches(block: str, output: str, *, excerpt: bool) -> bool:
    text = "".join(line.rstrip() + "\n" for line in output.splitlines())
    pattern = _pattern(block)
    if excerpt:
        return any(
            pattern.match(text, m.start()) for m in re.finditer(r"^", text, re.M)
        )
    return pattern.fullmatch(text) is not None


# -- the scenarios ---------------------------------------------------------------------


@dataclass
class Run:
    command: str
    """The command as the docs show it (after ``$ ``)."""
    output: str


class Ctx:
    def __init__(self, request: pytest.FixtureRequest, work: Path) -> None:
        self.request = request
        self.work = work

    def fixture(self, name: str) -> object:
        return self.request.getfixturevalue(name)

    @property
    def musl_python(self) -> Path:
        try:
            return resolve(DOCS_HOST).interpreter
        except LookupError as exc:
            pytest.fail(f"the docs' musl host is missing: {exc}", pytrace=False)

    def _shared_venv(self, name: str, wheel_fixture: str) -> Venv:
        if name not in _VENVS:
            root = self.request.getfixturevalue("tmp_path_factory").mktemp(name)
            wheel = self.fixture(wheel_fixture)
            _VENVS[name] = make_venv(root / "v", self.musl_python, wheel)  # type: ignore[arg-type]
        return _VENVS[name]

    @property
    def musl(self) -> Venv:
        return self._shared_venv("docs-musl-fork", "fork_wheel")

    @property
    def musl_stock(self) -> Venv:
        return self._shared_venv("docs-musl-stock", "stock_wheel")

    @property
    def glibc(self) -> Venv:
        return self.fixture("fork_venv")  # type: ignore[return-value]

    def fresh(self, python: str | Path, name: str) -> Venv:
        wheel = self.fixture("fork_wheel")
        return make_venv(self.work / name, python, wheel)  # type: ignore[arg-type]

    def dir(self, name: str) -> Path:
        path = self.work / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def pip(self, venv: Venv, shown: str, *args: str | Path, cwd: Path | None = None,
            env: dict[str, str] | None = None, stdout_only: bool = False) -> Run:
        # stdout and stderr interleaved, as a terminal shows them.
        proc = subprocess.run(
            [str(venv.python), "-m", "pip", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if stdout_only else subprocess.STDOUT,
            text=True,
            cwd=cwd or self.work,
            env=clean_env(COLUMNS="100", **(env or {})),
            timeout=600,
            check=False,
        )
        return Run(shown, self.normalise(proc.stdout, venv))

    def normalise(self, text: str, *venvs: Venv) -> str:
        for venv in venvs:
            text = text.replace(str(venv.root), "/opt/venv")
        text = text.replace(str(self.work) + "/", "./").replace(str(self.work), ".")
        return text


def _musl_include(ctx: Ctx) -> str:
    return python_include_of(ctx.musl_python)


def _glibc_include(ctx: Ctx) -> str:
    return python_include_of(ctx.fixture("host_python"))  # type: ignore[arg-type]


def _wheelhouse(ctx: Ctx) -> Path:
    """fastjson (a glibc build as linux_x86_64), fsnotify (musllinux_1_2 but needs
    statx) and zlibng (tagged musllinux_1_3, needs only musl 1.1's symbols)."""
    wh = ctx.dir("wheelhouse")
    build_ext_wheel(wh, tag_platform="linux_x86_64", compiler="gcc",
                    python_include=_glibc_include(ctx), variant="glibc",
                    name="fastjson", version="2.0")
    build_ext_wheel(wh, tag_platform="musllinux_1_2_x86_64", compiler="musl-gcc",
                    python_include=_musl_include(ctx), variant="statx",
                    name="fsnotify", version="3.1", extra_c=EXTRA_C_STATX)
    build_ext_wheel(wh, tag_platform="musllinux_1_3_x86_64", compiler="musl-gcc",
                    python_include=_musl_include(ctx), variant="musl",
                    name="zlibng", version="1.0")
    return wh


def _links_with_sdists(ctx: Ctx, *names: str) -> Path:
    links = ctx.dir("links")
    for wheel in build_tools_wheels():
        shutil.copy(wheel, links)
    for name in names:
        version = {"fastjson": "2.0", "zlibng": "1.0"}[name]
        build_sdist(links, name=name, version=version)
    return links


def check_wheel_wheelhouse(ctx: Ctx) -> Run:
    wh = _wheelhouse(ctx)
    files = sorted(p.name for p in wh.glob("*.whl"))
    return ctx.pip(ctx.musl, "python -m pip check-wheel wheelhouse/*.whl",
                   "check-wheel", *(f"wheelhouse/{f}" for f in files))


def check_wheel_verbose(ctx: Ctx) -> Run:
    wh = _wheelhouse(ctx)
    (zlibng,) = wh.glob("zlibng-*.whl")
    return ctx.pip(ctx.musl, f"python -m pip check-wheel -v wheelhouse/{zlibng.name}",
                   "check-wheel", "-v", f"wheelhouse/{zlibng.name}")


def check_wheel_json(ctx: Ctx) -> Run:
    wh = _wheelhouse(ctx)
    (fsnotify,) = wh.glob("fsnotify-*.whl")
    run = ctx.pip(ctx.musl, "", "check-wheel", "--format", "json",
                  f"wheelhouse/{fsnotify.name}", stdout_only=True)
    # What `| python -m json.tool` prints.
    pretty = json.dumps(json.loads(run.output), indent=4) + "\n"
    return Run(
        f"python -m pip check-wheel --format json wheelhouse/{fsnotify.name}"
        " | python -m json.tool",
        pretty,
    )


def _real_wheels_for_docs(ctx: Ctx) -> tuple[Path, Path]:
    """numpy 2.4.6 and orjson 3.13.0 musllinux wheels for CPython 3.11, downloaded
    once (for a platform, so the fork's check does not refuse numpy here)."""
    dest = cache_dir() / "docs-real-wheels"
    wanted = {"numpy": "numpy-2.4.6-cp311", "orjson": "orjson-3.13.0-cp311"}
    found = {k: sorted(dest.glob(f"{stem}-*musllinux_1_2_x86_64.whl")) for k, stem
             in wanted.items()}
    if not all(found.values()):
        ctx.pip(ctx.musl, "", "download", "--only-binary=:all:", "--no-deps",
                "--platform", "musllinux_1_2_x86_64", "--python-version", "3.11",
                "--dest", dest, "numpy==2.4.6", "orjson==3.13.0")
        found = {k: sorted(dest.glob(f"{stem}-*musllinux_1_2_x86_64.whl")) for k, stem
                 in wanted.items()}
    assert all(found.values()), f"could not download the real wheels into {dest}"
    return found["numpy"][-1], found["orjson"][-1]


def check_wheel_real(ctx: Ctx) -> Run:
    numpy, orjson = _real_wheels_for_docs(ctx)
    return ctx.pip(
        ctx.musl, f"python -m pip check-wheel {numpy.name} {orjson.name}",
        "check-wheel", numpy.name, orjson.name, cwd=numpy.parent,
    )


def debug_verbose(ctx: Ctx) -> Run:
    return ctx.pip(ctx.musl, "python -m pip debug --verbose", "debug", "--verbose")


def malformed_platform(ctx: Ctx) -> Run:
    return ctx.pip(
        ctx.glibc,
        "python -m pip download --only-binary=:all: --platform musllinux_1_x86_64 "
        "--dest wheelhouse -r requirements.txt",
        "download", "--only-binary=:all:", "--platform", "musllinux_1_x86_64",
        "--dest", "wheelhouse", "muslprobe",
    )


def platform_none(ctx: Ctx) -> Run:
    """An index with only a glibc wheel, asked for x86_64_linux_musl."""
    links = ctx.dir("manylinux")
    build_ext_wheel(links, tag_platform="manylinux_2_17_x86_64", compiler="gcc",
                    python_include=_glibc_include(ctx), variant="glibc")
    return ctx.pip(
        ctx.glibc,
        "python -m pip download --only-binary=:all: --platform x86_64_linux_musl "
        "--dest wheelhouse muslprobe",
        "download", "--only-binary=:all:", "--platform", "x86_64_linux_musl",
        "--no-index", "--find-links", links, "--dest", "wheelhouse", "muslprobe",
    )


def verbose_skips(ctx: Ctx) -> Run:
    wh = ctx.dir("zlibng")
    build_ext_wheel(wh, tag_platform="manylinux_2_17_x86_64", compiler="gcc",
                    python_include=_glibc_include(ctx), variant="glibc",
                    name="zlibng", version="1.0")
    build_ext_wheel(wh, tag_platform="musllinux_1_3_x86_64", compiler="musl-gcc",
                    python_include=_musl_include(ctx), variant="musl",
                    name="zlibng", version="1.0")
    links = _links_with_sdists(ctx, "zlibng")
    return ctx.pip(
        ctx.musl, "python -m pip install -v zlibng",
        "install", "-v", "--dry-run", "--no-index", "--find-links", wh,
        "--find-links", links, "zlibng",
    )


def _fastjson_links(ctx: Ctx) -> Path:
    links = _links_with_sdists(ctx, "fastjson")
    build_ext_wheel(links, tag_platform="linux_x86_64", compiler="gcc",
                    python_include=_glibc_include(ctx), variant="glibc",
                    name="fastjson", version="2.0")
    return links


def abi_fallback(ctx: Ctx) -> Run:
    links = _fastjson_links(ctx)
    return ctx.pip(
        ctx.musl, "python -m pip install fastjson",
        "install", "--dry-run", "--no-index", "--find-links", links, "fastjson",
    )


def cached_wheel_ignored(ctx: Ctx) -> Run:
    """A glibc build of fastjson in a cache shared with the musl host."""
    links = _links_with_sdists(ctx, "fastjson")
    cache = ctx.dir("cache")
    common = ("--no-index", "--find-links", links, "--cache-dir", cache)
    glibc = ctx.fresh(ctx.fixture("host_python"), "glibc-venv")  # type: ignore[arg-type]
    built = glibc.pip("install", *common, "fastjson", check=False, env=clean_env())
    assert built.returncode == 0, built.stdout + built.stderr
    musl = ctx.fresh(ctx.musl_python, "musl-venv")
    return ctx.pip(musl, "python -m pip install -v fastjson", "install", "-v",
                   *common, "fastjson")


def cached_wheel_ignored_on_glibc(ctx: Ctx) -> Run:
    """Stock pip on musl caches its build as linux_x86_64; the fork on glibc."""
    links = _links_with_sdists(ctx)
    build_sdist(links)
    cache = ctx.dir("cache")
    common = ("--no-index", "--find-links", links, "--cache-dir", cache)
    stock = ctx.musl_stock
    built = stock.pip("install", "--target", ctx.dir("t"), *common,  # type: ignore[attr-defined]
                      "muslprobe", check=False, env=clean_env())
    assert built.returncode == 0, built.stdout + built.stderr
    glibc = ctx.fresh(ctx.fixture("host_python"), "glibc-venv")  # type: ignore[arg-type]
    return ctx.pip(glibc, "python -m pip install -v muslprobe", "install", "-v",
                   *common, "muslprobe")


def no_loadable_file(ctx: Ctx) -> Run:
    wh = _wheelhouse(ctx)
    return ctx.pip(ctx.musl, "python -m pip install fsnotify", "install", "--dry-run",
                   "--no-index", "--find-links", wh, "fsnotify")


def wheel_named_cannot_load(ctx: Ctx) -> Run:
    wh = _wheelhouse(ctx)
    (fastjson,) = wh.glob("fastjson-*.whl")
    return ctx.pip(ctx.musl, f"python -m pip install ./{fastjson.name}", "install",
                   "--dry-run", fastjson, cwd=wh)


def pip_wheel_musl_tag(ctx: Ctx) -> Run:
    links = _links_with_sdists(ctx)
    sdist = build_sdist(ctx.work)
    # The build tools come from the local find-links dir (plumbing, not shown).
    return ctx.pip(ctx.musl, f"python -m pip wheel --no-deps {sdist.name}",
                   "wheel", "--no-deps", sdist.name,
                   env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(links),
                        "PIP_NO_CACHE_DIR": "1"})


def _two_releases(ctx: Ctx, *, broken_sdist: bool) -> Path:
    """muslprobe 2.0: a musllinux_1_2 wheel that needs statx (and, if asked, an
    sdist that does not build); 1.0: a musllinux_1_1 wheel that loads."""
    links = _links_with_sdists(ctx) if broken_sdist else ctx.dir("links")
    build_ext_wheel(links, tag_platform="musllinux_1_2_x86_64", compiler="musl-gcc",
                    python_include=_musl_include(ctx), variant="statx",
                    version="2.0", extra_c=EXTRA_C_STATX)
    build_ext_wheel(links, tag_platform="musllinux_1_1_x86_64", compiler="musl-gcc",
                    python_include=_musl_include(ctx), variant="musl", version="1.0")
    if broken_sdist:
        build_sdist(links, version="2.0", extra_c="#error does not build here\n")
    return links


def resolver_fallback(ctx: Ctx) -> Run:
    links = _two_releases(ctx, broken_sdist=False)
    return ctx.pip(ctx.musl, "python -m pip install --only-binary=:all: muslprobe",
                   "install", "--dry-run", "--only-binary=:all:", "--no-index",
                   "--find-links", links, "muslprobe")


def build_failure_note(ctx: Ctx) -> Run:
    links = _two_releases(ctx, broken_sdist=True)
    return ctx.pip(ctx.musl, "python -m pip install muslprobe", "install",
                   "--no-index", "--find-links", links, "--target", ctx.dir("t"),
                   "muslprobe")


SCENARIOS: dict[str, Callable[[Ctx], Run]] = {
    "resolver-fallback": resolver_fallback,
    "build-failure-note": build_failure_note,
    "check-wheel-wheelhouse": check_wheel_wheelhouse,
    "check-wheel-verbose": check_wheel_verbose,
    "check-wheel-json": check_wheel_json,
    "check-wheel-real": check_wheel_real,
    "debug-verbose": debug_verbose,
    "malformed-platform": malformed_platform,
    "platform-none": platform_none,
    "verbose-skips": verbose_skips,
    "abi-fallback": abi_fallback,
    "cached-wheel-ignored": cached_wheel_ignored,
    "cached-wheel-ignored-on-glibc": cached_wheel_ignored_on_glibc,
    "no-loadable-file": no_loadable_file,
    "wheel-named-cannot-load": wheel_named_cannot_load,
    "pip-wheel-musl-tag": pip_wheel_musl_tag,
}
#: Scenarios that need the package index the first time (cached afterwards).
NETWORK = {"check-wheel-real"}


def test_every_output_block_is_marked() -> None:
    unmarked = [where for doc in DOCS for where in _parse(doc)[1]]
    assert not unmarked, (
        "text/console blocks without '% docs-sample: <id>' or '% not-output: <why>' "
        f"before them: {unmarked}"
    )


def test_every_sample_has_a_scenario_and_every_scenario_a_sample() -> None:
    used = {s.id for s in all_samples()}
    assert used - SCENARIOS.keys() == set(), "docs name unknown scenarios"
    assert SCENARIOS.keys() - used == set(), "scenarios no doc uses"


def test_matcher_can_fail() -> None:
    assert matches("a\n…\nd", "a\nb\nc\nd\n", excerpt=False)
    assert not matches("a\nd", "a\nb\nd\n", excerpt=False)
    assert matches("b…", "a\nbcd\ne\n", excerpt=True)
    assert not matches("b…\nd", "a\nbcd\ne\n", excerpt=True)


_RUNS: dict[str, Run] = {}


def _marks(sample: Sample) -> list[pytest.MarkDecorator]:
    marks = [pytest.mark.musl] if sample.host == "musl" else []
    if sample.id in NETWORK:
        marks.append(pytest.mark.network)
    return marks


@pytest.mark.parametrize(
    "sample",
    [pytest.param(s, id=str(s), marks=_marks(s)) for s in all_samples()],
)
def test_docs_sample_is_real_output(
    sample: Sample, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    run = _RUNS.get(sample.id)
    if run is None:
        run = _RUNS[sample.id] = SCENARIOS[sample.id](Ctx(request, tmp_path))
    block = sample.text
    if block.startswith("$ "):
        shown, _, block = block.partition("\n")
        assert shown[2:] == run.command, f"{sample}: the docs show another command"
    if not matches(block, run.output, excerpt=sample.excerpt):
        pytest.fail(
            f"{sample}: the docs' block is not what `{run.command}` prints "
            f"(host: {sample.host}).\n--- docs\n{block}\n--- real output\n{run.output}",
            pytrace=False,
        )


def test_readme_has_no_unmarked_output() -> None:
    """The README's blocks are commands (the quick start runs them in CI)."""
    text = (ROOT / "README.md").read_text()
    assert "```text" not in text and "```console" not in text
