"""pytest collects the tests and every notebook of source/ and notebooks/, and never the
student versions or nbgrader's working folders, whether run bare or pointed at the root."""

import shutil
import subprocess
import sys

import nbformat
import pytest
from coursekit import ROOT

FOLDERS = {
    "source/a/a.ipynb": True,
    "notebooks/lecture.ipynb": True,
    "release/a/a.ipynb": False,
    "submitted/student/a/a.ipynb": False,
    "autograded/student/a/a.ipynb": False,
    "feedback/student/a/a.ipynb": False,
    "replaced/student/a/20260101T000000/a.ipynb": False,  # kept by make collect
    ".exchange/autodiff/outbound/a/a.ipynb": False,  # make lab's exchange
    "source/a/.ipynb_checkpoints/a-checkpoint.ipynb": False,
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """An empty course with this repository's pytest settings and a notebook in each folder."""
    root = tmp_path_factory.mktemp("collection")
    shutil.copy(ROOT / "pyproject.toml", root)
    (root / "tests").mkdir()
    (root / "tests" / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    for path in FOLDERS:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, root / path)
    return root


@pytest.mark.parametrize("args", [[], ["."]], ids=["bare", "root"])
def test_collection(course, args):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=course, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    files = {line.split("::")[0] for line in result.stdout.splitlines() if "::" in line}
    assert files == {"tests/test_nothing.py"} | {p for p, wanted in FOLDERS.items() if wanted}
