"""--prefer-binary, --only-binary and --no-binary on the musl host, as upstream.

The index offers muslprobe 1.0 (musllinux_1_2 and x86_64_linux_musl wheels, and the
sdist) and muslprobe 1.1 (sdist only).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import output_of, pip_install, run_code
from tests.lib.index import LocalIndex
from tests.lib.venvs import Venv
from tests.lib.wheels import build_sdist

pytestmark = pytest.mark.musl


@pytest.fixture
def two_versions(
    local_index: LocalIndex,
    variant_wheels: dict[str, Path],
    sdist: Path,
    tools_wheels: list[Path],
    tmp_path: Path,
) -> LocalIndex:
    newer = build_sdist(tmp_path / "newer", version="1.1", variant="sdist-1.1")
    local_index.upload_all(
        [
            variant_wheels["musllinux_1_2"],
            variant_wheels["linux_musl"],
            sdist,
            newer,
            *tools_wheels,
        ]
    )
    return local_index


def _variant(venv: Venv, target: Path) -> str:
    result = run_code(venv, target, "import muslprobe; print(muslprobe.variant())")
    assert result.ok, result
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), "sdist-1.1"),  # newest version wins; its only file is the sdist
        (("--prefer-binary",), "linux_musl"),  # 1.0 has wheels: best-ranked one
        (("--only-binary=:all:",), "linux_musl"),
        (("--no-binary=muslprobe", "muslprobe==1.0"), "sdist"),
    ],
)
def test_binary_preferences_on_musl(
    musl_fork_venv: Venv,
    two_versions: LocalIndex,
    tmp_path: Path,
    options: tuple[str, ...],
    expected: str,
) -> None:
    target = tmp_path / "t"
    requirement = (
        () if any(o.startswith("muslprobe") for o in options) else ("muslprobe",)
    )
    proc = pip_install(
        musl_fork_venv, two_versions, "--target", target, *options, *requirement
    )
    assert proc.returncode == 0, output_of(proc)
    assert _variant(musl_fork_venv, target) == expected
    shutil.rmtree(target)
