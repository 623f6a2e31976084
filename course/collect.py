"""A hand-in received by hand (e-mail, a USB stick), collected with its time:
``python -m course.collect STUDENT ASSIGNMENT FILE... [--at TIME]``.

nbgrader knows when work was handed in from ``submitted/<student>/<assignment>/timestamp.txt``:
``nbgrader collect`` copies the one the exchange wrote at ``nbgrader submit``, and
``nbgrader zip_collect`` writes one from the archive's file names. A notebook copied there by
hand has none, so it is never late, whatever the due date. This command copies the files
into ``submitted/`` and writes ``timestamp.txt``: now, or ``--at`` (the time of the e-mail,
with its UTC offset). A hand-in already there is moved to ``replaced/<student>/<assignment>/``
(git-ignored), never overwritten; a time older than the hand-in in place is refused.
``make grade`` then grades the new files, since they changed.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import sys
from pathlib import Path

__all__ = ["collect", "main"]

REPLACED = "replaced"  # earlier hand-ins, kept (relative to the course root)
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # as nbgrader's exchange writes it, in UTC


def collect(root: Path, config, student, assignment, files, when: datetime.datetime) -> Path:
    """Copy ``files`` into the submission folder with ``when`` (naive UTC) as its timestamp;
    returns where the earlier hand-in was kept (or None). Raises ValueError for bad input."""
    from nbgrader.utils import parse_utc

    release = root / config.release_directory / assignment
    expected = sorted(p.name for p in release.glob("*.ipynb"))
    if not expected:
        raise ValueError(f"collect: {assignment!r} is not an assignment of {release.parent}")
    if not student or student.startswith(".") or "/" in student:
        raise ValueError(f"collect: {student!r} is not a student id")
    for path in files:
        if not path.is_file():
            raise ValueError(f"collect: {path} is not a file")
        if path.suffix == ".ipynb" and path.name not in expected:
            raise ValueError(
                f"collect: {path.name} is not a notebook of {assignment} (those are "
                f"{', '.join(expected)}): rename the file to the notebook it answers"
            )
    folder = root / config.submitted_directory / student / assignment
    kept = None
    if folder.exists():
        stamp = folder / "timestamp.txt"
        before = parse_utc(stamp.read_text().strip()) if stamp.exists() else None
        if before is not None and when < before:
            raise ValueError(
                f"collect: {when:%Y-%m-%d %H:%M:%S} UTC is older than the hand-in in place "
                f"({before:%Y-%m-%d %H:%M:%S} UTC): nothing changed"
            )
        label = f"{before:%Y%m%dT%H%M%S}" if before else "no-timestamp"
        kept = root / REPLACED / student / assignment / label
        suffix = 1
        while kept.exists():
            suffix += 1
            kept = kept.with_name(f"{label}-{suffix}")
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(folder), kept)
    folder.mkdir(parents=True)
    for path in files:
        shutil.copy2(path, folder / path.name)
    (folder / "timestamp.txt").write_text(when.strftime(TIMESTAMP_FORMAT) + "\n")
    return kept


def main(argv=None) -> int:
    from .deadlines import parse_time
    from .grades import ROOT, course_config

    parser = argparse.ArgumentParser(
        prog="python -m course.collect", description=__doc__.split("\n")[0]
    )
    parser.add_argument("student", help="the student's id (as in the gradebook)")
    parser.add_argument("assignment", help="e.g. 01_newton_vs_gd")
    parser.add_argument("files", nargs="+", type=Path, help="the notebooks handed in")
    parser.add_argument(
        "--at", help="when it was handed in, e.g. 2026-10-12T23:59+02:00 (default: now)"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        when = parse_time(args.at, "--at") if args.at else None
        when = when or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        kept = collect(ROOT, course_config(ROOT), args.student, args.assignment, args.files, when)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    where = Path(course_config(ROOT).submitted_directory) / args.student / args.assignment
    print(f"Collected {len(args.files)} file(s) into {where}/, handed in {when:%Y-%m-%d %H:%M:%S} "
          "UTC.")  # fmt: skip
    if kept is not None:
        print(f"The earlier hand-in is kept in {kept.relative_to(ROOT)}/.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
