"""Autograde every submission, then print the scores: ``python -m course.grades [options]``.

Submissions are ``submitted/<student>/<assignment>/*.ipynb`` (where ``nbgrader collect`` or
``nbgrader zip_collect`` put them, or a copy by hand). One ``nbgrader autograde`` run grades
them all; it writes to ``autograded/`` and the gradebook and never touches ``submitted/``.
A submission already graded is skipped unless it was resubmitted; options after the command
go to ``nbgrader autograde`` (``--force`` regrades everything, ``--student=ID`` one student).

The table is read back from the gradebook (``nbgrader.api.Gradebook``): the score of each
student in each assignment, ``*`` where written answers still wait for manual grading, and
``FAILED`` where grading broke (an unreadable notebook, say): that student's work stays in
``submitted/`` and the others are graded anyway. The exit status is 1 if any grading failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def nbgrader_env() -> dict:
    """The environment for nbgrader: the virtual environment's bin first (it runs alembic)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def nbgrader(*args, root=ROOT, check=False, **kwargs) -> subprocess.CompletedProcess:
    """Run ``nbgrader *args`` in ``root`` (where it finds nbgrader_config.py)."""
    command = [str(Path(sys.executable).parent / "nbgrader"), *args]
    return subprocess.run(command, cwd=root, env=nbgrader_env(), check=check, **kwargs)


def course_config(root=ROOT):
    """The ``CourseDirectory`` settings of ``root/nbgrader_config.py``: the one source of truth."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config().CourseDirectory


def submissions(root=ROOT) -> list[tuple[str, str]]:
    """``(student, assignment)`` for every folder ``submitted/<student>/<assignment>/``."""
    submitted = root / course_config(root).submitted_directory
    return sorted(
        (a.parent.name, a.name)
        for a in submitted.glob("*/*")
        if a.is_dir() and not a.name.startswith(".")
    )


def score_table(root=ROOT) -> tuple[list[str], list[str], dict]:
    """Students, assignments and ``{(student, assignment): cell text}`` for the report."""
    from nbgrader.api import Gradebook, MissingEntry

    config = course_config(root)
    submitted = set(submissions(root))
    autograded = root / config.autograded_directory
    cells = {}
    with Gradebook(config.db_url, config.course_id) as gb:
        assignments = sorted({a.name for a in gb.assignments} | {a for _, a in submitted})
        students = sorted({s.id for s in gb.students} | {s for s, _ in submitted})
        for student in students:
            for assignment in assignments:
                if (student, assignment) not in submitted:
                    cells[student, assignment] = "-"
                    continue
                try:
                    graded = (autograded / student / assignment).is_dir()
                    submission = gb.find_submission(assignment, student) if graded else None
                except MissingEntry:
                    submission = None
                if submission is None:
                    cells[student, assignment] = "FAILED"
                else:
                    pending = "*" if submission.needs_manual_grade else " "
                    cells[student, assignment] = (
                        f"{submission.score:g} / {submission.max_score:g}{pending}"
                    )
    return students, assignments, cells


def format_table(students, assignments, cells) -> str:
    width = max([len("student")] + [len(s) for s in students])
    columns = [max([len(a)] + [len(cells[s, a]) for s in students]) for a in assignments]
    header = [a.rjust(w) for a, w in zip(assignments, columns, strict=True)]
    lines = ["  ".join(["student".ljust(width), *header])]
    for student in students:
        row = [cells[student, a].rjust(w) for a, w in zip(assignments, columns, strict=True)]
        lines.append("  ".join([student.ljust(width)] + row))
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not submissions():
        print("Nothing to grade: no submitted/<student>/<assignment>/ folders.")
        return 0
    run = nbgrader("autograde", "*", *argv)
    students, assignments, cells = score_table()
    print("\nScores (points / possible; * = written answers not graded by hand yet):\n")
    print(format_table(students, assignments, cells))
    failed = sorted((s, a) for (s, a), text in cells.items() if text == "FAILED")
    for student, assignment in failed:
        print(f"\nGrading FAILED for student {student!r}, assignment {assignment!r}: see the "
              "nbgrader log above; the submission is untouched in submitted/.")  # fmt: skip
    return 1 if failed or run.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
