"""What a student changed that grading undid: the notes ``make grade`` prints for each hand-in.

nbgrader restores test cells, read-only cells and point values from the source before it grades
(``OverwriteCells``), so a student who edits them gains nothing; but an instructor wants to
know (a confused student, or one trying). nbgrader's own log cannot tell: it compares with the
source, whose test cells hold the hidden tests, so every test cell looks changed. Here each
handed-in notebook is compared with the student version it came from (``release/``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

__all__ = ["change_notes", "changed_cells"]


def _cells(nb) -> dict:
    """``{grade_id: cell}`` of the cells nbgrader knows by name."""
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("grade_id")
    }


def _restored(cell) -> bool:
    """Whether nbgrader restores or grades this cell of the student version."""
    return bool(cell.metadata["nbgrader"].get("locked") or cell.metadata["nbgrader"].get("grade"))


def changed_cells(release: Path, submitted: Path) -> list[str]:
    """Lines naming what differs from the student version in ``submitted`` (a folder of
    notebooks handed in): notebooks missing, unreadable, read-only cells edited or deleted,
    points changed. Empty when the student kept to their answer cells."""
    notes = []
    for original_path in sorted(release.glob("*.ipynb")):
        name = original_path.name
        path = submitted / name
        if not path.exists():
            notes.append(f"{name} was not handed in (scored 0)")
            continue
        try:
            handed_in = _cells(nbformat.read(path, as_version=4))
        except Exception as error:  # reported by grading itself as a failure
            notes.append(f"{name} cannot be read ({type(error).__name__})")
            continue
        original = {
            grade_id: cell
            for grade_id, cell in _cells(nbformat.read(original_path, as_version=4)).items()
            if _restored(cell)
        }
        deleted = sorted(set(original) - set(handed_in))
        edited = sorted(
            grade_id
            for grade_id, cell in original.items()
            if grade_id in handed_in
            and cell.metadata["nbgrader"].get("locked")
            and handed_in[grade_id].source.strip() != cell.source.strip()
        )
        points = sorted(
            grade_id
            for grade_id, cell in original.items()
            if grade_id in handed_in
            and cell.metadata["nbgrader"].get("grade")
            and handed_in[grade_id].metadata.get("nbgrader", {}).get("points")
            != cell.metadata["nbgrader"].get("points")
        )
        for what, cells in [("edited", edited), ("deleted", deleted), ("points changed", points)]:
            if cells:
                notes.append(f"{what} in {name}: {', '.join(cells)} (restored before grading)")
    return notes


def change_notes(root: Path, config, keys) -> list[str]:
    """Note lines (``- student / assignment: ...``) for the submissions ``keys`` that changed
    what they should not have; nothing where the student version is not in ``release/``."""
    notes = []
    for student, assignment in sorted(keys):
        release = root / config.release_directory / assignment
        if not release.is_dir():
            continue
        submitted = root / config.submitted_directory / student / assignment
        notes += [
            f"- {student} / {assignment}: {line}" for line in changed_cells(release, submitted)
        ]
    return notes
