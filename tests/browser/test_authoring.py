"""An instructor edits a part in JupyterLab (issue 18, point 1), in ``make lab``'s JupyterLab on a
copy of the course: the text file ``assignments/<id>/<id>.py`` opened with right-click > *Open
With > Jupytext Notebook* (as the README says; a double click opens it as text) is the
notebook, and nbgrader's *Create Assignment* panel (the right sidebar's tab, nbgrader 0.9 in
JupyterLab 4) shows every cell's role and points; changing a test cell's points there and
saving (Ctrl+S) writes both files of the pair. From the other side, a markdown fix saved in
``source/<id>/<id>.ipynb`` reaches the text. The files are read back as the build reads them
(``course.pairs.read`` for the text, nbformat for the .ipynb), then put back as they were."""

from __future__ import annotations

import time

import nbformat
import pytest
from labkit import (
    CELLS,
    KERNEL_IDLE_JS,
    PANEL,
    Notebook,
    close_all,
    listed,
    open_with,
    restored,
)

from course import pairs

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("authoring")]

PART = "01_newton_vs_gd"
TEXT = f"assignments/{PART}/{PART}.py"
NOTEBOOK = f"source/{PART}/{PART}.ipynb"
TEST_CELL = "test_gradient_descent_2d"  # a graded test cell whose points the instructor changes

# nbgrader's Create Assignment panel: a tab of the right sidebar (its id is spelt so), one
# widget per cell of the notebook on screen, each with its role ("Type"), ID and points.
CREATE_ASSIGNMENT = ".jp-SideBar.jp-mod-right .lm-TabBar-tab[data-id='nbgrader-create_assignemnt']"
CELL_WIDGETS = "#nbgrader-create_assignemnt .nbgrader-CellWidget"
DOCUMENT_TAB = "#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel"
ROLES_JS = """
(selector) => [...document.querySelectorAll(selector)].map(w => {
  const select = w.querySelector('.nbgrader-CellType select');
  return {role: select.value, label: select.selectedOptions[0]?.text || '',
          id: w.querySelector('.nbgrader-CellId input').value,
          points: w.querySelector('.nbgrader-CellPoints input').value};
})
"""


def role(cell) -> str:
    """The role nbgrader's panel shows for a cell's metadata (its select's value)."""
    meta = cell.metadata.get("nbgrader", {})
    if meta.get("task"):
        return "task"
    if meta.get("solution"):
        return "manual" if meta.get("grade") else "solution"
    if meta.get("grade"):
        return "tests"
    return "readonly" if meta.get("locked") else ""


def points(nb, grade_id: str):
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return cell.metadata.nbgrader.get("points")


def without(nb, grade_id: str | None = None) -> list:
    """Each cell's type, source, tags and nbgrader metadata (what the build keeps of a cell),
    the points of ``grade_id`` left out: what must not change when only those points do."""
    found = []
    for cell in nb.cells:
        nbgrader = dict(cell.metadata.get("nbgrader", {}))
        if grade_id and nbgrader.get("grade_id") == grade_id:
            nbgrader.pop("points")
        found.append((cell.cell_type, cell.source, cell.metadata.get("tags"), nbgrader))
    return found


def text_side(lab):
    return pairs.read(lab.root / TEXT, from_text=True)[0]


def notebook_side(lab):
    return nbformat.read(lab.root / NOTEBOOK, as_version=4)


def create_assignment_panel(page, cells: int) -> list[dict]:
    """Open the Create Assignment tab; what it shows for each cell, once it shows them all."""
    tab = page.locator(CREATE_ASSIGNMENT)
    assert tab.count() == 1, "no Create Assignment tab in the right sidebar (nbgrader missing?)"
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()
    page.wait_for_function(
        "([s, n]) => document.querySelectorAll(s).length === n", arg=[CELL_WIDGETS, cells]
    )
    return page.evaluate(ROLES_JS, CELL_WIDGETS)


def save(page, lab, timeout: float = 30) -> None:
    """Ctrl+S on the notebook on screen; returns once both files of the pair were written and
    the tab shows no unsaved change."""
    before = {p: (lab.root / p).stat().st_mtime_ns for p in (TEXT, NOTEBOOK)}
    page.locator(DOCUMENT_TAB).last.click()
    page.keyboard.press("ControlOrMeta+s")
    deadline = time.monotonic() + timeout
    while any((lab.root / p).stat().st_mtime_ns == t for p, t in before.items()):
        unsaved = [p for p, t in before.items() if (lab.root / p).stat().st_mtime_ns == t]
        assert time.monotonic() < deadline, f"Ctrl+S did not write {unsaved}:\n{lab.log_tail()}"
        time.sleep(0.1)
    page.wait_for_function(
        "() => !document.querySelector('#jp-main-dock-panel .lm-TabBar-tab.jp-mod-dirty')"
    )


