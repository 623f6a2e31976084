"""The lecture notebooks (notebooks/, issue 7): kept as text in lectures/ (course/pairs.py),
ungraded, timings never compared; and the graph picture they draw. nbval runs the notebooks
themselves (see ``testpaths`` in pyproject.toml)."""

import re

import matplotlib
import nbformat
import numpy as np
import pytest
from coursekit import ROOT

import autodiff_lib as ad
from autodiff_lib.plotting import plot_graph
from course import pairs
from course.cells import CHECK_OUTPUT, IGNORE_OUTPUT

matplotlib.use("Agg")

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))  # every lecture notebook


def _by_name(name):
    """The lecture notebook of ``lecture00``, ``lecture10``, ..."""
    (path,) = [p for p in NOTEBOOKS if p.name.startswith(name.removeprefix("lecture"))]
    return path


def test_every_lecture_notebook_is_kept_as_text():
    texts = [str(pairs.notebook_of(t)) for t in pairs.texts() if pairs.is_lecture(t)]
    assert texts, "no lecture found in lectures/"
    assert [str(p) for p in NOTEBOOKS] == sorted(texts), (
        "every notebook in notebooks/ must be paired with a text file lectures/NN_name.py "
        "(see README, Editing a notebook)"
    )


@pytest.mark.parametrize("lecture", NOTEBOOKS, ids=lambda p: p.stem)
def test_lectures_are_ungraded_and_never_compare_timings(lecture):
    nb = nbformat.read(lecture, as_version=4)
    for cell in nb.cells:
        assert "nbgrader" not in cell.metadata, "lecture notebooks carry no nbgrader metadata"
        tags = cell.metadata.get("tags", [])
        timed = "perf_counter" in cell.source or "best_time(" in cell.source
        if cell.cell_type == "code" and timed:  # a timing is never compared, and says so
            assert CHECK_OUTPUT not in tags, cell.source
            assert IGNORE_OUTPUT in tags or "print(" not in cell.source, cell.source
    checked = [c for c in nb.cells if CHECK_OUTPUT in c.metadata.get("tags", [])]
    assert checked and all(c.outputs for c in checked), "checked cells keep their outputs"


def drawn(ax):
    """The labels of the boxes, and the line style of each arrow (annotations without text)."""
    labels = [text.get_text() for text in ax.texts if text.get_text()]
    arrows = [text.arrow_patch.get_linestyle() for text in ax.texts if not text.get_text()]
    return labels, arrows


def test_plot_graph_draws_a_box_per_node_and_an_arrow_per_edge():
    x1, x2 = ad.Tensor(2.0), ad.Tensor(3.0)
    y = x1 * x2 + ad.sin(x1)
    labels, arrows = drawn(plot_graph(y, names={"x1": x1, "x2": x2}))
    assert sorted(labels) == ["add", "multiply", "sin", "x1", "x2"]
    assert arrows == ["-"] * 5  # x1 and x2 into multiply, x1 into sin, both into add
    z = x1 * x1  # an input used twice: two arrows
    assert drawn(plot_graph(z))[1] == ["-"] * 2


def test_plot_graph_shows_constants_apart_from_the_sweep():
    X, t = np.ones((4, 3)), np.zeros(4)
    w = ad.Tensor(np.ones(3))
    loss = ad.mean((ad.tanh(X @ w) - t) ** 2)
    labels, arrows = drawn(plot_graph(loss, names={"w": w, "X": X, "t": t}))
    assert {"w", "X", "t", "2", "matmul\n(4, 1)", "mean"} <= set(labels)
    order = ad.topological_order(loss)
    edges = sum(len(node.grad_inputs) for node in order)
    assert len(labels) == len(order) + 3  # the constants X, t and the exponent 2
    assert sorted(arrows) == ["-"] * edges + [":"] * 3  # no rule runs along a dotted arrow
    labels, arrows = drawn(plot_graph(loss, show_constants=False))
    assert len(labels) == len(order) and arrows == ["-"] * edges


