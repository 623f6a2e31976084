"""The points in an assignment's headings, written once: taken from its graded cells.

A builder writes ``### Exercise 1 ({points}): the step-size rule`` or
``### Question ({points}, graded by hand)``; when the notebook is built, ``{points}`` becomes
"1 point", "5 points", ...: the sum of the ``points`` of the graded cells (test cells and
written answers) from that heading to the next heading that carries ``{points}``. A number of
points typed into a heading by hand is refused, so a heading and its tests cannot disagree.

A notebook kept as text (``course.pairs``) shows the student its headings as written, so there
the heading states its points and ``check_points`` refuses a heading whose number is not the sum
of its graded cells': the points are still decided once, by the cells, and checked everywhere.
"""

from __future__ import annotations

import re

__all__ = ["PLACEHOLDER", "check_points", "fill_points", "points_text"]

PLACEHOLDER = "{points}"
# A heading line that states its points itself, e.g. "### Exercise 1 (2 points): ...".
TYPED_POINTS = re.compile(r"^#+ .*\(\d+(\.\d+)? points?\b.*", re.M)
STATED_POINTS = re.compile(r"^#+ .*?\((\d+(?:\.\d+)?) points?\b", re.M)


def points_text(points: float) -> str:
    """``1 point``, ``2 points``, ``1.5 points``."""
    return f"{points:g} point" + ("" if points == 1 else "s")


def _points(cell) -> float:
    nbgrader = cell.metadata.get("nbgrader", {})
    return float(nbgrader["points"]) if nbgrader.get("grade") else 0.0


def fill_points(cells, where: str = "the notebook") -> None:
    """Replace ``{points}`` in each markdown cell of ``cells`` (in place) by the points of the
    graded cells that follow it, up to the next cell with ``{points}``.

    Raises ValueError, naming ``where`` and the heading, for a heading that types its points
    by hand, a cell with two placeholders, or a placeholder with no graded cell after it.
    """
    sections = []  # [cell, points] per placeholder, in order
    for cell in cells:
        if cell.cell_type == "markdown" and not cell.metadata.get("nbgrader", {}).get("grade"):
            typed = TYPED_POINTS.search(cell.source)
            if typed:
                raise ValueError(
                    f"{where}: the heading {typed.group(0)!r} types its points; write "
                    f"{PLACEHOLDER} instead and the build fills in the points of its tests"
                )
            count = cell.source.count(PLACEHOLDER)
            if count > 1:
                raise ValueError(f"{where}: one cell holds {count} {PLACEHOLDER}; one per cell")
            if count:
                sections.append([cell, 0.0])
                continue
        if sections:
            sections[-1][1] += _points(cell)
    for cell, points in sections:
        if points == 0:
            heading = next(line for line in cell.source.split("\n") if PLACEHOLDER in line)
            raise ValueError(f"{where}: {heading!r} is followed by no graded cell")
        cell.source = cell.source.replace(PLACEHOLDER, points_text(points))


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
