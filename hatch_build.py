"""Build hook: assemble the musl build of pip from upstream pip plus our overlay.

Upstream pip is never part of this repository. It is a pinned build dependency
(``pip==<UPSTREAM_VERSION>`` in ``[build-system] requires``); this hook

1. finds that distribution in the build environment and refuses any other version,
2. checks every upstream file it copies against the sha256 digests of the official
   wheel's RECORD, pinned in ``tools/upstream-pip-<version>.RECORD`` (a changed,
   extra or missing file fails the build, naming it), then copies every file of
   the ``pip`` package into a staging directory,
3. lays our own ``src/pip/...`` files over it,
4. applies the patch-point table (``src/pip/_internal/libc/patch_points.py``),
5. hands the staged package to hatchling, and stages upstream's license files so
   that they land in ``.dist-info/licenses/`` under their upstream paths.
"""

from __future__ import annotations

import ast
import base64
import csv
import hashlib
import importlib.metadata
import re
import runpy
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface

OVERLAY_ROOT = Path("src")
PATCH_TABLE = OVERLAY_ROOT / "pip" / "_internal" / "libc" / "patch_points.py"
FORK_MODULE = OVERLAY_ROOT / "pip" / "_internal" / "libc" / "fork.py"
# Upstream license files are staged here (git-ignored) so that hatchling's PEP 639
# handling writes them to ``licenses/<same path as upstream>``.
STAGED_LICENSE_DIRS = ("AUTHORS.txt", "src/pip/_vendor")
# The official wheel's RECORD per upstream version (tools/pin-upstream-record.py).
PINNED_RECORD = "tools/upstream-pip-{version}.RECORD"
# How many problems a failed upstream check names before "and N more".
SHOWN_PROBLEMS = 5


class BuildError(Exception):
    """The build cannot go on; the message says why and what to do."""


def upstream_version_pin(root: Path) -> str:
    text = (root / FORK_MODULE).read_text(encoding="utf-8")
    match = re.search(r'^UPSTREAM_VERSION = "([^"]+)"$', text, re.MULTILINE)
    if match is None:
        raise BuildError(f"{FORK_MODULE} does not define UPSTREAM_VERSION")
    return match.group(1)


def find_upstream_pip(pin: str) -> importlib.metadata.Distribution:
    found = [
        dist
        for dist in importlib.metadata.distributions(name="pip")
        if dist.read_text("RECORD") is not None
    ]
    if not found:
        raise BuildError(
            f"upstream pip=={pin} is not installed in the build environment "
            "(it is a build dependency: build with an isolated build environment)"
        )
    dist = found[0]
    if dist.version != pin:
        raise BuildError(
            f"the build environment has pip {dist.version}, but this musl build is "
            f"made from pip {pin}; install pip=={pin} in the build environment "
            "(or bump UPSTREAM_VERSION and the build-system pin together)"
        )
    return dist


def load_pinned_record(root: Path, pin: str) -> dict[str, str]:
    """The pinned RECORD of the official wheel: wheel path -> ``sha256=<b64>``."""
    relative = PINNED_RECORD.format(version=pin)
    path = root / relative
    if not path.is_file():
        raise BuildError(
            f"{relative} is missing: it pins the digests of the official pip {pin} "
            f"wheel; create it with `python tools/pin-upstream-record.py {pin}`"
        )
    digests = {}
    for row in csv.reader(path.read_text(encoding="utf-8").splitlines()):
        if len(row) != 3 or (row[1] and not row[1].startswith("sha256=")):
            raise BuildError(f"{relative}: not a wheel RECORD line: {','.join(row)}")
        if row[1]:
            digests[row[0]] = row[1]
    return digests


