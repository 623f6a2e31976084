"""Cells with nbgrader's metadata, as the *Create Assignment* toolbar sets it, one role each.

The notebooks are kept as text (``course.pairs``); these constructors make cells in code, for
the tests (a small assignment, a test cell of the grading tests):

=====================  =================================================================
``markdown(text)``     prose
``code(src)``          code the student may run and change (demos, experiments)
``given(src, id)``     read-only code that tests rely on (restored from the source when
                       grading, so a student's edits cannot change what the tests see)
``solution(src, id)``  an answer cell: ``### BEGIN SOLUTION`` ... ``### END SOLUTION``
                       becomes ``raise NotImplementedError()`` in the student version
``tests(src, id, n)``  autograded tests worth ``n`` points; lines between
                       ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are removed
                       from the student version and run only when grading
``written_answer``     a markdown answer graded by hand; the model answer (given as the
                       argument) stays in the source, the student sees ``YOUR ANSWER HERE``
=====================  =================================================================

Points are given once, to ``tests`` and ``written_answer``; a heading states their sum
(``course/points.py`` checks it).

Each part's last test cell ends by saying that hidden tests run at grading
(``HIDDEN_TESTS_AT_GRADING``, added by ``close_visible_tests`` when the notebook is built), so
that "all visible tests passed" is never read as a grade.

Cells whose output nbval compares on every run carry the tag ``CHECK_OUTPUT`` (their outputs
are stored in the source notebook); cells that print timings carry ``IGNORE_OUTPUT``.
Text is dedented and stripped, so callers can indent it like the code around it.
"""

from __future__ import annotations

import textwrap

from nbformat import v4
from nbformat.notebooknode import NotebookNode

__all__ = [
    "CHECK_OUTPUT",
    "GRADING_NOTE",
    "HIDDEN_TESTS_AT_GRADING",
    "IGNORE_OUTPUT",
    "NBGRADER_SCHEMA_VERSION",
    "close_visible_tests",
    "close_visible_tests_suffix",
    "code",
    "given",
    "markdown",
    "solution",
    "tests",
    "written_answer",
]  # fmt: skip

CHECK_OUTPUT = "nbval-check-output"  # nbval --nbval-lax compares this cell's output
IGNORE_OUTPUT = "nbval-ignore-output"  # timings, memory addresses: never compared
NBGRADER_SCHEMA_VERSION = 3  # the cell metadata schema of nbgrader 0.9
# Every part says how it is graded, in these words (a part may add a sentence of its own); the
# build checks each part holds them (course/pairs.py), so they are changed here and in the parts.
GRADING_NOTE = (
    "*How this notebook is graded.* Write your code where it says `YOUR CODE HERE` (and delete "
    "the `raise NotImplementedError()`). The cell after each answer tests it; when your "
    "notebook is graded, more tests (hidden here) run in those cells."
)
# Printed at the end of each part's last test cell: passing the visible tests is not a grade.
HIDDEN_TESTS_AT_GRADING = (
    "These visible tests passed. They are not your grade: when your notebook is graded, "
    "hidden tests run in every test cell as well, on other inputs."
)


def _text(source: str) -> str:
    return textwrap.dedent(source).strip("\n")


def _tags(cell: NotebookNode, check_output: bool, ignore_output: bool) -> NotebookNode:
    if check_output and ignore_output:
        raise ValueError("a cell's output is either checked or ignored, not both")
    tags = [CHECK_OUTPUT] if check_output else [IGNORE_OUTPUT] if ignore_output else []
    if tags:
        cell.metadata["tags"] = tags
    return cell


def _nbgrader(cell, grade_id, *, grade=False, solution=False, locked=False, points=None):
    """Attach nbgrader metadata in the form nbgrader's MetadataValidator (schema v3) expects."""
    meta = {
        "schema_version": NBGRADER_SCHEMA_VERSION,
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    cell["id"] = grade_id  # graded cells keep a stable, readable id
    return cell


def markdown(text: str) -> NotebookNode:
    """Prose (markdown), free for the student to edit."""
    return v4.new_markdown_cell(_text(text))


def code(source: str, *, check_output=False, ignore_output=False) -> NotebookNode:
    """Code the student may run and change: demonstrations and experiments."""
    return _tags(v4.new_code_cell(_text(source)), check_output, ignore_output)


def given(source: str, grade_id: str, *, check_output=False, ignore_output=False):
    """Read-only code that tests depend on: locked, and restored from the source when grading."""
    cell = _tags(v4.new_code_cell(_text(source)), check_output, ignore_output)
    return _nbgrader(cell, grade_id, locked=True)


def solution(source: str, grade_id: str) -> NotebookNode:
    """An autograded answer cell: the region between the SOLUTION markers is the student's."""
    text = _text(source)
    if "### BEGIN SOLUTION" not in text or "### END SOLUTION" not in text:
        raise ValueError(f"solution cell {grade_id!r} has no ### BEGIN/END SOLUTION region")
    return _nbgrader(v4.new_code_cell(text), grade_id, solution=True)


def tests(source: str, grade_id: str, points: float) -> NotebookNode:
    """Autograded tests worth ``points``: full marks if the cell runs without an error."""
    if points <= 0:
        raise ValueError(f"test cell {grade_id!r} must be worth a positive number of points")
    cell = v4.new_code_cell(_text(source))
    return _nbgrader(cell, grade_id, grade=True, locked=True, points=points)


def written_answer(model_answer: str, grade_id: str, points: float) -> NotebookNode:
    """A markdown answer graded by hand; the model answer is removed from the student version."""
    text = "### BEGIN SOLUTION\n" + _text(model_answer) + "\n### END SOLUTION"
    cell = v4.new_markdown_cell(text)
    return _nbgrader(cell, grade_id, grade=True, solution=True, points=points)


def close_visible_tests(cells) -> None:
    """End the last test cell of ``cells`` by printing ``HIDDEN_TESTS_AT_GRADING`` (after its
    hidden tests, so that in the student version it is the cell's last line)."""
    graded = [
        c for c in cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    ]
    if graded:
        graded[-1].source += close_visible_tests_suffix()


def close_visible_tests_suffix() -> str:
    """What ``close_visible_tests`` appends: a ``print`` of ``HIDDEN_TESTS_AT_GRADING``.
    A notebook kept as text (``course.pairs``) writes it itself; the build checks it is there."""
    lines = textwrap.wrap(HIDDEN_TESTS_AT_GRADING, 80, drop_whitespace=False)
    quoted = "\n      ".join(repr(line) for line in lines)
    return f"\nprint({quoted})"
