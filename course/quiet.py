"""Warnings known to be harmless, silenced where they arise, so that the ones an instructor
must act on stand out in ``make grade``, ``make feedback`` and ``make export``.

Only one is silenced here; the others are fixed at their source:

* SQLAlchemy's ``SAWarning: Object of type <SubmittedAssignment> not in session, add operation
  along 'Assignment.submissions' will not proceed``: nbgrader's ``Gradebook.add_submission``
  creates a submission, then reads its assignment's notebooks before adding it to the session;
  SQLAlchemy warns that the back-reference is not added yet, and nbgrader adds the object right
  after. The submission and its notebooks are stored (every grading test reads them back).
* ``Config option display_data_priority not recognized by HideHiddenTests``: fixed in
  ``course/nbgrader_plugins.py`` (the option is declared configurable, as nbgrader's GetGrades
  does).
* ``Alternative text is missing on N image(s)`` (nbconvert, in feedback): fixed by
  ``course.feedback.DescribeFigures``, which gives each figure a description.
* ``Unwritable directory ... /usr/local/share/nbgrader/exchange`` under ``make lab``: fixed by
  giving ``make lab`` an exchange of its own (``course/lab/nbgrader_config.py``).
"""

from __future__ import annotations

import warnings

__all__ = ["silence_known_warnings"]

SUBMISSION_NOT_IN_SESSION = (
    r"Object of type <Submitted\w+> not in session, add operation along '\w+\.submissions' "
    r"will not proceed"
)


def silence_known_warnings() -> None:
    """Ignore the warnings listed above, and only those (by category and message)."""
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", message=SUBMISSION_NOT_IN_SESSION, category=SAWarning)