def record_digest(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _upstream_candidates(
    dist: importlib.metadata.Distribution, prefixes: tuple[str, ...]
) -> dict[str, Path]:
    """Every file under ``prefixes`` that exists: listed in the installed RECORD,
    or on disk without being listed."""
    found: dict[str, Path] = {}
    for file in dist.files or ():
        name = str(file).replace("\\", "/")
        path = Path(str(dist.locate_file(file)))
        wanted = name.startswith(prefixes) and "__pycache__" not in name.split("/")
        if wanted and path.is_file():  # listed but gone counts as missing
            found[name] = path
    for prefix in prefixes:
        top = Path(str(dist.locate_file(prefix)))
        if not top.is_dir():
            continue
        for path in top.rglob("*"):
            relative = path.relative_to(top).as_posix()
            if path.is_file() and "__pycache__" not in relative.split("/"):
                found.setdefault(prefix + relative, path)
    return found


def verified_upstream_files(
    dist: importlib.metadata.Distribution, root: Path
) -> dict[str, Path]:
    """The upstream files the build uses (the ``pip`` package and the license
    files), by wheel path, each checked against the pinned RECORD."""
    pin = dist.version
    pinned = load_pinned_record(root, pin)
    prefixes = ("pip/", f"pip-{pin}.dist-info/licenses/")
    expected = {name for name in pinned if name.startswith(prefixes)}
    found = _upstream_candidates(dist, prefixes)
    problems = [
        f"{name} is not in the official wheel" for name in found.keys() - expected
    ]
    problems += [f"{name} is missing" for name in expected - found.keys()]
    problems += [
        f"{name} differs (sha256)"
        for name in expected & found.keys()
        if record_digest(found[name]) != pinned[name]
    ]
    if problems:
        problems.sort()
        shown = "; ".join(problems[:SHOWN_PROBLEMS])
        if len(problems) > SHOWN_PROBLEMS:
            shown += f"; and {len(problems) - SHOWN_PROBLEMS} more"
        raise BuildError(
            f"upstream pip {pin} in the build environment is not the official wheel "
            f"pinned in {PINNED_RECORD.format(version=pin)}: {shown}"
        )
    return found


def copy_upstream_package(files: dict[str, Path], stage: Path) -> int:
    copied = 0
    for name, source in sorted(files.items()):
        if not name.startswith("pip/"):
            continue
        target = stage.joinpath(*name.split("/")[1:])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied += 1
    if copied == 0:
        raise BuildError("upstream pip in the build environment has no files")
    return copied


def stage_upstream_licenses(files: dict[str, Path], pin: str, root: Path) -> None:
    prefix = f"pip-{pin}.dist-info/licenses/"
    for name, source in sorted(files.items()):
        if not name.startswith(prefix):
            continue
        relative = name[len(prefix) :]
        # Our own LICENSE.txt carries upstream's MIT notice plus the fork's line.
        if relative == "LICENSE.txt":
            continue
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def lay_overlay(root: Path, stage: Path) -> list[str]:
    overlay = root / OVERLAY_ROOT / "pip"
    laid = []
    for source in sorted(overlay.rglob("*")):
        relative = source.relative_to(overlay)
        if not source.is_file() or "__pycache__" in relative.parts:
            continue
        if relative.parts[0] == "_vendor":
            continue  # staged upstream license files, not overlay
        target = stage / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        laid.append(str(relative))
    return laid


def _anchor_node(tree: ast.Module, anchor: str) -> ast.stmt:
    """Return the anchor's one definition or raise."""
    *owners, name = anchor.split(".")
    body: list[ast.stmt] = tree.body
    for owner in owners:
        classes = [n for n in body if isinstance(n, ast.ClassDef) and n.name == owner]
        if len(classes) != 1:
            raise LookupError(f"class {owner!r} found {len(classes)} times")
        body = classes[0].body
    matches: list[ast.stmt] = []
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == name:
                matches.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                matches.append(node)
    if len(matches) != 1:
        raise LookupError(f"{name!r} is defined {len(matches)} times")
    return matches[0]


def _literal_value(node: ast.stmt) -> object:
    value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
    if value is None:
        raise LookupError("it is not an assignment, so it has no value at build time")
    try:
        return ast.literal_eval(value)
    except ValueError:
        raise LookupError("its value is not a literal") from None


def apply_patch_point(
    source: str,
    anchor: str,
    wrapper: str,
    index: int,
    build_time_wrapper: Callable[[object], object] | None = None,
) -> str:
    """Insert ``anchor = wrapper(anchor)`` after the anchor's definition; with
    ``build_time_wrapper``, the value that call returns now instead (the anchor
    must be a literal constant)."""
    tree = ast.parse(source)
    node = _anchor_node(tree, anchor)
    assert node.end_lineno is not None
    end_line, column = node.end_lineno, node.col_offset
    wrapper_module, _, wrapper_name = wrapper.partition(":")
    alias = f"_pip_musl_patch_{index}"
    name = anchor.rsplit(".", 1)[-1]
    indent = " " * column
    if build_time_wrapper is not None:
        value = build_time_wrapper(_literal_value(node))
        inserted = [
            f"{indent}# musl build patch point: {anchor} = {wrapper}({anchor}),"
            " applied when this wheel was built\n",
            f"{indent}{name} = {value!r}\n",
        ]
    else:
        inserted = [
            f"{indent}# musl build patch point: {anchor} = {wrapper}({anchor})\n",
            f"{indent}from {wrapper_module} import {wrapper_name} as {alias}\n",
            f"{indent}{name} = {alias}({name})\n",
            f"{indent}del {alias}\n",
        ]
    lines = source.splitlines(keepends=True)
    return "".join(lines[:end_line] + inserted + lines[end_line:])


def module_path(stage: Path, dotted: str) -> Path:
    """Map ``pip.a.b`` to its file in the staged ``pip`` package directory."""
    parts = dotted.split(".")[1:]
    candidate = stage.joinpath(*parts).with_suffix(".py") if parts else None
    if candidate is not None and candidate.is_file():
        return candidate
    return stage.joinpath(*parts, "__init__.py")


def apply_patch_points(root: Path, stage: Path) -> list[str]:
    table = runpy.run_path(str(root / PATCH_TABLE))["PATCH_POINTS"]
    applied = []
    for index, point in enumerate(table):
        module_file = module_path(stage, point.module)
        wrapper_module = point.wrapper.partition(":")[0]
        wrapper_file = module_path(stage, wrapper_module)
        if not wrapper_file.is_file():
            raise BuildError(
                f"patch point {point.module}.{point.anchor}: wrapper module "
                f"{wrapper_module} does not exist in the overlay"
            )
        if not module_file.is_file():
            raise BuildError(
                f"patch point {point.module}.{point.anchor}: upstream module "
                f"{point.module} does not exist (did upstream move it?)"
            )
        source = module_file.read_text(encoding="utf-8")
        build_time_wrapper = None
        if point.at_build:
            # The overlay's wrapper module, run on its own: it imports nothing
            # of pip (the build environment has no pip of ours).
            wrapper_name = point.wrapper.partition(":")[2]
            build_time_wrapper = runpy.run_path(str(wrapper_file))[wrapper_name]
        try:
            patched = apply_patch_point(
                source, point.anchor, point.wrapper, index, build_time_wrapper
            )
        except LookupError as exc:
            raise BuildError(
                f"patch point anchor {point.module}.{point.anchor} not usable in "
                f"upstream pip: {exc} (did upstream move it?)"
            ) from None
        module_file.write_text(patched, encoding="utf-8")
        applied.append(f"{point.module}.{point.anchor}")
    return applied


class UpstreamLicensesHook(MetadataHookInterface):
    """Stage upstream's license files before hatchling globs ``license-files``.

    This has to be a metadata hook: hatchling reads the license files when it builds
    the core metadata, which happens before any build hook runs.
    """

    PLUGIN_NAME = "pip-musl-licenses"

    def update(self, metadata: dict[str, Any]) -> None:
        root = Path(self.root)
        dist = find_upstream_pip(upstream_version_pin(root))
        stage_upstream_licenses(verified_upstream_files(dist, root), dist.version, root)


class MuslPipBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "pip-musl"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        if version == "editable":
            raise BuildError(
                "editable installs of the musl build of pip are not supported: the "
                "package is assembled from upstream pip at build time. Use "
                "`nox -s tests` (or `pip install .`) instead."
            )
        root = Path(self.root)
        pin = upstream_version_pin(root)
        dist = find_upstream_pip(pin)
        self._stage_dir = Path(tempfile.mkdtemp(prefix="pip-musl-build-"))
        stage = self._stage_dir / "pip"
        stage.mkdir()
        count = copy_upstream_package(verified_upstream_files(dist, root), stage)
        laid = lay_overlay(root, stage)
        applied = apply_patch_points(root, stage)
        build_data["force_include"][str(stage)] = "pip"
        self.app.display_info(
            f"pip-musl: upstream pip {dist.version}: {count} files (match "
            f"{PINNED_RECORD.format(version=dist.version)}), "
            f"{len(laid)} overlay files, {len(applied)} patch points"
        )

    def finalize(
        self, version: str, build_data: dict[str, Any], artifact_path: str
    ) -> None:
        stage_dir = getattr(self, "_stage_dir", None)
        if stage_dir is not None:
            shutil.rmtree(stage_dir, ignore_errors=True)
