"""Which submissions ``make grade`` grades: the new ones and those whose files changed.

nbgrader regrades a submission only when its ``timestamp.txt`` is newer than the graded copy's,
so a notebook copied over an earlier one by hand (with no ``timestamp.txt``, or the old one
left in place) was never graded again. Here every graded submission records, beside its graded
notebooks, a SHA-256 of the files it was graded from (``autograded/<student>/<assignment>/
.submission.sha256``): the notebooks, ``timestamp.txt`` and anything else handed in, by name
and content. A submission is graded again when its files hash differently: new content, a
newer (or any other) timestamp, a file added or removed. One that hashes the same is skipped.
The hash is taken before grading starts, so a file replaced while it is graded is graded again
the next time.
"""

from __future__ import annotations

import fnmatch
import hashlib
import shutil
from pathlib import Path

__all__ = [
    "RECORD",
    "GRADED_BEFORE",
    "clear_graded",
    "grading_reason",
    "record_graded",
    "submission_digest",
]

RECORD = ".submission.sha256"  # nbgrader_config.py keeps it out of feedback/
# Why a submission is graded, for each reason that means it had been graded before.
GRADED_BEFORE = {
    "changed": "its files changed since it was graded",
    "unrecorded": "graded before its files were recorded",
    "incomplete": "a notebook of it was not graded",
    "forced": "--force",
}


def ignored_patterns(config) -> list[str]:
    """File names nbgrader ignores when it copies a submission (``CourseDirectory.ignore``)."""
    from nbgrader.coursedir import CourseDirectory

    if "ignore" in config:
        return list(config.ignore)
    return list(CourseDirectory.class_traits()["ignore"].default())


def submission_digest(folder: Path, ignore: list[str]) -> str:
    """SHA-256 over the relative path and content of every file under ``folder``, except
    those matching ``ignore`` (checkpoints, caches) anywhere in their path."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or any(
            fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in ignore
        ):
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def folders(root: Path, config, student: str, assignment: str) -> tuple[Path, Path]:
    """``(submitted folder, autograded folder)`` of one submission."""
    return (
        root / config.submitted_directory / student / assignment,
        root / config.autograded_directory / student / assignment,
    )


def grading_reason(root: Path, config, student: str, assignment: str, force=False):
    """Why ``(student, assignment)`` must be graded now ("new", or one of ``GRADED_BEFORE``),
    or None when it was graded from exactly the files it holds now."""
    submitted, graded = folders(root, config, student, assignment)
    if not graded.is_dir():
        return "new"
    if force:
        return "forced"
    known = {p.name for p in (root / config.source_directory / assignment).glob("*.ipynb")}
    if any(not (graded / nb.name).exists() for nb in submitted.glob("*.ipynb") if nb.name in known):
        return "incomplete"  # (a notebook nbgrader does not know is never graded: not counted)
    record = graded / RECORD
    if not record.exists():
        return "unrecorded"
    current = submission_digest(submitted, ignored_patterns(config))
    return None if record.read_text().strip() == current else "changed"


def clear_graded(root: Path, config, student: str, assignment: str) -> None:
    """Remove the graded copy of a submission that changed, so that nbgrader grades it again
    (as ``nbgrader autograde --force`` would for that one submission). Its grades stay in the
    gradebook until the new ones replace them."""
    _, graded = folders(root, config, student, assignment)
    shutil.rmtree(graded, ignore_errors=True)


def record_graded(root: Path, config, student: str, assignment: str, digest: str) -> None:
    """Note, beside the graded notebooks, the hash of the files they were graded from."""
    _, graded = folders(root, config, student, assignment)
    if graded.is_dir():
        (graded / RECORD).write_text(digest + "\n")
