"""The course's notebooks as jupytext pairs: one notebook, kept as a text file and an .ipynb.

A converted notebook is written once, by hand, as a percent-format Python file (jupytext):
``# %% [markdown]`` cells are prose, ``# %%`` cells are code, and each cell's header carries
its metadata (nbgrader's role, the nbval tags). The paired .ipynb is the same notebook with its
stored outputs: what nbgrader releases and grades, nbval runs and JupyterLab shows. Either may
be edited: in JupyterLab (opening either file opens the notebook; saving writes both, and
nbgrader's *Create Assignment* toolbar writes its metadata into both), or the text in an
editor. ``python -m course.build`` (``make notebooks``) then syncs the pair, checks it and runs
it once in a fresh kernel to store its outputs.

Where the text files live::

    assignments/<id>/<id>.py   <->  source/<id>/<id>.ipynb    (nbgrader's source notebooks)
    lectures/<name>.py         <->  notebooks/<name>.ipynb    (the ungraded lectures)

*Not beside the notebook in source/<id>/*: nbgrader copies every other file of that folder into
the student version (``generate_assignment``) and, when grading, into each student's graded
folder (``autograde``), where the student's own code runs. A text twin there is the reference
solution handed out, unless every nbgrader command is run with an ignore pattern; in a folder
of their own the solutions cannot reach a student by any command.

*The pairing is in each notebook's metadata* (``jupytext.formats``, with jupytext's tree prefix
``source///ipynb,assignments///py:percent``), not in a ``jupytext.toml``: a file in source/ is
read by nbgrader as an assignment, and one at the root would pair the students' notebooks in
release/ too. The student version carries no jupytext metadata (``StripRunMetadata`` keeps only
the kernel), so it is never paired. The text's header holds only that pairing; the kernel and
the stored outputs live in the .ipynb.

*Each cell's nbgrader role is a short header*, jupytext's cell title, so that the text reads
without JSON: ``# %% given setup`` (read-only code), ``# %% answer gradient_descent`` (an
answer, autograded), ``# %% tests test_gd (2 points)`` (autograded tests; hidden tests are
the lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` in one),
``# %% written why_adaptive (1 point) [markdown]`` (an answer graded by hand; ``written`` on
a code cell too) and ``# %% task ID (N points) [markdown]`` (nbgrader's task). ``ROLES``
holds each role's flags; reading a text (``read_text``) makes nbgrader's complete metadata
(schema 3: ``grade``, ``solution``, ``locked``, ``task``, ``grade_id``, ``points`` when
graded) and writing it (``as_text``) writes the header back; a header that names no role,
a graded role without points or a grade_id used twice is refused, naming the file and the
cell. The .ipynb keeps nbgrader's metadata, and no header.

*The headers survive JupyterLab.* The pairing tells jupytext to leave nbgrader's metadata out
of the text (``cell_metadata_filter`` ``tags,title,-nbgrader``, a form jupytext keeps as it
is when it reads the text): opening either file, jupytext takes each cell's nbgrader
metadata from the .ipynb, so the *Create Assignment* toolbar shows the roles; the toolbar
changes that metadata, and a save writes it to the .ipynb, together with each cell's title
(the header the text had when it was opened), and the text with that title unchanged. So
where a cell of a saved .ipynb has the same title as the text, its nbgrader metadata is the
newer (the toolbar's), and where the title differs, the text was edited since (``read_text``
with ``saved``); the build then writes the header from the metadata and drops the title
from the .ipynb. (Where the saved cell has no nbgrader metadata, the toolbar's "-" removed
it, or the header was written in the text after the last build: build before using the
toolbar, which shows a role only once the .ipynb holds it.) A text cell with the full form,
``# %% nbgrader={"grade": true, ...}`` (what jupytext writes without that filter, and what the
course kept before), is read as it is and rewritten by the build as a header.

What the build checks (``check``), naming the text file to fix: nbgrader's own metadata
validation; that a heading's stated points ("### Exercise 1 (2 points): ...") are those of its
graded cells (``course.points.check_points``); that it says how it is graded in the words of
``course.cells.GRADING_NOTE``, written once there; that the last test cell says hidden tests
run at grading; and, by running it, that every reference solution passes its own tests. The text and
the .ipynb must agree: when they do not, the build takes the one saved last (jupytext's own
rule, as JupyterLab does) and the tests fail until it has run. The .ipynb records a hash of the
code it was run from (``course.outputs_of``), so stored outputs older than the code are noticed.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import nbformat

try:
    import jupytext
except ImportError as error:  # a .venv made before jupytext joined the course extra
    raise ImportError(
        "jupytext is missing: run `make .venv/.installed` (or pip install -e '.[course,dev]')"
    ) from error
from jupytext.combine import combine_inputs_with_outputs, map_outputs_to_inputs
from jupytext.paired_paths import paired_paths

from .cells import CHECK_OUTPUT, GRADING_NOTE, NBGRADER_SCHEMA_VERSION, close_visible_tests_suffix
from .points import check_points

ROOT = Path(__file__).resolve().parent.parent
TEXT_FORMAT = "py:percent"
FORMATS = {
    "assignments": "source///ipynb,assignments///py:percent",
    "lectures": "notebooks///ipynb,lectures///py:percent",
}
# The text's header keeps the pairing only: the kernel and jupytext's format version stay in
# the .ipynb (no churn when jupytext is upgraded).
METADATA_FILTER = "-kernelspec,-jupytext.text_representation"
# An assignment's text has each cell's tags and role header (its title), never nbgrader's
# metadata: jupytext takes that from the .ipynb (see the module's docstring).
CELL_FILTER = "tags,title,-nbgrader"
# nbgrader's roles, as the *Create Assignment* toolbar sets their flags (the others false).
ROLES = {
    "given": {"locked": True},  # Read-only
    "answer": {"solution": True},  # Autograded answer
    "tests": {"grade": True, "locked": True},  # Autograder tests (with points)
    "written": {"grade": True, "solution": True},  # Manually graded answer (with points)
    "task": {"task": True, "locked": True},  # Manually graded task (with points)
}
FLAGS = ("grade", "solution", "locked", "task")
HEADER = re.compile(
    r"(?P<role>\S+) (?P<grade_id>[\w-]+)(?: \((?P<points>\d+(?:\.\d+)?) points?\))?"
)
HEADER_FORMS = "`ROLE ID`, or `ROLE ID (N points)` for tests, written and task"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# What a built .ipynb holds besides cells; anything else (widget state, a kernel's
# language_info, a cell's run times) was left by a run in JupyterLab and is run again.
NOTEBOOK_KEYS = {"jupytext", "kernelspec", "language_info", "course"}
CELL_KEYS = {"nbgrader", "tags"}


def texts() -> list[Path]:
    """Every text file, in course order (by file name): lectures and assignments."""
    found = list((ROOT / "lectures").glob("*.py")) + list((ROOT / "assignments").glob("*/*.py"))
    return sorted(found, key=lambda p: p.name)


def kind(text: Path) -> str:
    """'assignments' or 'lectures': the folder a text file lives in."""
    return "lectures" if text.parent.name == "lectures" else "assignments"


def is_lecture(text: Path) -> bool:
    return kind(text) == "lectures"


def notebook_of(text: Path) -> Path:
    """The .ipynb paired with ``text``."""
    paths = paired_paths(str(text), TEXT_FORMAT, FORMATS[kind(text)])
    return Path(paths[0][0])


def text_of(notebook: Path) -> Path | None:
    """The text file paired with a notebook of source/ or notebooks/ (None if it has none)."""
    folder = "lectures" if notebook.parent.name == "notebooks" else "assignments"
    paths = paired_paths(str(notebook), "ipynb", FORMATS[folder])
    text = Path(paths[1][0])
    return text if text.exists() else None


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def as_text(nb: nbformat.NotebookNode) -> str:
    """The text file of a notebook, as jupytext (and so JupyterLab) writes it, each cell's
    nbgrader metadata written as its role header, and the keys of each metadata dict in sorted
    order (as in the .ipynb), whatever order a save left them in."""
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)  # a copy, keys sorted
    for cell in nb.cells:
        if "nbgrader" in cell.metadata:  # it wins over a title: see the module's docstring
            cell.metadata.pop("title", None)
            header = header_of(cell.metadata.pop("nbgrader"))
            if header:
                cell.metadata["title"] = header
    return jupytext.writes(nb, TEXT_FORMAT)


def nbgrader_of(header: str, where: str) -> dict:
    """nbgrader's complete metadata (schema 3) for a role header: ``tests test_gd (2 points)``
    gives ``{"grade": True, "grade_id": "test_gd", "locked": True, "points": 2, ...}``."""
    role = header.split(" ", 1)[0]
    if role not in ROLES:
        raise ValueError(
            f"{where}: unknown role {role!r}; a header names one of {', '.join(ROLES)}: "
            f"{HEADER_FORMS}"
        )
    match = HEADER.fullmatch(header)
    if not match:
        raise ValueError(f"{where}: write the header as {HEADER_FORMS} (ID: letters, digits, _ -)")
    flags = {flag: False for flag in FLAGS} | ROLES[role]
    graded = flags["grade"] or flags["task"]
    if graded and match["points"] is None:
        raise ValueError(f"{where}: {role} cells state their points: `{role} ID (N points)`")
    if not graded and match["points"] is not None:
        raise ValueError(f"{where}: {role} cells have no points: `{role} ID`")
    meta = {"schema_version": NBGRADER_SCHEMA_VERSION, "grade_id": match["grade_id"], **flags}
    if graded:
        points = match["points"]
        meta["points"] = float(points) if "." in points else int(points)  # as it was stored
    return meta


def header_of(meta: dict) -> str | None:
    """The role header of a cell's nbgrader metadata (``nbgrader_of`` reads it back); None
    where the flags are those of no role (all false: an ordinary cell)."""
    flags = {flag: bool(meta.get(flag)) for flag in FLAGS}
    for role, set_flags in ROLES.items():
        if flags == {flag: False for flag in FLAGS} | set_flags:
            header = f"{role} {meta.get('grade_id')}"
            if (flags["grade"] or flags["task"]) and "points" in meta:
                points = meta["points"]
                header += f" ({points} point{'' if points == 1 else 's'})"
            return header
    return None


def read_text(text: Path, saved: nbformat.NotebookNode | None = None) -> nbformat.NotebookNode:
    """The notebook a text file holds, each role header made into nbgrader's metadata (a full
    ``nbgrader={...}`` header is kept as it is). ``saved``: the paired .ipynb; where it was
    saved in JupyterLab, a cell whose title is still the text's header keeps the .ipynb's
    nbgrader metadata (the toolbar's, newer than the header; see the module's docstring)."""
    nb = jupytext.read(text, fmt=TEXT_FORMAT)
    if is_lecture(text):
        return nb
    titled = saved is not None and any("title" in c.metadata for c in saved.cells)
    matches = map_outputs_to_inputs(nb.cells, saved.cells) if titled else [None] * len(nb.cells)
    used = {}
    for number, (cell, match) in enumerate(zip(nb.cells, matches), 1):
        title = cell.metadata.pop("title", None)
        where = f"{relative(text)}, cell {number}" + (f" (`# %% {title}`)" if title else "")
        if "nbgrader" in cell.metadata:
            pass  # the full form, as a save through jupytext without our filter writes it
        elif match is not None and saved.cells[match].metadata.get("title") == title:
            if "nbgrader" in saved.cells[match].metadata:  # as the toolbar left it
                cell.metadata["nbgrader"] = saved.cells[match].metadata["nbgrader"]
        elif title is not None:
            cell.metadata["nbgrader"] = nbgrader_of(title, where)
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in used:
            raise ValueError(f"{where}: cell {used[grade_id]} has the id {grade_id} too")
        if grade_id is not None:
            used[grade_id] = number
    return nb


def agree(nb: nbformat.NotebookNode, text: Path) -> bool:
    """Whether a notebook and a text file hold the same cells and metadata."""
    return as_text(nb) == as_text(jupytext.read(text, fmt=TEXT_FORMAT))


def outputs_of(nb: nbformat.NotebookNode) -> str:
    """A hash of what a run's outputs depend on: each code cell's source and tags."""
    content = [[c.source, c.metadata.get("tags")] for c in nb.cells if c.cell_type == "code"]
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:16]


def pair_metadata(nb: nbformat.NotebookNode, folder: str) -> None:
    """Pair ``nb`` the course's way (in place): jupytext's formats and filter, the kernel."""
    jupytext_metadata = {"formats": FORMATS[folder], "notebook_metadata_filter": METADATA_FILTER}
    if folder == "assignments":
        jupytext_metadata["cell_metadata_filter"] = CELL_FILTER
    nb.metadata["jupytext"] = jupytext_metadata
    nb.metadata.setdefault("kernelspec", dict(KERNELSPEC))
    nb.metadata["language_info"] = {"name": "python"}


def leftovers(nb: nbformat.NotebookNode, lecture: bool) -> list[str]:
    """What a run in JupyterLab left in a built .ipynb (empty for a built one)."""
    found = sorted(set(nb.metadata) - NOTEBOOK_KEYS)
    if nb.metadata.get("language_info", {}) != {"name": "python"}:
        found.append("language_info")
    for index, cell in enumerate(nb.cells):
        extra = sorted(set(cell.metadata) - CELL_KEYS)
        if extra:
            found.append(f"cell {index}: {', '.join(extra)}")
        checked = CHECK_OUTPUT in cell.metadata.get("tags", [])
        if cell.cell_type == "code" and not lecture and not checked and (
            cell.outputs or cell.execution_count
        ):
            found.append(f"cell {index}: outputs that nbval never checks")
    return found


def status(text: Path) -> str:
    """'missing' (no .ipynb yet), 'text and notebook disagree', 'not run since its code changed',
    'run in JupyterLab' (it holds what a run left), or 'up to date'."""
    notebook = notebook_of(text)
    if not notebook.exists():
        return "missing"
    nb = nbformat.read(notebook, as_version=4)
    if not agree(nb, text):
        return "text and notebook disagree"
    if nb.metadata.get("course", {}).get("outputs_of") != outputs_of(nb):
        return "not run since its code changed"
    if leftovers(nb, is_lecture(text)):
        return "run in JupyterLab"
    return "up to date"


def read(text: Path, from_text: bool = False) -> tuple[nbformat.NotebookNode, Path]:
    """The notebook of a pair, with nbgrader's complete metadata, and the file its cells were
    taken from: the text, unless the .ipynb was saved after it (jupytext's rule) and
    ``from_text`` is false (after a git merge, when the text was merged and the .ipynb taken
    from one side); outputs always come from the .ipynb."""
    notebook = notebook_of(text)
    if not notebook.exists():
        text_nb = read_text(text)
        pair_metadata(text_nb, kind(text))
        return text_nb, text
    stored = nbformat.read(notebook, as_version=4)
    newer = notebook.stat().st_mtime > text.stat().st_mtime
    if agree(stored, text) or (newer and not from_text):
        return stored, notebook
    text_nb = read_text(text, saved=stored)
    roles = [cell.metadata.get("nbgrader") for cell in text_nb.cells]
    nb = combine_inputs_with_outputs(text_nb, stored, fmt=TEXT_FORMAT)
    if not is_lecture(text):
        for cell, role in zip(nb.cells, roles):  # as read_text decided, not the .ipynb's
            cell.metadata.pop("nbgrader", None)
            cell.metadata.pop("title", None)
            if role:
                cell.metadata["nbgrader"] = role
    return nb, text


def check(nb: nbformat.NotebookNode, where: str, lecture: bool) -> None:
    """Refuse (ValueError naming ``where``) a notebook whose metadata nbgrader would refuse,
    whose headings state other points than their cells carry, that does not say how it is
    graded (``GRADING_NOTE``), or whose last test cell does not say that hidden tests run at
    grading."""
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    graded = [c for c in nb.cells if "nbgrader" in c.metadata]
    if lecture:
        if graded:
            raise ValueError(f"{where}: a lecture has no nbgrader cells")
        return
    try:
        MetadataValidator().validate_nb(nb)
    except ValidationError as error:
        raise ValueError(f"{where}: nbgrader refuses its metadata: {error}") from None
    for number, cell in enumerate(nb.cells, 1):
        meta = cell.metadata.get("nbgrader")
        if meta is None or not any(meta.get(flag) for flag in FLAGS):
            continue
        header = header_of(meta)
        if header is None:
            flags = ", ".join(flag for flag in FLAGS if meta.get(flag))
            raise ValueError(
                f"{where}, cell {number} ({meta.get('grade_id')}): nbgrader's flags {flags} "
                f"are those of no role; choose one of the toolbar's ({', '.join(ROLES)})"
            )
        nbgrader_of(header, f"{where}, cell {number} (`# %% {header}`)")
    check_points(nb.cells, where)
    prose = " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    if " ".join(GRADING_NOTE.split()) not in prose:
        raise ValueError(
            f"{where}: say how the notebook is graded in the words of course.cells.GRADING_NOTE "
            "(a sentence of its own may follow)"
        )
    tests = [c for c in graded if c.cell_type == "code" and c.metadata.nbgrader.get("grade")]
    if tests and not tests[-1].source.endswith(close_visible_tests_suffix()):
        grade_id = tests[-1].metadata.nbgrader["grade_id"]
        raise ValueError(
            f"{where}: the last test cell ({grade_id}) must end by printing "
            "course.cells.HIDDEN_TESTS_AT_GRADING, as the other parts do"
        )


def write(text: Path, force: bool = False, from_text: bool = False) -> str:
    """Sync, check, run and write one pair; returns what happened. ``from_text``: the cells
    come from the text even if the .ipynb was saved later (see ``read``)."""
    from nbclient.exceptions import CellExecutionError

    from .build import execute

    state = status(text)
    if state == "up to date" and not force:
        return f"{relative(text)}: up to date"
    lecture = is_lecture(text)
    where = relative(text)
    try:
        nb, taken = read(text, from_text)
        check(nb, where, lecture)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    for cell in nb.cells:  # as the header states it: nothing the text cannot hold
        header = header_of(cell.metadata.pop("nbgrader", {}))
        if header:
            cell.metadata["nbgrader"] = nbgrader_of(header, where)
    pair_metadata(nb, kind(text))
    for cell in nb.cells:  # graded cells keep their grade_id as their id
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            cell["id"] = grade_id
    notebook = notebook_of(text)
    notebook.parent.mkdir(parents=True, exist_ok=True)
    try:
        nb = execute(nb, notebook, keep_all=lecture)
    except CellExecutionError as error:
        raise SystemExit(
            f"{where} fails when run (fix it there or in {relative(notebook)}):\n{error}"
        ) from None
    for cell in nb.cells:
        for key in set(cell.metadata) - CELL_KEYS:
            del cell.metadata[key]
    for key in set(nb.metadata) - NOTEBOOK_KEYS:
        del nb.metadata[key]
    nb.metadata["course"] = {"outputs_of": outputs_of(nb)}
    nbformat.validate(nb)
    nbformat.write(nb, notebook)
    text.write_text(as_text(nb))
    return f"{where}: written ({state}; cells from {relative(taken)})"


def convert(notebook: Path) -> Path:
    """Pair a notebook of source/ or notebooks/ (one made in JupyterLab, or, in the migration
    of issue 18, one a builder wrote): its cells, metadata and outputs kept, a text twin made.
    ``python -m course.pairs PATH.ipynb ...``."""
    folder = "lectures" if notebook.parent.name == "notebooks" else "assignments"
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata.pop("course", None)
    pair_metadata(nb, folder)
    nb.metadata["course"] = {"outputs_of": outputs_of(nb)}
    text = Path(paired_paths(str(notebook), "ipynb", FORMATS[folder])[1][0])
    text.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, notebook)
    text.write_text(as_text(nb))
    return text


if __name__ == "__main__":
    import sys

    for path in sys.argv[1:]:
        print(relative(convert(Path(path).resolve())))
