"""Submissions graded per minute: ``python -m benchmarks.grading [--submissions N] [--jobs J]``.

Run by hand, never by the tests. In a temporary copy of the course, part 01 is generated once
and N students hand in its reference solution (every cell runs, as for a student who answered
everything). The same N submissions are then autograded three ways, each from the same fresh
gradebook and an empty autograded/:

* ``one process``: the former ``make grade``, one ``nbgrader autograde`` run for everyone
  (nbgrader starts once; a crash or a hang of that process stops everyone's grading);
* ``serial``: ``python -m course.grades --jobs 1``, a process per submission, one at a time;
* ``no-sandbox``: the same with ``--no-sandbox``: the cost of the grading sandbox
  (``course/sandbox.py``) is the difference between the two, printed at the end;
* ``parallel``: ``python -m course.grades --jobs J`` (J: one per core by default).

``--kinds`` chooses among them (e.g. ``--kinds serial,no-sandbox`` for the sandbox's cost alone).

Each run must grade all N (the script stops otherwise). The kinds of run take turns, for
``--rounds`` rounds, and the best round of each is summed up at the end; the load average
before each run is printed, since other work on the machine slows every column.
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
KINDS = ("one-process", "serial", "no-sandbox", "parallel")


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
    """Seconds of one grading run from a fresh gradebook; it must grade every hand-in."""
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
    parser.add_argument(
        "--rounds", type=int, default=2, help="runs of each kind, interleaved (default 2)"
    )
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"the kinds of run, comma-separated (default: all of {','.join(KINDS)})",
    )
    args = parser.parse_args(argv)
    n = args.submissions
    os.environ.pop("NBGRADER_DB_URL", None)  # the temporary course's own gradebook
    print(f"Python {platform.python_version()} | {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{n} reference hand-ins of part {PART01}, {args.rounds} round(s) of each run\n")
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as scratch:
        root = Path(scratch) / "course"
        pristine = prepare(root, n)
        grade = ["python", "-m", "course.grades"]
        every = {
            "one-process": ("one process", ["nbgrader", "autograde", PART01]),
            "serial": ("serial", [*grade, "--jobs=1"]),
            "no-sandbox": ("serial, no sandbox", [*grade, "--jobs=1", "--no-sandbox"]),
            "parallel": (f"parallel ({args.jobs} jobs)", [*grade, f"--jobs={args.jobs}"]),
        }
        kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
        if unknown := set(kinds) - set(every):
            parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
        runs = dict(every[k] for k in kinds)
        header = ["run", "round", "seconds", "per minute", "load before"]
        print("{:<20} {:>5} {:>8} {:>11} {:>12}".format(*header))
        best = {}
        for k in range(args.rounds):  # interleaved, so that other load falls on every kind
            for name, command in runs.items():
                load = machine_load()
                seconds = timed(root, pristine, command, n)
                best[name] = min(best.get(name, seconds), seconds)
                print(
                    f"{name:<20} {k + 1:>5} {seconds:8.1f} {60 * n / seconds:11.1f} {load:12.2f}",
                    flush=True,
                )
        print("\nbest of the rounds, submissions per minute and seconds per submission:")
        for name, seconds in best.items():
            print(f"  {name:<20} {60 * n / seconds:6.1f} {seconds / n:6.2f} s")
        if {"serial", "serial, no sandbox"} <= set(best):
            cost = best["serial"] / best["serial, no sandbox"] - 1
            print(f"\nthe grading sandbox costs {100 * cost:+.1f}% per submission (serial)")


if __name__ == "__main__":
    main()
