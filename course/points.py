"""The points of an assignment, decided once: by its graded cells, stated by its headings.

A heading states the points of the exercise it opens, ``### Exercise 1 (2 points): the step-size
rule`` or ``### Question (2 points, graded by hand)``, since a student reads the heading. The
graded cells (test cells and written answers) carry the points nbgrader counts. ``check_points``
(run by ``make notebooks`` and the tests) refuses a heading whose number is not the sum of the
points of the graded cells from it to the next heading that states points, so the two cannot
disagree: change a cell's points (in JupyterLab's *Create Assignment* toolbar or in the text),
and the build names the heading to change.
"""

from __future__ import annotations

import re

__all__ = ["check_points", "points_text"]

PLACEHOLDER = "{points}"  # refused: a heading states its number
# A heading that states its points, e.g. "### Exercise 1 (2 points): ...".
STATED_POINTS = re.compile(r"^#+ .*?\((\d+(?:\.\d+)?) points?\b", re.M)


def points_text(points: float) -> str:
    """``1 point``, ``2 points``, ``1.5 points``."""
    return f"{points:g} point" + ("" if points == 1 else "s")


def _points(cell) -> float:
    nbgrader = cell.metadata.get("nbgrader", {})
    return float(nbgrader["points"]) if nbgrader.get("grade") else 0.0


def check_points(cells, where: str = "the notebook") -> None:
    """Refuse (ValueError naming ``where`` and the heading) a heading that states other points
    than the graded cells from it to the next heading that states points, a heading with no
    graded cell after it, a graded cell before any such heading, a cell stating two, or a
    ``{points}`` left unfilled."""
    sections = []  # [heading line, stated, counted]
    for cell in cells:
        if cell.cell_type == "markdown" and not cell.metadata.get("nbgrader", {}).get("grade"):
            if PLACEHOLDER in cell.source:
                raise ValueError(f"{where}: write the points instead of {PLACEHOLDER}")
            stated = list(STATED_POINTS.finditer(cell.source))
            if len(stated) > 1:
                raise ValueError(f"{where}: one cell states points {len(stated)} times")
            if stated:
                line = cell.source[stated[0].start() :].split("\n")[0]
                sections.append([line, float(stated[0].group(1)), 0.0])
                continue
        if sections:
            sections[-1][2] += _points(cell)
        elif _points(cell):
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            raise ValueError(f"{where}: {grade_id} comes before any heading that states points")
    for line, stated, counted in sections:
        if stated != counted:
            raise ValueError(
                f"{where}: {line!r} states {points_text(stated)}, but its graded cells are worth "
                f"{points_text(counted)}: change the heading or the cells' points"
            )
