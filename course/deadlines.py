"""Due dates, in one file instructors edit: ``course/due_dates.csv``.

Each line is an assignment and its due date, in ISO 8601 with the UTC offset
(``2026-10-12T23:59+02:00``, or ``Z`` for UTC); an empty date means no due date. ``make grade``,
``make feedback`` and ``make export`` copy the dates into nbgrader's gradebook (each assignment's
``duedate``) before they read it, so the file is the only place a date is written: nbgrader
compares it with each submission's ``timestamp.txt`` to find late work (see
``course/late_work.py``). Lines starting with ``#`` are comments.
"""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

__all__ = ["DUE_DATES", "read_due_dates", "record_due_dates"]

DUE_DATES = Path("course") / "due_dates.csv"  # relative to the course root
COLUMNS = ["assignment", "due"]
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


def read_due_dates(root: Path, assignments: list[str]) -> dict[str, datetime.datetime | None]:
    """``{assignment: due date}`` from ``root/course/due_dates.csv``; every assignment it names
    must be one of ``assignments``, each at most once. A missing file means no due dates."""
    path = root / DUE_DATES
    if not path.exists():
        return {}
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    rows = list(csv.reader(lines))
    if not rows or [name.strip() for name in rows[0]] != COLUMNS:
        raise ValueError(f"{path}: the first line must be the header 'assignment,due'")
    due = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path}, row {number}"
        if len(row) != 2:
            raise ValueError(f"{where}: expected 'assignment,due', got {','.join(row)!r}")
        name = row[0].strip()
        if name not in assignments:
            raise ValueError(f"{where}: {name!r} is not an assignment (those are {assignments})")
        if name in due:
            raise ValueError(f"{where}: {name!r} has a due date already")
        due[name] = parse_time(row[1], where)
    return due


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
