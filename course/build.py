"""Sync, check and run the course's notebooks: ``python -m course.build [--check] [--force]``.

Every notebook is kept as a text file paired with its .ipynb (``course.pairs``, where the
reasons for that layout are): ``lectures/NN_name.py`` with ``notebooks/NN_name.ipynb``,
``assignments/<id>/<id>.py`` with ``source/<id>/<id>.ipynb``. ``make notebooks`` runs this: for
each pair that changed, it takes the file saved last, checks it, runs the notebook once in a
fresh kernel (a reference solution that fails its own tests is refused, naming the file to
fix) and writes both files. An assignment keeps the outputs of the cells tagged
``nbval-check-output``, for nbval to compare against on every test run; a lecture keeps
*every* output (figures, tables, timings), so that a reader on GitHub, nbviewer or the course
site sees the evidence its prose points to; nbval compares only the tagged cells
(``--nbval-lax``), so stored timings are never compared. ``--check`` (``make check-notebooks``)
only reports, and exits 1 if a pair disagrees or was not run since its code changed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import pairs
from .cells import CHECK_OUTPUT

ROOT = Path(__file__).resolve().parent.parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def execute(nb, path: Path, timeout: int = 120, keep_all=False):
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course.build", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="only report; exit 1 if any is not up to date"
    )
    parser.add_argument("--force", action="store_true", help="run every notebook again")
    parser.add_argument(
        "--from-text",
        action="store_true",
        help="take each notebook's cells from its text file, even where the .ipynb is newer "
        "(after a git merge: merge the text, take either side's .ipynb, then this)",
    )
    args = parser.parse_args(argv)
    stale = 0
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
