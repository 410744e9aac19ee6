"""Build hook: assemble the musl build of pip from upstream pip plus our overlay.

Upstream pip is never part of this repository. It is a pinned build dependency
(``pip==<UPSTREAM_VERSION>`` in ``[build-system] requires``); this hook

1. finds that distribution in the build environment and refuses any other version,
2. copies every file of its ``pip`` package into a staging directory,
3. lays our own ``src/pip/...`` files over it,
4. applies the patch-point table (``src/pip/_internal/libc/patch_points.py``),
5. hands the staged package to hatchling, and stages upstream's license files so
   that they land in ``.dist-info/licenses/`` under their upstream paths.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import runpy
import shutil
import tempfile
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


def copy_upstream_package(dist: importlib.metadata.Distribution, stage: Path) -> int:
    copied = 0
    for file in dist.files or ():
        parts = Path(str(file)).parts
        if not parts or parts[0] != "pip" or "__pycache__" in parts:
            continue
        source = Path(str(dist.locate_file(file)))
        target = stage.joinpath(*parts[1:])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied += 1
    if copied == 0:
        raise BuildError(f"pip {dist.version} in the build environment has no files")
    return copied


def stage_upstream_licenses(dist: importlib.metadata.Distribution, root: Path) -> None:
    prefix = f"pip-{dist.version}.dist-info/licenses/"
    for file in dist.files or ():
        name = str(file).replace("\\", "/")
        if not name.startswith(prefix):
            continue
        relative = name[len(prefix) :]
        # Our own LICENSE.txt carries upstream's MIT notice plus the fork's line.
        if relative == "LICENSE.txt":
            continue
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(str(dist.locate_file(file))), target)


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


def _anchor_end_line(tree: ast.Module, anchor: str) -> tuple[int, int]:
    """Return (last line of the anchor's definition, its column) or raise."""
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
    node = matches[0]
    assert node.end_lineno is not None
    return node.end_lineno, node.col_offset


def apply_patch_point(source: str, anchor: str, wrapper: str, index: int) -> str:
    tree = ast.parse(source)
    end_line, column = _anchor_end_line(tree, anchor)
    wrapper_module, _, wrapper_name = wrapper.partition(":")
    alias = f"_pip_musl_patch_{index}"
    name = anchor.rsplit(".", 1)[-1]
    indent = " " * column
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
        try:
            patched = apply_patch_point(source, point.anchor, point.wrapper, index)
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
        stage_upstream_licenses(find_upstream_pip(upstream_version_pin(root)), root)


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
        count = copy_upstream_package(dist, stage)
        laid = lay_overlay(root, stage)
        applied = apply_patch_points(root, stage)
        build_data["force_include"][str(stage)] = "pip"
        self.app.display_info(
            f"pip-musl: upstream pip {dist.version}: {count} files, "
            f"{len(laid)} overlay files, {len(applied)} patch points"
        )

    def finalize(
        self, version: str, build_data: dict[str, Any], artifact_path: str
    ) -> None:
        stage_dir = getattr(self, "_stage_dir", None)
        if stage_dir is not None:
            shutil.rmtree(stage_dir, ignore_errors=True)
