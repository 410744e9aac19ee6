"""Virtual environments with the fork or stock pip, for subprocess-level tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CACHE_ROOT = Path(os.environ.get("PIP_MUSL_CACHE", Path.home() / ".cache" / "pip-musl"))
STOCK_PIP_VERSION = "26.3"

# A clean environment for child pips: no user config, no version check, and this
# machine's global pip configuration (index mirrors, constraints) kept out.
CLEAN_ENV_DROP = ("PIP_", "PYTHONPATH", "VIRTUAL_ENV")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEAN_ENV_DROP)}
    for keep in ("PIP_CERT", "PIP_DEFAULT_TIMEOUT"):
        if keep in os.environ:
            env[keep] = os.environ[keep]
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env.update(extra)
    return env


@dataclass(frozen=True)
class Venv:
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def run(
        self,
        *args: str | os.PathLike[str],
        check: bool = True,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(self.python), *map(str, args)],
            capture_output=True,
            text=True,
            env=env or clean_env(),
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{self.python} {' '.join(map(str, args))} exited "
                f"{proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
            )
        return proc

    def pip(
        self, *args: str | os.PathLike[str], **kwargs: object
    ) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "pip", *args, **kwargs)  # type: ignore[arg-type]

    def installed(self) -> dict[str, str]:
        out = self.pip("list", "--format", "json").stdout
        return {d["name"].lower(): d["version"] for d in json.loads(out)}


def make_venv(
    root: Path,
    python: str | os.PathLike[str],
    pip_wheel: Path | None,
    *,
    with_virtualenv: bool = False,
) -> Venv:
    """Create a venv of `python` and install `pip_wheel` with that wheel itself.

    Installing pip from its own wheel (``python pip.whl/pip install pip.whl``) is
    how a pip-less interpreter (like the musl CPython) gets the fork.
    """
    if with_virtualenv:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "virtualenv",
                "--quiet",
                "--no-setuptools",
                "--no-wheel",
                "--python",
                str(python),
                str(root),
            ],
            check=True,
            env=clean_env(),
        )
    else:
        subprocess.run(
            [str(python), "-m", "venv", "--without-pip", str(root)],
            check=True,
            env=clean_env(),
        )
    venv = Venv(root)
    if pip_wheel is not None:
        venv.run(
            f"{pip_wheel}/pip",
            "install",
            "--quiet",
            "--no-index",
            "--force-reinstall",
            str(pip_wheel),
        )
    return venv


def stock_pip_wheel() -> Path:
    """Upstream pip 26.3's wheel from the package index (cached)."""
    dest = CACHE_ROOT / "wheels"
    wheel = dest / f"pip-{STOCK_PIP_VERSION}-py3-none-any.whl"
    if not wheel.exists():
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                f"pip=={STOCK_PIP_VERSION}",
                "-d",
                str(dest),
            ],
            check=True,
        )
    return wheel


def hatchling_links() -> Path:
    """hatchling and its dependencies as wheels (downloaded once, cached)."""
    links = CACHE_ROOT / "wheels" / "hatchling"
    if not (links / ".complete").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--only-binary=:all:",
                "-d",
                str(links),
                "hatchling",
            ],
            check=True,
            env=clean_env(),
        )
        (links / ".complete").touch()
    return links
