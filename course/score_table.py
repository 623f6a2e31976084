"""The table ``make grade`` prints, read back from the gradebook, and the notes under it.

One row per student (every student of the gradebook, so a roster shows who handed in
nothing), one column per assignment that has submissions. A cell is the score after the late
penalty out of the possible points, then ``*`` where written answers wait for manual grading,
``R`` where the submission was graded again in this run, ``L`` where it was handed in late
(the notes under the table give how late and the penalty); ``-`` where nothing was handed in
and ``FAILED`` where grading broke. Assignment names are shortened to their number (``01``),
with a legend, so that nine assignments fit a terminal.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["format_table", "late_notes", "score_table", "short_names"]

LEGEND = (
    "points / possible, after any late penalty; * = written answers wait for manual grading, "
    "R = graded again in this run, L = late (see below), - = nothing handed in"
)


def score_table(root: Path, regraded=frozenset()) -> tuple[list[str], list[str], dict]:
    """Students, assignments (those with submissions) and ``{(student, assignment): text}``.
    ``regraded``: the ``(student, assignment)`` pairs this run graded again (marked ``R``)."""
    from nbgrader.api import Gradebook

    from .grades import course_config, submissions

    config = course_config(root)
    submitted = set(submissions(root))
    autograded = root / config.autograded_directory
    cells = {}
    with Gradebook(config.db_url, config.course_id) as gb:
        graded = {(s.student.id, a.name): s for a in gb.assignments for s in a.submissions}
        assignments = sorted({a for _, a in submitted} | {a for _, a in graded})
        students = sorted({s.id for s in gb.students} | {s for s, _ in submitted})
        for student in students:
            for assignment in assignments:
                key = (student, assignment)
                submission = graded.get(key)
                if submission is not None and (autograded / student / assignment).is_dir():
                    cells[key] = cell_text(submission, key in regraded)
                else:  # handed in but not graded: grading broke (its log said why)
                    cells[key] = "FAILED" if key in submitted else "-"
    return students, assignments, cells


def cell_text(submission, regraded: bool) -> str:
    """``6.5 / 8*``, ``4 / 8  L``, ``8 / 8 R``: the score after the penalty, then the marks."""
    penalty = submission.late_submission_penalty or 0.0
    score = max(0.0, submission.score - penalty)
    pending = "*" if submission.needs_manual_grade else " "
    marks = ("R" if regraded else "") + ("L" if submission.total_seconds_late > 0 else "")
    return f"{score:g} / {submission.max_score:g}{pending}" + (f" {marks}" if marks else "")


def short_names(assignments: list[str]) -> dict[str, str]:
    """``{assignment: column title}``: the part before the first ``_`` (``01``) when that is
    unique to each assignment, the whole name otherwise."""
    short = {a: a.split("_", 1)[0] for a in assignments}
    return short if len(set(short.values())) == len(short) else {a: a for a in assignments}


def format_table(students, assignments, cells) -> str:
    """The table as text: aligned columns, then a legend of the shortened names."""
    titles = short_names(assignments)
    width = max([len("student")] + [len(s) for s in students])
    columns = [max([len(titles[a])] + [len(cells[s, a]) for s in students]) for a in assignments]
    header = [titles[a].rjust(w) for a, w in zip(assignments, columns, strict=True)]
    lines = ["  ".join(["student".ljust(width), *header])]
    for student in students:
        row = [cells[student, a].rjust(w) for a, w in zip(assignments, columns, strict=True)]
        lines.append("  ".join([student.ljust(width)] + row))
    shortened = [f"{titles[a]} = {a}" for a in assignments if titles[a] != a]
    if shortened:
        lines += ["", "Columns: " + ", ".join(shortened)]
    return "\n".join(lines)


def late_notes(root: Path) -> list[str]:
    """A line for each late submission (how late, the penalty, the policy) and for each
    submission with no ``timestamp.txt`` to an assignment that has a due date."""
    from nbgrader.api import Gradebook

    from .grades import course_config, submissions
    from .late_work import describe_lateness, late_plugin

    config = course_config(root)
    plugin = late_plugin(root)
    policy = plugin.describe() if hasattr(plugin, "describe") else type(plugin).__name__
    notes = []
    with Gradebook(config.db_url, config.course_id) as gb:
        due = {a.name: a.duedate for a in gb.assignments}
        graded = {(s.student.id, a.name): s for a in gb.assignments for s in a.submissions}
        for student, assignment in submissions(root):
            submission = graded.get((student, assignment))
            where = f"- {student} / {assignment}"
            if submission is None:
                continue
            if submission.timestamp is None and due.get(assignment) is not None:
                notes.append(
                    f"{where}: no timestamp.txt, so it cannot be checked against the due date "
                    "(nbgrader collect, zip_collect or make collect record one)"
                )
            elif submission.total_seconds_late > 0:
                penalty = submission.late_submission_penalty or 0.0
                late = describe_lateness(submission.total_seconds_late)
                notes.append(
                    f"{where}: handed in {late} after the due date; penalty {penalty:g} of "
                    f"{submission.score:g} points ({policy})"
                )
    return notes
