"""Submissions graded per minute: ``python -m benchmarks.grading [--submissions N] [--jobs J]``.

Run by hand, never by the tests. In a temporary copy of the course, part 01 is generated once
and N students hand in its reference solution (every cell runs, as for a student who answered
everything). The same N submissions are then autograded three ways, each from the same fresh
gradebook and an empty autograded/:

* ``one process``: the former ``make grade``, one ``nbgrader autograde`` run for everyone
  (nbgrader starts once; one crash or hang stops the rest);
* ``serial``: ``python -m course.grades --jobs 1``, a process per submission, one at a time;
* ``parallel``: ``python -m course.grades --jobs J`` (J: one per core by default).

Each run must grade all N (the script stops otherwise). The load average before each run is
printed: other work on the machine slows every column.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from coursekit import copy_course, run  # noqa: E402

from course.grades import copy_sqlite, cores, score_table  # noqa: E402

from .timing import machine_load  # noqa: E402

PART01 = "01_newton_vs_gd"


def prepare(root: Path, count: int) -> Path:
    """A course copy with part 01 generated and ``count`` reference hand-ins; the pristine
    gradebook is kept beside it for every run to start from."""
    copy_course(root)
    generated = run(root, "nbgrader", "generate_assignment", PART01, "--force")
    if generated.returncode != 0:
        sys.exit(generated.log)
    source = root / "source" / PART01
    for k in range(count):
        folder = root / "submitted" / f"student-{k:03d}" / PART01
        folder.mkdir(parents=True)
        for notebook in source.glob("*.ipynb"):
            shutil.copy(notebook, folder / notebook.name)
    pristine = root.parent / "pristine.db"
    copy_sqlite(root / "gradebook.db", pristine)
    return pristine


def reset(root: Path, pristine: Path) -> None:
    shutil.rmtree(root / "autograded", ignore_errors=True)
    (root / "gradebook.db").unlink()
    copy_sqlite(pristine, root / "gradebook.db")


def timed(root: Path, pristine: Path, command: list[str], count: int) -> float:
    reset(root, pristine)
    start = time.perf_counter()
    result = run(root, *command, timeout=3600)
    seconds = time.perf_counter() - start
    _, _, cells = score_table(root)
    graded = [text for text in cells.values() if text not in ("-", "FAILED")]
    if result.returncode != 0 or len(graded) != count:
        sys.exit(f"{' '.join(command)} graded {len(graded)} of {count}:\n{result.log}")
    return seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grading", description=__doc__)
    parser.add_argument("--submissions", type=int, default=12, help="hand-ins (default 12)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=cores(),
        help="workers of the parallel run (default: one per core)",
    )
    args = parser.parse_args(argv)
    n = args.submissions
    os.environ.pop("NBGRADER_DB_URL", None)  # the temporary course's own gradebook
    print(f"Python {platform.python_version()} | {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{n} reference hand-ins of part {PART01}\n")
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as scratch:
        root = Path(scratch) / "course"
        pristine = prepare(root, n)
        grade = ["python", "-m", "course.grades"]
        runs = {
            "one process": ["nbgrader", "autograde", PART01],
            "serial": [*grade, "--jobs=1"],
            f"parallel ({args.jobs} jobs)": [*grade, f"--jobs={args.jobs}"],
        }
        print(f"{'run':<20} {'seconds':>8} {'per minute':>11} {'load before':>12}")
        for name, command in runs.items():
            load = machine_load()
            seconds = timed(root, pristine, command, n)
            print(f"{name:<20} {seconds:8.1f} {60 * n / seconds:11.1f} {load:12.2f}", flush=True)


if __name__ == "__main__":
    main()
