"""Helpers for the tests of the course pipeline: a temporary copy of the course, nbgrader runs,
and the text of solutions and hidden tests that must never reach a student."""

from __future__ import annotations

import ast
import html.parser
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import nbformat

from course.nbgrader_plugins import split_hidden_tests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def assignments() -> list[str]:
    """Every assignment: a folder of source/ holding a notebook."""
    return sorted(p.name for p in (ROOT / "source").iterdir() if any(p.glob("*.ipynb")))


def notebooks(folder: Path) -> list[Path]:
    return sorted(folder.glob("*/*.ipynb"))


def copy_course(dest: Path) -> Path:
    """What nbgrader needs to run the course elsewhere: its config, course/ and source/."""
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", dest)
    shutil.copytree(ROOT / "course", dest / "course", ignore=ignore)
    shutil.copytree(ROOT / "source", dest / "source", ignore=ignore)
    return dest


def environment() -> dict:
    """The environment of a course command: the venv's bin first, the default gradebook."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("NBGRADER_DB_URL", None)
    return env


def run(root: Path, *command: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a course command (``nbgrader ...`` or ``python ...``) in ``root``; output as text.

    nbgrader only logs a config file that fails to load and goes on with its defaults, which
    would silently disable what nbgrader_config.py sets up: that is an error here.
    """
    program = str(BIN / command[0]) if command[0] == "nbgrader" else sys.executable
    args = command[1:] if command[0] in ("nbgrader", "python") else command
    result = subprocess.run(
        [program, *args],
        cwd=root,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    result.log = result.stdout + result.stderr
    assert "Exception while loading config file" not in result.log, result.log
    return result


# -- secrets: what only the source notebook may contain --------------------------------------
SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION.*?^[ \t]*### END SOLUTION[^\n]*", re.S | re.M)


def _string_constants(lines):
    """The string literals in code lines (assert messages), as far as the code parses."""
    try:
        tree = ast.parse("\n".join(line.strip() for line in lines if line.strip()))
    except SyntaxError:
        return []
    return [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def secrets(source_notebook: Path) -> dict[str, set[str]]:
    """``{"hidden": ..., "solution": ...}``: lines (and string literals) of the hidden-test and
    solution regions of a source notebook that appear nowhere else in it. Short lines (under
    12 characters) and lines also found outside those regions are not secrets."""
    nb = nbformat.read(source_notebook, as_version=4)
    hidden, solution, visible = [], [], []
    for cell in nb.cells:
        regions = SOLUTION.findall(cell.source)
        solution += [line for region in regions for line in region.split("\n")[1:-1]]
        rest = SOLUTION.sub("", cell.source)
        shown, hidden_lines = split_hidden_tests(rest)
        hidden += hidden_lines
        visible += shown
    visible_text = normalize("\n".join(visible))
    found = {}
    for kind, lines in (("hidden", hidden), ("solution", solution)):
        texts = [line.strip() for line in lines] + _string_constants(lines)
        texts = {normalize(text) for text in texts}
        found[kind] = {t for t in texts if len(t) >= 12 and t not in visible_text}
    return found


def normalize(text: str) -> str:
    """Whitespace collapsed and markdown's backticks dropped, as in rendered HTML."""
    return re.sub(r"\s+", " ", text.replace("`", "")).strip()


def notebook_text(path: Path) -> str:
    """Every string a notebook file holds (sources, outputs, metadata), whitespace collapsed."""
    strings = []

    def walk(node):
        if isinstance(node, str):
            strings.append(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                strings.append(str(key))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(nbformat.read(path, as_version=4))
    return normalize("\n".join(strings))


class _TextOf(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def html_text(path: Path) -> str:
    """The text a browser would show for an HTML file (tags dropped, entities decoded)."""
    parser = _TextOf()
    parser.feed(path.read_text(encoding="utf-8"))
    return normalize("".join(parser.parts))


def leaks(text: str, secret_texts: set[str]) -> list[str]:
    return sorted(s for s in secret_texts if s in text)


# -- reference solutions: what the claims tests check the course's statements against --------
def reference_cells(part: str) -> list[nbformat.NotebookNode]:
    """The code cells of part ``part`` (``"01_newton_vs_gd"``) as its text file
    assignments/<part>/<part>.py holds them, the one source of truth: read through
    ``course.pairs``, so each carries its nbgrader metadata (``grade_id``) whatever the header."""
    from course import pairs

    text = ROOT / "assignments" / part / f"{part}.py"
    if not text.exists():
        raise FileNotFoundError(f"no part {part!r}: {pairs.relative(text)} does not exist")
    nb, _ = pairs.read(text, from_text=True)
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _defines(cell: nbformat.NotebookNode) -> set[str]:
    """The functions and classes a code cell defines at its top level."""
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:  # a cell magic
        return set()
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name for node in tree.body if isinstance(node, kinds)}


def reference_namespace(
    part: str, cells: list[str] | None = None, *, upto: str | None = None, namespace=None
) -> dict:
    """The namespace left by running code of part ``part``'s reference solution (its given
    code and reference answers), read from its text file, in order, in one namespace, quietly:

    * ``cells=["setup", "landscape", ...]``: the cells of these nbgrader grade_ids, in the
      order given (a cell without one is named by a function it defines: ``"def draw"``);
    * ``upto="gradient_descent"``: every code cell from the top through that one, the
      notebook's own tests and figures included.

    ``namespace`` (a dict) is run in and returned, to run a cell on top of another namespace;
    a fresh one by default. A grade_id the part lacks is a KeyError naming the part and the
    id. The environment (a setup cell asks BLAS for one thread) is restored afterwards, so a
    part's settings never reach other tests' programs."""
    import contextlib
    import io

    if (cells is None) == (upto is None):
        raise TypeError("reference_namespace: name either the cells to run or upto, not both")
    code = reference_cells(part)
    ids = [_grade_id(cell) or next(iter(_defines(cell)), None) for cell in code]
    names = {f"def {name}": i for i, cell in enumerate(code) for name in _defines(cell)}
    names.update({grade_id: i for i, grade_id in enumerate(map(_grade_id, code)) if grade_id})
    for wanted in cells if upto is None else [upto]:
        if wanted not in names:
            known = ", ".join(sorted(filter(None, map(_grade_id, code))))
            raise KeyError(
                f"part {part} has no code cell with grade_id {wanted!r} in "
                f"assignments/{part}/{part}.py (its grade_ids: {known})"
            )
    chosen = range(names[upto] + 1) if upto else [names[name] for name in cells]
    namespace = {"__name__": "__main__"} if namespace is None else namespace
    environ = dict(os.environ)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            for index in chosen:
                where = f"assignments/{part}/{part}.py, code cell {ids[index] or index}"
                exec(compile(code[index].source, f"<{where}>", "exec"), namespace)
    finally:
        os.environ.clear()
        os.environ.update(environ)
    return namespace


def cell_source(notebook: Path, grade_id: str) -> str:
    """The source of the cell with nbgrader id ``grade_id``: from a release notebook, a test
    cell's visible tests only (what a student runs before handing in)."""
    nb = nbformat.read(notebook, as_version=4)
    sources = [
        c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    ]
    assert len(sources) == 1, f"{notebook.name}: no single cell {grade_id!r}"
    return sources[0]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (servers of the tests bind it next)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_lab_command():
    """The command ``make lab`` runs (after its set-up steps), as ``(environment, arguments)``:
    the variables it sets on the command line, then the command itself."""
    dry = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in dry.stdout.splitlines() if " lab" in line and "jupyter" in line]
    assert len(lines) == 1, dry.stdout
    words = shlex.split(lines[0])
    settings = {}
    while "=" in words[0] and not words[0].startswith("-"):
        name, _, value = words.pop(0).partition("=")
        settings[name] = value
    return settings, words


def regions(text: str, begin: str, end: str) -> list[str]:
    """The lines between each ``### BEGIN ...`` and ``### END ...`` marker."""
    found = re.findall(rf"{re.escape(begin)}\n(.*?){re.escape(end)}", text, flags=re.S)
    return [line.strip() for region in found for line in region.splitlines()]


def leaked_lines() -> set[str]:
    """Lines of solutions and hidden tests (source/) that no student version (release/) and no
    lecture holds: none of them may appear on the site. Short lines (``return x``) are left
    out: they may stand in a given cell too."""
    secret, public = set(), set()
    for path in ROOT.glob("source/*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            secret |= set(regions(cell.source, "### BEGIN SOLUTION", "### END SOLUTION"))
            secret |= set(regions(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))
    for path in [*ROOT.glob("release/*/*.ipynb"), *ROOT.glob("notebooks/*.ipynb")]:
        for cell in nbformat.read(path, as_version=4).cells:
            public |= {line.strip() for line in cell.source.splitlines()}
    return {line for line in secret - public if len(line) >= 25}
