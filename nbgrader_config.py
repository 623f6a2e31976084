"""nbgrader's configuration for this course.

nbgrader reads ./nbgrader_config.py from the directory it runs in and has no --config flag:
run every nbgrader command (and `make release`, `make grade`, `make lab`) from this folder.
"""

import os
import sys
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import GetGrades

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # the course's own preprocessors live in ./course
from course.nbgrader_plugins import HideHiddenTests, StripRunMetadata  # noqa: E402

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

# -- the course and its folders (relative to the root) ---------------------------------------
c.CourseDirectory.course_id = "autodiff"
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "source"  # instructor versions, with solutions
c.CourseDirectory.release_directory = "release"  # student versions (committed)
c.CourseDirectory.submitted_directory = "submitted"  # submitted/<student>/<assignment>/
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# The gradebook: an SQLite file (git-ignored, created on first use, nothing to start).
# A shared deployment points NBGRADER_DB_URL at its database, e.g. postgresql://...
c.CourseDirectory.db_url = os.environ.get("NBGRADER_DB_URL", f"sqlite:///{ROOT / 'gradebook.db'}")

# -- release: the student version carries no trace of the instructor's runs ------------------
c.GenerateAssignment.preprocessors = [
    StripRunMetadata,
    *GenerateAssignment.preprocessors.default(),
]

# -- autograde: every cell gets at most this many seconds; an infinite loop is interrupted, ---
# that cell fails (scoring 0 in the tests that need it) and the rest of the notebook still runs.
c.Execute.timeout = 30
c.Execute.interrupt_on_timeout = True
# No widget state is stored in graded notebooks: the feedback HTML then shows each slider's
# static picture (autodiff_lib.plotting.slider) instead of a widget it cannot draw.
c.Execute.store_widget_state = False

# -- feedback: nbgrader shows hidden tests in feedback, and failing hidden asserts in their ---
# tracebacks; HideHiddenTests removes both, leaving the name of the error.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
