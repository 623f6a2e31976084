"""A class that tries things, graded by ``make grade`` (``python -m course.grades``) through the
sandbox (``course/sandbox.py``), in a temporary copy of the course trimmed to part 01.

Hand-ins of part 01, each the reference solution with something in its gradient-descent answer
cell: ``honest`` (nothing), ``warning`` (a numpy RuntimeWarning first), ``reader`` (reads
``source/``, another student's hand-in and the gradebook through ``../../../``, writes a file at
the course root and a table into every ``*.db`` it finds, connects to a listener on 127.0.0.1,
prints all it got), ``hog`` (10 GiB of memory), ``bomb`` (200 processes), ``filler`` (5 GiB into
one file), ``sleeper`` (sleeps past the cell timeout) and ``killer`` (kills its parent process).
The last five never define ``gradient_descent``: they earn every point but its tests'.

Each assertion is shown to be able to fail: the reader handed in again and graded with
``--no-sandbox`` reads the hidden tests, writes the course root and the gradebook, and reaches
the listener; beside it, ``unconfined`` (a hog, a bomb and a filler, each about 1.5 times the
sandbox's limit: 3 GiB of address space against 2, 100 processes against 64, a file of 768 MiB
against 512 MiB per file; smaller than the sandboxed ones, so that the proof costs seconds and
fits a CI runner's memory) gets all it asked for, and no limit is reported.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from coursekit import copy_course, html_text, leaks, normalize, run, secrets
from nbgrader.api import Gradebook

from course.sandbox import problem

PART01 = "01_newton_vs_gd"
CELL_TIMEOUT = 10  # seconds per cell (the sleeper's cell is interrupted after it)
MARKER = "planted-secret-7f3a"  # in a file in source/: nobody may read it
PWNED = "PWNED-by-reader"

READER = """
import glob, os, socket, sqlite3
root = os.path.abspath('../../..')  # autograded/<student>/<assignment>/ -> the course root
found = []
for pattern in ['../../../source/*/*', '../../../submitted/*/*/*', root + '/*.db']:
    for path in glob.glob(pattern):
        try:
            found.append(path + ': ' + open(path, errors='replace').read())
        except OSError as error:
            found.append(path + ': ' + repr(error))
print('READ', len(found), '\\n'.join(found))
try:
    open(root + '/PWNED', 'w').write('{pwned}')
except OSError as error:
    print('no write', error)
for db in glob.glob(root + '/**/*.db', recursive=True):
    try:
        with sqlite3.connect(db) as con:
            con.execute('create table pwned (x)')
    except Exception as error:
        print('no db', error)
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'{pwned}')
except OSError as error:
    print('no network', error)
"""
WARNING = "import numpy as _np\n_np.log(_np.array([-1.0]))  # RuntimeWarning on stderr\n"
HOG = "import numpy as _np\n_hog = _np.ones(10 * 2**30 // 8)  # 10 GiB, every page touched\n"
BOMB = """import os, time
children = []
for _ in range(200):
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children.append(pid)
"""
FILLER = """with open('fill.bin', 'wb') as f:
    for _ in range(5 * 1024):  # 5 GiB, a MiB at a time
        f.write(bytes(2**20))
"""
SLEEPER = "import time\ntime.sleep(600)\n"
KILLER = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)  # the grader, if it can\n"
CUT = ("hog", "bomb", "filler", "sleeper", "killer")  # no gradient_descent: its tests score 0
# Without the sandbox: past each limit, each in a cell of its own, cleaning up after itself.
UNCONFINED = [
    # 3 GiB of address space (what the sandbox limits: its hog fails at the allocation), a
    # page in every 64 MiB written: writing all of it takes 10 s on a 2-core CI machine
    "import numpy as _np\n_hog = _np.empty(3 * 2**30 // 8)\n_hog[:: 2**23] = 1.0\n"
    "print('ALLOCATED', _hog.nbytes >> 30, 'GiB')\ndel _hog\n",
    """import os, time
