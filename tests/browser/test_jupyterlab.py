"""The course as a student sees it: every notebook run in JupyterLab, in headless Chromium.

nbval proves the kernel side; these tests drive what a student uses. JupyterLab is started with
``make lab``'s command on a copy of the course; each notebook is opened, its old outputs
cleared (Edit menu) and run (Run menu), then what JupyterLab drew is checked: no error, every
markdown cell rendered, every widget drawn as a widget, every slider moved and the output it
drives changed. Release notebooks may fail only at their ``NotImplementedError`` stubs, and a
student's path through part 01 ends with nbgrader's Validate button. The notebooks are found
when the tests are collected, so the tests grow with the course. Screenshots of every notebook
go to browser-screenshots/ (git-ignored).
"""

from __future__ import annotations

import re
import shutil

import nbformat
import pytest
from conftest import working_tree, written_into
from coursekit import ROOT
from fixture_notebooks import FAULTS
from labkit import CHROMIUM_FLAGS, Cell, Notebook, NotebookFailure, error_name

pytestmark = pytest.mark.browser


def present(folder: str, pattern: str) -> list[str]:
    return sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / folder).glob(pattern)
        if ".ipynb_checkpoints" not in p.parts
    )


def grouped(paths: list[str]) -> list:
    """Each path as a parameter in the group of its assignment (or lecture): with
    ``pytest -n 2 --dist loadgroup`` (make test-browser), a source notebook and its release
    version run one after the other on the same worker, which reuses the source's run."""
    return [pytest.param(p, marks=pytest.mark.xdist_group(p.split("/")[1]), id=p) for p in paths]


RUN_CLEAN = present("notebooks", "**/*.ipynb") + present("source", "*/*.ipynb")
RELEASED = present("release", "*/*.ipynb")
STUDENT_PATHS = ["01_newton_vs_gd"]  # assignments a student works through in the browser
SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)

DRAWN: dict[str, list[Cell]] = {}  # what each source notebook showed, for its release version


def picture(path: str, suffix: str = "") -> str:
    return path.removesuffix(".ipynb").replace("/", "__") + suffix + ".png"


def is_stub(text: str) -> bool:
    """An answer cell's stub raised this error (or a cell that called it)."""
    return error_name(text) == "NotImplementedError" and "raise NotImplementedError()" in text


def run_clean(page, lab, path: str, screenshots) -> tuple[Notebook, list[str]]:
    """Open, clear, Run All; the notebook and what is wrong with what JupyterLab drew."""
    nb = Notebook(page, lab, path).open()
    nb.clear_outputs()
    nb.run_all()
    cells = nb.cells()
    problems = nb.error_report(nb.errors(cells))
    if not problems:  # after an error the cells below did not run: that error says it all
        problems += nb.check_rendered(cells)
    problems += nb.check_widgets()
    moved, slider_problems = nb.check_sliders()
    DRAWN[path] = nb.cells()
    nb.screenshot(screenshots / picture(path))
    nb.moved = moved
    return nb, problems + slider_problems


def test_the_course_has_notebooks_to_open():
    assert RUN_CLEAN and RELEASED, "no notebook found in notebooks/, source/ or release/"
    assert all(ROOT.joinpath("source", a).is_dir() for a in STUDENT_PATHS), STUDENT_PATHS


def test_chromium_is_debians_headless_without_background_traffic(browser):
    page = browser.new_page()
    try:
        page.goto("chrome://version")
        text = page.inner_text("body")
    finally:
        page.close()
    assert "/usr/lib/chromium/" in text, text  # Debian's build, not a downloaded one
    missing = [flag for flag in CHROMIUM_FLAGS if flag not in text]
    assert not missing, f"Chromium runs without {missing}:\n{text}"


@pytest.mark.parametrize("path", grouped(RUN_CLEAN))
def test_notebook_runs_in_jupyterlab_without_error(lab, page, screenshots, path):
    """notebooks/ and source/: no error, everything rendered, widgets drawn, sliders live."""
    nb, problems = run_clean(page, lab, path, screenshots)
    nb.fail(problems)


@pytest.mark.parametrize("path", grouped(RELEASED))
def test_release_notebook_fails_only_at_its_stubs(lab, page, screenshots, path):
    """release/: the only errors come from the answer cells' NotImplementedError stubs; the
    markdown renders, and every cell that ran shows the same kinds of output (plots, text,
    widgets) as in the source notebook. A run stopped by a stub goes on from the next cell."""
    source = "source/" + path.removeprefix("release/")
    assert (ROOT / source).is_file(), f"{path} has no source notebook {source}"
    if source not in DRAWN:  # run on its own: draw the source notebook first
        run_clean(page, lab, source, screenshots)
        lab.shut_down_kernels()
    drawn = DRAWN[source]

    nb = Notebook(page, lab, path).open()
    nb.clear_outputs()
    cells = nb.run_to_the_end()
    errors = nb.errors(cells)
    problems = nb.error_report([(i, text) for i, text in errors if not is_stub(text)])
    problems += nb.check_rendered(cells) + nb.check_widgets()
    assert len(drawn) == len(cells), f"{path} has {len(cells)} cells, {source} {len(drawn)}"
    failed = {i for i, _ in errors}
    for mine, theirs in zip(cells, drawn):
        if mine.kind != "code" or mine.index in failed:
            continue
        shown = sorted({o["mime"] or "widget" for o in mine.outputs})
        expected = sorted({o["mime"] or "widget" for o in theirs.outputs})
        images = sum(o["images"] for o in mine.outputs)
        expected_images = sum(o["images"] for o in theirs.outputs)
        if shown != expected or images != expected_images:
            problems.append(
                f"{nb.describe(mine.index)} shows {shown} ({images} image(s)); in {source} "
                f"it shows {expected} ({expected_images} image(s))"
            )
    nb.screenshot(screenshots / picture(path))
    nb.fail(problems)


