"""Autograde every submission, in parallel, then print the scores: ``python -m course.grades``.

Submissions are ``submitted/<student>/<assignment>/*.ipynb`` (where ``nbgrader collect`` or
``nbgrader zip_collect`` put them, or a copy by hand). Each one is graded by
``nbgrader autograde <assignment> --student=<student>`` in a process of its own, ``--jobs`` of
them at a time (one per core by default), so that a submission that crashes nbgrader or runs
past ``--timeout`` seconds costs that submission alone: it is reported, the others are graded.
The processes are forked from a server that imported nbgrader once (multiprocessing's
forkserver), since that import is a large part of grading a short notebook.
Grading writes to ``autograded/`` and the gradebook and never touches ``submitted/``.
A submission already graded is skipped unless its files changed since (``course/resubmissions.py``);
the written answers graded by hand that did not change keep their grades
(``course/manual_grades.py``); due dates and late penalties are brought up to date before and
after (``course/late_work.py``). Other options go to ``nbgrader autograde`` (``--force``
regrades everything, ``--student=ID`` grades one student, ``--assignment=ID`` one assignment,
``--Execute.timeout=10`` sets the cell timeout).

SQLite takes one writer at a time, and concurrent nbgrader processes writing to one file fail
with "database is locked". So on SQLite every worker grades into its own copy of the gradebook,
and each finished submission is merged into the course's gradebook by this process, one at a
time: the fields ``nbgrader autograde`` writes (the submission and its timestamp, the student,
each grade's automatic score, the automatic comments, the late penalty); manual grades already
in the gradebook are kept. A database server (``NBGRADER_DB_URL=postgresql://...``) takes
concurrent writers: there the workers write to it directly.

Each submission's kernel runs in a sandbox (``course/sandbox.py``: its own folder, the
environment read-only, no network, limits on memory, processes and what it writes); where the
sandbox cannot be set up this refuses to grade and says how to install it, and ``--no-sandbox``
grades without it, loudly. The notes say which submissions ran into a limit.

The table is read back from the gradebook (``course/score_table.py``): the score of each
student in each assignment, ``*`` where written answers still wait for manual grading, ``R``
where graded again, ``L`` where late, and ``FAILED`` where grading broke (an unreadable notebook,
a timeout): that student's work stays in ``submitted/`` and the others are graded anyway. Notes
under it say what an instructor should act on. The exit status is 1 if any grading failed.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from . import sandbox
from .autograde import kernel_notes
from .changed_cells import change_notes
from .manual_grades import keep_manual_grades, snapshot_manual_grades
from .quiet import silence_known_warnings
from .resubmissions import (
    GRADED_BEFORE,
    clear_graded,
    grading_reason,
    ignored_patterns,
    record_graded,
    submission_digest,
)
from .score_table import LEGEND, format_table, late_notes, score_table

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TIMEOUT = 1800  # seconds for one submission, all its notebooks (cells have their own)
REFUSED = (
    "Submissions run in a sandbox while they are graded (course/sandbox.py), so that none can "
    "read the hidden tests, other students' work or the gradebook. To grade anyway, with every "
    "right you have: make grade ARGS=--no-sandbox (python -m course.grades --no-sandbox)."
)
SANDBOXED = "Each submission runs in the grading sandbox (course/sandbox.py)."
NO_SANDBOX = "\n".join([
    "!" * 78,
    "!! --no-sandbox: submissions run WITHOUT the sandbox, with every right of this user. A",
    "!! submission can then read source/ (hidden tests, solutions), other students' work and",
    "!! the gradebook, write anywhere you can, use the network and take all the memory.",
    "!" * 78,
])  # fmt: skip


def cores() -> int:
    """The cores this process may run on (fewer than the machine's in a container or cgroup)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def nbgrader_env() -> dict:
    """The environment for nbgrader: the virtual environment's bin first (it runs alembic)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def nbgrader_command(*args) -> list[str]:
    return [str(Path(sys.executable).parent / "nbgrader"), *args]


def nbgrader(*args, root=ROOT, check=False, **kwargs) -> subprocess.CompletedProcess:
    """Run ``nbgrader *args`` in ``root`` (where it finds nbgrader_config.py)."""
    command = nbgrader_command(*args)
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


# -- one submission, in its own process --------------------------------------------------------
@dataclass
class Outcome:
    student: str
    assignment: str
    returncode: int | None  # None: killed after the timeout
    log: str
    seconds: float
    merge_error: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.merge_error


def descendants(pid: int) -> list[int]:
    """The processes below ``pid``: children, theirs, and so on (read from /proc on Linux)."""
    children = sandbox.children_of()
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


# What a grading process imports before its first notebook runs (nbgrader's apps, the SQLite
# dialect of its gradebook, the kernel spec's ipykernel and IPython): imported once, in the
# server every grading process is forked from.
PRELOAD = [
    "nbgrader.apps.nbgraderapp",
    "sqlalchemy.dialects.sqlite",
    "ipykernel.kernelspec",
    "IPython",
]


def processes():
    """Where each submission is graded: a process forked from a server that imported nbgrader
    once (the import is most of a short run's start-up), or a fresh one where there is none."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(PRELOAD)
    return context


PROCESSES = processes()


def run_nbgrader(root, args, log_path):
    """The body of a grading process: ``nbgrader *args`` in ``root``, its output to a file."""
    with open(log_path, "wb", buffering=0) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    os.chdir(root)
    os.environ.update(nbgrader_env())
    silence_known_warnings()  # its log is shown when grading fails: only what matters
    from nbgrader.apps.nbgraderapp import NbGraderApp

    NbGraderApp.launch_instance(args)  # its exit status is the process's


def autograde_one(root, student, assignment, extra, db_url=None, timeout=DEFAULT_TIMEOUT):
    """``nbgrader autograde`` for one submission in a process of its own, stopped after
    ``timeout`` seconds together with everything it started (the kernel among them)."""
    args = ["autograde", assignment, f"--student={student}", *extra]
    if db_url is not None:
        args.append(f"--CourseDirectory.db_url={db_url}")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="autograde-log-") as folder:
        log_path = Path(folder) / "nbgrader.log"
        process = PROCESSES.Process(target=run_nbgrader, args=(str(root), args, str(log_path)))
        process.start()
        process.join(timeout)
        returncode = process.exitcode
        if process.is_alive():
            for pid in [process.pid, *descendants(process.pid)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.join()
            returncode = None
        sandbox.remove_boxes(process.pid)  # what its kernels' sandboxes left in /tmp, if any
        log = log_path.read_text(errors="replace") if log_path.exists() else ""
    if returncode is None:
        log += f"\nKilled after {timeout:g} s: grading this submission took too long.\n"
    return Outcome(student, assignment, returncode, log, time.monotonic() - start)


# -- one gradebook per worker on SQLite, merged back ---------------------------------------------
def sqlite_path(db_url: str) -> Path | None:
    """The file of an ``sqlite:///...`` URL; None for any other database."""
    prefix = "sqlite:///"
    return Path(db_url[len(prefix) :]) if db_url.startswith(prefix) else None


def copy_sqlite(source: Path, dest: Path) -> None:
    """A consistent copy of an SQLite database (the backup API, not a file copy)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def merge_submission(source_url, dest_url, course_id, student, assignment) -> None:
    """Copy what ``nbgrader autograde`` wrote for one submission from one gradebook to another:
    the student, the submission's timestamp, each grade's automatic score and whether it needs
    a manual grade, the automatic comments and the late penalty. Manual grades are kept."""
    from nbgrader.api import Gradebook

    with Gradebook(source_url, course_id) as src, Gradebook(dest_url, course_id) as dst:
        graded = src.find_submission(assignment, student)
        dst.update_or_create_student(student)
        extra = {"timestamp": graded.timestamp} if graded.timestamp is not None else {}
        dst.update_or_create_submission(assignment, student, **extra)
        for notebook in graded.notebooks:
            target = dst.find_submission_notebook(notebook.name, assignment, student)
            target.late_submission_penalty = notebook.late_submission_penalty
            for grade in notebook.grades:
                into = dst.find_grade(grade.name, notebook.name, assignment, student)
                into.auto_score = grade.auto_score
                into.needs_manual_grade = grade.needs_manual_grade
            for comment in notebook.comments:
                into = dst.find_comment(comment.name, notebook.name, assignment, student)
                into.auto_comment = comment.auto_comment
        dst.db.commit()


def grade_all(todo, jobs, extra=(), timeout=DEFAULT_TIMEOUT, root=ROOT, report=None):
    """Autograde every ``(student, assignment)`` of ``todo`` with ``jobs`` workers; return the
    outcomes in the order they finished. ``report`` is called with each outcome as it ends."""
    if PROCESSES.get_start_method() == "forkserver":
        multiprocessing.forkserver.ensure_running()  # it imports nbgrader while we go on

    from nbgrader.api import Gradebook

    config = course_config(root)
    main_db = sqlite_path(config.db_url)
    with Gradebook(config.db_url, config.course_id):
        pass  # creates the gradebook (and its tables) if it does not exist yet
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="autograde-") as scratch:
        free = []  # the worker gradebooks not in use (SQLite only)
        if main_db is not None:
            for k in range(min(jobs, len(todo))):
                copy = Path(scratch) / f"worker{k}.db"
                copy_sqlite(main_db, copy)
                free.append(f"sqlite:///{copy}")
        lock = threading.Lock()  # guards `free` and the course's gradebook

        def grade(student, assignment):
            with lock:
                worker_db = free.pop() if main_db is not None else None
            try:
                outcome = autograde_one(root, student, assignment, extra, worker_db, timeout)
                if outcome.returncode == 0 and worker_db is not None:
                    with lock:
                        try:
                            merge_submission(
                                worker_db, config.db_url, config.course_id, student, assignment
                            )
                        except Exception as error:  # reported; the others go on
                            outcome.merge_error = f"{type(error).__name__}: {error}"
                if not outcome.ok:  # as nbgrader does on its own errors: graded again next time
                    graded = root / config.autograded_directory / student / assignment
                    shutil.rmtree(graded, ignore_errors=True)
                    with contextlib.suppress(OSError):
                        graded.parent.rmdir()  # the student's folder, if nothing else is in it
                return outcome
            finally:
                if worker_db is not None:
                    with lock:
                        free.append(worker_db)

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(grade, student, assignment) for student, assignment in todo]
            for future in as_completed(futures):
                outcome = future.result()
                outcomes.append(outcome)
                (report or report_outcome)(outcome)
    return outcomes


def report_outcome(outcome: Outcome) -> None:
    """One line for a graded submission; nbgrader's whole log for one that failed."""
    where = f"{outcome.student} / {outcome.assignment}"
    if outcome.ok:
        print(f"graded {where} ({outcome.seconds:.1f} s)", flush=True)
        return
    print(f"\n--- nbgrader log for {where} ---\n{outcome.log.rstrip()}", flush=True)
    if outcome.merge_error:
        print(f"Could not copy the grades into the gradebook: {outcome.merge_error}", flush=True)
    print(f"--- end of the log for {where} ---\n", flush=True)


# -- a run of make grade: what changed is graded again, grades given by hand are kept --------
def grade_and_keep(fresh, reasons, args, extra, config):
    """Grade ``fresh`` (with ``reasons[key]`` saying why each one), recording the hash of the
    files each was graded from and keeping the manual grades of unchanged written answers."""
    from nbgrader.api import Gradebook

    ignore = ignored_patterns(config)
    submitted = ROOT / config.submitted_directory
    graded = ROOT / config.autograded_directory
    digests = {(s, a): submission_digest(submitted / s / a, ignore) for s, a in fresh}
    with Gradebook(config.db_url, config.course_id) as gb:
        manual = {(s, a): snapshot_manual_grades(gb, graded / s / a, s, a) for s, a in fresh}
    for key in fresh:
        if reasons[key] in ("changed", "unrecorded", "incomplete"):  # nbgrader would skip it
            clear_graded(ROOT, config, *key)
    print(f"Grading {len(fresh)} submission(s), {min(args.jobs, max(1, len(fresh)))} at a time.")
    outcomes = grade_all(fresh, args.jobs, extra, args.timeout)
    with Gradebook(config.db_url, config.course_id) as gb:
        for outcome in outcomes:
            key = (outcome.student, outcome.assignment)
            if outcome.ok:
                record_graded(ROOT, config, *key, digests[key])
                if manual[key]:
                    keep_manual_grades(gb, manual[key], graded / key[0] / key[1], *key)
    return outcomes


def print_notes(fresh, reasons, outcomes, config) -> None:
    """Under the table: what was graded again and why, late work, hand-ins with no timestamp,
    and cells the students changed that grading restored."""
    again = [key for key in fresh if reasons[key] in GRADED_BEFORE]
    forced = [key for key in again if reasons[key] == "forced"]
    notes = [f"- {s} / {a}: graded again, {GRADED_BEFORE[reasons[s, a]]}"
             for s, a in again if reasons[s, a] != "forced"]  # fmt: skip
    if forced:
        notes.append(f"- {len(forced)} submission(s) graded again (--force)")
    graded = [(o.student, o.assignment) for o in outcomes if o.ok]
    notes += late_notes(ROOT) + change_notes(ROOT, config, graded)
    notes += sandbox.sandbox_notes(ROOT, config, graded)
    notes += kernel_notes(ROOT, config, graded)
    if notes:
        print("\nNotes:\n" + "\n".join(notes))


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m course.grades",
        description="Autograde submitted/ in parallel and print the scores.",
        epilog="Other options go to every `nbgrader autograde` run (e.g. --Execute.timeout=10).",
    )
    parser.add_argument(
        "-j", "--jobs", type=int, default=cores(),
        help="submissions graded at once (default: one per core, %(default)s here)",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT,
        help="seconds one submission may take before it is stopped (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--student", help="grade this student's submissions only")
    parser.add_argument("--assignment", help="grade this assignment only")
    parser.add_argument("--force", action="store_true", help="regrade what was graded before")
    parser.add_argument(
        "--no-sandbox", action="store_true",
        help="run submissions with every right of the grader (course/sandbox.py): never for "
        "work you did not write",
    )  # fmt: skip
    args, extra = parser.parse_known_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    return args, extra


def main(argv=None) -> int:
    args, extra = parse_args(sys.argv[1:] if argv is None else argv)
    silence_known_warnings()
    config = course_config()
    todo = [
        (student, assignment)
        for student, assignment in submissions()
        if args.student in (None, student) and args.assignment in (None, assignment)
    ]
    if not todo:
        print("Nothing to grade: no submitted/<student>/<assignment>/ folders.")
        return 0
    reasons = {key: grading_reason(ROOT, config, *key, force=args.force) for key in todo}
    fresh = [key for key in todo if reasons[key]]
    if fresh and args.no_sandbox:
        print(NO_SANDBOX, flush=True)
        extra = [*extra, "--SandboxedKernelManager.enabled=False"]
    elif fresh and (why := sandbox.problem()) is not None:
        print(f"make grade: not grading: {why}\n{REFUSED}", flush=True)
        return 2
    elif fresh:
        print(SANDBOXED, flush=True)
    if fresh and PROCESSES.get_start_method() == "forkserver":
        multiprocessing.forkserver.ensure_running()  # it imports nbgrader while we go on
    from .late_work import update_late_work  # imports nbgrader
    from .register import register_assignments

    for assignment in register_assignments(ROOT, config):  # a fresh clone: none is there yet
        print(f"Gradebook: registered assignment {assignment} from source/.")
    for change in update_late_work(ROOT, config):  # due dates first: nbgrader reads them
        print(f"Gradebook: {change}.")
    if len(fresh) < len(todo):
        print(f"{len(todo) - len(fresh)} submission(s) unchanged since they were graded: "
              "skipped (--force regrades them).")  # fmt: skip
    extra = [*extra, "--force"] if args.force else extra
    outcomes = grade_and_keep(fresh, reasons, args, extra, config) if fresh else []
    update_late_work(ROOT, config)  # penalties from the new scores
    regraded = {key for key in fresh if reasons[key] in GRADED_BEFORE}
    students, assignments, cells = score_table(ROOT, regraded)
    print(f"\nScores ({LEGEND}):\n")
    print(format_table(students, assignments, cells))
    print_notes(fresh, reasons, outcomes, config)
    failed = sorted({(o.student, o.assignment) for o in outcomes if not o.ok} | {
        (s, a) for (s, a), text in cells.items() if text == "FAILED"
    })  # fmt: skip
    for student, assignment in failed:
        print(f"\nGrading FAILED for student {student!r}, assignment {assignment!r}: see the "
              "nbgrader log above; the submission is untouched in submitted/.")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
