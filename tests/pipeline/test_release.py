"""The committed student versions (release/): current, stripped of every trace of a run,
free of solutions and hidden tests; nbgrader's Validator passes the sources and fails them."""

import shutil

import nbformat
import pytest
from coursekit import ROOT, assignments, copy_course, leaks, notebook_text, notebooks, run, secrets
from nbgrader.validator import Validator

DIRTY = "__run_and_saved"  # suffix of an assignment copy whose source was run and saved


def run_and_save(path):
    """What JupyterLab leaves in a notebook an instructor ran and saved."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata["language_info"] = {"name": "python", "version": "3.99.0", "file_extension": ".py"}
    for count, cell in enumerate(nb.cells, start=1):
        cell.metadata["collapsed"] = False
        if cell.cell_type == "code":
            cell.execution_count = count
            cell.metadata["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00.000Z"}
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a run\n")]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """release/ generated again from source/, and from sources that were run and saved."""
    root = copy_course(tmp_path_factory.mktemp("release"))
    for assignment in assignments():
        dirty = root / "source" / (assignment + DIRTY)
        shutil.copytree(root / "source" / assignment, dirty)
        for path in dirty.glob("*.ipynb"):
            run_and_save(path)
    result = run(root, "nbgrader", "generate_assignment", "*", "--force")
    assert result.returncode == 0, result.log
    return root / "release"


def files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("assignment", assignments())
def test_the_committed_release_is_what_make_release_generates(regenerated, assignment):
    committed = files(ROOT / "release" / assignment)
    assert committed, f"release/{assignment} is missing: run `make release` and commit it"
    assert files(regenerated / assignment) == committed, (
        f"release/{assignment} is stale: run `make release` and commit release/"
    )


@pytest.mark.parametrize("assignment", assignments())
def test_a_run_and_saved_source_releases_the_same_student_version(regenerated, assignment):
    assert files(regenerated / (assignment + DIRTY)) == files(ROOT / "release" / assignment), (
        "the student version depends on the state of the source notebook: outputs, execution "
        "counts, timings or widget state leak through (see StripRunMetadata)"
    )


def test_no_release_assignment_is_left_without_a_source():
    released = sorted(p.name for p in (ROOT / "release").iterdir() if p.is_dir())
    assert released == assignments(), "release/ and source/ differ: run `make release`"


def test_release_notebooks_hold_no_solution_and_no_hidden_test():
    for assignment in assignments():
        for source in sorted((ROOT / "source" / assignment).glob("*.ipynb")):
            secret = secrets(source)
            assert secret["solution"], f"{source} has no solution region to check"
            released = ROOT / "release" / assignment / source.name
            assert released.exists(), f"{released} is missing: run `make release` and commit it"
            text = notebook_text(released)
            assert not leaks(text, secret["hidden"] | secret["solution"]), source.name


def test_nbgraders_validator_passes_the_sources_and_fails_the_releases():
    """``nbgrader validate`` exits 0 either way: its Validator's results are what count."""
    for path in notebooks(ROOT / "source"):
        results = Validator().validate(str(path))
        assert results == {}, f"{path} fails its own tests: {results}"
    for path in notebooks(ROOT / "release"):
        results = Validator(invert=True).validate(str(path))
        assert results == {}, f"{path} passes tests without an answer: {results}"


def test_a_release_notebook_fails_only_where_an_answer_is_missing():
    """Run as handed out, every error is the NotImplementedError of an empty answer cell:
    nothing else breaks before the student has written a line."""
    from nbclient import NotebookClient

    for path in notebooks(ROOT / "release"):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb, timeout=120, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
        )
        client.execute()
        errors = [
            (index, output.ename)
            for index, cell in enumerate(nb.cells)
            for output in cell.get("outputs", [])
            if output.output_type == "error"
        ]
        assert errors, f"{path}: nothing fails without answers"
        assert {ename for _, ename in errors} == {"NotImplementedError"}, (path, errors)
