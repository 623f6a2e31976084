"""The course's tooling: the notebook build, nbgrader plug-ins and the grade report.

* ``course.pairs``: the notebooks kept as text (``assignments/``, ``lectures/``), each paired
  with its .ipynb by jupytext; ``python -m course.build`` (make notebooks) syncs, checks and
  runs them.
* ``course.cells``: cells with nbgrader's metadata (answer, tests, given, ...), for tests.
* ``course.nbgrader_plugins``: preprocessors that strip run metadata from the student version
  and keep hidden tests out of feedback (switched on in ``nbgrader_config.py``).
* ``course.grades``: ``python -m course.grades``, the score table of ``make grade``.

Nothing here is imported by ``autodiff_lib``; the library needs only numpy.
"""
