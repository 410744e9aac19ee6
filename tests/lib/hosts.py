"""The real-musl hosts: every (CPython, musl release) pair the tests run on.

One place for the host matrix. Each host is a musl CPython built by
``tools/build-musl-python.sh`` (3.11 from bookworm, 3.13 from trixie, 3.14 from
sid, all compiled with bookworm's musl-gcc) run on one real musl release:

* 1.2.3 — the system's ``/lib/ld-musl-x86_64.so.1`` (Debian bookworm's
  ``musl``): the interpreter as built;
* 1.2.5 (trixie) and 1.2.6 (sid) — Debian's ``musl`` package unpacked into the
  cache; the interpreter is a copy whose PT_INTERP names that loader
  (``patchelf --set-interpreter``).

How a test chooses its hosts (see ``tests/conftest.py``): a test that uses the
``musl_host`` fixture, directly or through ``musl_python``, ``musl_fork_venv``,
``musl_stock_venv``, ``hosts`` …, runs on :data:`PRIMARY` only; marked
``@pytest.mark.every_musl_host`` (or a module with that in ``pytestmark``) it
runs once per host in :data:`HOSTS`; marked ``@pytest.mark.every_python_minor``
once per CPython minor (:func:`one_host_per_python`: for what the musl release
cannot change). ``PIP_MUSL_HOST_SET=all`` runs every such
test on every host; ``PIP_MUSL_HOST_SET=py313-musl1.2.6,py311-musl1.2.3`` runs
exactly those.

Expectations that differ by host are written from :attr:`MuslHost.musl`
(e.g. :attr:`MuslHost.loads_statx`), never by skipping.

A CPython whose Debian source the archive lists but does not serve (found on
the CI machine for sid's python3.14: every orig tarball answers 404) cannot be
built; the build script names it in the host list (``#unavailable``) and its
hosts are not collected. ``tests/e2e/test_hosts.py`` checks that nothing else
is missing.

The aarch64 hosts (:data:`AARCH64_HOSTS`, ``build-musl-python.sh --aarch64``)
are one CPython 3.13 cross-built for arm64 and run under ``qemu-aarch64`` on
Debian's arm64 musl 1.2.3 and 1.2.5 loaders: :attr:`MuslHost.command` is how to
start one. Emulation is ~10x slower, so they are not in :data:`HOSTS` (nor in
``every_musl_host``): ``tests/e2e/test_aarch64.py`` parametrizes its own
``aarch64_host`` fixture over them.
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "tools" / "build-musl-python.sh"

MuslRelease = tuple[int, int, int]

PYTHON_VERSIONS = ("3.11", "3.13", "3.14")
MUSL_RELEASES: tuple[MuslRelease, ...] = ((1, 2, 3), (1, 2, 5), (1, 2, 6))

#: musl's dynamic linker applies DT_RELR from this release on.
RELR_RELEASE: MuslRelease = (1, 2, 4)
#: The first musl release exporting ``statx``.
STATX_RELEASE: MuslRelease = (1, 2, 5)


def _release_text(release: MuslRelease) -> str:
    return ".".join(map(str, release))


@dataclass(frozen=True)
class HostSpec:
    """A host by name, known without building anything (for collection)."""

    python_version: str  #: ``"3.13"``
    musl: MuslRelease  #: ``(1, 2, 5)``
    #: The interpreter's machine (``uname -m`` spelling); keyword-only, so the
    #: positional fields of :class:`MuslHost` stay where they were.
    arch: str = field(default="x86_64", kw_only=True)

    @property
    def name(self) -> str:
        base = f"py{self.python_version.replace('.', '')}-musl{_release_text(self.musl)}"
        return base if self.arch == "x86_64" else f"{base}-{self.arch}"


@dataclass(frozen=True)
class MuslHost(HostSpec):
    """A host with its interpreter (the base interpreter; venvs are made of it)."""

    interpreter: Path = Path()
    #: The interpreter's PT_INTERP: that musl release's loader.
    loader: str = ""
    #: Shared libraries an Alpine base image has (``libz.so.1``), built with
    #: musl-gcc: what a musllinux wheel may expect from the system.
    system_libs: Path = Path()
    #: What runs a foreign-architecture interpreter (``("/usr/bin/qemu-aarch64",)``);
    #: empty for the native hosts.
    emulator: tuple[str, ...] = field(default=(), kw_only=True)

    @property
    def command(self) -> list[str]:
        """The argv prefix that starts this host's interpreter."""
        return [*self.emulator, str(self.interpreter)]

    @property
    def musl_text(self) -> str:
        """How the fork names this host's libc: ``musl 1.2.5``."""
        return f"musl {_release_text(self.musl)}"

    @property
    def host_text(self) -> str:
        """The fork's host description: ``musl 1.2.5 (x86_64)``."""
        return f"{self.musl_text} ({self.arch})"

    @property
    def cp_tag(self) -> str:
        """Interpreter and ABI tag: ``cp313``."""
        return "cp" + self.python_version.replace(".", "")

    @property
    def ext_suffix(self) -> str:
        minor = self.python_version.replace(".", "")
        return f".cpython-{minor}-{self.arch}-linux-musl.so"

    @property
    def loads_statx(self) -> bool:
        """Whether this host's libc exports ``statx`` (musl >= 1.2.5)."""
        return self.musl >= STATX_RELEASE

    @property
    def loads_relr(self) -> bool:
        """Whether this host's loader applies ``DT_RELR`` (musl >= 1.2.4)."""
        return self.musl >= RELR_RELEASE


