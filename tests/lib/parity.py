"""Helpers for the differential (fork vs stock pip) test suite.

* :func:`write_wheel` / :func:`write_sdist` make small *pure* distributions with
  dependencies, extras and console scripts (``tests/lib/wheels.py`` makes the
  binary ``muslprobe``-style ones).
* :class:`Side` is one half of a comparison: a venv (fork or stock pip), its own
  work directory (``HOME``, cache, ``TMPDIR``, user base, target dirs) and the
  environment its pip runs with. Both halves of a case get paths of the *same
  length* (``<tmp>/f/…`` and ``<tmp>/s/…``), so that text wrapped by pip (help,
  rich error boxes) wraps identically before paths are normalised.
* :func:`normalize` turns one side's output into side-independent text: venv
  root, work dir and pip's random temporary-directory suffixes become
  placeholders. It never touches anything else: every *other* difference between
  fork and stock pip must be declared as an :class:`IntendedDifference`.
* :func:`snapshot` describes a directory tree (relative path -> sha256 of the
  normalised content) so the resulting environments can be compared.
* :data:`DIFFERENCES` is the registry of intended differences; each one knows how
  to recognise itself (and fails when it is declared but not seen).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import textwrap
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.lib.venvs import Venv, clean_env

FORK_VERSION = "26.3+musl.1"
STOCK_VERSION = "26.3"

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------
# Test distributions
# --------------------------------------------------------------------------


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def write_wheel(
    dest: Path,
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    extras: Mapping[str, Sequence[str]] | None = None,
    scripts: Mapping[str, str] | None = None,
    tag: str = "py3-none-any",
    summary: str = "parity test distribution",
) -> Path:
    """A pure wheel ``<name>-<version>-<tag>.whl`` with the given metadata.

    ``requires`` are ``Requires-Dist`` lines; ``extras`` maps extra names to
    their requirements; ``scripts`` maps console-script names to
    ``module:function`` (the package defines ``main``).
    """
    pkg = _norm(name)
    dist_info = f"{pkg}-{version}.dist-info"
    meta = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary}",
        "Requires-Python: >=3.8",
    ]
    meta += [f"Requires-Dist: {r}" for r in requires]
    for extra, reqs in (extras or {}).items():
        meta.append(f"Provides-Extra: {extra}")
        meta += [f'Requires-Dist: {r}; extra == "{extra}"' for r in reqs]
    init = (
        f"__version__ = {version!r}\n\n\n"
        f"def main():\n    print({name + ' ' + version!r})\n"
    )
    members: dict[str, bytes] = {
        f"{pkg}/__init__.py": init.encode(),
        f"{dist_info}/METADATA": ("\n".join(meta) + "\n\n").encode(),
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests/lib/parity.py\n"
            f"Root-Is-Purelib: true\nTag: {tag}\n"
        ).encode(),
    }
    if scripts:
        ep = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items())
        members[f"{dist_info}/entry_points.txt"] = ep.encode()
    record = f"{dist_info}/RECORD"
    lines = [f"{a},{_record_hash(d)},{len(d)}" for a, d in members.items()]
    members[record] = ("\n".join([*lines, f"{record},,"]) + "\n").encode()
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{pkg}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for arc, data in members.items():
            info = zipfile.ZipInfo(arc, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            zf.writestr(info, data)
    return path


def write_sdist(
    dest: Path, name: str, version: str, *, requires: Sequence[str] = ()
) -> Path:
    """A pure setuptools sdist (``pyproject.toml`` with a ``[project]`` table)."""
    pkg = _norm(name)
    base = f"{pkg}-{version}"
    deps = ", ".join(json.dumps(r) for r in requires)
    pyproject = textwrap.dedent(
        f"""\
        [build-system]
        requires = ["setuptools>=70.1"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{name}"
        version = "{version}"
        description = "parity test sdist"
        requires-python = ">=3.8"
        dependencies = [{deps}]

        [tool.setuptools]
        packages = ["{pkg}"]
        """
    )
    pkg_info = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        "Summary: parity test sdist\n\n"
    )
    files = {
        "PKG-INFO": pkg_info,
        "pyproject.toml": pyproject,
        f"{pkg}/__init__.py": f"__version__ = {version!r}\n",
    }
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"{base}.tar.gz"
    with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for d in (base, f"{base}/{pkg}"):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 315532800
            tf.addfile(info)
        for arc, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{base}/{arc}")
            info.size, info.mode, info.mtime = len(data), 0o644, 315532800
            tf.addfile(info, io.BytesIO(data))
    return out


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------
# The two sides of a comparison
# --------------------------------------------------------------------------


@dataclass
class Side:
    """One half of a comparison: ``fork`` or ``stock``."""

    name: str
    venv: Venv
    work: Path
    template: Path
    """The template venv this venv was copied from (its path may appear in
    pip's own installation records)."""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def vars(self) -> dict[str, str]:
        return {"venv": str(self.venv.root), "work": str(self.work)}

    def fmt(self, arg: str, extra: Mapping[str, str]) -> str:
        return arg.format(**self.vars, **extra)


def make_side(
    name: str,
    template: Path,
    work: Path,
    *,
    index_url: str,
    system_site_packages: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> Side:
    """Copy ``template`` (a venv with a pip installed) to ``work/venv``."""
    work.mkdir(parents=True)
    root = work / "venv"
    shutil.copytree(template, root, symlinks=True)
    if system_site_packages:
        cfg = root / "pyvenv.cfg"
        cfg.write_text(
            cfg.read_text().replace(
                "include-system-site-packages = false",
                "include-system-site-packages = true",
            )
        )
    for sub in ("home", "cache", "tmp"):
        (work / sub).mkdir()
    env = clean_env(
        HOME=str(work / "home"),
        PIP_CACHE_DIR=str(work / "cache"),
        TMPDIR=str(work / "tmp"),
        PYTHONUSERBASE=str(work / "userbase"),
        PIP_INDEX_URL=index_url,
        SOURCE_DATE_EPOCH="315532800",
        COLUMNS="100",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("XDG_CACHE_HOME", None)
    env.pop("XDG_CONFIG_HOME", None)
    env.update(extra_env or {})
    return Side(name, Venv(root), work, template, env)


# --------------------------------------------------------------------------
# Normalisation: only what is side-specific by construction
# --------------------------------------------------------------------------

# pip's temporary directories: pip-install-1a2b3c4d, pip-build-env-x_y1z2ab, ...
_PIP_TMP = re.compile(r"\b(pip-[a-z-]+?-)[a-z0-9_]{8}\b")
# tempfile names pip and the build backend create under TMPDIR (tmpab12cd_e).
_TMP_NAME = re.compile(r"\btmp[a-z0-9_]{8}\b")


def normalize(text: str, side: Side) -> str:
    """Replace side-specific paths; nothing else."""
    for path, marker in sorted(
        (
            (str(side.venv.root), "<VENV>"),
            (str(side.work), "<WORK>"),
            (str(side.template), "<TEMPLATE>"),
        ),
        key=lambda pm: -len(pm[0]),
    ):
        text = text.replace(path, marker)
    text = _PIP_TMP.sub(r"\1XXXXXXXX", text)
    return _TMP_NAME.sub("tmpXXXXXXXX", text)


# Files of pip itself in a venv, and files that name the venv's creator: not
# part of what a pip command produced.
_SNAPSHOT_SKIP = re.compile(
    r"^(lib/python[\d.]+/site-packages/(pip|pip-[^/]+\.dist-info)(/|$)"
    r"|bin/(pip|pip3|pip3\.\d+|python[\d.]*|activate.*|Activate\.ps1)$"
    r"|pyvenv\.cfg$|lib64$)"
)


def _side_paths(side: Side) -> list[tuple[bytes, bytes]]:
    pairs = [
        (str(side.venv.root), "<VENV>"),
        (str(side.work), "<WORK>"),
        (str(side.template), "<TEMPLATE>"),
    ]
    pairs.sort(key=lambda pm: -len(pm[0]))
    return [(p.encode(), m.encode()) for p, m in pairs]


_PIP_TMP_BYTES = re.compile(rb"\b(pip-[a-z-]+?-)[a-z0-9_]{8}\b")


def _normalize_bytes(data: bytes, side: Side) -> bytes:
    for path, marker in _side_paths(side):
        data = data.replace(path, marker)
    return _PIP_TMP_BYTES.sub(rb"\1XXXXXXXX", data)


def _normalize_record(data: bytes, record: Path, side: Side) -> bytes:
    """A RECORD lists hashes of files that embed the venv path (console scripts
    have the venv's python in their shebang): those hashes are side-specific by
    construction. Replace them by the hash of the *normalised* file."""
    base = record.parent.parent
    lines = []
    for line in data.decode("utf-8").splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) == 3 and parts[1]:
            target = (base / parts[0]).resolve()
            if target.is_file():
                raw = target.read_bytes()
                norm = _normalize_bytes(raw, side)
                if norm != raw:
                    digest = hashlib.sha256(norm).hexdigest()[:16]
                    parts[1] = f"<normalised sha256 {digest}>"
            elif "bin/" in parts[0]:
                # --target/--prefix: RECORD paths point into the temporary
                # install dir pip moved away; scripts there name the venv.
                parts[1] = "<script written by the installer>"
        lines.append(",".join(parts))
    return ("\n".join(lines) + "\n").encode()


def snapshot(root: Path, side: Side, *, skip_pip: bool = True) -> dict[str, str]:
    """``{relative path: description}`` of everything under ``root``.

    Files are described by the sha256 of their content with side-specific
    paths normalised (installer records, ``.pyc`` files and scripts name the
    venv), symlinks by their normalised target, directories by ``<dir>``.
    """
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if skip_pip and _SNAPSHOT_SKIP.match(rel):
            continue
        if path.is_symlink():
            out[rel] = "-> " + normalize(os.readlink(path), side)
        elif path.is_dir():
            out[rel] = "<dir>"
        else:
            data = _normalize_bytes(path.read_bytes(), side)
            if path.name == "RECORD" and path.parent.name.endswith(".dist-info"):
                data = _normalize_record(data, path, side)
            mode = "x" if os.access(path, os.X_OK) else "-"
            out[rel] = f"{mode} {hashlib.sha256(data).hexdigest()[:16]} {len(data)}"
    return out


# --------------------------------------------------------------------------
# Results and intended differences
# --------------------------------------------------------------------------


@dataclass
class StepResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def text(self) -> str:
        return (
            f"$ pip {' '.join(self.args)}\n[exit {self.returncode}]\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


@dataclass
class Outcome:
    """Everything one side of a case produced (normalised)."""

    steps: list[StepResult]
    trees: dict[str, dict[str, str]]

    def clone(self) -> Outcome:
        return copy.deepcopy(self)


class DifferenceNotSeen(AssertionError):
    """A declared intended difference did not show up: the declaration is stale."""


@dataclass(frozen=True)
class IntendedDifference:
    """A documented way the fork's output differs from stock pip's.

    ``apply(fork, stock, step)`` checks that the difference is present exactly
    as documented in step ``step`` (``None``: the whole outcome) and returns the
    two outcomes with it removed; it raises :class:`DifferenceNotSeen` (or
    AssertionError) when the outputs do not show it.
    """

    name: str
    why: str
    apply: Callable[[Outcome, Outcome, int | None], tuple[Outcome, Outcome]]


def _require(cond: bool, what: str, *results: StepResult) -> None:
    if not cond:
        detail = "\n".join(r.text() for r in results)
        raise DifferenceNotSeen(f"{what}\n{detail}")


def _steps(outcome: Outcome, step: int | None) -> Iterable[int]:
    return range(len(outcome.steps)) if step is None else (step,)


# -- version --------------------------------------------------------------------------

_VERSION_FORMS = (
    (FORK_VERSION, STOCK_VERSION),
    (FORK_VERSION.replace("+", "%2B"), STOCK_VERSION),
)
_DASHES = re.compile(r"^-+(?: -+)*$")


def _split_row(row: str, widths: list[int]) -> list[str]:
    cells, pos = [], 0
    for k, width in enumerate(widths):
        last = k == len(widths) - 1
        cells.append((row[pos:] if last else row[pos : pos + width]).strip())
        pos += width + 1
    return cells


def retabulate(text: str, transform: Callable[[str], str]) -> str:
    """Apply ``transform`` to every cell of pip's column tables (``pip list``)
    and re-render them the way pip's ``tabulate`` does (left-justified to the
    widest cell, one space between columns): the fork's longer version string
    widens the Version column, so replacing it needs a re-render."""
    lines = text.split("\n")
    i = 1
    while i < len(lines):
        if not _DASHES.match(lines[i]):
            i += 1
            continue
        widths = [len(d) for d in lines[i].split(" ")]
        end = i + 1
        while end < len(lines) and lines[end].strip():
            end += 1
        raw = [_split_row(r, widths) for r in (lines[i - 1], *lines[i + 1 : end])]
        rows = [[transform(c) for c in r] for r in raw]
        # Only columns the transform touched are re-measured: the others keep
        # pip's width (which counts the un-normalised paths of a Location
        # column, equal on both sides).
        sizes = [
            max(len(r[k]) for r in rows)
            if any(r[k] != t[k] for r, t in zip(raw, rows, strict=True))
            else widths[k]
            for k in range(len(widths))
        ]
        out = [
            " ".join(c.ljust(w) for c, w in zip(r, sizes, strict=True)).rstrip()
            for r in rows
        ]
        lines[i - 1 : end] = [out[0], " ".join("-" * w for w in sizes), *out[1:]]
        i = end
    return "\n".join(lines)


def _plain_replace(text: str) -> str:
    for old, stock in _VERSION_FORMS:
        text = text.replace(old, stock)
    return text


def replace_version(text: str) -> str:
    """The fork's version -> stock's, in text (and in pip list's columns)."""
    if not any(old in text for old, _ in _VERSION_FORMS):
        return text
    return _plain_replace(retabulate(text, _plain_replace))


def _version(
    fork: Outcome, stock: Outcome, step: int | None
) -> tuple[Outcome, Outcome]:
    fork = fork.clone()
    seen = False
    for i in _steps(fork, step):
        r = fork.steps[i]
        seen = seen or any(old in r.stdout + r.stderr for old, _ in _VERSION_FORMS)
        r.stdout, r.stderr = replace_version(r.stdout), replace_version(r.stderr)
    _require(seen, f"the fork's version {FORK_VERSION} does not appear", *fork.steps)
    return fork, stock


# -- pip debug's libc section ---------------------------------------------------------

_LIBC_SECTION = re.compile(r"^libc:\n(?:  .*\n)+", re.M)


def _libc_section(
    fork: Outcome, stock: Outcome, step: int | None
) -> tuple[Outcome, Outcome]:
    fork = fork.clone()
    for i in _steps(fork, step):
        f, s = fork.steps[i], stock.steps[i]
        m = _LIBC_SECTION.search(f.stdout)
        _require(m is not None, "pip debug printed no libc: section", f)
        assert m is not None
        block = m.group(0)
        _require(
            "  family: glibc\n" in block and "  loader (PT_INTERP): " in block,
            "the libc: section does not report glibc and its loader",
            f,
        )
        _require("libc:" not in s.stdout, "stock pip printed a libc: section", s)
        f.stdout = f.stdout.replace(block, "", 1)
    return fork, stock


# -- --skip-wheel-abi-check in --help -------------------------------------------------

_HELP_OPTION = re.compile(
    r"^  --skip-wheel-abi-check +Install binary wheels without checking .*\n"
    r"(?: {20,}\S.*\n)*",
    re.M,
)


def _help_option(
    fork: Outcome, stock: Outcome, step: int | None
) -> tuple[Outcome, Outcome]:
    fork = fork.clone()
    for i in _steps(fork, step):
        f, s = fork.steps[i], stock.steps[i]
        m = _HELP_OPTION.search(f.stdout)
        _require(m is not None, "--help does not list --skip-wheel-abi-check", f)
        assert m is not None
        _require("--skip-wheel-abi-check" not in s.stdout, "stock lists it", s)
        f.stdout = f.stdout.replace(m.group(0), "", 1)
    return fork, stock


# -- the check-wheel command ----------------------------------------------------------

_CHECK_WHEEL_LISTED = re.compile(
    r"^  check-wheel +Check whether wheel files can load on this host\.\n", re.M
)


def _check_wheel_listed(
    fork: Outcome, stock: Outcome, step: int | None
) -> tuple[Outcome, Outcome]:
    fork = fork.clone()
    for i in _steps(fork, step):
        f, s = fork.steps[i], stock.steps[i]
        m = _CHECK_WHEEL_LISTED.search(f.stdout)
        _require(m is not None, "pip --help does not list check-wheel", f)
        assert m is not None
        _require("check-wheel" not in s.stdout, "stock lists check-wheel", s)
        f.stdout = f.stdout.replace(m.group(0), "", 1)
    return fork, stock


def _check_wheel_unknown_to_stock(
    fork: Outcome, stock: Outcome, step: int | None
) -> tuple[Outcome, Outcome]:
    """``pip check-wheel`` is the fork's own command: stock pip exits 1 with
    'unknown command'. The fork's verdict on the glibc host is checked here."""
    fork, stock = fork.clone(), stock.clone()
    for i in _steps(fork, step):
        f, s = fork.steps[i], stock.steps[i]
        _require(
            f.returncode == 0
            and re.fullmatch(
                r"Host: glibc [\d.]+ \(x86_64\)\n(\S+\.whl: can load here\n)+",
                f.stdout,
            )
            is not None,
            "pip check-wheel did not say the wheels can load on this glibc host",
            f,
        )
        _require(
            s.returncode == 1 and 'ERROR: unknown command "check-wheel"' in s.stderr,
            "stock pip did not refuse check-wheel as an unknown command",
            s,
        )
        for r in (f, s):
            r.returncode, r.stdout, r.stderr = 0, "<command difference>\n", ""
    return fork, stock


# -- the self version check -----------------------------------------------------------

_NOTICE = re.compile(
    r"\n?\[notice\] A new release of pip is available: "
    rf"{re.escape(STOCK_VERSION)} -> (?P<new>\S+)\n"
    r"\[notice\] To update, run: .*pip install --upgrade pip\n"
)


def _self_version_check(
    fork: Outcome, stock: Outcome, step: int | None
) -> tuple[Outcome, Outcome]:
    stock = stock.clone()
    for i in _steps(stock, step):
        f, s = fork.steps[i], stock.steps[i]
        m = _NOTICE.search(s.stderr)
        _require(m is not None, "stock pip printed no 'new release' notice", s)
        assert m is not None
        _require("[notice]" not in f.stderr, "the fork printed a notice", f)
        s.stderr = s.stderr.replace(m.group(0), "", 1)
    return fork, stock


# -- pip's own distribution metadata --------------------------------------------------


_PIP_DIRECT_URL = re.compile(
    r"^pip @ file://(?P<path>\S+)\.whl#sha256=[0-9a-f]{64}$", re.M
)


def _pip_metadata(
    fork: Outcome, stock: Outcome, step: int | None
) -> tuple[Outcome, Outcome]:
    """pip's own installed distribution is the fork's: its METADATA (``pip
    inspect``) and the wheel it was installed from (``pip freeze --all`` says
    ``pip @ file://…``). Removed after checking each side names its own."""
    fork, stock = fork.clone(), stock.clone()
    for i in _steps(fork, step):
        for outcome, version in ((fork, FORK_VERSION), (stock, STOCK_VERSION)):
            r = outcome.steps[i]
            if r.stdout.startswith("{"):
                report = json.loads(r.stdout)
                pips = [
                    d for d in report["installed"] if d["metadata"]["name"] == "pip"
                ]
                _require(len(pips) == 1, "pip inspect lists no pip", r)
                _require(
                    pips[0]["metadata"]["version"] == version,
                    f"pip's own metadata does not say {version}",
                    r,
                )
                report["installed"].remove(pips[0])
                r.stdout = json.dumps(report, indent=2, sort_keys=True) + "\n"
            else:
                m = _PIP_DIRECT_URL.search(r.stdout)
                _require(
                    m is not None
                    and m["path"].endswith(
                        f"pip-{version.replace('+', '%2B')}-py3-none-any"
                    ),
                    f"pip freeze --all does not name pip {version}'s wheel",
                    r,
                )
                r.stdout = _PIP_DIRECT_URL.sub("pip @ <pip's own wheel>", r.stdout)
    return fork, stock


# -- ABI check verdict at -v ----------------------------------------------------------

_ABI_VERDICT = re.compile(
    r"^  Wheel ABI check: \S+\.whl can load on this host \(glibc [\d.]+ \(x86_64\)\)\n",
    re.M,
)


def _abi_check_verbose(
    fork: Outcome, stock: Outcome, step: int | None
) -> tuple[Outcome, Outcome]:
    fork = fork.clone()
    for i in _steps(fork, step):
        f, s = fork.steps[i], stock.steps[i]
        found = _ABI_VERDICT.findall(f.stdout)
        _require(bool(found), "-v shows no 'Wheel ABI check' verdict", f)
        _require("Wheel ABI check" not in s.stdout, "stock logs a verdict", s)
        f.stdout = _ABI_VERDICT.sub("", f.stdout)
    return fork, stock


# -- --skip-wheel-abi-check is the fork's own option ----------------------------------


def _option_unknown_to_stock(
    fork: Outcome, stock: Outcome, step: int | None
) -> tuple[Outcome, Outcome]:
    """Stock pip rejects the option; the step's outputs are replaced by the
    two checked facts (the fork accepted it, stock refused it as unknown)."""
    fork, stock = fork.clone(), stock.clone()
    for i in _steps(fork, step):
        f, s = fork.steps[i], stock.steps[i]
        _require(f.returncode == 0, "the fork refused --skip-wheel-abi-check", f)
        _require(
            s.returncode == 2 and "no such option: --skip-wheel-abi-check" in s.stderr,
            "stock pip did not refuse --skip-wheel-abi-check as unknown",
            s,
        )
        for r in (f, s):
            r.returncode, r.stdout, r.stderr = 0, "<option difference>\n", ""
    return fork, stock


# -- --platform musllinux_1_M_<arch> expansion ---------------------------------------


def _musllinux_expansion(
    fork: Outcome, stock: Outcome, step: int | None
) -> tuple[Outcome, Outcome]:
    """``download --platform musllinux_1_2_x86_64`` of a project that has only a
    musllinux_1_1 wheel: the fork expands 1_2 to 1_2/1_1/1_0 and saves it;
    stock pip takes the platform literally and finds nothing."""
    fork, stock = fork.clone(), stock.clone()
    assert step is not None
    f, s = fork.steps[step], stock.steps[step]
    saved = re.search(r"^Saved (\S+musllinux_1_1_x86_64\.whl)$", f.stdout, re.M)
    _require(f.returncode == 0 and saved is not None, "the fork saved no 1_1 wheel", f)
    _require(
        s.returncode == 1 and "ERROR: No matching distribution found for" in s.stderr,
        "stock pip did not report 'No matching distribution'",
        s,
    )
    for r in (f, s):
        r.returncode, r.stdout, r.stderr = 0, "<platform expansion>\n", ""
    # The download directory: the fork's holds exactly that wheel.
    assert saved is not None
    name = saved.group(1).rsplit("/", 1)[-1]
    for tree in fork.trees.values():
        _require(name in tree, f"{name} is not in the fork's download dir", f)
        del tree[name]
    return fork, stock


def _debug_musllinux_expansion(
    fork: Outcome, stock: Outcome, step: int | None
) -> tuple[Outcome, Outcome]:
    """``pip debug --verbose --platform musllinux_1_2_x86_64``: the fork's tag
    list has the expanded musllinux_1_1/1_0 tags too."""
    fork = fork.clone()
    assert step is not None
    f, s = fork.steps[step], stock.steps[step]
    extra = re.compile(r"^  \S+-musllinux_1_[01]_x86_64\n", re.M)
    lines = extra.findall(f.stdout)
    _require(bool(lines), "the fork's debug shows no musllinux_1_1/1_0 tags", f)
    _require(not extra.findall(s.stdout), "stock expanded the platform", s)
    f.stdout = extra.sub("", f.stdout)

    def count(text: str) -> int:
        m = re.search(r"^Compatible tags: (\d+)", text, re.M)
        assert m, text
        return int(m.group(1))

    _require(
        count(f.stdout) == count(s.stdout) + len(lines),
        "the fork's tag count is not stock's plus the expanded tags",
        f,
        s,
    )
    f.stdout = re.sub(
        r"^Compatible tags: \d+",
        f"Compatible tags: {count(s.stdout)}",
        f.stdout,
        count=1,
        flags=re.M,
    )
    return fork, stock


# -- malformed musl platforms ---------------------------------------------------------


def _malformed_musl_platform(
    fork: Outcome, stock: Outcome, step: int | None
) -> tuple[Outcome, Outcome]:
    fork, stock = fork.clone(), stock.clone()
    assert step is not None
    f, s = fork.steps[step], stock.steps[step]
    _require(
        f.returncode == 1
        and re.search(
            r"^ERROR: invalid platform '[^']+': a musllinux platform is "
            r"musllinux_<major>_<minor>_<arch>",
            f.stderr,
            re.M,
        )
        is not None
        and f.stdout == "",
        "the fork did not refuse the malformed platform up front",
        f,
    )
    _require(
        s.returncode == 1 and "ERROR: No matching distribution found for" in s.stderr,
        "stock pip did not just find nothing",
        s,
    )
    for r in (f, s):
        r.returncode, r.stdout, r.stderr = 1, "<malformed platform>\n", ""
    return fork, stock


DIFFERENCES: dict[str, IntendedDifference] = {
    d.name: d
    for d in (
        IntendedDifference(
            "version",
            "The fork's version is 26.3+musl.1 (pip --version, pip debug, the "
            "report's pip_version, pip's own entry in list/freeze --all); stock "
            "says 26.3. Replaced wherever it appears: it is the one global "
            "difference.",
            _version,
        ),
        IntendedDifference(
            "libc-debug-section",
            "pip debug prints a libc: section (family, version, loader, how it "
            "was detected) before the tags (patch point "
            "pip._internal.commands.debug.show_tags).",
            _libc_section,
        ),
        IntendedDifference(
            "help-skip-wheel-abi-check",
            "Every command's --help lists the fork's general option "
            "--skip-wheel-abi-check (patch point cmdoptions.general_group).",
            _help_option,
        ),
        IntendedDifference(
            "help-check-wheel-command",
            "pip --help lists the fork's own command check-wheel (patch point "
            "pip._internal.commands.commands_dict).",
            _check_wheel_listed,
        ),
        IntendedDifference(
            "check-wheel-unknown-to-stock",
            "pip check-wheel (will these wheels load here?) is the fork's own "
            "command: stock pip exits 1 with 'unknown command'.",
            _check_wheel_unknown_to_stock,
        ),
        IntendedDifference(
            "self-version-check-silenced",
            "Stock pip prints '[notice] A new release of pip is available' when "
            "the index has a newer pip; the fork never does, because that "
            "upgrade would replace it with stock pip (patch point "
            "self_outdated_check.pip_self_version_check_fetch).",
            _self_version_check,
        ),
        IntendedDifference(
            "pip-own-metadata",
            "pip's own installed distribution is the fork's: pip inspect shows "
            "its METADATA (summary, description, classifiers, project URLs) and "
            "pip freeze --all the wheel it was installed from; every other "
            "entry must match.",
            _pip_metadata,
        ),
        IntendedDifference(
            "abi-check-verbose-verdict",
            "pip install -v logs the install-time check's verdict for each "
            "binary wheel it opens ('Wheel ABI check: … can load on this host "
            "(glibc …)'); on glibc that is generic linux_<arch> wheels, since "
            "manylinux wheels are trusted there.",
            _abi_check_verbose,
        ),
        IntendedDifference(
            "skip-wheel-abi-check-unknown-to-stock",
            "--skip-wheel-abi-check is the fork's own option: stock pip exits 2 "
            "with 'no such option'.",
            _option_unknown_to_stock,
        ),
        IntendedDifference(
            "musllinux-platform-expansion",
            "--platform musllinux_1_2_<arch> expands to musllinux_1_2/1_1/1_0 "
            "(like manylinux2014 expands); stock pip takes it literally.",
            _musllinux_expansion,
        ),
        IntendedDifference(
            "debug-musllinux-platform-expansion",
            "The same expansion, seen in pip debug --verbose --platform.",
            _debug_musllinux_expansion,
        ),
        IntendedDifference(
            "malformed-musl-platform",
            "A malformed musl --platform is an error before any work is done; "
            "stock pip searches and finds nothing.",
            _malformed_musl_platform,
        ),
    )
}


def unified_diff(a: str, b: str, label_a: str = "fork", label_b: str = "stock") -> str:
    import difflib

    return "".join(
        difflib.unified_diff(
            a.splitlines(keepends=True),
            b.splitlines(keepends=True),
            fromfile=label_a,
            tofile=label_b,
        )
    )
