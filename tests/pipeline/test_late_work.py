"""Due dates from course/due_dates.csv, the late-penalty policy, and make collect's checks."""

import datetime
import warnings

import nbformat
import pytest
from coursekit import ROOT, assignments, copy_course, environment

from course.collect import collect
from course.deadlines import read_due_dates
from course.grades import course_config
from course.late_work import PenaltyPerDayLate, describe_lateness, late_plugin
from course.quiet import silence_known_warnings

HOUR, DAY = 3600, 86400


def write_due_dates(root, text):
    (root / "course").mkdir(parents=True, exist_ok=True)
    (root / "course" / "due_dates.csv").write_text(text)


def test_the_committed_file_lists_every_assignment():
    due = read_due_dates(ROOT, assignments())
    assert sorted(due) == assignments()


def test_due_dates_are_read_in_utc(tmp_path):
    write_due_dates(tmp_path, "# a comment\nassignment,due\na,2026-10-12T23:59+02:00\n"
                    "b,2026-10-13T08:00Z\nc,\n")  # fmt: skip
    due = read_due_dates(tmp_path, ["a", "b", "c"])
    assert due == {
        "a": datetime.datetime(2026, 10, 12, 21, 59),
        "b": datetime.datetime(2026, 10, 13, 8, 0),
        "c": None,
    }


@pytest.mark.parametrize(
    "row, message",
    [
        ("a,2026-10-12T23:59", r"row 2: '2026-10-12T23:59' has no UTC offset"),
        ("a,12/10/2026", r"row 2: '12/10/2026' is not an ISO 8601 date"),
        ("z,2026-10-12T23:59Z", r"row 2: 'z' is not an assignment"),
        ("a,2026-10-12T23:59Z\na,", r"row 3: 'a' has a due date already"),
        ("a,2026-10-12,23:59Z", r"row 2: expected 'assignment,due'"),
    ],
)
def test_a_bad_due_date_is_a_clear_error_naming_the_row(tmp_path, row, message):
    write_due_dates(tmp_path, f"assignment,due\n{row}\n")
    with pytest.raises(ValueError, match=message):
        read_due_dates(tmp_path, ["a"])


def test_the_penalty_is_a_share_of_the_score_per_day_started_after_the_grace_period():
    policy = PenaltyPerDayLate(percent_per_day=10, grace_minutes=15)
    assert policy.late_submission_penalty("s", 6.0, 14 * 60) == 0  # within the grace period
    assert policy.late_submission_penalty("s", 6.0, 16 * 60) == pytest.approx(0.6)
    assert policy.late_submission_penalty("s", 6.0, DAY) == pytest.approx(0.6)
    assert policy.late_submission_penalty("s", 6.0, DAY + 1) == pytest.approx(1.2)
    assert policy.late_submission_penalty("s", 6.0, 30 * DAY) == 6.0  # never more than all


def test_nbgrader_config_sets_the_policy():
    plugin = late_plugin(ROOT)
    assert isinstance(plugin, PenaltyPerDayLate)
    assert (plugin.percent_per_day, plugin.grace_minutes) == (10, 15)


def test_lateness_reads_as_days_hours_and_minutes():
    assert describe_lateness(DAY + HOUR + 120) == "1 day 1 h 2 min"
    assert describe_lateness(2 * DAY) == "2 days"
    assert describe_lateness(40) == "40 s"


@pytest.fixture
def course(tmp_path):
    root = copy_course(tmp_path / "course")
    (root / "release").mkdir()
    (root / "release" / "01_newton_vs_gd").mkdir()
    nbformat.write(
        nbformat.v4.new_notebook(), root / "release" / "01_newton_vs_gd" / "01_newton_vs_gd.ipynb"
    )
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), inbox / "01_newton_vs_gd.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), inbox / "homework (1).ipynb")
    return root, course_config(root), inbox


def test_collect_refuses_a_notebook_by_another_name(course):
    root, config, inbox = course
    when = datetime.datetime(2026, 1, 1)
    with pytest.raises(ValueError, match=r"homework \(1\).ipynb is not a notebook of 01_newton"):
        collect(root, config, "alice", "01_newton_vs_gd", [inbox / "homework (1).ipynb"], when)
    with pytest.raises(ValueError, match="'02_x' is not an assignment"):
        collect(root, config, "alice", "02_x", [inbox / "01_newton_vs_gd.ipynb"], when)
    assert not (root / "submitted").exists()


def test_collect_refuses_a_time_older_than_the_hand_in_in_place(course):
    root, config, inbox = course
    files = [inbox / "01_newton_vs_gd.ipynb"]
    assert (
        collect(root, config, "alice", "01_newton_vs_gd", files, datetime.datetime(2026, 1, 2))
        is None
    )
    with pytest.raises(ValueError, match="older than the hand-in in place"):
        collect(root, config, "alice", "01_newton_vs_gd", files, datetime.datetime(2026, 1, 1))
    stamp = root / "submitted" / "alice" / "01_newton_vs_gd" / "timestamp.txt"
    assert stamp.read_text().startswith("2026-01-02 00:00:00")


def test_an_extension_moves_one_students_due_date_and_goes_when_its_line_goes(
    tmp_path, monkeypatch
):
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    monkeypatch.setenv("PATH", environment()["PATH"])  # a new gradebook runs alembic
    from course.deadlines import read_extensions, record_extensions

    due = datetime.datetime(2026, 1, 12, 22, 59)
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", "autodiff") as gb:
        gb.add_assignment("a", duedate=due)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            silence_known_warnings()  # nbgrader's add_submission makes SQLAlchemy warn
            for student in ["alice", "bob"]:
                gb.add_student(student)
                gb.add_submission("a", student, timestamp=due + datetime.timedelta(days=1))
            warnings.warn("an instructor must see this one", SAWarning, stacklevel=1)
        assert [str(w.message) for w in caught] == ["an instructor must see this one"]
        (tmp_path / "extensions.csv").write_text(
            "student,assignment,due\nalice,a,2026-01-14T23:59+01:00\n"
        )
        extended = read_extensions(tmp_path, ["a"])
        assert record_extensions(gb, extended) == ["extension of alice for a: 2 days, 0:00:00"]
        assert gb.find_submission("a", "alice").total_seconds_late == 0
        assert gb.find_submission("a", "bob").total_seconds_late == DAY
        (tmp_path / "extensions.csv").write_text("student,assignment,due\n")
        record_extensions(gb, read_extensions(tmp_path, ["a"]))
        assert gb.find_submission("a", "alice").total_seconds_late == DAY


def test_an_extension_needs_a_date_and_a_known_assignment(tmp_path):
    from course.deadlines import read_extensions

    (tmp_path / "extensions.csv").write_text("student,assignment,due\nalice,a,\n")
    with pytest.raises(ValueError, match="row 2: give the due date that alice is granted"):
        read_extensions(tmp_path, ["a"])
    (tmp_path / "extensions.csv").write_text("student,assignment,due\nalice,b,2026-01-01Z\n")
    with pytest.raises(ValueError, match="row 2: 'b' is not an assignment"):
        read_extensions(tmp_path, ["a"])
