"""An instructor's term, end to end on a small class of part 01, in a temporary copy of the
course: a roster imported from CSV, a due date, hand-ins on time, late, within the grace period
and without a timestamp, ``make grade``, grades given by hand, ``make feedback``, resubmissions
(a notebook copied over by hand, a hand-in collected again, a student added mid-term),
``make grade --force``, ``make export``.

The class (due date D = 2026-01-12 23:59 +01:00):

* ``alice`` hands in the reference solution an hour early; her written answer gets 1.5 of 2;
* ``bob`` hands it in 25 hours late (two days started: 20% off); graded by hand after the
  first feedback, then copies a notebook with one more comment in his code over it by hand;
* ``carol`` hands in the blank release, then copies the reference solution over it by hand;
* ``dave``'s e-mailed hand-in is collected with ``make collect`` 10 minutes after D (within the
  grace period), graded by hand, then collected again with a different written answer;
* ``erin``'s notebook is copied into submitted/ by hand, with no timestamp;
* ``frank`` is on the roster and hands in nothing; ``gina`` is added mid-term and hands in on
  time in the second round.
"""

import csv
import datetime
import hashlib
import subprocess

import nbformat
import pytest
from coursekit import ROOT, assignments, copy_course, html_text, run
from nbgrader.api import Gradebook

PART01, PART02 = "01_newton_vs_gd", "02_nonquadratic_landscape"
NOTEBOOK = f"{PART01}.ipynb"
WRITTEN = "fixed_vs_adaptive"  # part 01's written answer (2 points)
DUE = "2026-01-12T23:59+01:00"
DUE_UTC = datetime.datetime(2026, 1, 12, 22, 59)
ROSTER = [
    {"id": "alice", "first_name": "Alice", "last_name": "Archer", "email": "alice@example.org",
     "lms_user_id": "A-1001"},
    {"id": "bob", "first_name": "Bob", "last_name": "O'Neil, Jr.", "email": "bob@example.org"},
    {"id": "carol", "first_name": "Carol", "last_name": "Chen", "email": ""},
    {"id": "dave", "first_name": "Dave", "last_name": "Dunn", "email": ""},
    {"id": "erin", "first_name": "Erin", "last_name": "Eze", "email": ""},
    {"id": "frank", "first_name": "Frank", "last_name": "Fox", "email": ""},
]
JOBS = 2


def utc(text):
    """A timestamp.txt as nbgrader's exchange writes it."""
    return text + " UTC"


def source_notebook(root):
    return nbformat.read(root / "source" / PART01 / NOTEBOOK, as_version=4)


def release_notebook(root):
    return nbformat.read(root / "release" / PART01 / NOTEBOOK, as_version=4)


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def hand_copy(root, student, nb, timestamp=None):
    """What the README's old collect step did: a notebook copied into submitted/ by hand
    (over the one there, whose timestamp.txt, if any, stays)."""
    folder = root / "submitted" / student / PART01
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / NOTEBOOK)
    if timestamp is not None:
        (folder / "timestamp.txt").write_text(utc(timestamp))


def collect(root, student, nb, at):
    """``make collect``: the notebook as received, with the time it came in."""
    inbox = root.parent / "inbox" / student
    inbox.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, inbox / NOTEBOOK)
    result = run(root, "python", "-m", "course.collect", student, PART01, str(inbox / NOTEBOOK),
                 f"--at={at}")  # fmt: skip
    assert result.returncode == 0, result.log
    return result


