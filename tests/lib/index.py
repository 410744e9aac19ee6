"""A real local package index for tests: pypiserver on 127.0.0.1.

* :class:`LocalIndex` runs ``python -m pypiserver run`` on a free loopback port
  with its own packages directory, no authentication and no fallback to PyPI,
  and uploads files to it over HTTP with the ordinary (legacy) upload API, or
  with ``twine``. ``.url`` is the ``/simple/`` URL for ``--index-url``; any
  interpreter on this machine (glibc or musl CPython) can use it.
* ``local_index`` (per test) and ``local_index_session`` (per session) are
  pytest fixtures around it. The server's output goes to a log file whose path
  and tail are printed at teardown: pytest shows that output for a failing test.
* :func:`build_tools_wheels` downloads (once, cached) the ``py3-none-any`` wheels
  an isolated build of the test sdist needs, to be uploaded to the local index so
  build isolation works offline.
* :func:`pip_env` is an environment for running pip against the local index only
  (no pip config files, no ``PIP_*`` variables from the outer environment).

Registering this module as a plugin (``pytest_plugins = ["tests.lib.index"]`` in
the root ``conftest.py``) makes the fixtures available everywhere and records
each test's outcome on its item (``item.rep_call``), which the fixtures use to
say "test failed" next to the log. Importing the fixtures into a test module
works too.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

__all__ = [
    "BUILD_TOOLS",
    "LocalIndex",
    "LocalIndexError",
    "build_tools_wheels",
    "cache_dir",
    "local_index",
    "local_index_session",
    "pip_env",
    "port_is_open",
]

#: Pinned build requirements of the test sdist (``setuptools>=70.1`` builds
#: wheels without the ``wheel`` package).
BUILD_TOOLS: tuple[str, ...] = ("setuptools==80.9.0",)

_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


class LocalIndexError(RuntimeError):
    """The local index could not be started, or refused an upload."""


# --------------------------------------------------------------------------
# Environment helpers
# --------------------------------------------------------------------------


def cache_dir() -> Path:
    """``${PIP_MUSL_CACHE:-$HOME/.cache/pip-musl}``."""
    env = os.environ.get("PIP_MUSL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "pip-musl"


def pip_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """An environment in which pip sees no configuration but the command line.

    Drops ``PIP_*`` (keeping ``PIP_CERT`` and ``PIP_DEFAULT_TIMEOUT``),
    ``PYTHONPATH`` and ``VIRTUAL_ENV``; points ``PIP_CONFIG_FILE`` at
    ``os.devnull`` (pip then skips all config files, which on this machine add
    find-links, extra indexes and constraints); disables the version check and
    prompts. Build-isolation subprocesses inherit it. ``extra`` is added last.
    (Same policy as ``tests.lib.venvs.clean_env``.)
    """
    src = os.environ if base is None else base
    keep = ("PIP_CERT", "PIP_DEFAULT_TIMEOUT")
    env = {
        k: v
        for k, v in src.items()
        if k in keep or not k.startswith(("PIP_", "PYTHONPATH", "VIRTUAL_ENV"))
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env.update(extra)
    return env


def _require_module(python: str, module: str, hint: str) -> None:
    proc = subprocess.run(
        [python, "-c", f"import {module}"], capture_output=True, check=False, text=True
    )
    if proc.returncode != 0:
        raise LocalIndexError(
            f"{module} is not importable by {python}: {hint}\n{proc.stderr.strip()}"
        )


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_is_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------

_WHEEL_RE = re.compile(
    r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-(?P<build>\d[^-]*))?"
    r"-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$"
)
_SDIST_RE = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+)\.(?:tar\.gz|zip)$")


def _upload_fields(path: Path) -> dict[str, str]:
    """Form fields of the legacy upload API, derived from the file name."""
    m = _WHEEL_RE.match(path.name)
    if m:
        filetype, pyversion = "bdist_wheel", m["py"]
    else:
        m = _SDIST_RE.match(path.name)
        if not m:
            raise ValueError(f"not a wheel or sdist file name: {path.name}")
        filetype, pyversion = "sdist", "source"
    data = path.read_bytes()
    return {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": m["name"],
        "version": m["version"],
        "filetype": filetype,
        "pyversion": pyversion,
        "md5_digest": hashlib.md5(data).hexdigest(),
        "sha256_digest": hashlib.sha256(data).hexdigest(),
        "blake2_256_digest": hashlib.blake2b(data, digest_size=32).hexdigest(),
    }


def _multipart(
    fields: Mapping[str, str], file_field: str, path: Path
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out: list[bytes] = []
    for k, v in fields.items():
        out.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
            f"{v}\r\n".encode()
        )
    out.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="{path.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    out.append(path.read_bytes())
    out.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


class LocalIndex:
    """pypiserver serving ``packages_dir`` on ``host`` (a free port).

    Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        packages_dir: str | os.PathLike[str],
        log_path: str | os.PathLike[str],
        *,
        python: str = sys.executable,
        host: str = "127.0.0.1",
        overwrite: bool = False,
    ) -> None:
        self.packages_dir = Path(packages_dir)
        self.log_path = Path(log_path)
        self.python = python
        self.host = host
        self.overwrite = overwrite
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # -- URLs -------------------------------------------------------------

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:<port>/`` — the upload URL."""
        if self.port is None:
            raise LocalIndexError("local index is not started")
        return f"http://{self.host}:{self.port}/"

    @property
    def url(self) -> str:
        """The ``/simple/`` URL, for ``pip --index-url``."""
        return self.root_url + "simple/"

    # -- lifecycle --------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _command(self, port: int) -> list[str]:
        cmd = [
            self.python,
            "-m",
            "pypiserver",
            "run",
            "-v",
            "-i",
            self.host,
            "-p",
            str(port),
            "-a",
            ".",
            "-P",
            ".",  # no authentication at all
            "--disable-fallback",  # never redirect to pypi.org
            "--backend",
            "simple-dir",  # no listing cache: uploads show at once
            "--hash-algo",
            "sha256",
        ]
        if self.overwrite:
            cmd.append("--overwrite")
        cmd.append(str(self.packages_dir))
        return cmd

    def start(self, timeout: float = _START_TIMEOUT) -> LocalIndex:
        if self.is_running:
            return self
        _require_module(
            self.python, "pypiserver", "install pypiserver in the test environment"
        )
        self.packages_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        last_error = ""
        for _attempt in range(3):  # the free port may be taken before we bind it
            port = _free_port(self.host)
            with open(self.log_path, "ab") as log:
                log.write(f"--- starting: {' '.join(self._command(port))}\n".encode())
                log.flush()
                self._proc = subprocess.Popen(
                    self._command(port),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            self.port = port
            if self._wait_ready(timeout):
                return self
            last_error = self.log_tail()
            self.stop()
        raise LocalIndexError(
            f"pypiserver did not come up on {self.host} "
            f"(log {self.log_path}):\n{last_error}"
        )

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url, timeout=2) as resp:
                    if resp.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        return False

    def stop(self, timeout: float = _STOP_TIMEOUT) -> None:
        """Terminate the server; kill it if it does not exit within ``timeout``."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)

    def __enter__(self) -> LocalIndex:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- content ----------------------------------------------------------

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def files(self) -> list[str]:
        """Names of the files in the packages directory."""
        return sorted(p.name for p in self.packages_dir.iterdir() if p.is_file())

    def get(self, path: str) -> str:
        """GET ``path`` (relative to the root URL) and return the body as text."""
        with urllib.request.urlopen(self.root_url + path.lstrip("/"), timeout=10) as r:
            body: bytes = r.read()
        return body.decode("utf-8", "replace")

    def project_page(self, project: str) -> str:
        """The ``/simple/<project>/`` page."""
        return self.get(f"simple/{project}/")

    def upload(self, path: str | os.PathLike[str], *, method: str = "http") -> None:
        """Upload one wheel or sdist.

        ``method="http"``: a multipart POST of the legacy upload API
        (``:action=file_upload``, ``content`` file field, digests) with urllib;
        no dependencies. ``method="twine"``: ``python -m twine upload`` (twine
        must be importable by :attr:`python`).
        """
        self.upload_all([path], method=method)

    def upload_all(
        self, paths: Iterable[str | os.PathLike[str]], *, method: str = "http"
    ) -> None:
        files = [Path(p) for p in paths]
        for p in files:
            if not p.is_file():
                raise FileNotFoundError(p)
        if not self.is_running:
            raise LocalIndexError(f"local index is not running (log {self.log_path})")
        if method == "http":
            for p in files:
                self._upload_http(p)
        elif method == "twine":
            self._upload_twine(files)
        else:
            raise ValueError(f"unknown upload method {method!r}")

    def _upload_http(self, path: Path) -> None:
        body, ctype = _multipart(_upload_fields(path), "content", path)
        auth = base64.b64encode(b"x:x").decode()
        req = urllib.request.Request(
            self.root_url,
            data=body,
            method="POST",
            headers={"Content-Type": ctype, "Authorization": f"Basic {auth}"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                resp.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")[-2000:]
            raise LocalIndexError(
                f"upload of {path.name} refused: HTTP {e.code}\n{detail}\n"
                f"--- pypiserver log {self.log_path}:\n{self.log_tail(20)}"
            ) from None

    def _upload_twine(self, files: Sequence[Path]) -> None:
        _require_module(self.python, "twine", "install twine in the test environment")
        cmd = [
            self.python,
            "-m",
            "twine",
            "upload",
            "--repository-url",
            self.root_url,
            "-u",
            "x",
            "-p",
            "x",
            "--disable-progress-bar",
            "--non-interactive",
            *map(str, files),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWINE_")}
        proc = subprocess.run(cmd, capture_output=True, check=False, text=True, env=env)
        if proc.returncode != 0:
            raise LocalIndexError(
                f"twine upload failed (exit {proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}\n"
                f"--- pypiserver log {self.log_path}:\n{self.log_tail(20)}"
            )


# --------------------------------------------------------------------------
# Build tools for isolated sdist builds
# --------------------------------------------------------------------------


def build_tools_wheels(
    requirements: Sequence[str] = BUILD_TOOLS, *, python: str = sys.executable
) -> list[Path]:
    """Return cached ``py3-none-any`` wheels for pinned ``requirements``.

    They live in ``<cache_dir()>/wheels/``; missing ones are fetched with
    ``<python> -m pip download --only-binary=:all: --no-deps <req> -d …``
    (this machine's normal pip configuration applies to that download). Each
    requirement must be pinned with ``==``.
    """
    wheels_dir = cache_dir() / "wheels"
    wheels_dir.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    with open(wheels_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for req in requirements:
            name, sep, version = req.partition("==")
            if not sep or not version:
                raise ValueError(f"requirement {req!r} must be pinned with ==")
            stem = f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-"
            found = sorted(wheels_dir.glob(f"{stem}*-none-any.whl"))
            if not found:
                with tempfile.TemporaryDirectory(dir=wheels_dir) as tmp:
                    proc = subprocess.run(
                        [
                            python,
                            "-m",
                            "pip",
                            "download",
                            "--disable-pip-version-check",
                            "--only-binary=:all:",
                            "--no-deps",
                            req,
                            "-d",
                            tmp,
                        ],
                        capture_output=True,
                        check=False,
                        text=True,
                    )
                    got = sorted(Path(tmp).glob(f"{stem}*-none-any.whl"))
                    if proc.returncode != 0 or not got:
                        raise LocalIndexError(
                            f"could not download {req} (exit {proc.returncode}):\n"
                            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
                        )
                    for g in got:
                        shutil.move(str(g), wheels_dir / g.name)
                found = sorted(wheels_dir.glob(f"{stem}*-none-any.whl"))
            out.append(found[-1])
    return out


# --------------------------------------------------------------------------
# pytest integration
# --------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Record each phase's report on the item (``item.rep_setup`` / ``rep_call``)."""
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


def _report(index: LocalIndex, node: Any) -> None:
    rep = getattr(node, "rep_call", None)
    state = "FAILED" if rep is not None and rep.failed else "finished"
    # Captured output of teardown is shown by pytest when the test failed.
    print(
        f"\n[local_index] test {state}; pypiserver at {index.url}, "
        f"packages {index.packages_dir}, log {index.log_path}:\n{index.log_tail()}"
    )


@contextlib.contextmanager
def _running_index(base: Path, node: Any) -> Iterator[LocalIndex]:
    index = LocalIndex(base / "packages", base / "pypiserver.log")
    index.start()
    try:
        yield index
    finally:
        index.stop()
        _report(index, node)


@pytest.fixture
def local_index(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LocalIndex]:
    """A fresh, empty pypiserver for one test."""
    with _running_index(tmp_path_factory.mktemp("local-index"), request.node) as idx:
        yield idx


@pytest.fixture(scope="session")
def local_index_session(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LocalIndex]:
    """One pypiserver shared by the whole session (uploads accumulate)."""
    with _running_index(
        tmp_path_factory.mktemp("local-index-session"), request.node
    ) as idx:
        yield idx
