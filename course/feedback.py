"""Feedback for the students, only where grading is finished: ``python -m course.feedback``.

``nbgrader generate_feedback`` writes feedback for every graded submission, including those
whose written answers no one has graded yet: they show as "Score: 0.0 / 2.0", and a student who
gets that file is misled. This command writes ``feedback/<student>/<assignment>/*.html`` only
for submissions with nothing left to grade by hand, and names the written answers that hold
back the others (``--include-ungraded`` writes theirs too, if the instructor wants it). It
exits with status 1 when it held any back.

Before writing, the due dates and late penalties are brought up to date (``course/late_work.py``),
since the feedback shows the penalty. Feedback is written again only where something it shows
changed since it was written: the graded notebooks, a score, a comment or the penalty (each
feedback folder holds a hash of those, ``.feedback.sha256``); ``--force`` writes it all again.
Feedback of a submission that waits for manual grading (say, one graded again after a
resubmission) is removed, so that no outdated file is sent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

from traitlets import Unicode

from .nbgrader_plugins import FeedbackPreprocessor

__all__ = ["DescribeFigures", "main"]

RECORD = ".feedback.sha256"


class DescribeFigures(FeedbackPreprocessor):
    """Give every figure a text description (HTML ``alt``) if it has none. nbconvert would
    put "No description has been provided for this image" and warn once per notebook."""

    description = Unicode(
        "A figure drawn by the code above.", help="The alt text of an undescribed figure."
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if any(mime in data for mime in ("image/png", "image/jpeg")):
                output.setdefault("metadata", {}).setdefault("alt", self.description)
        return cell, resources


def feedback_inputs(submission, graded_folder: Path) -> str:
    """A hash of what a submission's feedback shows: the graded notebooks, and each grade,
    comment and penalty in the gradebook."""
    digest = hashlib.sha256()
    for path in sorted(graded_folder.glob("*.ipynb")):
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    state = [
        [
            notebook.name,
            notebook.late_submission_penalty,
            [[g.name, g.auto_score, g.manual_score, g.extra_credit] for g in notebook.grades],
            [[c.name, c.auto_comment, c.manual_comment] for c in notebook.comments],
        ]
        for notebook in sorted(submission.notebooks, key=lambda n: n.name)
    ]
    digest.update(json.dumps([str(submission.timestamp), state], default=str).encode())
    return digest.hexdigest()


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m course.feedback",
        description="Write feedback for every graded submission with nothing left to grade.",
    )
    parser.add_argument("--student", help="this student's feedback only")
    parser.add_argument("--assignment", help="this assignment's feedback only")
    parser.add_argument(
        "--include-ungraded",
        action="store_true",
        help="also for submissions whose written answers wait for manual grading (they "
        "show 0 points for those answers)",
    )
    parser.add_argument("--force", action="store_true", help="write all feedback again")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from nbgrader.api import Gradebook

    from .grades import ROOT as root
    from .grades import course_config, nbgrader
    from .late_work import update_late_work
    from .manual_grades import pending_answers
    from .quiet import silence_known_warnings

    args = parse_args(sys.argv[1:] if argv is None else argv)
    silence_known_warnings()
    config = course_config(root)
    update_late_work(root, config)
    graded_root = root / config.autograded_directory
    feedback_root = root / config.feedback_directory
    todo, held, current = {}, [], 0  # todo: {assignment: {student: hash}}
    with Gradebook(config.db_url, config.course_id) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                student = submission.student.id
                graded = graded_root / student / assignment.name
                if args.student not in (None, student) or args.assignment not in (
                    None,
                    assignment.name,
                ):
                    continue
                if not graded.is_dir():
                    continue  # not graded (or grading failed): make grade says so
                written = feedback_root / student / assignment.name
                pending = pending_answers(submission)
                if pending and not args.include_ungraded:
                    held.append(f"- {student} / {assignment.name}: {', '.join(pending)}")
                    if written.exists():
                        shutil.rmtree(written)
                        held[-1] += " (its earlier feedback removed)"
                    continue
                inputs = feedback_inputs(submission, graded)
                record = written / RECORD
                if not args.force and record.exists() and record.read_text().strip() == inputs:
                    current += 1
                    continue
                todo.setdefault(assignment.name, {})[student] = inputs
    written_count, failed = 0, []
    for assignment, students in sorted(todo.items()):
        for student in students:  # what is there after nbgrader ran was written by it
            shutil.rmtree(feedback_root / student / assignment, ignore_errors=True)
        everyone = {p.parent.name for p in graded_root.glob(f"*/{assignment}") if p.is_dir()}
        others = sorted(everyone - set(students))
        result = nbgrader(
            "generate_feedback",
            assignment,
            "--force",
            *([f"--CourseDirectory.student_id_exclude={','.join(others)}"] if others else []),
            root=root,
            capture_output=True,
            text=True,
        )
        for student, inputs in students.items():
            folder = feedback_root / student / assignment
            if any(folder.glob("*.html")):
                (folder / RECORD).write_text(inputs + "\n")
                written_count += 1
            else:
                failed.append(f"{student} / {assignment}")
        if result.returncode != 0:
            print(result.stdout + result.stderr, file=sys.stderr)
    print(f"Feedback written for {written_count} submission(s) in {config.feedback_directory}/; "
          f"{current} already up to date.")  # fmt: skip
    if held:
        print(
            f"\n{len(held)} submission(s) held back: their written answers wait for manual "
            "grading (make lab, then Nbgrader > Formgrader > Manual Grading; or "
            "--include-ungraded):\n" + "\n".join(held)
        )
    if failed:
        print("\nFeedback FAILED for: " + ", ".join(failed) + " (nbgrader's log above)")
    return 1 if held or failed else 0


if __name__ == "__main__":
    sys.exit(main())
