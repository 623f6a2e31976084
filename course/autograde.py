"""How ``nbgrader autograde`` runs a submission here: ``RestoreTestCells`` and ``GuardedExecute``,
switched on in ``nbgrader_config.py``.

nbgrader restores each read-only cell from the gradebook before grading (``OverwriteCells``) and
warns "Attribute 'checksum' for cell test_... has changed!" when the handed-in cell differs from
it. The gradebook holds the instructor's test cells, with their hidden tests, and the student
was given them without: every untouched test cell differed, and every honest student looked like
a cheater in the log. ``RestoreTestCells`` compares a test cell with what the student was given
(the gradebook's cell with its hidden tests removed, as ``generate_assignment`` removes them):
unchanged, it is restored without a warning; edited, it is restored and reported as before.

nbgrader's ``Execute`` (here ``SandboxedExecute``, whose kernel runs in the sandbox of
``course/sandbox.py``) runs the notebook's cells in one kernel, and a test cell scores 0 when its
outputs hold an error or anything written to stderr, and partial credit when it shows a number.
A submission runs in that same kernel, so it can change what the tests see. ``GuardedExecute``
keeps nbgrader's rules for what an error is and changes four things:

* Before the first cell it has the kernel remember numpy, math, the library and IPython's own
  machinery (``autodiff_lib.testing.protect``), and before each test cell it puts back whatever
  the notebook changed in them (``restore``): a patched ``np.allclose``, a silenced
  ``showtraceback`` or a replaced ``ad.gradient_descent`` is undone before the tests run, and
  hooks into the running of cells (a ``pre_run_cell`` or ``post_run_cell`` callback, an input
  or AST transformer) are removed. The test cell itself ends with ``restore`` (before IPython
  reports its error and runs ``post_run_cell``), so what the student's code hooks in while the
  test runs cannot change its outcome; a ``clear_output`` cannot erase a test cell's error. An
  error the kernel reports but does not show still counts (nbgrader's ``on_cell_executed``).
* Honest work never loses points for a warning: what a test cell writes to stderr (a numpy
  ``RuntimeWarning``, a deprecation notice) becomes a visible note, marked so that the feedback
  can say that warnings were written without showing them. Only an error scores 0.
* A value shown in a test cell (``sys.displayhook``; the cell's last expression is not shown,
  as the cell ends with ``restore``) is never a score: nbgrader would read a number in it as
  partial credit, and any text as full marks, even when an error follows.
* When the kernel dies (``os._exit``, a killed process, the memory limit), the cell where it
  died and every cell after it get an error saying so, and grading finishes: the cells before
  keep what they earned, the rest score 0, and the log says why. nbgrader would give up on the
  whole submission instead.
"""

from __future__ import annotations

from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, OverwriteCells
from traitlets import Unicode

from .sandbox import SandboxedExecute

__all__ = [
    "KERNEL_DIED",
    "NOT_RUN",
    "STDERR_NOTE",
    "GuardedExecute",
    "RestoreTestCells",
    "as_released",
    "error_output",
    "kernel_notes",
]


def as_released(source: str) -> str:
    """A cell's source as ``generate_assignment`` gives it to students: hidden tests removed."""
    cell = NotebookNode(cell_type="code", source=source, metadata={}, outputs=[])
    ClearHiddenTests()._remove_hidden_test_region(cell)
    return cell.source


class RestoreTestCells(OverwriteCells):
    """nbgrader's ``OverwriteCells``, silent about a locked cell the student did not change."""

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and cell.cell_type == "code":
            try:
                original = self.gradebook.find_source_cell(
                    grade_id, self.notebook_id, self.assignment_id
                )
            except MissingEntry:
                original = None  # nbgrader warns about it
            if (
                original is not None
                and original.locked
                and cell.source.strip() == as_released(original.source).strip()
            ):
                cell.source = original.source  # the hidden tests back, as the student was given
        return super().preprocess_cell(cell, resources, cell_index)


