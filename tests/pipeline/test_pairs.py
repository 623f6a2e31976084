"""Notebooks kept as text (course/pairs.py, issue 18): each text file agrees with its .ipynb,
nbgrader's metadata survives a save in JupyterLab, the build refuses what it must and names the
file to fix, and no text twin can reach a student."""

import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from coursekit import ROOT, assignments
from nbgrader.nbgraderformat import MetadataValidator

from course import cells, pairs
from course.points import check_points

TEXTS = pairs.texts()


def test_the_course_has_text_notebooks():
    assert TEXTS, "no text notebook in lectures/ or assignments/"
    for text in TEXTS:
        notebook = pairs.notebook_of(text)
        assert notebook.parent.parent.name in ("source",) or notebook.parent.name == "notebooks"
        assert pairs.text_of(notebook) == text


@pytest.mark.parametrize("text", TEXTS, ids=lambda p: p.name)
def test_each_text_agrees_with_its_notebook_and_its_outputs_are_current(text):
    state = pairs.status(text)
    assert state == "up to date", f"{pairs.relative(text)}: {state}; run `make notebooks`"


@pytest.mark.parametrize("text", TEXTS, ids=lambda p: p.name)
def test_each_text_passes_the_checks_of_the_build(text):
    """nbgrader's own metadata validation, stated points, the hidden-tests line."""
    nb = jupytext.read(text)
    pairs.check(nb, pairs.relative(text), pairs.is_lecture(text))
    MetadataValidator().validate_nb(nb)


def test_no_text_twin_lies_where_nbgrader_copies_files():
    """nbgrader copies every file of source/<id>/ into release/ and into each student's graded
    folder: the text twins (the solutions as text) must be elsewhere, and none was released."""
    for assignment in assignments():
        for folder in ("source", "release"):
            files = (ROOT / folder / assignment).iterdir()
            strays = [p.name for p in files if p.suffix != ".ipynb"]
            assert not strays, f"{folder}/{assignment} holds {strays}"
    released = {p.name for p in (ROOT / "release").rglob("*") if p.is_file()}
    assert not released & {t.name for t in TEXTS}


def small_pair(root):
    """A two-exercise assignment made with the cell constructors, paired under ``root``."""
    nb = nbformat.v4.new_notebook(
        cells=[
            cells.markdown(f"# A part\n\n{cells.GRADING_NOTE}"),
            cells.markdown("### Exercise 1 (2 points): double"),
            cells.solution("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
                           "    ### END SOLUTION", "double"),
            cells.tests("assert double(2) == 4", "test_double", points=2),
        ]
    )  # fmt: skip
    cells.close_visible_tests(nb.cells)
    pairs.pair_metadata(nb, "assignments")
    notebook = root / "source" / "x" / "x.ipynb"
    notebook.parent.mkdir(parents=True)
    nbformat.write(nb, notebook)
    text = root / "assignments" / "x" / "x.py"
    text.parent.mkdir(parents=True)
    text.write_text(pairs.as_text(nb))
    return notebook, text


def test_points_set_in_jupyterlab_survive_the_round_trip(tmp_path):
    """What nbgrader's Create Assignment toolbar does (it writes the cell's nbgrader metadata),
    saved through jupytext's contents manager as JupyterLab saves, read back from both files;
    then the other way: the text edited, the notebook opened."""
    notebook, text = small_pair(tmp_path)
    manager = jupytext.TextFileContentsManager(root_dir=str(tmp_path))
    model = manager.get("source/x/x.ipynb")
    cell = next(c for c in model["content"].cells if "nbgrader" in c.metadata and
                c.metadata.nbgrader["grade"])  # fmt: skip
    cell.metadata.nbgrader["points"] = 5
    manager.save(model, "source/x/x.ipynb")
    header = next(line for line in text.read_text().splitlines() if "test_double" in line)
    assert '"points": 5' in header
    def by_id(nb):
        return {c.metadata.get("nbgrader", {}).get("grade_id"): c.metadata for c in nb.cells}

    from_text = by_id(jupytext.read(text))["test_double"]
    from_notebook = by_id(nbformat.read(notebook, as_version=4))["test_double"]
    assert from_text.nbgrader == from_notebook.nbgrader and from_text.nbgrader["points"] == 5
    for nb in (jupytext.read(text), nbformat.read(notebook, as_version=4)):
        MetadataValidator().validate_nb(nb)
    assert pairs.agree(nbformat.read(notebook, as_version=4), text)

    text.write_text(text.read_text().replace('"points": 5', '"points": 3'))
    opened = manager.get("source/x/x.ipynb")["content"]
    points = [c.metadata.nbgrader.get("points") for c in opened.cells if "nbgrader" in c.metadata]
    assert 3 in points


