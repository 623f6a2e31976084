"""Notebooks kept as text (course/pairs.py, issue 18): each text file agrees with its .ipynb,
nbgrader's metadata survives a save in JupyterLab, the build refuses what it must and names the
file to fix, and no text twin can reach a student."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from coursekit import ROOT, assignments
from nbformat.notebooknode import from_dict
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
    nb = pairs.read_text(text)
    pairs.check(nb, pairs.relative(text), pairs.is_lecture(text))
    MetadataValidator().validate_nb(nb)


ASSIGNMENTS = [t for t in TEXTS if not pairs.is_lecture(t)]


@pytest.mark.parametrize("text", ASSIGNMENTS, ids=lambda p: p.name)
def test_every_cells_nbgrader_metadata_is_complete_and_valid_on_both_sides(text):
    """Read from the text's role headers and stored in the .ipynb, each cell's nbgrader
    metadata is the same, complete (every key of schema 3, points where graded, nothing that
    nbgrader's upgrade would add) and valid by nbgrader's MetadataValidator; the text writes
    roles as headers, never as JSON."""
    validator = MetadataValidator()
    keys = {"schema_version", "grade", "grade_id", "locked", "solution", "task"}
    from_text = pairs.read_text(text)
    stored = nbformat.read(pairs.notebook_of(text), as_version=4)
    assert [c.source for c in from_text.cells] == [c.source for c in stored.cells]
    for nb in (from_text, stored):
        validator.validate_nb(nb)
        graded = [c for c in nb.cells if "nbgrader" in c.metadata]
        assert graded
        for cell in graded:
            meta = cell.metadata.nbgrader
            assert set(meta) == keys | ({"points"} if meta["grade"] or meta["task"] else set())
            assert meta["schema_version"] == 3 and meta["grade_id"]
            assert validator.upgrade_cell_metadata(from_dict(json.loads(json.dumps(cell)))) == cell
            validator.validate_cell(cell)
    assert [c.metadata.get("nbgrader") for c in from_text.cells] == [
        c.metadata.get("nbgrader") for c in stored.cells
    ]
    assert "nbgrader=" not in text.read_text()


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


def nbgrader_by_id(nb):
    return {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader for c in nb.cells
            if "nbgrader" in c.metadata}  # fmt: skip


def test_the_text_states_roles_in_short_headers_that_read_back_whole(tmp_path):
    notebook, text = small_pair(tmp_path)
    headers = [line for line in text.read_text().splitlines() if line.startswith("# %%")]
    assert headers == ["# %% [markdown]", "# %% [markdown]", "# %% answer double",
                       "# %% tests test_double (2 points)"]  # fmt: skip
    assert "cell_metadata_filter: tags,title,-nbgrader" in text.read_text()
    stored = nbformat.read(notebook, as_version=4)
    assert nbgrader_by_id(pairs.read_text(text)) == nbgrader_by_id(stored)
    for header in ["given g", "answer a", "tests t (2 points)", "tests t (0.5 points)",
                   "written w (1 point)", "task k (3 points)"]:  # fmt: skip
        assert pairs.header_of(pairs.nbgrader_of(header, "here")) == header
    assert pairs.nbgrader_of("written w (1 point)", "here") == {
        "schema_version": 3, "grade_id": "w", "grade": True, "solution": True, "locked": False,
        "task": False, "points": 1,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("# %% solution double", r"x\.py, cell 3 \(`# %% solution double`\): unknown role"),
        ("# %% answer", r"x\.py, cell 3 \(`# %% answer`\): write the header as `ROLE ID`"),
        ("# %% answer double (1 point)", r"cell 3 .*: answer cells have no points"),
        ("# %% tests double", r"cell 3 \(`# %% tests double`\): tests cells state their points"),
        ("# %% answer test_double", r"cell 4 .*: cell 3 has the id test_double too"),
    ],
)
def test_a_malformed_header_is_refused_naming_the_file_and_the_cell(tmp_path, header, error):
    notebook, text = small_pair(tmp_path)
    text.write_text(text.read_text().replace("# %% answer double", header))
    with pytest.raises(ValueError, match=error):
        pairs.read_text(text)
    with pytest.raises(SystemExit, match=error):
        pairs.write(text, from_text=True)


def test_the_full_json_header_jupytext_may_write_is_read_and_rewritten_short(tmp_path):
    notebook, text = small_pair(tmp_path)
    nb = nbformat.read(notebook, as_version=4)
    del nb.metadata.jupytext["cell_metadata_filter"]  # as before: jupytext writes the JSON
    text.write_text(jupytext.writes(nb, pairs.TEXT_FORMAT))
    assert '# %% nbgrader={"grade": true, "grade_id": "test_double"' in text.read_text()
    assert nbgrader_by_id(pairs.read_text(text)) == nbgrader_by_id(nb)
    assert pairs.status(text) == "text and notebook disagree"
    assert "# %% tests test_double (2 points)" in pairs.as_text(pairs.read(text, True)[0])


def test_roles_set_in_jupyterlab_and_in_the_text_survive_the_round_trip(tmp_path):
    """Through jupytext's contents manager, as JupyterLab opens and saves: (c) the text opens
    with nbgrader's whole metadata (the toolbar shows the roles); (a) what nbgrader's Create
    Assignment toolbar does (it writes the cell's nbgrader metadata), saved, is in the .ipynb,
    and after the build in the text's header; (b) points edited in the text are, after the
    build, in the .ipynb's metadata."""
    notebook, text = small_pair(tmp_path)
    manager = jupytext.TextFileContentsManager(root_dir=str(tmp_path))
    expected = nbgrader_by_id(nbformat.read(notebook, as_version=4))
    for path in ("assignments/x/x.py", "source/x/x.ipynb"):  # (c)
        opened = manager.get(path)["content"]
        assert nbgrader_by_id(opened) == expected
        MetadataValidator().validate_nb(opened)

    model = manager.get("source/x/x.ipynb")  # (a)
    cells_ = model["content"].cells
    test_cell = next(c for c in cells_ if c.metadata.get("nbgrader", {}).get("grade"))
    test_cell.metadata.nbgrader["points"] = 5
    cells_[1].source = cells_[1].source.replace("(2 points)", "(5 points)")
    manager.save(model, "source/x/x.ipynb")
    assert nbgrader_by_id(nbformat.read(notebook, as_version=4))["test_double"]["points"] == 5
    assert "# %% tests test_double (2 points)" in text.read_text()  # until the build
    assert pairs.status(text) == "text and notebook disagree"
    for from_text in (False, True):  # the text was saved last: the toolbar's points still win
        assert nbgrader_by_id(pairs.read(text, from_text)[0])["test_double"]["points"] == 5
    pairs.write(text)
    assert "# %% tests test_double (5 points)" in text.read_text()
    stored = nbformat.read(notebook, as_version=4)
    assert nbgrader_by_id(stored)["test_double"]["points"] == 5
    assert not any("title" in c.metadata for c in stored.cells)
    assert pairs.status(text) == "up to date"

    text.write_text(text.read_text().replace("(5 points)", "(3 points)"))  # (b)
    pairs.write(text)
    stored = nbformat.read(notebook, as_version=4)
    assert nbgrader_by_id(stored)["test_double"]["points"] == 3
    assert nbgrader_by_id(manager.get("assignments/x/x.py")["content"]) == nbgrader_by_id(stored)


def test_after_a_save_in_jupyterlab_the_newer_role_wins(tmp_path):
    """The .ipynb saved in JupyterLab holds, as each cell's title, the header the text had:
    where the text still has it, the .ipynb's role is the newer (the toolbar's, removed with
    its "-" too); where the header was edited in the text since, the text's."""
    notebook, text = small_pair(tmp_path)
    manager = jupytext.TextFileContentsManager(root_dir=str(tmp_path))
    model = manager.get("source/x/x.ipynb")
    del model["content"].cells[2].metadata["nbgrader"]  # the toolbar's "-" on the answer
    model["content"].cells[1].metadata["nbgrader"] = pairs.nbgrader_of("task t (1 point)", "")
    manager.save(model, "source/x/x.ipynb")
    assert any("title" in c.metadata for c in nbformat.read(notebook, as_version=4).cells)
    assert "# %% answer double" in text.read_text()
    nb, taken = pairs.read(text)
    assert taken == text and list(nbgrader_by_id(nb)) == ["t", "test_double"]

    text.write_text(text.read_text().replace("# %% tests test_double (2 points)", "# %%"))
    os.utime(text, (notebook.stat().st_mtime + 10,) * 2)
    nb, taken = pairs.read(text)
    assert taken == text and list(nbgrader_by_id(nb)) == ["t"]


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
                    .replace("1 (2 points)", "1 (3 points)"))  # fmt: skip
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