STDERR_NOTE = "stderr-note"  # the course metadata of a note made from a test cell's stderr
KERNEL_DIED = "KernelDied"
NOT_RUN = "NotRun"
NOTE_HEADING = "Note (costs no points): this was written to stderr while the cell ran:\n"


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(
        output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


class GuardedExecute(SandboxedExecute):
    """nbgrader's ``Execute`` in the sandbox (``course/sandbox.py``), with the notebook's changes
    undone before each test cell, stderr turned into a note, no partial credit from a cell's
    value, and a dead kernel reported."""

    protect_code = Unicode(
        "__import__('autodiff_lib.testing', fromlist=['_']).protect()",
        help="Run in the kernel, unseen, before the notebook's first cell.",
    ).tag(config=True)
    restore_code = Unicode(
        "__import__('autodiff_lib.testing', fromlist=['_']).restore(next_cell_is_a_test=True)",
        help="Run in the kernel, unseen, before each test cell (which then ends with it too).",
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._died_at = None  # the index of the cell where the kernel died
        self._protected = False
        self._in_test_cell = False
        return super().preprocess(nb, resources, km)

    def clear_output(self, outs, msg, cell_index):
        """A test cell's outputs are never cleared: a ``clear_output`` sent by the student's
        code (from a hook, a thread) would otherwise erase the error that scores it 0."""
        if not self._in_test_cell:
            super().clear_output(outs, msg, cell_index)

    def _run_unseen(self, code: str, index: int, cell) -> None:
        """Run ``code`` in the kernel without a trace in the notebook or the kernel's history
        (nbclient puts the cell it ran at ``index``: the real cell goes back there)."""
        scratch = NotebookNode(cell_type="code", source=code, metadata={}, outputs=[],
                               execution_count=None)  # fmt: skip
        try:
            self.execute_cell(scratch, index, store_history=False)
        finally:
            self.nb.cells[index] = cell
        errors = [o for o in scratch.outputs if o.output_type == "error"]
        if errors:
            self.log.warning("Grading guard failed in the kernel: %s: %s",
                             errors[0].ename, errors[0].evalue)  # fmt: skip

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self._died_at is not None:
            cell.outputs = [error_output(NOT_RUN, "not run: the kernel died in an earlier cell")]
            return cell, resources
        graded = utils.is_grade(cell)
        try:
            if not self._protected:
                self._run_unseen(self.protect_code, index, cell)
                self._protected = True
            if graded:
                self._run_unseen(self.restore_code, index, cell)
            self._in_test_cell = graded
            try:
                cell, resources = super().preprocess_cell(cell, resources, index)
            finally:
                self._in_test_cell = False
        except DeadKernelError:
            self._died_at = index
            name = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
            self.log.warning("The kernel died while running %s: the cells after it score 0.",
                             name)  # fmt: skip
            cell.outputs = [
                error_output(
                    KERNEL_DIED,
                    "the kernel died while this cell ran (it exited, was killed, or ran out of "
                    "memory): this cell and the cells after it were not graded",
                )
            ]
            return cell, resources
        if graded:
            score_only_errors(cell)
        return cell, resources


def score_only_errors(cell) -> None:
    """The outputs of a test cell, rewritten so that only an error scores 0: stderr becomes a
    note, a cell's value (execute_result) is shown as a display, never read as a score."""
    outputs = []
    for output in cell.outputs:
        if output.output_type == "stream" and output.name == "stderr":
            output = NotebookNode(
                output_type="display_data",
                data={"text/plain": NOTE_HEADING + output.text},
                metadata={"course": STDERR_NOTE},
            )
        elif output.output_type == "execute_result":
            output = NotebookNode(
                output_type="display_data", data=output.data, metadata=output.get("metadata", {})
            )
        outputs.append(output)
    cell.outputs = outputs


def kernel_notes(root, config, keys) -> list[str]:
    """Note lines (``- student / assignment: ...``) for the graded submissions ``keys`` whose
    kernel died while grading: which cell, and that the cells after it scored 0."""
    import nbformat

    notes = []
    for student, assignment in sorted(keys):
        folder = root / config.autograded_directory / student / assignment
        for path in sorted(folder.glob("*.ipynb")):
            try:
                nb = nbformat.read(path, as_version=4)
            except Exception:  # noqa: BLE001  (reported by grading itself)
                continue
            for index, cell in enumerate(nb.cells):
                if any(o.get("ename") == KERNEL_DIED for o in cell.get("outputs", [])):
                    name = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index + 1}")
                    notes.append(
                        f"- {student} / {assignment}: the kernel died in {path.name}, {name} "
                        "(it exited, was killed, or ran out of memory); the cells after it "
                        "scored 0"
                    )
    return notes
