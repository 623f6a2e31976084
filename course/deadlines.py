"""Due dates, in one file instructors edit: ``course/due_dates.csv``; extensions in another.

Each line is an assignment and its due date, in ISO 8601 with the UTC offset
(``2026-10-12T23:59+02:00``, or ``Z`` for UTC); an empty date means no due date. ``make grade``,
``make feedback`` and ``make export`` copy the dates into nbgrader's gradebook (each assignment's
``duedate``) before they read it, so the file is the only place a date is written: nbgrader
compares it with each submission's ``timestamp.txt`` to find late work (see
``course/late_work.py``). Lines starting with ``#`` are comments.

An extension for one student is a line ``student,assignment,due`` (that student's due date) in
``extensions.csv`` at the course root: it names students, so it is git-ignored. nbgrader keeps
it as the submission's ``extension``; the same commands write it, and take away any extension
no longer in the file.
"""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

__all__ = [
    "DUE_DATES",
    "EXTENSIONS",
    "read_due_dates",
    "read_extensions",
    "record_due_dates",
    "record_extensions",
]

DUE_DATES = Path("course") / "due_dates.csv"  # relative to the course root
EXTENSIONS = Path("extensions.csv")  # names students: git-ignored, like every other *.csv
COLUMNS = ["assignment", "due"]
EXTENSION_COLUMNS = ["student", "assignment", "due"]
EXAMPLE = "2026-10-12T23:59+02:00"


def parse_time(text: str, where: str) -> datetime.datetime | None:
    """The UTC time (naive, as nbgrader stores it) of ``text``; None for an empty one."""
    text = text.strip()
    if not text:
        return None
    from dateutil.parser import isoparse  # nbgrader's own date parser

    try:
        when = isoparse(text)
    except ValueError:
        raise ValueError(
            f"{where}: {text!r} is not an ISO 8601 date; write it as {EXAMPLE}"
        ) from None
    if when.tzinfo is None:
        raise ValueError(
            f"{where}: {text!r} has no UTC offset; add one, as in {EXAMPLE} ('Z' for UTC)"
        )
    return when.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def read_rows(path: Path, columns: list[str]):
    """``(where, [cell, ...])`` for each row of a CSV file with the header ``columns``; lines
    starting with ``#`` and empty rows are skipped. A missing file has no rows."""
    if not path.exists():
        return
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    rows = list(csv.reader(lines))
    if not rows or [name.strip() for name in rows[0]] != columns:
        raise ValueError(f"{path}: the first line must be the header {','.join(columns)!r}")
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path}, row {number}"
        if len(row) != len(columns):
            raise ValueError(f"{where}: expected {','.join(columns)!r}, got {','.join(row)!r}")
        yield where, [cell.strip() for cell in row]


def read_due_dates(root: Path, assignments: list[str]) -> dict[str, datetime.datetime | None]:
    """``{assignment: due date}`` from ``root/course/due_dates.csv``; every assignment it names
    must be one of ``assignments``, each at most once. A missing file means no due dates."""
    due = {}
    for where, (name, when) in read_rows(root / DUE_DATES, COLUMNS):
        if name not in assignments:
            raise ValueError(f"{where}: {name!r} is not an assignment (those are {assignments})")
        if name in due:
            raise ValueError(f"{where}: {name!r} has a due date already")
        due[name] = parse_time(when, where)
    return due


def read_extensions(root: Path, assignments: list[str]) -> dict[tuple[str, str], datetime.datetime]:
    """``{(student, assignment): that student's due date}`` from ``root/extensions.csv``
    (header ``student,assignment,due``), if there is one."""
    extended = {}
    for where, (student, name, when) in read_rows(root / EXTENSIONS, EXTENSION_COLUMNS):
        if name not in assignments:
            raise ValueError(f"{where}: {name!r} is not an assignment (those are {assignments})")
        if (student, name) in extended:
            raise ValueError(f"{where}: {student} has an extension for {name} already")
        due = parse_time(when, where)
        if due is None:
            raise ValueError(f"{where}: give the due date that {student} is granted")
        extended[student, name] = due
    return extended


def record_due_dates(gradebook, due: dict[str, datetime.datetime | None]) -> list[str]:
    """Write each due date into the gradebook (creating the assignment, if it is not there
    yet, to hold its date); returns what changed, as lines for the log."""
    changed = []
    known = {a.name: a.duedate for a in gradebook.assignments}
    for name, when in sorted(due.items()):
        if known.get(name, None) == when:  # unchanged, or no date for an unknown assignment
            continue
        gradebook.update_or_create_assignment(name, duedate=when)
        shown = f"{when:%Y-%m-%d %H:%M} UTC" if when else "none"
        changed.append(f"due date of {name}: {shown}")
    return changed


def record_extensions(gradebook, extended) -> list[str]:
    """Give each submission of ``extended`` its due date (nbgrader's ``extension``: the time
    added to the assignment's due date) and take it from every other: the file is the only
    place an extension is written. A submission not in the gradebook yet gets its extension
    when it is graded (make grade records them again after grading)."""
    changed = []
    for assignment in gradebook.assignments:
        for submission in assignment.submissions:
            key = (submission.student.id, assignment.name)
            extension = None
            if key in extended:
                if assignment.duedate is None:
                    raise ValueError(
                        f"{EXTENSIONS}: {key[0]} has an extension for {key[1]}, which has no "
                        f"due date in {DUE_DATES}"
                    )
                extension = max(extended[key] - assignment.duedate, datetime.timedelta(0))
            if submission.extension != extension:
                submission.extension = extension
                changed.append(f"extension of {key[0]} for {key[1]}: {extension or 'none'}")
    gradebook.db.commit()
    return changed