def reference_answers(source) -> dict[int, str]:
    """{cell index: the text a student types}: each answer cell of the source notebook with
    the solution markers taken out."""
    nb = nbformat.read(source, as_version=4)
    return {
        i: SOLUTION_MARKER.sub("", cell.source)
        for i, cell in enumerate(nb.cells)
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


@pytest.mark.parametrize("assignment", STUDENT_PATHS)
def test_a_student_types_the_answers_runs_the_tests_and_validates(
    lab, page, screenshots, assignment
):
    """The release notebook, as fetched into a student's folder: with every answer typed in
    but one, only that stub fails and Validate reports failure; with the last answer typed in,
    every visible test passes and Validate reports success."""
    (released,) = (lab.root / "release" / assignment).glob("*.ipynb")
    mine = lab.root / "student" / assignment
    shutil.copytree(released.parent, mine)
    path = f"student/{assignment}/{released.name}"
    answers = reference_answers(ROOT / "source" / assignment / released.name)
    code_answers = [i for i in answers if nbformat.read(released, 4).cells[i].cell_type == "code"]
    assert code_answers, f"{assignment} has no code answer cell"
    unsolved = code_answers[-1]

    nb = Notebook(page, lab, path).open()
    tests = [
        i for i, cell in enumerate(nb.file.cells)
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")
    ]  # fmt: skip
    for index, text in answers.items():
        if index != unsolved:
            nb.replace_cell_text(index, text)
    cells = nb.run_to_the_end()
    errors = nb.errors(cells)
    nb.fail(nb.error_report([(i, text) for i, text in errors if not is_stub(text)]))
    assert errors, f"{path}: with {nb.describe(unsolved)} unsolved, no test failed"
    kind, text = nb.validate()
    nb.screenshot(screenshots / picture(path, "__one_answer_missing"))
    assert kind == "validation-failed" and "NotImplementedError" in text, (
        f"{path}: Validate with {nb.describe(unsolved)} unsolved reported {kind!r}:\n{text}"
    )

    nb.replace_cell_text(unsolved, answers[unsolved])
    nb.run_all()
    cells = nb.cells()
    nb.fail(nb.error_report(nb.errors(cells)) + nb.check_rendered(cells))
    ran = [i for i in tests if cells[i].count is None or cells[i].errors()]
    assert not ran, f"{path}: visible tests that did not pass: {[nb.describe(i) for i in ran]}"
    kind, text = nb.validate()
    nb.screenshot(screenshots / picture(path, "__solved"))
    assert kind == "validation-success", f"{path}: Validate reported {kind!r}:\n{text}"
    assert "Success! Your notebook passes all the tests." in text, text


def test_slider_checks_pass_on_sliders_that_drive_a_plot_and_a_printed_value(
    lab, page, screenshots
):
    """No notebook of the course has a slider yet: this fixture proves the slider check."""
    nb, problems = run_clean(page, lab, lab.fixtures["sliders"], screenshots)
    nb.fail(problems)
    assert nb.moved == 2, f"moved {nb.moved} sliders, the fixture draws 2"


def test_the_checks_name_the_notebook_cell_and_error_of_each_fault(lab, page, screenshots):
    """A fixture with an error, a slider that drives nothing, a widget shown only as text and
    a widget whose model is missing: each is reported with its cell and what went wrong."""
    path = lab.fixtures["faults"]
    nb = Notebook(page, lab, path).open()
    nb.clear_outputs()
    cells = nb.run_to_the_end()
    problems = nb.error_report(nb.errors(cells)) + nb.check_widgets(settle=5)
    problems += nb.check_sliders(settle=5)[1]
    nb.screenshot(screenshots / picture(path))
    with pytest.raises(NotebookFailure) as failure:
        nb.fail(problems)
    message = str(failure.value)
    assert message.startswith(path), message
    for number, (name, (_, words)) in enumerate(FAULTS.items(), start=2):
        reports = [p for p in problems if p.startswith(f"cell {number} ")]
        assert any(all(w in p for w in words) for p in reports), (name, words, message)
    assert len(problems) == len(FAULTS), message


# What JupyterLab writes when it is let: checkpoints, workspaces, settings, LSP shadow files.
LAB_FILES = re.compile(
    r"(^|/)\.ipynb_checkpoints/|\.jupyterlab-(workspace|settings)$|(^|/)\.virtual_documents/"
)


def test_nothing_was_written_into_the_course_or_the_working_tree(lab, tree_before):
    """Runs last (in each worker, the lab fixture checks its own copy once more). In the
    served copy of the course: no file changed or added but the student's
    own folder (Validate saves the notebook first) — no checkpoint, no autosave, nothing a
    notebook writes. In the repository (git status before and after): no JupyterLab file and
    no notebook changed. (Another program editing the repository meanwhile shows here too.)"""
    changed = written_into(lab)
    assert not changed, f"written into the served course {lab.root}: {changed}"

    after = working_tree()
    written = sorted(
        path for path in set(tree_before) | set(after)
        if tree_before.get(path) != after.get(path)
        and (LAB_FILES.search(path) or (path.endswith(".ipynb") and path in tree_before))
    )  # fmt: skip
    assert not written, f"written into the working tree while the browser tests ran: {written}"