@pytest.fixture
def pair(lab, page):
    """The pair of part 01 in the served course, put back as it was afterwards."""
    close_all(page, lab)
    with restored(lab.root, TEXT, NOTEBOOK):
        yield
        close_all(page, lab)
        tab = page.locator(CREATE_ASSIGNMENT)
        if "lm-mod-current" in (tab.get_attribute("class") or ""):
            tab.click()  # the right sidebar folded again: the next notebook gets the width


def test_the_text_file_opens_as_the_notebook_and_create_assignment_sets_points_in_both(
    lab, page, pair
):
    text_before, notebook_before = text_side(lab), notebook_side(lab)
    old = points(text_before, TEST_CELL)
    assert old == points(notebook_before, TEST_CELL), "the pair disagrees before the test"
    new = old + 2

    # A double click opens the text file as text: the README says to use Open With.
    listed(page, TEXT).dblclick()
    page.locator(".jp-FileEditor").first.wait_for()
    assert not page.locator(PANEL).count(), f"a double click opened {TEXT} as a notebook"
    close_all(page, lab)

    open_with(page, TEXT, "Jupytext Notebook")
    page.wait_for_function(
        "([s, n]) => document.querySelectorAll(s).length === n",
        arg=[CELLS, len(text_before.cells)],
    )
    # JupyterLab marks a notebook unsaved when its kernel connects: wait for that before the
    # edit, or a kernel that connects after Ctrl+S (a loaded machine) leaves the tab dirty.
    page.wait_for_function(KERNEL_IDLE_JS, timeout=90_000)
    tab = page.locator(DOCUMENT_TAB).last.inner_text()
    assert tab == f"{PART}.py", f"the notebook's tab reads {tab!r}"
    assert page.locator(f"{PANEL} .jp-NotebookPanel-toolbar jp-button.validate-button").count()

    shown = create_assignment_panel(page, len(text_before.cells))
    expected = [role(c) for c in text_before.cells]
    assert [s["role"] for s in shown] == expected, "the panel shows other roles than the text's"
    (widget,) = [i for i, s in enumerate(shown) if s["id"] == TEST_CELL]
    assert shown[widget]["label"] == "Autograded tests", shown[widget]
    assert shown[widget]["points"] == str(old), shown[widget]

    total = page.locator("#nbgrader-create_assignemnt .nbgrader-TotalPointsInput")
    total_before = int(total.input_value())
    field = page.locator(CELL_WIDGETS).nth(widget).locator(".nbgrader-CellPoints input")
    field.scroll_into_view_if_needed()
    field.fill(str(new))
    field.press("Enter")
    assert int(total.input_value()) == total_before + new - old, "total points did not follow"
    save(page, lab)

    text_after, notebook_after = text_side(lab), notebook_side(lab)
    assert points(text_after, TEST_CELL) == new, f"{TEXT} did not get the new points"
    assert points(notebook_after, TEST_CELL) == new, f"{NOTEBOOK} did not get the new points"
    for name, before, after in [(TEXT, text_before, text_after),
                                (NOTEBOOK, notebook_before, notebook_after)]:  # fmt: skip
        assert without(after, TEST_CELL) == without(before, TEST_CELL), (
            f"{name}: the save changed more than the points of {TEST_CELL}"
        )
    assert [c.get("id") for c in notebook_after.cells] == [
        c.get("id") for c in notebook_before.cells
    ], f"{NOTEBOOK}: the save changed cell ids"
    assert [c.get("outputs") for c in notebook_after.cells] == [
        c.get("outputs") for c in notebook_before.cells
    ], f"{NOTEBOOK}: the save changed stored outputs"


def test_a_markdown_fix_saved_in_the_ipynb_reaches_the_text(lab, page, pair):
    text_before, notebook_before = text_side(lab), notebook_side(lab)
    index = next(
        i for i, c in enumerate(notebook_before.cells)
        if c.cell_type == "markdown" and c.source.startswith("## The landscape")
    )  # fmt: skip
    fixed = notebook_before.cells[index].source.replace(
        "## The landscape: a quadratic", "## The landscape: a quadratic bowl", 1
    )
    nb = Notebook(page, lab, NOTEBOOK).open()  # File > Open from Path: the default viewer
    tab = page.locator(DOCUMENT_TAB).last.inner_text()
    assert tab == f"{PART}.ipynb", f"the notebook's tab reads {tab!r}"
    nb.replace_cell_text(index, fixed)
    save(page, lab)

    text_after, notebook_after = text_side(lab), notebook_side(lab)
    assert notebook_after.cells[index].source == fixed, f"{NOTEBOOK} was not saved"
    assert text_after.cells[index].source == fixed, f"{TEXT} did not follow {NOTEBOOK}"
    for name, before, after in [(TEXT, text_before, text_after),
                                (NOTEBOOK, notebook_before, notebook_after)]:  # fmt: skip
        kept = [c for i, c in enumerate(without(after)) if i != index]
        assert kept == [c for i, c in enumerate(without(before)) if i != index], (
            f"{name}: the save changed other cells than the one fixed"
        )