#: Every host, in a stable order.
HOSTS: tuple[HostSpec, ...] = tuple(
    HostSpec(py, musl) for py in PYTHON_VERSIONS for musl in MUSL_RELEASES
)
#: What current Alpine users have: musl 1.2.5 and CPython 3.13.
PRIMARY = HostSpec("3.13", (1, 2, 5))
#: The old-musl host (Alpine 3.17 era, Debian bookworm's system musl).
OLD_MUSL = (1, 2, 3)

HOST_SET_ENV = "PIP_MUSL_HOST_SET"
#: Set by nox: a file with the lines of ``build-musl-python.sh --print-hosts``.
HOSTS_FILE_ENV = "PIP_MUSL_HOSTS_FILE"


@functools.cache
def unavailable_pythons() -> dict[str, str]:
    """CPython versions the build script could not get sources for (the Debian
    archive lists them but serves no tarball): version -> reason. Their hosts
    are not made, and not collected. Empty when the hosts are not built yet
    (then every host is collected and fails, saying what is missing)."""
    try:
        lines = _host_lines()
    except LookupError:
        return {}
    out = {}
    for line in lines.splitlines():
        if line.startswith("#unavailable\t"):
            _, version, reason = line.split("\t", 2)
            out[version] = reason
    return out


def planned_hosts() -> list[HostSpec]:
    """:data:`HOSTS` less those of :func:`unavailable_pythons`."""
    missing = unavailable_pythons()
    return [h for h in HOSTS if h.python_version not in missing]


#: Which hosts a test runs on: :data:`PRIMARY` only, one per CPython minor
#: (:func:`one_host_per_python`), or every host.
HostSelection = Literal["primary", "per-python", "every"]


def selected_hosts(selection: HostSelection) -> list[HostSpec]:
    """The hosts a test runs on, by its ``selection``; ``PIP_MUSL_HOST_SET``
    overrides (``all`` or a comma-separated list of names)."""
    hosts = planned_hosts()
    wanted = os.environ.get(HOST_SET_ENV, "").strip()
    if wanted == "all":
        return hosts
    if wanted:
        names = {n.strip() for n in wanted.split(",") if n.strip()}
        by_name = {h.name: h for h in HOSTS}
        unknown = names - by_name.keys()
        if unknown:
            raise ValueError(
                f"{HOST_SET_ENV}: unknown hosts {sorted(unknown)}; "
                f"known: {sorted(by_name)}"
            )
        return [h for h in hosts if h.name in names]
    if selection == "per-python":
        return one_host_per_python(hosts)
    return hosts if selection == "every" else [PRIMARY]


