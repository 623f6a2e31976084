"""Did a change keep the notebooks' content? ``python tests/notebook_diff.py REV [PATH...]``

Compares every notebook of source/, release/ and notebooks/ (or the PATHs given) with the
committed version at git revision REV: each cell's type, source, nbgrader metadata and tags,
and the outputs nbval checks (cells tagged nbval-check-output; consecutive prints joined, as
nbval joins them). Cell ids and every other output are left out. Prints one line per notebook;
exits 1 if any differs. Used to prove that the conversion of a notebook to a jupytext pair
(course/pairs.py, issue 18) changed nothing a student or nbval sees.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CHECK_OUTPUT = "nbval-check-output"


def coalesced(outputs) -> list:
    """Outputs with consecutive stdout (or stderr) joined, as nbval compares them: how a kernel
    splits a cell's printing into stream outputs depends on timing."""
    joined = []
    for output in outputs:
        output = {k: v for k, v in output.items() if k != "execution_count"}
        last = joined[-1] if joined else {}
        if output["output_type"] == "stream" == last.get("output_type") and (
            output["name"] == last["name"]
        ):
            last["text"] += output["text"]
        else:
            joined.append(output)
    return joined


def content(nb) -> list:
    """What must be preserved, cell by cell."""
    cells = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        checked = coalesced(cell.get("outputs", [])) if CHECK_OUTPUT in tags else None
        cells.append([cell.cell_type, cell.source, cell.metadata.get("nbgrader"), tags, checked])
    return cells


def committed(rev: str, path: str):
    result = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True
    )
    return nbformat.reads(result.stdout, as_version=4) if result.returncode == 0 else None


def compare(rev: str, path: str) -> str | None:
    """None if the same, else what differs."""
    before, now = committed(rev, path), nbformat.read(ROOT / path, as_version=4)
    if before is None:
        return "not in " + rev
    old, new = content(before), content(now)
    if len(old) != len(new):
        return f"{len(old)} cells before, {len(new)} now"
    parts = ["type", "source", "nbgrader metadata", "tags", "checked outputs"]
    diffs = [
        f"cell {i}: {parts[k]}"
        for i, (a, b) in enumerate(zip(old, new))
        for k in range(5)
        if a[k] != b[k]
    ]
    return "; ".join(diffs) or None


def main(argv: list[str]) -> int:
    rev, paths = argv[0], argv[1:]
    if not paths:
        paths = [
            str(p.relative_to(ROOT))
            for folder in ("source", "release", "notebooks")
            for p in sorted((ROOT / folder).rglob("*.ipynb"))
            if ".ipynb_checkpoints" not in p.parts
        ]
    failed = 0
    for path in paths:
        nb = nbformat.read(ROOT / path, as_version=4)
        difference = compare(rev, path)
        checked = sum(CHECK_OUTPUT in c.metadata.get("tags", []) for c in nb.cells)
        if difference:
            failed += 1
            print(f"DIFFERS  {path}: {difference}")
        else:
            print(f"same     {path}: {len(nb.cells)} cells, {checked} checked outputs")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