def grade_by_hand(root, student, score):
    """What the formgrader does when a grader scores a written answer."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "autodiff") as gb:
        grade = gb.find_grade(WRITTEN, PART01, PART01, student)
        grade.manual_score = score
        grade.needs_manual_grade = False
        gb.db.commit()


def make_grade(root, *args):
    return run(root, "python", "-m", "course.grades", f"--jobs={JOBS}",
               "--Execute.timeout=30", *args)  # fmt: skip


def state(root):
    """``{student: (score, penalty, needs manual grade, written answer's grade)}``."""
    found = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "autodiff") as gb:
        for submission in gb.find_assignment(PART01).submissions:
            written = gb.find_grade(WRITTEN, PART01, PART01, submission.student.id)
            found[submission.student.id] = (
                submission.score,
                submission.late_submission_penalty,
                submission.needs_manual_grade,
                (written.manual_score, written.needs_manual_grade),
            )
    return found


def fingerprint(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def table_rows(output):
    """``{student: row}`` of the score table ``make grade`` printed."""
    table = output.split("Scores (", 1)[1].split("\n\n", 2)[1]
    return {line.split()[0]: line for line in table.splitlines()[1:] if line.strip()}


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("term") / "course")
    due_dates = root / "course" / "due_dates.csv"
    due_dates.write_text(due_dates.read_text().replace(f"{PART01},\n", f"{PART01},{DUE}\n"))
    for assignment in (PART01, PART02):  # two assignments, one with hand-ins
        released = run(root, "nbgrader", "generate_assignment", assignment, "--force")
        assert released.returncode == 0, released.log
    roster = root.parent / "roster.csv"
    with open(roster, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(ROSTER[0]), restval="")
        writer.writeheader()
        writer.writerows(ROSTER)
    imported = run(root, "nbgrader", "db", "student", "import", str(roster))
    assert imported.returncode == 0, imported.log
    steps = {"import": imported}

    # -- round 1 ------------------------------------------------------------------------------
    hand_copy(root, "alice", source_notebook(root), "2026-01-12 21:59:00.000000")
    hand_copy(root, "bob", source_notebook(root), "2026-01-13 23:59:00.000000")  # D + 25 h
    hand_copy(root, "carol", release_notebook(root), "2026-01-12 20:00:00.000000")
    steps["collect dave"] = collect(root, "dave", source_notebook(root), "2026-01-12T23:09Z")
    hand_copy(root, "erin", release_notebook(root))
    steps["grade 1"] = make_grade(root)
    assert steps["grade 1"].returncode == 0, steps["grade 1"].log  # nbgrader's log if one failed
    steps["state 1"] = state(root)

    grade_by_hand(root, "alice", 1.5)
    grade_by_hand(root, "dave", 2.0)
    steps["feedback 1"] = run(root, "python", "-m", "course.feedback")
    steps["feedback 1 html"] = {
        p.parts[-3]: html_text(p) for p in (root / "feedback").glob(f"*/{PART01}/*.html")
    }
    steps["feedback 1 again"] = run(root, "python", "-m", "course.feedback")
    steps["nbgrader feedback"] = run(
        root, "nbgrader", "generate_feedback", PART01, "--student=alice", "--force"
    )
    grade_by_hand(root, "bob", 2.0)

    # -- round 2: resubmissions and a student added mid-term ------------------------------------
    bob = source_notebook(root)
    cell(bob, "gradient_descent").source += "\n# checked again before the resubmission"
    hand_copy(root, "bob", bob)
    hand_copy(root, "carol", source_notebook(root))
    dave = source_notebook(root)
    cell(dave, WRITTEN).source = "A different answer, written after the first hand-in."
    collect(root, "dave", dave, "2026-01-12T23:11Z")
    added = run(root, "nbgrader", "db", "student", "add", "gina", "--first-name=Gina",
                "--last-name=Gray", "--email=gina@example.org")  # fmt: skip
    assert added.returncode == 0, added.log
    collect(root, "gina", source_notebook(root), "2026-01-12T22:00Z")
    steps["submitted before grade 2"] = fingerprint(root / "submitted")
    steps["grade 2"] = make_grade(root)
    assert steps["grade 2"].returncode == 0, steps["grade 2"].log
    steps["state 2"] = state(root)
    steps["feedback 2"] = run(root, "python", "-m", "course.feedback")
    steps["feedback 2 students"] = sorted(p.parts[-2] for p in (root / "feedback").glob("*/*"))

    # -- round 3: everything of alice graded again -------------------------------------------
    steps["grade 3"] = make_grade(root, "--force", "--student=alice")
    assert steps["grade 3"].returncode == 0, steps["grade 3"].log
    steps["state 3"] = state(root)
    steps["export"] = run(root, "python", "-m", "course.export")
    with open(root / "grades.csv", newline="") as file:
        steps["csv"] = list(csv.DictReader(file))
    steps["submitted after"] = fingerprint(root / "submitted")
    return root, steps


def test_a_roster_is_imported_from_csv_and_a_student_added_mid_term(term):
    root, steps = term
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "autodiff") as gb:
        students = {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}
    assert students["bob"] == ("Bob", "O'Neil, Jr.", "bob@example.org")
    assert students["frank"] == ("Frank", "Fox", None)  # on the roster, nothing handed in
    assert students["gina"] == ("Gina", "Gray", "gina@example.org")
    assert "frank" in table_rows(steps["grade 1"].stdout)
    assert table_rows(steps["grade 1"].stdout)["frank"].split()[1:] == ["-"]
    assert "gina" in steps["state 2"] and "gina" not in steps["state 1"]