def test_the_readme_lists_every_notebook_and_assignment_in_course_order():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Course contents" in readme, "README.md needs a section 'Course contents'"
    section = readme.split("## Course contents", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if re.match(r"\| \d\d \|", line)]
    listed = [line.split("|")[1].strip() for line in rows]
    present = sorted(
        [p.name[:2] for p in (ROOT / "notebooks").glob("*.ipynb")]
        + [p.name[:2] for p in (ROOT / "source").iterdir() if any(p.glob("*.ipynb"))]
    )
    assert listed == present, (
        f"README's Course contents lists {listed}, in this order; notebooks/ and source/ hold "
        f"{present}: add a line (number, link, what it teaches) for each, in course order"
    )
    for row in rows:
        assert row.count("|") == 4 and row.split("|")[3].strip(), f"a line without text: {row}"


def _code_cells(lecture):
    nb = nbformat.read(lecture, as_version=4)
    return [cell for cell in nb.cells if cell.cell_type == "code"]


FIGURE = re.compile(r"plt\.show\(\)|plt\.subplots\(|\bplot_\w+\(")


@pytest.mark.parametrize("lecture", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_committed_lecture_shows_its_evidence(lecture):
    """Issue 17, point 10: a reader on GitHub, nbviewer or the course site sees every output,
    figures included, and each table of timings says what machine it came from."""
    cells = _code_cells(lecture)
    assert all(cell.execution_count is not None for cell in cells), "every cell was run"
    for cell in cells:
        assert not any(o.output_type == "error" for o in cell.outputs), cell.source
        if FIGURE.search(cell.source) and "def " not in cell.source.split("\n", 1)[0]:
            images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
            assert images, f"a figure-making cell without its figure:\n{cell.source}"
    timed = [c for c in cells if "best_time(" in c.source or "perf_counter" in c.source]
    if timed:
        first = "".join(o.get("text", "") for o in timed[0].outputs)
        assert first.startswith("timed on "), "the first timings name the machine they ran on"


def _prose(lecture):
    nb = nbformat.read(lecture, as_version=4)
    return " ".join(c.source for c in nb.cells if c.cell_type == "markdown").replace("\n", " ")


def test_the_lectures_say_what_issue_17_corrected():
    """The statements a reviewer found wrong stay corrected (points 1-4, 7-9)."""
    text00, text10 = _prose(_by_name("lecture00")), _prose(_by_name("lecture10"))
    assert "nothing deep could be trained" not in text00  # 1: a plain MLP needs no cache
    assert "residual connection" in text00 and "value is reused" in " ".join(text00.split())
    assert "-expm1(-ans)" in " ".join(_code(_by_name("lecture00")))  # 7
    assert "adjoint" in text00 and "cotangent" in text00  # 9
    assert "k = \\sqrt{L/2}" in text00 + text10  # 2
    assert "The arithmetic is the same" not in text10  # 3
    for words in ["guards", "graph break", "recompiles", "torch.export", "deprecated"]:  # 4
        assert words in text10, words
    for words in ["one core", "PCIe 5.0", "latency"]:  # 8
        assert words in text10, words


def _code(lecture):
    return [cell.source for cell in _code_cells(lecture)]


CLAIMS = {  # issue 17, point 11: the cell that backs each claim, by a line of its source
    "lecture00": ["print(machine())", '("Jacobian, then u^T J"', "ad.hvp(f, x0, v)"],
    "lecture10": ["for loss in [loss_recomputing, loss_folded]:", "unfused {1e3",
                  "replay_time = best_time", "forward passes of f", "for name, run in experiments",
                  "smallest measured peak"],
    "lecture11": ["Markdown(as_markdown([e for e in porting.TABLE if e.lacks]))"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_every_measured_claim_shows_its_numbers(name):
    cells = _code_cells(_by_name(name))
    for needle in CLAIMS[name]:
        found = [cell for cell in cells if needle in cell.source]
        assert found, f"{name}: no cell with {needle!r}"
        shown = " ".join(
            o.get("text", "") + " ".join(str(v) for v in o.get("data", {}).values())
            for cell in found for o in cell.outputs
        )
        assert re.search(r"\d", shown), f"{name}: the cell with {needle!r} shows no number"
