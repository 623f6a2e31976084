"""Which submissions make grade grades again: decided on a hash of the files each was graded
from (course/resubmissions.py), here on folders made by hand; test_term.py grades."""

import pytest
from coursekit import copy_course

from course.grades import course_config
from course.resubmissions import (
    clear_graded,
    grading_reason,
    ignored_patterns,
    record_graded,
    submission_digest,
)

PART01 = "01_newton_vs_gd"


@pytest.fixture
def course(tmp_path):
    """A course copy where alice's part 01 was handed in and graded (the graded copy made by
    hand, as nbgrader leaves it) and the hash of what was graded recorded."""
    root = copy_course(tmp_path / "course")
    config = course_config(root)
    submitted = root / "submitted" / "alice" / PART01
    graded = root / "autograded" / "alice" / PART01
    for folder in (submitted, graded):
        folder.mkdir(parents=True)
        (folder / f"{PART01}.ipynb").write_text('{"cells": []}')
        (folder / "timestamp.txt").write_text("2026-01-12 21:00:00.000000 UTC")
    digest = submission_digest(submitted, ignored_patterns(config))
    record_graded(root, config, "alice", PART01, digest)
    return root, config, submitted


def reason(course, force=False):
    root, config, _ = course
    return grading_reason(root, config, "alice", PART01, force=force)


def test_a_submission_graded_from_the_files_it_holds_is_skipped(course):
    assert reason(course) is None
    assert reason(course, force=True) == "forced"


@pytest.mark.parametrize(
    "change",
    [
        lambda folder: (folder / f"{PART01}.ipynb").write_text('{"cells": [1]}'),  # copied over
        lambda folder: (folder / "timestamp.txt").write_text("2026-01-13 09:00:00.000000 UTC"),
        lambda folder: (folder / "data.csv").write_text("x\n1\n"),  # a file handed in with it
        lambda folder: (folder / "timestamp.txt").unlink(),
    ],
)
def test_a_submission_whose_files_changed_is_graded_again(course, change):
    change(course[2])
    assert reason(course) == "changed"


def test_checkpoints_and_notebooks_unknown_to_the_assignment_change_nothing(course):
    submitted = course[2]
    (submitted / ".ipynb_checkpoints").mkdir()
    (submitted / ".ipynb_checkpoints" / f"{PART01}-checkpoint.ipynb").write_text("{}")
    assert reason(course) is None
    (submitted / "scratch.ipynb").write_text("{}")  # nbgrader never grades it
    assert reason(course) == "changed"  # a new file, once; not "incomplete" forever
    root, config, _ = course
    record_graded(root, config, "alice", PART01,
                  submission_digest(submitted, ignored_patterns(config)))  # fmt: skip
    assert reason(course) is None


def test_never_graded_not_recorded_and_half_graded_submissions_are_graded(course):
    root, config, _ = course
    graded = root / "autograded" / "alice" / PART01
    (graded / ".submission.sha256").unlink()
    assert reason(course) == "unrecorded"  # graded by an earlier version of make grade
    (graded / f"{PART01}.ipynb").unlink()
    assert reason(course) == "incomplete"
    clear_graded(root, config, "alice", PART01)
    assert not graded.exists()
    assert reason(course) == "new"