def test_the_due_date_comes_from_the_course_file_and_late_work_is_penalized(term):
    root, steps = term
    grading = steps["grade 1"]
    assert grading.returncode == 0, grading.log
    assert f"due date of {PART01}: 2026-01-12 22:59 UTC" in grading.stdout
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "autodiff") as gb:
        assert gb.find_assignment(PART01).duedate == DUE_UTC
        assert gb.find_assignment(PART02).duedate is None
    score, penalty, *_ = steps["state 1"]["bob"]
    assert score == 6 and penalty == pytest.approx(0.2 * 6)  # two days started, 10% each
    rows = table_rows(grading.stdout)
    assert rows["bob"].split()[1:] == ["4.8", "/", "8*", "L"], rows["bob"]
    assert rows["alice"].split()[1:] == ["6", "/", "8*"], rows["alice"]
    assert "- bob / 01_newton_vs_gd: handed in 1 day 1 h after the due date; penalty 1.2 of 6" in (
        grading.stdout
    )


def test_the_penalty_follows_the_grade_given_by_hand(term):
    """bob's written answer was graded (2 of 2) after he was graded late: his penalty is 20%
    of 8 from then on, not of the 6 points he had when nbgrader first computed it."""
    _, steps = term
    score, penalty, pending, _ = steps["state 2"]["bob"]
    assert (score, pending) == (8, False)
    assert penalty == pytest.approx(0.2 * 8)
    assert table_rows(steps["grade 2"].stdout)["bob"].split()[1:] == ["6.4", "/", "8", "RL"]


def test_the_grace_period_and_a_hand_copy_without_a_timestamp(term):
    root, steps = term
    assert "handed in 2026-01-12 23:09:00 UTC" in steps["collect dave"].stdout
    stamp = (root / "submitted" / "dave" / PART01 / "timestamp.txt").read_text()
    assert stamp.startswith("2026-01-12 23:11:00")  # the second collection's
    grading = steps["grade 1"].stdout
    assert "- dave / 01_newton_vs_gd: handed in 10 min after the due date; penalty 0 of 6" in (
        grading
    )
    assert steps["state 1"]["dave"][1] in (None, 0)
    assert "- erin / 01_newton_vs_gd: no timestamp.txt, so it cannot be checked" in grading
    assert not (root / "submitted" / "erin" / PART01 / "timestamp.txt").exists()


def test_make_collect_keeps_the_hand_in_it_replaces(term):
    root, _ = term
    kept = list((root / "replaced" / "dave" / PART01).glob("*/" + NOTEBOOK))
    assert [p.parent.name for p in kept] == ["20260112T230900"]
    assert WRITTEN in {c.metadata.get("nbgrader", {}).get("grade_id") for c in
                       nbformat.read(kept[0], as_version=4).cells}  # fmt: skip


def test_changed_submissions_are_graded_again_and_unchanged_ones_skipped(term):
    _, steps = term
    grading = steps["grade 2"]
    assert grading.returncode == 0, grading.log
    graded = sorted(line.split()[1] for line in grading.stdout.splitlines()
                    if line.startswith("graded "))  # fmt: skip
    assert graded == ["bob", "carol", "dave", "gina"], grading.stdout
    assert "2 submission(s) unchanged since they were graded: skipped" in grading.stdout
    for student in ["bob", "carol", "dave"]:
        note = f"- {student} / {PART01}: graded again, its files changed since it was graded"
        assert note in grading.stdout
    rows = table_rows(grading.stdout)
    assert rows["carol"].split()[1:] == ["6", "/", "8*", "R"], rows["carol"]
    assert rows["gina"].split()[1:] == ["6", "/", "8*"], rows["gina"]  # new, not regraded
    assert rows["alice"].split()[1:] == ["7.5", "/", "8"], rows["alice"]  # skipped
    assert steps["state 1"]["carol"][0] == 0 and steps["state 2"]["carol"][0] == 6


def test_a_regrade_keeps_the_hand_grade_of_an_unchanged_written_answer(term):
    _, steps = term
    assert steps["state 2"]["bob"][3] == (2.0, False)  # his code changed, not his answer
    assert steps["state 2"]["dave"][3] == (2.0, True)  # his answer changed: graded again
    assert "1 submission(s) graded again (--force)" in steps["grade 3"].stdout
    assert steps["state 3"]["alice"][3] == (1.5, False)
    assert steps["state 3"]["alice"][2] is False
    assert table_rows(steps["grade 3"].stdout)["alice"].split()[1:] == ["7.5", "/", "8", "R"]


