"""The course's tooling: notebook builders, nbgrader plug-ins and the grade report.

* ``course.cells``: cell constructors that set nbgrader metadata (answer, tests, given, ...).
* ``course.partNN_*`` (assignments) and ``course.lectureNN_*`` (lectures): one builder per
  notebook; ``python -m course.build`` writes them all.
* ``course.nbgrader_plugins``: preprocessors that strip run metadata from the student version
  and keep hidden tests out of feedback (switched on in ``nbgrader_config.py``).
* ``course.grades``: ``python -m course.grades``, the score table of ``make grade``.

Nothing here is imported by ``autodiff_lib``; the library needs only numpy.
"""
