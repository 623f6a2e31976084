"""The late-work policy: a share of the score per day late, and penalties kept up to date.

nbgrader finds late work itself: a submission is late when its ``timestamp.txt`` (written by
``nbgrader collect``, ``nbgrader zip_collect`` or ``make collect``) is after the assignment's
due date in the gradebook (``course/due_dates.csv``, see ``course/deadlines.py``). Its
``AssignLatePenalties`` step asks a ``LateSubmissionPlugin`` for each notebook's penalty; this
course configures ``PenaltyPerDayLate`` in ``nbgrader_config.py``:

    penalty = score x percent_per_day/100 x (days late, each day started counted whole),
    nothing within ``grace_minutes`` of the due date, never more than the score.

Why this policy: students can work it out in advance ("a day late costs 10% of what the work
earns"), a late but good submission still earns most of its points, and a small grace period
absorbs clocks and uploads that finish a minute late. nbgrader's built-in choices are no
penalty or zero for any lateness, the latter costing a whole assignment for a minute.

nbgrader computes the penalty once, when it autogrades, from the score at that moment: before
written answers are graded by hand, and with the due date of that moment. So ``make grade``,
``make feedback`` and ``make export`` compute every penalty again with the same plugin, from
the current scores and due dates (``reassess_penalties``): feedback and exports always show the
penalty of the final score.
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float

__all__ = [
    "PenaltyPerDayLate",
    "describe_lateness",
    "late_plugin",
    "reassess_penalties",
    "update_late_work",
]

DAY = 86400.0


class PenaltyPerDayLate(LateSubmissionPlugin):
    """``percent_per_day`` of the notebook's score per day late (each day started counts),
    after ``grace_minutes``; at most the whole score."""

    percent_per_day = Float(10.0, help="Share of the score lost per day started late.").tag(
        config=True
    )
    grace_minutes = Float(15.0, help="Minutes after the due date that cost nothing.").tag(
        config=True
    )

    def days_late(self, seconds_late: float) -> int:
        """Days started after the due date (0 within the grace period)."""
        if seconds_late <= self.grace_minutes * 60:
            return 0
        return math.ceil(seconds_late / DAY)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        share = min(1.0, self.percent_per_day / 100 * self.days_late(total_seconds_late))
        return score * share

    def describe(self) -> str:
        return (
            f"{self.percent_per_day:g}% of the score per day started, "
            f"after a grace period of {self.grace_minutes:g} min"
        )


def late_plugin(root):
    """The late-penalty plugin ``root/nbgrader_config.py`` configures, set up as nbgrader
    would (``AssignLatePenalties.plugin_class``; nbgrader's ``LateSubmissionPlugin`` if none)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    plugin_class = config.AssignLatePenalties.get("plugin_class", LateSubmissionPlugin)
    return plugin_class(config=config)


def reassess_penalties(gradebook, plugin) -> None:
    """Every notebook's late penalty again, from its current score and its assignment's
    current due date (nbgrader's rule: between 0 and the score; none when not late)."""
    for assignment in gradebook.assignments:
        for submission in assignment.submissions:
            seconds = submission.total_seconds_late
            for notebook in submission.notebooks:
                penalty = None
                if seconds > 0:
                    penalty = plugin.late_submission_penalty(
                        submission.student.id, notebook.score, seconds
                    )
                    if penalty is not None:
                        penalty = min(max(penalty, 0.0), notebook.score)
                notebook.late_submission_penalty = penalty
    gradebook.db.commit()


def describe_lateness(seconds: float) -> str:
    """``2 days 3 h 5 min``, ``40 min``, ``12 s``."""
    seconds = round(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} day" + ("s" if days != 1 else ""))
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)


def update_late_work(root, config) -> list[str]:
    """Due dates from ``course/due_dates.csv`` and extensions from ``extensions.csv`` into the
    gradebook, then every late penalty computed again; returns what changed, as log lines."""
    from nbgrader.api import Gradebook

    from .deadlines import read_due_dates, read_extensions, record_due_dates, record_extensions

    source = root / config.source_directory
    assignments = sorted(p.name for p in source.iterdir() if any(p.glob("*.ipynb")))
    due = read_due_dates(root, assignments)
    extended = read_extensions(root, assignments)
    with Gradebook(config.db_url, config.course_id) as gradebook:
        changed = record_due_dates(gradebook, due)
        changed += record_extensions(gradebook, extended)
        reassess_penalties(gradebook, late_plugin(root))
    return changed
