"""Two nbgrader preprocessors, switched on in ``nbgrader_config.py``.

* ``StripRunMetadata`` (release): a source notebook that an instructor ran and saved carries
  traces of that run: execution timings, saved widget state, collapsed/scrolled flags. The
  student version keeps only the metadata nbgrader and the course need.
* ``HideHiddenTests`` (feedback): nbgrader's feedback shows the autograded notebook, whose test
  cells hold the hidden tests, and a failing hidden assert prints its code and message in the
  traceback. This removes the hidden region from each test cell's source and replaces its
  outputs by the name of the error, plus the message only when it comes from a visible line,
  and a line saying why the cell scored 0 (an assertion failed, the student's code raised, the
  time limit, the library's own version was called, the kernel died). Warnings written while it
  ran (``course/autograde.py`` made them a note) are mentioned, not shown.
"""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode

__all__ = [
    "FeedbackPreprocessor",
    "HideHiddenTests",
    "StripRunMetadata",
    "split_hidden_tests",
    "why_zero",
]


class StripRunMetadata(NbGraderPreprocessor):
    """Keep only the listed cell and notebook metadata; everything a run left behind goes."""

    keep_cell_metadata = List(
        ["nbgrader", "tags", "deletable", "editable"],
        help="Cell metadata keys kept in the student version.",
    ).tag(config=True)
    keep_notebook_metadata = List(
        ["kernelspec", "language_info.name"],
        help="Notebook metadata kept in the student version: a key, or key.subkey to keep "
        "only that part (the Python version a run recorded in language_info goes).",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        kept = NotebookNode()
        for path in self.keep_notebook_metadata:
            key, _, subkey = path.partition(".")
            if key not in nb.metadata:
                continue
            if not subkey:
                kept[key] = nb.metadata[key]
            elif subkey in nb.metadata[key]:
                kept.setdefault(key, NotebookNode())[subkey] = nb.metadata[key][subkey]
        nb.metadata = kept
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        cell.metadata = NotebookNode(
            {k: v for k, v in cell.metadata.items() if k in self.keep_cell_metadata}
        )
        if cell.cell_type == "code":
            cell.execution_count = None
        return cell, resources


def split_hidden_tests(source, begin="BEGIN HIDDEN TESTS", end="END HIDDEN TESTS"):
    """``(visible lines, hidden lines)`` of a cell's source; the delimiter lines are dropped."""
    visible, hidden, inside = [], [], False
    for line in source.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        else:
            (hidden if inside else visible).append(line)
    return visible, hidden


class FeedbackPreprocessor(NbGraderPreprocessor):
    """Base of the course's feedback preprocessors. nbgrader's base class re-declares nbconvert's
    ``display_data_priority`` without ``config=True``; the HTML exporter configures that option
    for every preprocessor, and traitlets then warns "Config option `display_data_priority` not
    recognized". Declared configurable again here, as nbgrader's own GetGrades does."""

    display_data_priority = List(NbGraderPreprocessor.display_data_priority.default()).tag(
        config=True
    )


# Why a test cell scored 0, by the name of its error (any other error: the student's code raised
# it while the tests ran). Messages of the errors in SAFE_MESSAGES are shown: they name no test.
WHY_ZERO = {
    "AssertionError": "a test's assertion failed: your code gave a wrong result for a case "
    "this cell checks",
    "NotImplementedError": "the answer is not written yet (its `raise NotImplementedError()` "
    "is still there)",
    "CellTimeoutError": "the cell ran past its time limit (an endless loop, or far too slow)",
    "LibraryReferenceUsed": "your code called the library's own version of what the exercise "
    "asks you to write",
    "NotAPlainValue": "your code returned an object that only pretends to be a number or an "
    "array",
    "KernelDied": "the kernel died while this cell ran",
    "NotRun": "the kernel died in an earlier cell, so this one was not run",
}
SAFE_MESSAGES = {"LibraryReferenceUsed", "NotAPlainValue", "KernelDied", "NotRun"}
WARNINGS_NOTE = (
    "Note: warnings were written while this cell ran (not shown, since they may come from "
    "hidden tests). They cost no points."
)


def why_zero(ename: str) -> str:
    """The line of feedback that says why a test cell with this error scored 0."""
    reason = WHY_ZERO.get(ename, f"your code raised {ename} while this cell's tests ran")
    return f"This cell scored 0 because {reason}."


class HideHiddenTests(FeedbackPreprocessor):
    """Show students that a hidden test failed, never what it is."""

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)  # nbgrader's spelling
    end_test_delimeter = Unicode("END HIDDEN TESTS").tag(config=True)
    placeholder = Unicode(
        "# (hidden tests: not shown)", help="Replaces the hidden region in the source."
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or self.begin_test_delimeter not in cell.source:
            return cell, resources
        visible, _ = split_hidden_tests(
            cell.source, self.begin_test_delimeter, self.end_test_delimeter
        )
        cell.source = "\n".join(visible + [self.placeholder]).strip("\n")
        visible_text = "\n".join(visible)
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("course") == "stderr-note":
                note = NotebookNode(output_type="stream", name="stdout", text=WARNINGS_NOTE + "\n")
                if note not in outputs:
                    outputs.insert(0, note)
            if output.output_type != "error":
                continue  # printed or displayed by hidden code, or by the student's code on
                # hidden inputs: either may give the test away
            message = output.get("evalue", "")
            if not (message.strip() and (message in visible_text or output.ename in SAFE_MESSAGES)):
                message = (  # only an assertion is a failed test; any other error is the code's
                    "a test in this cell failed (hidden tests and their messages are not shown)"
                    if output.ename == "AssertionError"
                    else "(its message is not shown: it may name a hidden test)"
                )
            outputs.append(
                NotebookNode(
                    output_type="error",
                    ename=output.ename,
                    evalue=message,
                    traceback=[f"{output.ename}: {message}", why_zero(output.ename)],
                )
            )
        cell.outputs = outputs
        return cell, resources
