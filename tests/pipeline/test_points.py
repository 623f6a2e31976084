"""Points decided once: a heading's "(N points)" must be the sum of its graded cells' points
(course/points.py, checked by the build and here on every committed assignment)."""

import re

import nbformat
import pytest
from coursekit import ROOT, assignments

from course.cells import markdown, solution, written_answer
from course.cells import tests as graded_tests
from course.points import check_points, points_text

HEADING_POINTS = re.compile(r"^#+ .*\((\d+(?:\.\d+)?) points?\b", re.M)


def exercise(name, *points):
    """A solution cell and one test cell per entry of ``points``."""
    body = "x = 1\n### BEGIN SOLUTION\nx = 2\n### END SOLUTION"
    return [solution(body, name)] + [
        graded_tests("assert x == 2", f"test_{name}_{k}", p) for k, p in enumerate(points)
    ]


def test_a_heading_states_the_points_of_the_graded_cells_up_to_the_next_one():
    cells = [
        markdown("# Title\n\nIntroduction, no points here."),
        markdown("### Exercise 1 (1 point): one"),
        *exercise("one", 1),
        markdown(
            "Some prose between the cells of exercise 2 is no heading.\n\n"
            "### Exercise 2 (3.5 points): two"
        ),
        *exercise("two", 2, 0.5),
        markdown("A plot of the results. The network cannot pass through 200 points."),
        *exercise("two_more", 1),
        markdown("### Question (2 points, graded by hand)"),
        written_answer("Because.", "why", 2),
    ]
    check_points(cells)
    assert points_text(1) == "1 point" and points_text(4) == "4 points"


@pytest.mark.parametrize("heading", ["### Exercise 1 (3 points): wrong", "## Question (1 point)"])
def test_a_heading_that_states_other_points_is_refused_by_name(heading):
    cells = [markdown(heading), *exercise("one", 2)]
    with pytest.raises(ValueError, match=r"p99\.py: .* but its graded cells are worth 2 points"):
        check_points(cells, where="p99.py")


def test_a_heading_without_graded_cells_is_refused():
    cells = [markdown("### Exercise 1 (1 point): one"), *exercise("one", 1),
             markdown("### Exercise 2 (1 point): nothing to grade")]  # fmt: skip
    with pytest.raises(ValueError, match="Exercise 2 .* worth 0 points"):
        check_points(cells)


@pytest.mark.parametrize("assignment", assignments())
def test_every_point_of_a_committed_assignment_is_announced_by_its_heading(assignment):
    """The committed source notebook (built before this test runs): each heading states the
    points of the graded cells below it, and together they account for every point."""
    for path in sorted((ROOT / "source" / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        stated, counted, total = [], [], 0.0
        for cell in nb.cells:
            nbgrader = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and not nbgrader.get("grade"):
                assert "{points}" not in cell.source, f"{path.name}: a placeholder was left"
                found = HEADING_POINTS.findall(cell.source)
                if found:
                    stated.append(float(found[0]))
                    counted.append(0.0)
            if nbgrader.get("grade"):
                total += nbgrader["points"]
                assert counted, f"{path.name}: {nbgrader['grade_id']} is under no heading"
                counted[-1] += nbgrader["points"]
        assert stated == counted, path.name
        assert sum(stated) == total > 0, path.name