children = []
for _ in range(100):
    pid = os.fork()
    if pid == 0:
        time.sleep(1)
        os._exit(0)
    children.append(pid)
print('FORKED', len(children))
for pid in children:
    os.waitpid(pid, 0)
""",
    """import os
with open('fill.bin', 'wb') as f:
    for _ in range(12):  # 768 MiB, 64 MiB at a time
        f.write(bytes(64 * 2**20))
print('WROTE', os.path.getsize('fill.bin') >> 20, 'MiB')
os.remove('fill.bin')
""",
]


def read_all(folder):
    return {p.name: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}


def with_code(root, code, keep_answer=True):
    """Part 01's reference solution with ``code`` at the start of the gradient-descent cell
    (and the answer after it, or not)."""
    notebooks = read_all(root / "source" / PART01)
    for nb in notebooks.values():
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "gradient_descent":
                cell.source = code + ("\n" + cell.source if keep_answer else "")
    return notebooks


def with_cells(root, codes):
    """Part 01's reference solution with a code cell of its own for each of ``codes``, before
    the gradient-descent cell (each cell gets its own time limit)."""
    notebooks = read_all(root / "source" / PART01)
    for nb in notebooks.values():
        at = next(i for i, cell in enumerate(nb.cells)
                  if cell.metadata.get("nbgrader", {}).get("grade_id") == "gradient_descent")
        nb.cells[at:at] = [nbformat.v4.new_code_cell(code) for code in codes]
    return notebooks


def hand_in(root, student, notebooks):
    folder = root / "submitted" / student / PART01
    folder.mkdir(parents=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / name)


def fingerprint(*paths):
    files = [
        f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*"))) if f.is_file()
    ]
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


class Listener:
    """A TCP service on 127.0.0.1 that records what reaches it."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.received = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(1024) or b"(connected)")
                except OSError:
                    self.received.append(b"(connected)")

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


def tables(db):
    with sqlite3.connect(db) as con:
        return {name for (name,) in con.execute("select name from sqlite_master")}


