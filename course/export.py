"""The grades as CSV, for a learning-management system: ``python -m course.export [--to FILE]``.

One row per student of the gradebook and assignment, as nbgrader's own CSV export writes them
(``CourseCsvExport`` extends its plugin, and ``nbgrader_config.py`` makes ``nbgrader export``
use it too), plus the roster's ``lms_user_id`` and four columns: ``submitted`` (yes/no: a zero
for work never handed in is not a zero earned), ``hours_late``, ``manual_grading_pending``
(yes/no) and ``pending_answers`` (the written answers that wait). The file is written with
Python's ``csv`` module, so names holding commas or quotes stay in their column. Before writing,
due dates and late penalties are brought up to date (``course/late_work.py``). The default
file, ``grades.csv``, is git-ignored, as is every ``*.csv`` but the due dates: grades and
rosters are never committed by accident.
"""

from __future__ import annotations

import argparse
import csv
import sys

from nbgrader.api import MissingEntry
from nbgrader.plugins.export import CsvExportPlugin

__all__ = ["COLUMNS", "CourseCsvExport", "main"]

NBGRADER_COLUMNS = [
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
]
COLUMNS = [
    *NBGRADER_COLUMNS,
    "lms_user_id",
    "submitted",
    "hours_late",
    "manual_grading_pending",
    "pending_answers",
]


class CourseCsvExport(CsvExportPlugin):
    """nbgrader's CSV export, with the columns a grade book needs to act on each row."""

    def rows(self, gradebook):
        """A dict per (assignment, student) of the gradebook, sorted by both."""
        from .manual_grades import pending_answers

        only_assignments, only_students = (
            set(map(str, self.assignment)),
            set(map(str, self.student)),
        )
        for assignment in sorted(gradebook.assignments, key=lambda a: a.name):
            if only_assignments and assignment.name not in only_assignments:
                continue
            for student in sorted(gradebook.students, key=lambda s: s.id):
                if only_students and student.id not in only_students:
                    continue
                row = {
                    "assignment": assignment.name,
                    "duedate": assignment.duedate,
                    "student_id": student.id,
                    "last_name": student.last_name,
                    "first_name": student.first_name,
                    "email": student.email,
                    "lms_user_id": student.lms_user_id,
                    "max_score": assignment.max_score,
                }
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row |= {"raw_score": 0.0, "late_submission_penalty": 0.0, "score": 0.0}
                    row |= {"submitted": "no", "hours_late": 0.0}
                    row |= {"manual_grading_pending": "no", "pending_answers": ""}
                else:
                    penalty = submission.late_submission_penalty or 0.0
                    pending = pending_answers(submission)
                    row |= {
                        "timestamp": submission.timestamp,
                        "raw_score": submission.score,
                        "late_submission_penalty": round(penalty, 6),
                        "score": round(max(0.0, submission.score - penalty), 6),
                        "submitted": "yes",
                        "hours_late": round(submission.total_seconds_late / 3600, 2),
                        "manual_grading_pending": "yes" if pending else "no",
                        "pending_answers": "; ".join(pending),
                    }
                yield {key: "" if row.get(key) is None else row[key] for key in COLUMNS}

    def export(self, gradebook) -> None:
        destination = self.to or "grades.csv"
        self.log.info("Exporting grades to %s", destination)
        write_csv(destination, self.rows(gradebook))


def write_csv(path, rows) -> None:
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def main(argv=None) -> int:
    from nbgrader.api import Gradebook

    from .grades import ROOT, course_config
    from .late_work import update_late_work
    from .quiet import silence_known_warnings

    parser = argparse.ArgumentParser(
        prog="python -m course.export", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--to", default="grades.csv", help="the CSV file (default %(default)s)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    silence_known_warnings()
    config = course_config(ROOT)
    update_late_work(ROOT, config)
    with Gradebook(config.db_url, config.course_id) as gb:
        rows = list(CourseCsvExport().rows(gb))
    write_csv(ROOT / args.to, rows)
    pending = sum(row["manual_grading_pending"] == "yes" for row in rows)
    late = sum(row["hours_late"] not in ("", 0, 0.0) for row in rows)
    print(f"Wrote {args.to}: {len(rows)} row(s) (student x assignment), {pending} with manual "
          f"grading pending, {late} late.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
