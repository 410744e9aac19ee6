"""Render the patch-point table from the source of truth.

The docs must list every patch point with its reason; reading the table the build
hook applies (rather than a copy) keeps the two from drifting apart.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive

TABLE = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "pip"
    / "_internal"
    / "libc"
    / "patch_points.py"
)


class PatchPointTable(Directive):
    def run(self) -> list[nodes.Node]:
        points = runpy.run_path(str(TABLE))["PATCH_POINTS"]
        table = nodes.table()
        group = nodes.tgroup(cols=3)
        table += group
        for width in (30, 30, 40):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += self._row(["Upstream definition", "Our wrapper", "Why"])
        body = nodes.tbody()
        group += body
        for point in points:
            body += self._row(
                [f"{point.module}.{point.anchor}", point.wrapper, point.reason],
                literal=(True, True, False),
            )
        return [table]

    @staticmethod
    def _row(cells: list[str], literal: tuple[bool, ...] = (False,) * 3) -> nodes.row:
        row = nodes.row()
        for text, is_literal in zip(cells, literal, strict=True):
            entry = nodes.entry()
            para = nodes.paragraph()
            para += nodes.literal(text=text) if is_literal else nodes.Text(text)
            entry += para
            row += entry
        return row


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("patch-point-table", PatchPointTable)
    return {"parallel_read_safe": True}