def test_feedback_waits_for_the_grades_given_by_hand(term):
    _, steps = term
    first = steps["feedback 1"]
    assert first.returncode == 1, first.log
    assert f"- bob / {PART01}: {WRITTEN}" in first.stdout
    assert sorted(steps["feedback 1 html"]) == ["alice", "carol", "dave", "erin"]
    assert "Score: 1.5 / 2.0" in steps["feedback 1 html"]["alice"]
    assert "Feedback written for 0 submission(s)" in steps["feedback 1 again"].stdout
    assert "4 already up to date" in steps["feedback 1 again"].stdout
    second = steps["feedback 2"]
    for student in ["carol", "dave", "gina"]:  # their new answers wait for a grader
        assert f"- {student} / {PART01}: {WRITTEN}" in second.stdout, second.stdout
    assert f"- dave / {PART01}: {WRITTEN} (its earlier feedback removed)" in second.stdout
    assert steps["feedback 2 students"] == ["alice", "bob", "erin"]


def test_feedback_on_an_unanswered_exercise_says_the_answer_is_not_written(term):
    """Issue 13, point 5: erin handed in the release notebook as it was (every answer cell
    still raises NotImplementedError): her feedback says so, not that a test failed."""
    _, steps = term
    erin = steps["feedback 1 html"]["erin"]
    assert "This cell scored 0 because the answer is not written yet" in erin
    assert "a test in this cell failed" not in erin
    assert "BEGIN HIDDEN TESTS" not in erin and "(hidden tests: not shown)" in erin
    alice = steps["feedback 1 html"]["alice"]  # her answers are the reference: nothing to say
    assert "This cell scored 0 because" not in alice


def test_known_harmless_warnings_are_gone(term):
    _, steps = term
    for step in ["grade 1", "grade 2", "grade 3", "feedback 1", "export"]:
        assert "SAWarning" not in steps[step].log, (step, steps[step].log)
    nbgrader_log = steps["nbgrader feedback"].log
    assert steps["nbgrader feedback"].returncode == 0, nbgrader_log
    assert "display_data_priority" not in nbgrader_log
    assert "Alternative text is missing" not in nbgrader_log


def test_the_table_shows_only_assignments_with_hand_ins(term):
    _, steps = term
    header = steps["grade 1"].stdout.split("Scores (", 1)[1].split("\n\n", 2)[1].splitlines()[0]
    assert header.split() == ["student", "01"]
    assert f"Columns: 01 = {PART01}" in steps["grade 1"].stdout


def test_make_export_writes_every_student_and_assignment_with_pending_and_late(term):
    root, steps = term
    assert steps["export"].returncode == 0, steps["export"].log
    rows = {(r["student_id"], r["assignment"]): r for r in steps["csv"]}
    students = [s["id"] for s in ROSTER] + ["gina"]
    # make grade registers every assignment of source/ (issue 12, point 6): a row for each
    assert set(rows) == {(s, a) for s in students for a in assignments()}
    bob = rows["bob", PART01]
    assert bob["last_name"] == "O'Neil, Jr."  # a comma inside a column
    assert float(bob["raw_score"]) == 8 and float(bob["late_submission_penalty"]) == 1.6
    assert float(bob["score"]) == pytest.approx(6.4) and float(bob["hours_late"]) == 25
    assert bob["submitted"] == "yes" and bob["manual_grading_pending"] == "no"
    dave = rows["dave", PART01]
    assert dave["manual_grading_pending"] == "yes" and dave["pending_answers"] == WRITTEN
    assert rows["frank", PART01]["submitted"] == "no"
    assert rows["alice", PART02]["submitted"] == "no"
    assert float(rows["alice", PART01]["score"]) == 7.5
    assert rows["alice", PART02]["lms_user_id"] == "A-1001"  # from the roster


def test_grades_and_rosters_are_never_committed(term):
    for name in ["grades.csv", "roster.csv", "exports/grades-final.csv"]:
        ignored = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT)
        assert ignored.returncode == 0, f"{name} is not git-ignored"
    kept = subprocess.run(["git", "check-ignore", "-q", "course/due_dates.csv"], cwd=ROOT)
    assert kept.returncode == 1  # the due dates are committed


def test_grading_feedback_and_export_never_change_the_hand_ins(term):
    _, steps = term
    assert steps["submitted after"] == steps["submitted before grade 2"]
    carol = steps["submitted after"][f"carol/{PART01}/timestamp.txt"]
    assert carol == steps["submitted before grade 2"][f"carol/{PART01}/timestamp.txt"]
