"""Every assignment of ``source/`` in the gradebook before grading, so that grading just works.

``nbgrader autograde`` grades against what the gradebook knows of an assignment: its notebooks,
their graded cells, points and test cells (with the hidden tests), written there by
``nbgrader generate_assignment``. In a fresh clone the gradebook is empty (release/ is committed,
gradebook.db is not), and autograde failed with "No assignment with ID '03_deep_learning' exists
in the database" until someone ran ``make release``. ``make grade`` now registers, before it
grades, each assignment whose notebooks the gradebook lacks, with nbgrader's own command:
``generate_assignment`` into a temporary folder, so that the committed ``release/`` is left alone.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

__all__ = ["register_assignments", "unregistered"]


def source_assignments(root: Path, config) -> dict[str, set[str]]:
    """``{assignment: {notebook names}}`` for each folder of ``source/`` holding notebooks."""
    source = root / config.source_directory
    found = {}
    for folder in sorted(source.glob("*")):
        names = {p.stem for p in folder.glob("*.ipynb")}
        if folder.is_dir() and names and not folder.name.startswith("."):
            found[folder.name] = names
    return found


def unregistered(root: Path, config) -> list[str]:
    """The assignments of ``source/`` whose notebooks are not all in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    missing = []
    with Gradebook(config.db_url, config.course_id) as gb:
        for assignment, names in source_assignments(root, config).items():
            try:
                known = {nb.name for nb in gb.find_assignment(assignment).notebooks}
            except MissingEntry:
                known = set()
            if not names <= known:
                missing.append(assignment)
    return missing


def register_assignments(root: Path, config, assignments=None) -> list[str]:
    """Register in the gradebook each assignment of ``assignments`` (default: every one of
    ``source/``) that it lacks; return those registered. Raises ``RuntimeError`` with nbgrader's
    output if it fails."""
    from .grades import nbgrader

    every = list(source_assignments(root, config))
    todo = unregistered(root, config)
    if assignments is not None:
        todo = [a for a in todo if a in set(assignments)]
    # One nbgrader process for them all in a fresh clone (its start-up is most of the time).
    for assignment in ["*"] if len(todo) > 1 and todo == every else todo:
        with tempfile.TemporaryDirectory(prefix="register-") as scratch:
            result = nbgrader(
                "generate_assignment",
                assignment,
                f"--CourseDirectory.release_directory={Path(scratch) / 'release'}",
                root=root,
                capture_output=True,
                text=True,
            )
        if result.returncode != 0:
            raise RuntimeError(
                f"could not register {assignment!r} in the gradebook:\n{result.stdout}"
                f"{result.stderr}"
            )
    return todo