def one_host_per_python(hosts: list[HostSpec]) -> list[HostSpec]:
    """For tests whose outcome the musl release cannot change (the wheel
    cache's keys and a build's tags name the CPython and the libc family, not
    the release): :data:`PRIMARY` for its minor, the :data:`OLD_MUSL` host for
    every other minor, so both ends of the releases are still run."""
    out = []
    for version in dict.fromkeys(h.python_version for h in hosts):
        if version == PRIMARY.python_version and PRIMARY in hosts:
            out.append(PRIMARY)
            continue
        same = [h for h in hosts if h.python_version == version]
        out.append(next((h for h in same if h.musl == OLD_MUSL), same[0]))
    return out


def _built_host_lines(file_env: str, mode: str, what: str, runner: str) -> str:
    """The host lines nox wrote to ``$file_env``, else those the build script
    prints in ``--print-<mode>`` (``LookupError`` when they are not built)."""
    path = os.environ.get(file_env)
    if path and Path(path).is_file():
        return Path(path).read_text()
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT), f"--print-{mode}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise LookupError(
            f"the {what} are not built: run `bash tools/build-musl-python.sh "
            f"--{mode}` ({runner} does)\n{proc.stderr.strip()}"
        )
    return proc.stdout


def _host_lines() -> str:
    return _built_host_lines(HOSTS_FILE_ENV, "hosts", "musl hosts", "nox -s tests")


@functools.cache
def load_hosts() -> dict[str, MuslHost]:
    """Every built host by name (``LookupError`` when they are not built)."""
    out: dict[str, MuslHost] = {}
    for line in _host_lines().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, py, musl, interpreter, loader, syslibs = line.split("\t")
        major, minor, patch = (int(x) for x in musl.split("."))
        host = MuslHost(
            py, (major, minor, patch), Path(interpreter), loader, Path(syslibs)
        )
        if host.name != name:
            raise LookupError(f"host line {line!r}: name does not match {host.name}")
        out[name] = host
    return out


def resolve(spec: HostSpec) -> MuslHost:
    """The built host for ``spec`` (``LookupError`` saying what is missing)."""
    host = load_hosts().get(spec.name)
    if host is None:
        raise LookupError(f"host {spec.name} is not in the host list")
    if not host.interpreter.exists():
        raise LookupError(f"host {spec.name}: {host.interpreter} does not exist")
    return host


# ---------------------------------------------------------------------------
# aarch64 under qemu-user
# ---------------------------------------------------------------------------

#: The aarch64 hosts: CPython 3.13 on arm64 musl 1.2.3 (bookworm) and 1.2.5 (trixie).
AARCH64_HOSTS: tuple[HostSpec, ...] = tuple(
    HostSpec("3.13", musl, arch="aarch64") for musl in ((1, 2, 3), (1, 2, 5))
)
#: Set by nox: a file with the lines of ``build-musl-python.sh --print-aarch64``.
AARCH64_HOSTS_FILE_ENV = "PIP_MUSL_AARCH64_HOSTS_FILE"


def _aarch64_lines() -> str:
    return _built_host_lines(
        AARCH64_HOSTS_FILE_ENV, "aarch64", "aarch64 hosts", "nox -s aarch64"
    )


@functools.cache
def load_aarch64_hosts() -> dict[str, MuslHost]:
    """The built aarch64 hosts by name (``LookupError`` when not built).

    Lines: the ``--hosts`` columns, then the machine and the emulator."""
    out: dict[str, MuslHost] = {}
    for line in _aarch64_lines().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, py, musl, interpreter, loader, syslibs, arch, emulator = line.split("\t")
        major, minor, patch = (int(x) for x in musl.split("."))
        host = MuslHost(
            py, (major, minor, patch), Path(interpreter), loader, Path(syslibs),
            arch=arch, emulator=(emulator,),
        )
        if host.name != name:
            raise LookupError(f"host line {line!r}: name does not match {host.name}")
        out[name] = host
    return out


def resolve_aarch64(spec: HostSpec) -> MuslHost:
    """The built aarch64 host for ``spec`` (``LookupError`` saying what is missing)."""
    host = load_aarch64_hosts().get(spec.name)
    if host is None:
        raise LookupError(f"host {spec.name} is not in the aarch64 host list")
    for path in (host.interpreter, Path(host.loader), Path(host.emulator[0])):
        if not path.exists():
            raise LookupError(f"host {spec.name}: {path} does not exist")
    return host
