"""Write the course's notebooks: ``python -m course.build [--check] [--force]`` (make notebooks).

Every notebook is run once in a fresh kernel, so that a reference solution that fails its own
tests is never written, and keeps the outputs of the cells tagged ``nbval-check-output`` for
nbval to compare against on every test run. A lecture keeps *every* output (figures, tables,
timings), so that a reader on GitHub, nbviewer or the course site sees the evidence its prose
points to; nbval compares only the tagged cells (``--nbval-lax``), so stored timings are never
compared.

The course is moving from builders to notebooks kept as text (issue 18): a converted notebook
is a jupytext pair, ``lectures/<name>.py`` or ``assignments/<id>/<id>.py`` with its .ipynb,
edited in JupyterLab or as text; the build syncs, checks and runs it (``course.pairs``, where
the reasons for that layout are). Every lecture is converted. The assignments not converted
yet still come from builders: a module ``course/partNN_*.py`` names the notebook it writes
(``NOTEBOOK``, relative to the repository root) and returns its cells (``cells()``, made with
``course.cells``). Such a notebook's metadata records a fingerprint of the cells as built; one
whose cells no longer match it was edited by hand, and the build refuses to overwrite it
(``--force`` does), since those edits belong in the builder. A converted notebook has no
fingerprint and no builder: a hand edit is the normal way to change it.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import pkgutil
import sys
from pathlib import Path

import nbformat
from nbformat import v4

from . import pairs
from .cells import CHECK_OUTPUT, close_visible_tests
from .points import fill_points

ROOT = Path(__file__).resolve().parent.parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def parts():
    """The assignment builders (``course/partNN_*.py``), in course order (by module name)."""
    return _modules("part")


def builders():
    """Every builder left (every lecture is kept as text), in course order (by notebook name)."""
    return sorted(parts(), key=lambda builder: Path(builder.NOTEBOOK).name)


def _modules(prefix):
    package = Path(__file__).parent
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(package)]) if m.name.startswith(prefix)
    )
    return [importlib.import_module(f"{__package__}.{name}") for name in names]


def fingerprint(nb) -> str:
    """A hash of what a builder decides: each cell's type, source, nbgrader metadata and tags."""
    content = [
        [cell.cell_type, cell.source, cell.metadata.get("nbgrader"), cell.metadata.get("tags")]
        for cell in nb.cells
    ]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def build(part) -> nbformat.NotebookNode:
    """The notebook of one builder, without outputs, with stable cell ids."""
    nb = v4.new_notebook(cells=part.cells())
    fill_points(nb.cells, where=part.__name__)  # "(N points)" in headings, from the tests
    close_visible_tests(nb.cells)  # "hidden tests run at grading", after the last test cell
    seen = set()
    for cell in nb.cells:
        if "nbgrader" not in cell.metadata:  # graded cells already carry their grade_id as id
            digest = hashlib.sha1((cell.cell_type + cell.source).encode()).hexdigest()
            cell["id"] = f"{cell.cell_type[:2]}-{digest[:10]}"
        while cell["id"] in seen:
            cell["id"] += "-2"
        seen.add(cell["id"])
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["course"] = {
        "builder": f"{__package__}/{part.__name__.rsplit('.', 1)[-1]}.py",
        "fingerprint": fingerprint(nb),
    }
    nbformat.validate(nb)
    return nb


def execute(nb, path: Path, timeout: int = 120, keep_all=False) -> nbformat.NotebookNode:
    """Run ``nb`` in a fresh kernel in ``path``'s folder; keep only the outputs nbval checks,
    or (``keep_all``: a lecture) every output."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNELSPEC["name"],
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        store_widget_state=False,
    )
    client.execute()
    nb.metadata["language_info"] = {"name": "python"}  # not the version of whoever built it
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
        if keep_all:
            continue
        if cell.cell_type == "code" and CHECK_OUTPUT not in cell.metadata.get("tags", []):
            cell.outputs = []  # nbval needs the execution count of a cell with outputs
            cell.execution_count = None
    return nb


def coalesce_streams(outputs: list) -> list:
    """Join consecutive stdout (or stderr) outputs into one, as one ``print`` after another
    reads: how a kernel splits them depends on timing, and stored outputs must not."""
    joined = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (
            output.output_type == "stream"
            and previous is not None
            and previous.output_type == "stream"
            and previous.name == output.name
        ):
            previous.text += output.text
        else:
            joined.append(output)
    return joined


def status(part) -> str:
    """'missing', 'hand-edited', 'stale' (the builder changed) or 'up to date'."""
    path = ROOT / part.NOTEBOOK
    if not path.exists():
        return "missing"
    existing = nbformat.read(path, as_version=4)
    recorded = existing.metadata.get("course", {}).get("fingerprint")
    if recorded != fingerprint(existing):
        return "hand-edited"
    return "up to date" if recorded == fingerprint(build(part)) else "stale"


def write(part, force: bool = False) -> str:
    """Build, run and write one notebook; returns what happened."""
    path = ROOT / part.NOTEBOOK
    state = status(part)
    if state == "up to date" and not force:
        return f"{part.NOTEBOOK}: up to date"
    if state == "hand-edited" and not force:
        raise SystemExit(
            f"{part.NOTEBOOK} was edited by hand since it was built from {part.__name__}. "
            "Move the edits into the builder, then run `python -m course.build --force`."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = execute(build(part), path)
    nbformat.write(nb, path)
    return f"{part.NOTEBOOK}: written ({state})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course.build", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="only report; exit 1 if any is not up to date"
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild even if up to date or edited by hand"
    )
    parser.add_argument(
        "--from-text",
        action="store_true",
        help="take each notebook's cells from its text file, even where the .ipynb is newer "
        "(after a git merge: merge the text, take either side's .ipynb, then this)",
    )
    args = parser.parse_args(argv)
    built = {str(ROOT / part.NOTEBOOK) for part in builders()}
    for text in pairs.texts():
        if str(pairs.notebook_of(text)) in built:
            raise SystemExit(f"{pairs.relative(text)} and a builder both write its notebook")
    stale = 0
    for part in builders():
        if args.check:
            state = status(part)
            stale += state != "up to date"
            print(f"{part.NOTEBOOK}: {state}")
        else:
            print(write(part, force=args.force), flush=True)
    for text in pairs.texts():
        if args.check:
            state = pairs.status(text)
            stale += state != "up to date"
            advice = "" if state == "up to date" else " (run `make notebooks`)"
            print(f"{pairs.relative(text)}: {state}{advice}")
        else:
            print(pairs.write(text, args.force, args.from_text), flush=True)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