def test_the_build_names_the_text_that_disagrees_or_fails(tmp_path, monkeypatch):
    notebook, text = small_pair(tmp_path)
    assert pairs.status(text) == "not run since its code changed"
    pairs.write(text)  # runs it: the reference solution passes its tests
    assert pairs.status(text) == "up to date"
    assert nbformat.read(notebook, as_version=4).metadata.course["outputs_of"]

    text.write_text(text.read_text().replace("return 2 * x", "return 3 * x"))
    assert pairs.status(text) == "text and notebook disagree"
    with pytest.raises(SystemExit, match=r"x\.py fails when run"):
        pairs.write(text)

    text.write_text(text.read_text().replace("return 3 * x", "return 2 * x")
                    .replace("(2 points)", "(3 points)"))  # fmt: skip
    with pytest.raises(SystemExit, match=r"states 3 points, but its graded cells are worth 2"):
        pairs.write(text)

    text.write_text(text.read_text().replace("(3 points)", "(2 points)")
                    .replace("more tests (hidden here)", "more tests"))  # fmt: skip
    with pytest.raises(SystemExit, match=r"x\.py: say how the notebook is graded"):
        pairs.write(text)


def test_after_a_merge_the_text_can_be_taken_over_a_newer_notebook(tmp_path):
    """A git merge that merged the text and took one side's .ipynb leaves the .ipynb newer:
    the build would take it (jupytext's rule); --from-text takes the merged text."""
    import os

    notebook, text = small_pair(tmp_path)
    text.write_text(text.read_text().replace("return 2 * x", "return x + x"))
    os.utime(notebook, (text.stat().st_mtime + 10,) * 2)
    nb, taken = pairs.read(text)
    assert taken == notebook and "return 2 * x" in nb.cells[2].source
    nb, taken = pairs.read(text, from_text=True)
    assert taken == text and "return x + x" in nb.cells[2].source
    assert nb.metadata.kernelspec and nb.cells[3].metadata.nbgrader["points"] == 2


def test_a_run_in_jupyterlab_is_noticed():
    text = next(t for t in TEXTS)
    nb = nbformat.read(pairs.notebook_of(text), as_version=4)
    nb.metadata["widgets"] = {"state": {}}
    nb.cells[1].metadata["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00Z"}
    assert pairs.leftovers(nb, pairs.is_lecture(text)) == ["widgets", "cell 1: execution"]


def test_stated_points_must_be_those_of_the_cells():
    graded = cells.tests("assert True", "t", points=2)
    check_points([cells.markdown("### Exercise (2 points): x"), graded])
    with pytest.raises(ValueError, match="states 1 point, but its graded cells are worth 2"):
        check_points([cells.markdown("### Exercise (1 point): x"), graded], "p.py")
    with pytest.raises(ValueError, match="write the points"):
        check_points([cells.markdown("### Exercise ({points}): x"), graded])
    with pytest.raises(ValueError, match="t comes before any heading that states points"):
        check_points([graded, cells.markdown("### Exercise (2 points): x"), graded])


def test_make_check_notebooks_passes():
    result = subprocess.run(
        [sys.executable, "-m", "course.build", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_lints_the_text_notebooks():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    folders = [str(ROOT / f) for f in ("lectures", "assignments") if (ROOT / f).is_dir()]
    result = subprocess.run([ruff, "check", "--no-cache", *folders], cwd=ROOT,
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout
