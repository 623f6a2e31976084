"""The source notebooks are kept as text (course/pairs.py), with metadata nbgrader accepts; the
two course preprocessors do what nbgrader_config.py relies on. (No kernel is started here.)"""

import json

import nbformat
import pytest
from coursekit import ROOT, assignments, notebooks
from nbformat.notebooknode import from_dict
from nbgrader.nbgraderformat import MetadataValidator

from course import cells, pairs
from course.nbgrader_plugins import HideHiddenTests, StripRunMetadata


def test_every_assignment_is_kept_as_text_and_released():
    paired = sorted(str(pairs.notebook_of(t)) for t in pairs.texts() if not pairs.is_lecture(t))
    assert [str(p) for p in notebooks(ROOT / "source")] == paired, (
        "every notebook in source/ must be paired with a text file assignments/<id>/<id>.py "
        "(see README, Editing a notebook)"
    )
    for assignment in assignments():
        assert (ROOT / "release" / assignment).is_dir(), f"run `make release` for {assignment}"


def test_graded_cells_keep_their_grade_id_as_cell_id_and_nbgrader_upgrades_nothing():
    validator = MetadataValidator()
    for path in notebooks(ROOT / "source"):
        nb = nbformat.read(path, as_version=4)
        graded = [c for c in nb.cells if "nbgrader" in c.metadata]
        assert graded and all(c.id == c.metadata.nbgrader["grade_id"] for c in graded), path
        # the upgrade nbgrader applies to every notebook it reads changes nothing
        upgraded = validator.upgrade_notebook_metadata(from_dict(json.loads(json.dumps(nb))))
        assert upgraded == nb, path


@pytest.mark.parametrize("folder", ["source", "release"])
def test_committed_notebooks_pass_nbgraders_validator(folder):
    for path in notebooks(ROOT / folder):
        MetadataValidator().validate_nb(nbformat.read(path, as_version=4))


def test_cell_roles_carry_the_metadata_nbgrader_expects():
    roles = {
        "given": cells.given("x = 1", "g"),
        "solution": cells.solution("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "s"),
        "tests": cells.tests("assert x == 1", "t", points=2),
        "written": cells.written_answer("Because.", "w", points=3),
    }
    meta = {name: cell.metadata.nbgrader for name, cell in roles.items()}
    assert (meta["given"]["locked"], meta["given"]["grade"], meta["given"]["solution"]) == (
        True, False, False
    )  # fmt: skip
    assert meta["solution"]["solution"] and not meta["solution"]["grade"]
    assert meta["tests"]["grade"] and meta["tests"]["locked"] and meta["tests"]["points"] == 2
    assert roles["written"].cell_type == "markdown"
    assert (
        meta["written"]["grade"] and meta["written"]["solution"] and not meta["written"]["locked"]
    )
    assert "### BEGIN SOLUTION" in roles["written"].source
    for cell in roles.values():
        MetadataValidator().validate_cell(cell)
    with pytest.raises(ValueError, match="no ### BEGIN/END SOLUTION"):
        cells.solution("x = 1", "s")
    with pytest.raises(ValueError, match="either checked or ignored"):
        cells.code("x", check_output=True, ignore_output=True)


def test_strip_run_metadata_leaves_only_what_the_student_version_needs():
    nb = nbformat.v4.new_notebook(
        cells=[cells.given("x = 1", "g", check_output=True), cells.markdown("text")],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python", "version": "3.11.7"},
            "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
        },
    )
    code = nb.cells[0]
    code.execution_count = 3
    code.metadata.update(
        {"execution": {"iopub.execute_input": "2026-01-01T00:00:00Z"}, "collapsed": True}
    )
    nb.cells[1].metadata["jp-MarkdownHeadingCollapsed"] = True
    nb, _ = StripRunMetadata().preprocess(nb, {})
    assert set(nb.metadata) == {"kernelspec", "language_info"}
    assert nb.metadata.language_info == {"name": "python"}
    assert set(code.metadata) == {"nbgrader", "tags"} and code.execution_count is None
    assert nb.cells[1].metadata == {}


def test_hide_hidden_tests_keeps_visible_messages_and_drops_everything_hidden():
    source = (
        "assert ok(), 'visible message'\n"
        "### BEGIN HIDDEN TESTS\n"
        "assert secret_check(), 'hidden message'\n"
        "### END HIDDEN TESTS"
    )
    cell = cells.tests(source, "t", points=1)

    def error(message):
        return nbformat.v4.new_output(
            "error", ename="AssertionError", evalue=message,
            traceback=["----> 3 assert secret_check(), 'hidden message'", message],
        )  # fmt: skip

    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="printed by secret_check"),
        error("hidden message"),
        error("visible message"),
    ]
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    text = json.dumps(cell)
    assert "secret_check" not in text and "hidden message" not in text
    assert "assert ok(), 'visible message'" in cell.source
    assert [o.evalue for o in cell.outputs][1] == "visible message"
    assert all(o.output_type == "error" for o in cell.outputs)
    assert "hidden tests and their messages are not shown" in cell.outputs[0].evalue
