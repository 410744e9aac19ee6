"""Sphinx configuration for the musl build of pip's documentation."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "pip for musl"
author = "The pip-for-musl developers"
_fork = (ROOT / "src/pip/_internal/libc/fork.py").read_text()
release = version = re.search(r'FORK_VERSION = "([^"]+)"', _fork).group(1)  # type: ignore[union-attr]

extensions = ["myst_parser", "patch_point_table"]
source_suffix = {".md": "markdown"}
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
html_theme = "furo"
html_title = f"pip for musl {release}"
exclude_patterns = ["_build"]
nitpicky = True