def grades(root, student):
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "autodiff") as gb:
        submission = gb.find_submission(PART01, student)
        return {
            g.name: (g.score, g.max_score, g.cell.cell_type)
            for nb in submission.notebooks
            for g in nb.grades
        }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    assert problem() is None, f"the grading sandbox cannot run here: {problem()}"
    root = copy_course(tmp_path_factory.mktemp("course"))
    for folder in (root / "source").iterdir():  # part 01 only: a class of eight, not of 9 parts
        if folder.name != PART01:
            for path in sorted(folder.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            folder.rmdir()
    due = root / "course" / "due_dates.csv"
    lines = due.read_text().splitlines()
    kept = [line for line in lines if not re.match(r"\d\d_", line) or line.startswith(PART01)]
    due.write_text("\n".join(kept) + "\n")
    (root / "source" / PART01 / "secret.txt").write_text(MARKER)
    released = run(root, "nbgrader", "generate_assignment", PART01, "--force")
    assert released.returncode == 0, released.log

    listener = Listener()
    reader = READER.format(port=listener.port, pwned=PWNED)
    hand_in(root, "honest", with_code(root, ""))
    hand_in(root, "warning", with_code(root, WARNING))
    hand_in(root, "reader", with_code(root, reader))
    for student, code in zip(CUT, (HOG, BOMB, FILLER, SLEEPER, KILLER), strict=True):
        hand_in(root, student, with_code(root, code, keep_answer=False))
    planted = [root / "source", root / "submitted", root / "nbgrader_config.py", root / "course"]
    before = fingerprint(*planted)
    root_files = sorted(p.name for p in root.iterdir())
    try:
        grading = run(root, "python", "-m", "course.grades", "--jobs=2",
                      f"--Execute.timeout={CELL_TIMEOUT}", timeout=900)  # fmt: skip
        after = fingerprint(*planted)
        sandboxed = {
            "received": list(listener.received),
            "root_files": sorted(p.name for p in root.iterdir()),
            "tables": tables(root / "gradebook.db"),
        }
        feedback = run(root, "nbgrader", "generate_feedback", PART01, "--student=reader")
        assert feedback.returncode == 0, feedback.log
        # the same reader, without the sandbox: every check above must see it; beside it (only
        # the new hand-ins are graded), one past each limit, which nothing stops
        hand_in(root, "unsandboxed", with_code(root, reader))
        hand_in(root, "unconfined", with_cells(root, UNCONFINED))
        unsandboxed = run(root, "python", "-m", "course.grades", "--no-sandbox", "--jobs=2",
                          "--Execute.timeout=60")  # fmt: skip  (writing 768 MiB on a busy disk)
        exposed = {
            "received": listener.received[len(sandboxed["received"]) :],
            "root_files": sorted(p.name for p in root.iterdir()),
            "tables": tables(root / "gradebook.db"),
        }
    finally:
        listener.close()
    return {
        "root": root,
        "grading": grading,
        "before": before,
        "after": after,
        "root_files": root_files,
        "sandboxed": sandboxed,
        "unsandboxed": unsandboxed,
        "exposed": exposed,
    }


def secret_texts(root):
    """The planted marker and the hidden tests' lines (the solution is the reader's own too)."""
    found = {MARKER}
    for path in (root / "source" / PART01).glob("*.ipynb"):
        found |= secrets(path)["hidden"]
    return found


def printed(root, student):
    """What the student's gradient-descent cell printed while it was graded."""
    texts = []
    for nb in read_all(root / "autograded" / student / PART01).values():
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "gradient_descent":
                texts += [o.get("text", "") for o in cell.outputs]
                texts += [o.get("evalue", "") for o in cell.outputs]
    return normalize(" ".join(texts))


def test_every_hand_in_is_graded_and_scores_what_it_earned(graded):
    root, log = graded["root"], graded["grading"].log
    assert graded["grading"].returncode == 0, log
    honest = grades(root, "honest")
    code = {name for name, (_, _, kind) in honest.items() if kind == "code"}
    assert all(honest[name][0] == honest[name][1] > 0 for name in code), honest
    for student in ("warning", "reader"):
        assert grades(root, student) == honest, student
    for student in CUT:
        got = grades(root, student)
        for name in code:
            expected = 0 if name.startswith("test_gradient_descent") else honest[name][1]
            assert got[name][0] == expected, (student, name, got[name], log)
    table = graded["grading"].stdout.split("Scores (", 1)[1]
    rows = {line.split()[0]: line for line in table.splitlines()[2:] if line.strip()}
    for student in ("honest", "warning", "reader", *CUT):
        assert "FAILED" not in rows[student], rows[student]


def test_nothing_outside_the_sandbox_is_read_or_written(graded):
    root, sandboxed = graded["root"], graded["sandboxed"]
    assert graded["after"] == graded["before"]  # source/, submitted/, config, course/
    assert set(sandboxed["root_files"]) - set(graded["root_files"]) == {"autograded"}
    assert "pwned" not in sandboxed["tables"], sandboxed["tables"]
    assert sandboxed["received"] == [], sandboxed["received"]
    text = printed(root, "reader")
    assert "READ 0" in text, text[:2000]
    assert not leaks(text, secret_texts(root)), leaks(text, secret_texts(root))
    for html in (root / "feedback" / "reader" / PART01).glob("*.html"):
        assert not leaks(html_text(html), secret_texts(root)), html
    assert list((root / "feedback" / "reader" / PART01).glob("*.html"))


def test_without_the_sandbox_the_same_reader_gets_everything(graded):
    """The checks above can fail: ``--no-sandbox`` says so loudly and the reader succeeds."""
    root, exposed, log = graded["root"], graded["exposed"], graded["unsandboxed"].stdout
    assert "--no-sandbox: submissions run WITHOUT the sandbox" in log, log
    assert "PWNED" in exposed["root_files"]
    assert "pwned" in exposed["tables"]
    assert PWNED.encode() in exposed["received"], exposed["received"]
    text = printed(root, "unsandboxed")
    assert MARKER in text and leaks(text, secret_texts(root) - {MARKER})


def test_without_the_sandbox_nothing_stops_the_hog_the_bomb_or_the_filler(graded):
    """The limits below can fail to hold: graded with ``--no-sandbox``, a hand-in gets 3 GiB of
    address space, 100 processes and a file of 768 MiB, and no limit is reported."""
    root, result = graded["root"], graded["unsandboxed"]
    assert result.returncode == 0, result.log
    assert "Grading 2 submission(s)" in result.stdout, result.stdout  # no other regraded
    printed = []
    for nb in read_all(root / "autograded" / "unconfined" / PART01).values():
        for cell in nb.cells:
            printed += [o.get("text", "") for o in cell.get("outputs", [])]
            printed += [o.get("ename", "") for o in cell.get("outputs", [])]
    text = " ".join(printed)
    assert "ALLOCATED 3 GiB" in text and "FORKED 100" in text and "WROTE 768 MiB" in text, text
    assert "MemoryError" not in text and "BlockingIOError" not in text, text
    notes = result.stdout.split("Notes:", 1)[-1]
    assert f"unconfined / {PART01}: ran into" not in notes, notes  # no limit reported
    assert not list((root / "autograded" / "unconfined").rglob("fill.bin"))  # cleaned up


def test_the_limits_are_reported(graded):
    notes = graded["grading"].stdout.split("Notes:", 1)[-1]
    assert f"hog / {PART01}: ran into the memory limit" in notes, notes
    assert f"bomb / {PART01}: ran into the process limit" in notes, notes
    assert f"filler / {PART01}: ran into the file-size limit" in notes, notes
    sleeper = read_all(graded["root"] / "autograded" / "sleeper" / PART01)
    errors = {
        o.ename
        for nb in sleeper.values()
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.output_type == "error"
    }
    assert errors & {"CellTimeoutError", "KeyboardInterrupt"}, errors


def test_no_kernel_is_left_behind(graded):
    root = graded["root"]
    for cwd in os.scandir("/proc"):
        if cwd.name.isdigit():
            try:
                where = os.readlink(f"/proc/{cwd.name}/cwd")
            except OSError:
                continue
            assert not where.startswith(str(root)), (cwd.name, where)


def test_without_bubblewrap_make_grade_refuses_and_says_how_to_install_it(graded):
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # no /usr/bin: no bwrap
    env.pop("NBGRADER_DB_URL", None)
    refused = subprocess.run(
        [sys.executable, "-m", "course.grades", "--force", "--student=honest"],
        cwd=graded["root"], env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "not grading: bwrap" in refused.stdout and "make sandbox-deps" in refused.stdout
    assert "--no-sandbox" in refused.stdout


def test_a_kernel_that_writes_too_much_is_stopped(tmp_path):
    """Many files under the size limit of one: the watch on what the kernel wrote stops it."""
    import asyncio

    from course.sandbox import SandboxedKernelManager

    (tmp_path / "work").mkdir()
    km = SandboxedKernelManager(kernel_name="python3", disk_mib=40, file_size_mib=16)
    filler = "for k in range(10):\n    open(f'f{k}', 'wb').write(bytes(15 * 2**20))\n"

    async def fill():
        await km.start_kernel(cwd=str(tmp_path / "work"))
        client = km.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=120)
            client.execute(filler)
            for _ in range(240):  # a minute at most
                if not await km.is_alive():
                    break
                await asyncio.sleep(0.25)
            return await km.is_alive()
        finally:
            client.stop_channels()
            await km.shutdown_kernel(now=True)

    alive = asyncio.run(fill())
    assert not alive and "more than 40 MiB" in km.stopped_for, km.stopped_for
    assert list((tmp_path / "work").iterdir()) == []  # it wrote into its private copy only
