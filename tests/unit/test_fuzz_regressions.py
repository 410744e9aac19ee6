"""Replay every input the fuzzer (tools/fuzz.py) ever saved, plus hand-made seeds.

``tests/data/fuzz-regressions/<target>-<sha256[:16]>.bin`` holds inputs that once
crashed the ELF reader (``elf-…``) or the wheel inspector (``wheel-…``), and a few
hand-made ones so the replay is never empty. Each must now end in an allowed
outcome -- a result, ``ElfError`` or ``WheelAbiError`` -- within the fuzzer's
per-input time bound, checked by the fuzzer's own :func:`check_input`, so the
replay and the fuzzer agree on what a crash is.

A smoke test also runs the fuzzer itself for a few seconds, so the tool cannot rot
unnoticed between CI runs of ``nox -s fuzz``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "fuzz-regressions"
FUZZ = ROOT / "tools" / "fuzz.py"
NAME = re.compile(r"^(?P<target>elf|wheel)-(?P<digest>[0-9a-f]{16})\.bin$")


def _load_fuzz() -> ModuleType:
    if not FUZZ.is_file():
        pytest.fail(f"{FUZZ} is missing", pytrace=False)
    spec = importlib.util.spec_from_file_location("pip_musl_fuzz", FUZZ)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzz()


def _inputs() -> list[Path]:
    return sorted(p for p in DATA.glob("*.bin"))


def test_there_are_inputs_of_both_targets() -> None:
    names = [p.name for p in _inputs()]
    assert names, f"no saved inputs in {DATA}: the hand-made seeds are missing"
    for target in fuzz.TARGETS:
        assert any(n.startswith(f"{target}-") for n in names), (
            f"no {target}-*.bin input in {DATA}"
        )


def test_every_file_is_named_after_its_content() -> None:
    stray = [
        p.name for p in DATA.iterdir() if p.suffix == ".bin" and not NAME.match(p.name)
    ]
    assert not stray, f"files in {DATA} not named <target>-<sha256[:16]>.bin: {stray}"
    for path in _inputs():
        m = NAME.match(path.name)
        assert m is not None
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        assert m["digest"] == digest, f"{path.name}: content hashes to {digest}"


@pytest.mark.parametrize("path", _inputs(), ids=lambda p: p.name)
def test_replay(path: Path) -> None:
    target = path.name.split("-", 1)[0]
    outcome = fuzz.check_input(target, path.read_bytes())
    assert outcome in ("result", "ElfError", "WheelAbiError")


# -- the fuzzer's own machinery ------------------------------------------------------


def test_check_input_flags_a_crash_and_a_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(data: bytes) -> str:
        raise KeyError("unexpected")

    def spin(data: bytes) -> str:
        while True:
            pass

    monkeypatch.setitem(fuzz.CHECKS, "elf", boom)
    with pytest.raises(KeyError):
        fuzz.check_input("elf", b"")
    monkeypatch.setitem(fuzz.CHECKS, "elf", spin)
    with pytest.raises(fuzz.InputTimeout):
        fuzz.check_input("elf", b"", per_input_seconds=0.2)


def test_save_regression_names_files_by_content(tmp_path: Path) -> None:
    path = fuzz.save_regression("wheel", b"PK\x05\x06", tmp_path)
    assert (
        path.name == "wheel-" + hashlib.sha256(b"PK\x05\x06").hexdigest()[:16] + ".bin"
    )
    assert path.read_bytes() == b"PK\x05\x06"


def test_mutators_produce_bounded_inputs_from_saved_ones() -> None:
    """The structure-aware mutators run on every saved input without failing."""
    rng = random.Random(1234)
    ch = fuzz.RandomChooser(rng)
    elf_inputs = [p.read_bytes() for p in _inputs() if p.name.startswith("elf-")]
    wheel_inputs = [p.read_bytes() for p in _inputs() if p.name.startswith("wheel-")]
    elf_seeds = [d for d in elf_inputs if d[:4] == b"\x7fELF"] or [
        b"\x7fELF" + bytes(60)
    ]
    models = [m for m in map(fuzz.read_model, wheel_inputs) if m]
    assert models, "no saved wheel input is a readable zip"
    for _ in range(200):
        out = fuzz.mutate_elf(rng.choice(elf_inputs), ch, elf_seeds)
        assert len(out) <= fuzz.MAX_ELF_LEN
        out = fuzz.mutate_wheel(rng.choice(wheel_inputs), ch, models, elf_seeds)
        assert len(out) <= fuzz.MAX_WHEEL_LEN
    # A mutated wheel is usually still a zip archive.
    readable = 0
    for _ in range(50):
        out = fuzz.mutate_wheel(rng.choice(wheel_inputs), ch, models, elf_seeds)
        try:
            zipfile.ZipFile(__import__("io").BytesIO(out)).infolist()
            readable += 1
        except Exception:
            pass
    assert readable > 10


def test_fuzzer_smoke(tmp_path: Path) -> None:
    """tools/fuzz.py end to end for a few seconds (hypothesis engine, ELF target):
    it compiles its seeds, runs a worker and reports what it ran."""
    proc = subprocess.run(
        [
            sys.executable, str(FUZZ), "--seconds", "4", "--target", "elf",
            "--engine", "hypothesis", "--regressions", str(tmp_path / "found"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    m = re.search(r"^elf: (\d+) inputs in", proc.stdout, re.M)
    assert m and int(m.group(1)) > 100, out
    assert not (tmp_path / "found").exists(), out
