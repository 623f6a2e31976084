"""Grades given by hand: which written answers still wait for one, and keeping them on regrade.

nbgrader keeps a manual score when a submission is autograded again, but marks it as needing
manual grading once more (``needs_manual_grade``), whatever changed: after ``make grade
--force``, or after a resubmission, every written answer graded by hand came back marked ``*``.
Here the written answers graded by hand are read before grading (their text in the graded
notebook and their score) and, after grading, each one whose text did not change is marked
graded again with the same score. A written answer whose text changed keeps its old score for
reference and waits for a grader, as nbgrader intends. Test cells are left to nbgrader: a
score given by hand to a test cell is reviewed again after every regrade, since the tests may
have changed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

__all__ = ["keep_manual_grades", "pending_answers", "snapshot_manual_grades"]


def written_answers(graded_folder: Path) -> dict[tuple[str, str], str]:
    """``{(notebook, grade_id): text}`` of the written answers in a graded submission."""
    answers = {}
    for path in sorted(graded_folder.glob("*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # an unreadable graded copy: nothing to compare with
            continue
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution"):
                answers[path.stem, meta["grade_id"]] = cell.source
    return answers


def snapshot_manual_grades(gradebook, graded_folder: Path, student: str, assignment: str):
    """``{(notebook, grade_id): (text, manual score)}``: the written answers of a submission
    that a grader has graded (a manual score, nothing left to do), with the text graded."""
    from nbgrader.api import MissingEntry

    answers = written_answers(graded_folder)
    kept = {}
    for (notebook, grade_id), text in answers.items():
        try:
            grade = gradebook.find_grade(grade_id, notebook, assignment, student)
        except MissingEntry:
            continue
        if grade.manual_score is not None and not grade.needs_manual_grade:
            kept[notebook, grade_id] = (text, grade.manual_score)
    return kept


def keep_manual_grades(gradebook, snapshot, graded_folder: Path, student, assignment):
    """After a regrade: each written answer of ``snapshot`` whose text is unchanged gets its
    manual score and its graded status back. Returns the grade_ids kept."""
    now = written_answers(graded_folder)
    kept = []
    for (notebook, grade_id), (text, score) in sorted(snapshot.items()):
        if now.get((notebook, grade_id)) != text:
            continue
        grade = gradebook.find_grade(grade_id, notebook, assignment, student)
        grade.manual_score = score
        grade.needs_manual_grade = False
        kept.append(grade_id)
    gradebook.db.commit()
    return kept


def pending_answers(submission) -> list[str]:
    """The written answers (and other graded cells) of a submission, an nbgrader
    ``SubmittedAssignment``, that wait for manual grading: their grade_ids, each prefixed by
    its notebook's name when the assignment has several notebooks."""
    several = len(submission.notebooks) > 1
    return [
        f"{notebook.name}: {grade.name}" if several else grade.name
        for notebook in submission.notebooks
        for grade in notebook.grades
        if grade.needs_manual_grade
    ]
