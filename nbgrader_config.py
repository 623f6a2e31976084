"""nbgrader's configuration for this course.

nbgrader reads ./nbgrader_config.py from the directory it runs in and has no --config flag:
run every nbgrader command (and `make release`, `make grade`, `make lab`) from this folder.
"""

import os
import sys
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde, GenerateAssignment
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, GetGrades, OverwriteCells

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # the course's own preprocessors live in ./course
from course.autograde import GuardedExecute, RestoreTestCells  # noqa: E402
from course.export import CourseCsvExport  # noqa: E402
from course.feedback import DescribeFigures  # noqa: E402
from course.late_work import PenaltyPerDayLate  # noqa: E402
from course.nbgrader_plugins import HideHiddenTests, StripRunMetadata  # noqa: E402
from course.resubmissions import RECORD  # noqa: E402

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

# -- the course and its folders (relative to the root) ---------------------------------------
c.CourseDirectory.course_id = "autodiff"
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "source"  # instructor versions, with solutions
c.CourseDirectory.release_directory = "release"  # student versions (committed)
c.CourseDirectory.submitted_directory = "submitted"  # submitted/<student>/<assignment>/
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# make grade notes beside each graded submission the hash of the files it was graded from
# (course/resubmissions.py); that note is not copied into feedback/.
c.CourseDirectory.ignore = [*CourseDirectory.ignore.default(), RECORD]

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
# Each submission's kernel runs in a sandbox (course/sandbox.py): a private copy of its folder, the
# environment read-only, no network, limits on memory (2 GiB), processes (64) and what it writes.
# Grading refuses where it cannot be set up (make sandbox-deps); make grade ARGS=--no-sandbox, or
# --SandboxedKernelManager.enabled=False, grades without it. Limits: e.g.
# c.SandboxedKernelManager.memory_mib = 4096 (also processes, file_size_mib, disk_mib).
# The course's Execute (course/autograde.py), in the sandbox: before each test cell, whatever the
# notebook changed in numpy, the library or the kernel is put back; only an error scores 0
# (stderr is a note, a cell's value is no partial credit); a dead kernel fails its cell and the
# ones after. Test cells are restored from the gradebook, with a warning only for the ones a
# student edited.
c.Autograde.sanitize_preprocessors = [
    RestoreTestCells if step is OverwriteCells else step
    for step in Autograde.sanitize_preprocessors.default()
]
c.Autograde.autograde_preprocessors = [
    GuardedExecute if step is Execute else step
    for step in Autograde.autograde_preprocessors.default()
]

# -- validate: nbgrader's Validator (the Validate button, `nbgrader validate`) fails a test cell
# that writes anything to stderr, even when its assertions pass; its list of preprocessors is not
# configurable, but the kernel its Execute starts is: there, stderr is shown on stdout as notes
# (autodiff_lib.testing.stderr_as_notes). Only an error fails a cell, as in grading.
c.Validator.Execute.extra_arguments = [
    "--IPKernelApp.exec_lines=__import__('autodiff_lib.testing').testing.stderr_as_notes()"
]

# -- feedback: nbgrader shows hidden tests in feedback, and failing hidden asserts in their ---
# tracebacks; HideHiddenTests removes both, leaving the name of the error.
# DescribeFigures gives each figure a description (nbconvert warns about images without one).
c.GenerateFeedback.preprocessors = [
    GetGrades,
    HideHiddenTests,
    DescribeFigures,
    CSSHTMLHeaderPreprocessor,
]

# -- late work: due dates are in course/due_dates.csv (make grade copies them into the
# gradebook); work handed in after its due date loses 10% of its score per day started, after
# 15 minutes of grace, at most all of it. Why this policy: course/late_work.py.
c.AssignLatePenalties.plugin_class = PenaltyPerDayLate
c.PenaltyPerDayLate.percent_per_day = 10
c.PenaltyPerDayLate.grace_minutes = 15

# -- export: `nbgrader export` (and make export) write nbgrader's CSV columns plus whether each
# row was submitted, how late, and which written answers still wait for manual grading.
c.ExportApp.plugin_class = CourseCsvExport
