"""End to end, in a temporary copy of the course with a fresh gradebook: release, submit,
``make grade`` (every submission graded by its own ``nbgrader autograde`` process, two at a
time, each into its own copy of the SQLite gradebook, merged back), feedback.

Students, for every assignment: ``instructor`` hands in the source notebook (the reference
solution) and ``untouched`` the student version as released. On part 01, also:
``edited-tests`` replaced every test cell by ``pass``; ``raised-points`` gave every graded
cell 100 points; ``infinite-loop`` loops forever in the gradient-descent answer cell;
``corrupted`` handed in a file that is not a notebook; ``crash`` tries to kill nbgrader from
its kernel (the sandbox, ``course/sandbox.py``, stops it; without it, it succeeds); and a
class of ``full-NN`` (the reference solution), ``blank-NN`` (the release) and ``half-NN`` (the
reference without a gradient descent), as many as it takes for one parallel run to grade at
least 30 submissions, each of whose scores must reach the gradebook.
"""

import hashlib
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from coursekit import assignments, copy_course, html_text, leaks, run, secrets
from nbgrader.api import Gradebook

from course.grades import submissions

PART01 = "01_newton_vs_gd"
CELL_TIMEOUT = 10  # seconds per cell while grading here; every cell of a good answer takes < 1
ADVERSARIAL = ["edited-tests", "raised-points", "infinite-loop", "corrupted"]
GRADED_AT_ONCE = 30  # submissions that one parallel run must put in the gradebook, at least
# Part 01 hand-ins of a class, by kind: as many as the run needs beside the hand-ins above
# (two per assignment, the adversarial ones that grade), at least two of each kind.
PER_KIND = max(2, -(-(GRADED_AT_ONCE - 2 * len(assignments()) - len(ADVERSARIAL) + 1) // 3))
CLASS = {"full": PER_KIND, "blank": PER_KIND, "half": PER_KIND}
JOBS = 2  # grading workers (make grade's default is one per core)


def graded_cells(nb):
    return {
        c.metadata.nbgrader["grade_id"]: c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }


def write_submission(root, student, assignment, notebooks):
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True)
    for name, nb in notebooks.items():
        if isinstance(nb, str):
            (folder / name).write_text(nb)
        else:
            nbformat.write(nb, folder / name)


def read_all(folder):
    return {p.name: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}


def adversarial_submissions(root):
    source, release = root / "source" / PART01, root / "release" / PART01
    edited = read_all(release)
    for nb in edited.values():
        for cell in graded_cells(nb).values():
            if cell.cell_type == "code":
                cell.source = "pass"
    raised = read_all(source)
    for nb in raised.values():
        for cell in graded_cells(nb).values():
            cell.metadata.nbgrader["points"] = 100
    looping = read_all(source)
    for nb in looping.values():
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "gradient_descent":
                cell.source = "while True:  # never ends\n    pass\n\n" + cell.source
    corrupted = {name: "{ this is not a notebook" for name in edited}
    return dict(zip(ADVERSARIAL, [edited, raised, looping, corrupted], strict=True))


def with_answer(root, grade_id, code):
    """Part 01's reference solution with ``code`` in place of answer cell ``grade_id``."""
    notebooks = read_all(root / "source" / PART01)
    cells = [c for nb in notebooks.values() for c in nb.cells]
    [cell] = [c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    cell.source = code
    return notebooks


def class_submissions(root):
    """``{student: notebooks}``: the class of ``full-NN``, ``blank-NN`` and ``half-NN``."""
    kinds = {
        "full": lambda: read_all(root / "source" / PART01),
        "blank": lambda: read_all(root / "release" / PART01),
        "half": lambda: with_answer(root, "gradient_descent", "gradient_descent = None"),
    }
    return {f"{kind}-{k:02d}": kinds[kind]() for kind, n in CLASS.items() for k in range(n)}


def fingerprint(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("course"))
    released = run(root, "nbgrader", "generate_assignment", "*", "--force")
    assert released.returncode == 0, released.log
    for assignment in assignments():
        write_submission(root, "instructor", assignment, read_all(root / "source" / assignment))
        write_submission(root, "untouched", assignment, read_all(root / "release" / assignment))
    for student, notebooks in adversarial_submissions(root).items():
        write_submission(root, student, PART01, notebooks)
    killer = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)  # nbgrader runs me"
    write_submission(root, "crash", PART01, with_answer(root, "gradient_descent", killer))
    for student, notebooks in class_submissions(root).items():
        write_submission(root, student, PART01, notebooks)
    submitted = fingerprint(root / "submitted")
    grading = run(
        root, "python", "-m", "course.grades", f"--jobs={JOBS}", f"--Execute.timeout={CELL_TIMEOUT}"
    )
    feedback = run(root, "nbgrader", "generate_feedback", "*")
    assert feedback.returncode == 0, feedback.log
    return {"root": root, "grading": grading, "submitted": submitted}


def grades(root, student, assignment):
    """``{cell name: (score, max score, needs manual grade)}`` from the gradebook."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "autodiff") as gb:
        submission = gb.find_submission(assignment, student)
        return {
            g.name: (g.score, g.max_score, g.needs_manual_grade, g.cell.cell_type)
            for nb in submission.notebooks
            for g in nb.grades
        }


def source_points(root, assignment):
    return {
        name: float(cell.metadata.nbgrader["points"])
        for nb in read_all(root / "source" / assignment).values()
        for name, cell in graded_cells(nb).items()
    }


@pytest.mark.parametrize("assignment", assignments())
def test_the_reference_solution_gets_every_autograded_point(course, assignment):
    got = grades(course["root"], "instructor", assignment)
    assert {name: g[1] for name, g in got.items()} == source_points(course["root"], assignment)
    for name, (score, max_score, manual, cell_type) in got.items():
        if cell_type == "code":
            assert score == max_score, f"{name}: {score} of {max_score}"
        else:  # a written answer: waits for a human
            assert manual, f"{name} should need manual grading"


@pytest.mark.parametrize("assignment", assignments())
def test_the_untouched_release_gets_nothing_and_grading_does_not_crash(course, assignment):
    got = grades(course["root"], "untouched", assignment)
    assert set(got) == set(source_points(course["root"], assignment))
    for name, (score, _, manual, _) in got.items():
        assert score == 0 and not manual, f"{name}: {score} points for an unanswered notebook"
    assert (course["root"] / "autograded" / "untouched" / assignment).is_dir()


def test_edited_test_cells_are_graded_with_the_original_tests(course):
    got = grades(course["root"], "edited-tests", PART01)
    assert all(score == 0 for score, *_ in got.values()), got
    graded = read_all(course["root"] / "autograded" / "edited-tests" / PART01)
    source = read_all(course["root"] / "source" / PART01)
    for name, nb in graded.items():
        originals = graded_cells(source[name])
        for grade_id, cell in graded_cells(nb).items():
            if cell.cell_type == "code":
                assert cell.source == originals[grade_id].source


def test_raised_points_are_restored(course):
    got = grades(course["root"], "raised-points", PART01)
    points = source_points(course["root"], PART01)
    assert {name: g[1] for name, g in got.items()} == points
    assert sum(g[0] for g in got.values() if g[3] == "code") == sum(
        p for name, p in points.items() if got[name][3] == "code"
    )


def test_an_infinite_loop_costs_its_cell_after_the_timeout_and_the_rest_is_graded(course):
    got = grades(course["root"], "infinite-loop", PART01)
    assert got["test_next_step_size"][0] == 1.0  # does not depend on the looping cell
    for name, (score, *_rest) in got.items():
        if name.startswith("test_gradient_descent"):
            assert score == 0, f"{name} passed without a gradient_descent"
    nb = read_all(course["root"] / "autograded" / "infinite-loop" / PART01)[f"{PART01}.ipynb"]
    looping = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                   == "gradient_descent")  # fmt: skip
    errors = {o.ename for o in looping.outputs if o.output_type == "error"}
    assert errors & {"CellTimeoutError", "KeyboardInterrupt"}, looping.outputs


def test_a_corrupted_notebook_is_a_clear_error_for_that_student_only(course):
    grading = course["grading"]
    assert grading.returncode == 1, grading.log
    assert "There was an error processing assignment '01_newton_vs_gd' for student 'corrupted'" in (
        grading.log
    )
    assert f"Grading FAILED for student 'corrupted', assignment '{PART01}'" in grading.stdout
    assert not (course["root"] / "autograded" / "corrupted").exists()
    for student in ["instructor", "untouched", *ADVERSARIAL[:-1]]:
        assert (course["root"] / "autograded" / student / PART01).is_dir(), student


def test_make_grade_prints_the_gradebook_scores(course):
    table = course["grading"].stdout.split("Scores (points / possible", 1)[1]
    rows = {line.split()[0]: line for line in table.splitlines()[2:] if line.strip()}
    for student in ["instructor", "untouched", *ADVERSARIAL[:-1]]:
        got = grades(course["root"], student, PART01)
        score, total = sum(g[0] for g in got.values()), sum(g[1] for g in got.values())
        cell = re.search(rf"(?<!\S){score:g} / {total:g}(\*?)(?!\S)", rows[student])
        assert cell, rows[student]
        assert (cell.group(1) == "*") == any(g[2] for g in got.values()), rows[student]
    assert rows["corrupted"].split()[1] == "FAILED"


def test_grading_leaves_every_submission_as_it_was(course):
    after = fingerprint(course["root"] / "submitted")
    assert after == course["submitted"]  # the corrupted one included


def test_feedback_shows_no_hidden_test_and_no_solution(course):
    root = course["root"]
    checked = 0
    for assignment in assignments():
        secret = {}
        for path in sorted((root / "source" / assignment).glob("*.ipynb")):
            for kind, texts in secrets(path).items():
                secret.setdefault(kind, set()).update(texts)
        assert secret["hidden"] or assignment != PART01  # the check has something to find
        for html in sorted((root / "feedback").glob(f"*/{assignment}/*.html")):
            student, text = html.parts[-3], html_text(html)
            assert not leaks(text, secret["hidden"]), (html, leaks(text, secret["hidden"]))
            if student in ("untouched", "edited-tests"):  # handed in no solution of their own
                assert not leaks(text, secret["solution"]), (html, leaks(text, secret["solution"]))
            checked += 1
    assert checked >= len(assignments()) * 2 + len(ADVERSARIAL) - 1


def test_a_parallel_run_puts_every_score_in_the_gradebook(course):
    root = course["root"]
    graded = [(s, a) for s, a in submissions(root) if s not in ("corrupted", "crash")]
    assert len(graded) >= GRADED_AT_ONCE
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "autodiff") as gb:
        in_gradebook = {(s.student.id, a.name) for a in gb.assignments for s in a.submissions}
    assert set(graded) <= in_gradebook, sorted(set(graded) - in_gradebook)
    full = grades(root, "instructor", PART01)
    kinds = {}
    for student in class_submissions(root):
        kinds.setdefault(student.split("-")[0], []).append(grades(root, student, PART01))
    for kind, members in kinds.items():
        assert all(m == members[0] for m in members), f"{kind}: {members}"
    total = {kind: sum(g[0] for g in members[0].values()) for kind, members in kinds.items()}
    assert kinds["full"][0] == full, (kinds["full"][0], full)
    assert total["blank"] == 0 < total["half"] < total["full"], total
    table = course["grading"].stdout.split("Scores (points / possible", 1)[1]
    rows = {line.split()[0]: line for line in table.splitlines()[2:] if line.strip()}
    for student in class_submissions(root):
        assert f"{total[student.split('-')[0]]:g} / " in rows[student], rows[student]


def test_a_kernel_cannot_kill_nbgrader_from_the_sandbox(course):
    assert "'crash'" not in course["grading"].stdout  # not FAILED: graded
    got = grades(course["root"], "crash", PART01)
    assert got["test_next_step_size"][0] == 1.0, got
    assert all(g[0] == 0 for name, g in got.items() if name.startswith("test_gradient_descent"))


def test_a_crash_of_nbgrader_costs_that_submission_only(course, monkeypatch):
    """Without the sandbox the same hand-in kills its nbgrader: that submission is reported and
    left to be graded again, every other score stays."""
    from course.grades import grade_all

    root = course["root"]
    monkeypatch.delenv("NBGRADER_DB_URL", raising=False)  # the temporary course's gradebook
    before = {(s, a): grades(root, s, a) for s, a in submissions(root) if s != "corrupted"}
    killer = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)  # nbgrader runs me"
    write_submission(root, "crash2", PART01, with_answer(root, "gradient_descent", killer))
    try:
        [outcome] = grade_all(
            [("crash2", PART01)], jobs=1, extra=["--SandboxedKernelManager.enabled=False"],
            root=root,
        )  # fmt: skip
    finally:
        shutil.rmtree(root / "submitted" / "crash2")
    assert outcome.returncode != 0, outcome.log
    assert not (root / "autograded" / "crash2").exists()  # graded again next time
    assert {key: grades(root, *key) for key in before} == before


def test_a_timeout_stops_that_submission_and_keeps_every_score(course, monkeypatch):
    """One more hand-in sleeps in a cell past the per-submission limit: its nbgrader and the
    kernel are killed, nothing of it is left in autograded/, every other score is unchanged."""
    from course.grades import grade_all

    root = course["root"]
    monkeypatch.delenv("NBGRADER_DB_URL", raising=False)  # the temporary course's gradebook
    before = {(s, a): grades(root, s, a) for s, a in submissions(root)
              if s not in ("corrupted", "crash")}  # fmt: skip
    sleeper = with_answer(root, "gradient_descent", "import time\ntime.sleep(600)")
    write_submission(root, "sleeper", PART01, sleeper)
    try:
        [outcome] = grade_all(
            [("sleeper", PART01)], jobs=1, extra=["--Execute.timeout=900"], timeout=15, root=root
        )
    finally:
        shutil.rmtree(root / "submitted" / "sleeper")
    assert outcome.returncode is None and "Killed after 15 s" in outcome.log, outcome.log
    assert not (root / "autograded" / "sleeper").exists()
    assert not processes_in(root), processes_in(root)  # the kernel went with its nbgrader
    after = {key: grades(root, *key) for key in before}
    assert after == before


def processes_in(folder):
    """PIDs of the processes whose working directory is inside ``folder`` (Linux /proc)."""
    found = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if Path(os.readlink(cwd)).is_relative_to(folder):
                found.append(int(cwd.parent.name))
        except OSError:
            pass
    return found
