"""Grading an instructor can trust (issue 12, points 3, 4, 6 and 7), kept fast: the guard and the
preprocessors are tested directly where they can be, and one small class of part 01 hand-ins is
graded by ``make grade`` in a copy of the course as a fresh clone has it (no gradebook).

* Only the student's own work scores: answers that call the library's version of the exercise
  (part 01's gradient descent, part 02's Newton's method, part 03's forward pass, loss,
  batches and training loop, part 04's fused operator, part 05's cached sweep, part 06's
  descent, part 07's batching) fail those tests; objects equal to everything, patched numpy
  comparisons, a silenced traceback, ``os._exit`` and a cell's value read as partial credit
  score nothing.
* Honest work never loses points to a warning, and feedback says why a cell scored 0.
* ``make grade`` registers the assignments of ``source/`` itself; an untouched test cell raises
  no checksum warning, an edited one is restored and reported.
* Each part's last test cell says that hidden tests run at grading.
"""

import json
import logging
import subprocess
import sys
import textwrap

import nbformat
import numpy as np
import pytest
from coursekit import ROOT, assignments, copy_course, run
from nbformat import v4
from nbgrader.api import Gradebook
from nbgrader.utils import determine_grade

import autodiff_lib as ad
from autodiff_lib.landscapes import quadratic
from autodiff_lib.testing import LibraryReferenceUsed, NotAPlainValue, own_work, plain
from course import cells
from course.autograde import RestoreTestCells, score_only_errors
from course.nbgrader_plugins import HideHiddenTests

PART01, PART02, PART03 = "01_newton_vs_gd", "02_nonquadratic_landscape", "03_deep_learning"
PART04, PART05, PART06, PART07 = (
    "04_autodiff_optimization", "05_differential_cache", "06_step_size", "07_batch_size"
)
CELL_TIMEOUT = 20


def grade_ids(nb):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def source_notebook(assignment):
    return nbformat.read(ROOT / "source" / assignment / f"{assignment}.ipynb", as_version=4)


# -- point 3: the guard, directly -------------------------------------------------------------
class Anything:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class Agreeable(np.ndarray):
    def __array_ufunc__(self, *args, **kwargs):
        return True


def test_own_work_refuses_the_library_version_by_any_name_and_only_while_it_runs():
    from autodiff_lib.optimizers import gradient_descent as bound_before

    f, x0 = quadratic(np.eye(2), np.ones(2)), np.zeros(2)
    ways = [
        lambda: ad.gradient_descent(f, x0),
        lambda: bound_before(f, x0),
        lambda: sys.modules["autodiff_lib.optimizers"].gradient_descent(f, x0),
    ]
    for way in ways:
        with pytest.raises(LibraryReferenceUsed, match="ad.gradient_descent"):
            own_work(way, "gradient_descent")()
    assert ad.gradient_descent(f, x0).converged  # itself again outside
    checked = own_work(own_work(lambda: ad.newton(f, x0), "networks.mlp"), ad.newton)
    with pytest.raises(LibraryReferenceUsed):  # wrapping twice keeps both references
        checked()
    honest = own_work(lambda: ad.newton(f, x0), "gradient_descent")
    assert honest().converged


def test_own_work_finds_references_by_their_names_in_the_toolkit_and_the_engine():
    # the notebooks name engine functions from the package ("fused._matvec_forward"), as
    # before the engine had its own folder; released notebooks keep those names
    from autodiff_lib.testing import _reference

    assert _reference("networks.mlp") is ad.networks.mlp
    assert _reference("gradient_descent") is ad.gradient_descent
    assert _reference("fused._matvec_forward") is ad.engine.fused._matvec_forward
    assert _reference("differentiation._sweep") is ad.engine.differentiation._sweep
    with pytest.raises(AttributeError):
        _reference("nowhere.at_all")


def test_plain_refuses_values_that_only_pretend():
    for value in [1.5, np.float64(2.0), 3, True, np.arange(3), [np.ones(2), 1.0], ad.Tensor(1.0)]:
        assert plain(value) is value
    result = ad.gradient_descent(quadratic(np.eye(2), np.ones(2)), np.zeros(2))
    assert plain(result) is result
    pretending = [Anything(), np.zeros(2).view(Agreeable), [1.0, Anything()],
                  np.array([Anything()], dtype=object)]  # fmt: skip
    faked = ad.gradient_descent(quadratic(np.eye(2), np.ones(2)), np.zeros(2))
    faked.converged = Anything()
    for value in [*pretending, faked]:
        with pytest.raises(NotAPlainValue):
            plain(value)
    assert own_work(lambda: 1.0)() == 1.0
    with pytest.raises(NotAPlainValue):
        own_work(Anything)()


def test_restore_undoes_what_a_notebook_patched():
    """In a process of its own: protect, patch what a cheater patches, restore."""
    script = textwrap.dedent("""
        import math
        import numpy as np, numpy.testing
        import autodiff_lib as ad, autodiff_lib.optimizers
        from autodiff_lib import testing
        testing.protect()
        np.allclose = np.isclose = np.array_equal = lambda *a, **k: True
        numpy.testing.assert_allclose = lambda *a, **k: None
        math.isclose = lambda *a, **k: True
        ad.gradient_descent = autodiff_lib.optimizers.gradient_descent = lambda *a, **k: None
        ad.networks.mlp.__code__ = (lambda params, x: 0).__code__
        ad.OptimizationResult.__eq__ = lambda self, other: True
        testing.own_work = lambda f, *r: f
        assert testing.restore() >= 9
        assert not np.allclose(1, 2) and not np.array_equal(1, 2) and not math.isclose(1, 2)
        try:
            numpy.testing.assert_allclose(1, 2)
            raise SystemExit("assert_allclose still patched")
        except AssertionError:
            pass
        assert ad.gradient_descent.__module__ == "autodiff_lib.optimizers"
        assert ad.networks.mlp([np.eye(1), np.zeros(1)], np.ones((1, 1))).shape == (1, 1)
        assert testing.own_work(lambda: 1, "newton").__own_work__
        print("restored")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "restored", result.stderr


# -- point 3: the tests of parts 01 to 07 refuse answers that call the library ----------------
CHEATS = {
    PART01: {
        "gradient_descent": [
            "test_gradient_descent_2d", "test_gradient_descent_dimensions",
            "test_gradient_descent_ill_conditioned", "test_gradient_descent_adapts",
            "test_gradient_descent_stops",
        ],
    },
    PART02: {
        "damped_newton": [
            "test_damped_newton_converges", "test_damped_newton_step_sizes",
            "test_damped_newton_stops",
        ],
    },
    PART03: {
        "forward": ["test_forward_values", "test_forward_gradient"],
        "mse": ["test_mse"],
        "minibatches": ["test_minibatches_cover_every_sample", "test_minibatches_shuffle"],
        "train": ["test_train"],
    },
    PART04: {  # the rule is the one of both exercises: Exercise 2 registers it again
        "my_matvec": ["test_my_matvec", "test_batched_values", "test_batched_derivatives"],
        "batched_matvec": ["test_batched_values", "test_batched_derivatives"],
    },
    PART05: {"cached_chain_rule": ["test_cache_counts", "test_cache_gradients"]},
    PART06: {"descend": ["test_descend"]},
    PART07: {  # gradient_spread's visible test calls the student's minibatch_gradient
        "minibatch_gradient": ["test_minibatch_gradient", "test_gradient_spread"],
    },
}  # fmt: skip
LIBRARY_ANSWERS = {
    "gradient_descent": "def gradient_descent(f, x0, step_size=0.01, tol=1e-6, max_steps=10_000,"
    " grow=1.2, shrink=0.5):\n    from autodiff_lib.optimizers import gradient_descent as gd\n"
    "    return gd(f, x0, step_size, tol, max_steps, grow=grow, shrink=shrink)",
    "damped_newton": "def damped_newton(f, x0, tol=1e-6, max_steps=100, max_halvings=50):\n"
    "    return ad.newton(f, x0, tol, max_steps, step_size=0.5)",
    "forward": "def forward(params, x):\n    return ad.networks.mlp(params, x)",
    "mse": "def mse(prediction, target):\n    return ad.metrics.mse(prediction, target)",
    "minibatches": "def minibatches(n_samples, batch_size, rng):\n"
    "    return list(ad.training.epoch_batches(n_samples, batch_size, rng))",
    "train": "def train(params, x, y, epochs=1000, batch_size=20, step_size=0.05, seed=0,"
    " progress=True):\n    run = ad.training.train(params, x, y, step_size, epochs * -(-len(x) //"
    " batch_size), batch_size, seed, record_every=-(-len(x) // batch_size))\n"
    "    return run.params, run.losses[1:]",
    "my_matvec": "def matvec_forward(A, x):\n    return ad.value_of(ad.matvec(A, x))\n"
    "def matvec_rule(g, ans, A, x):\n    return ad.engine.fused._matvec(A.T, g)\n"
    "my_matvec = ad.primitive(matvec_forward, 'my_matvec')\n"
    "ad.defvjp(my_matvec, None, matvec_rule)",
    "batched_matvec": "def batched_matvec_forward(A, x):\n"
    "    return ad.value_of(ad.matvec(A, x))\n"
    "my_matvec = ad.matvec",
    "cached_chain_rule": "def cached_chain_rule(y, x, users, counts, cache):\n"
    "    counts.rule_evaluations += sum(len(edges) for edges in users.values())\n"
    "    return ad.value_of(ad.diff(y, x))\n"
    "def cached_grad(f, x0):\n    x = ad.Tensor(x0)\n    y = f(x)\n"
    "    counts = ad.OperationCounts()\n"
    "    return cached_chain_rule(y, x, users_of(y), counts, {}), counts.rule_evaluations",
    "descend": "def descend(f, x0, schedule, tol=1e-6, max_steps=1000, blow_up=1e6):\n"
    "    r = ad.gradient_descent(f, x0, schedule(0), tol, max_steps, adaptive=False)\n"
    "    r.message = 'converged' if r.converged else 'max_steps'\n    return r",
    "minibatch_gradient": "def minibatch_gradient(params, x, y, batch_size, rng):\n"
    "    from autodiff_lib.training import epoch_batches\n"
    "    rows = epoch_batches(len(x), batch_size, rng)[0]\n"
    "    return grad_loss(params, x[rows], y[rows])",
}


def run_cells(nb, replaced=None):
    """Run the notebook's cells in one namespace, quietly; ``replaced`` swaps answer cells.
    Returns ``{grade_id of a test cell: the exception it raised, or None}``."""
    import contextlib
    import io

    import matplotlib

    matplotlib.use("Agg")
    namespace, outcome = {}, {}
    replaced = replaced or {}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("nbgrader", {})
            source = replaced.get(meta.get("grade_id"), cell.source)
            if "plt.show()" in source or "train(init_mlp(SIZES" in source:
                continue  # figures and the long training run: not needed here
            try:
                exec(compile(source, f"<{meta.get('grade_id', 'cell')}>", "exec"), namespace)
                error = None
            except Exception as caught:  # noqa: BLE001  (a failing test cell)
                error = caught
            if meta.get("grade") and cell.cell_type == "code":
                outcome[meta["grade_id"]] = error
    return outcome


@pytest.mark.parametrize("assignment", list(CHEATS))
def test_answers_that_call_the_library_fail_that_exercise_only(assignment):
    nb = source_notebook(assignment)
    honest = run_cells(nb)
    assert not any(honest.values()), honest
    for answer, test_ids in CHEATS[assignment].items():
        outcome = run_cells(nb, {answer: LIBRARY_ANSWERS[answer]})
        for grade_id, error in outcome.items():
            if grade_id in test_ids:
                assert isinstance(error, LibraryReferenceUsed), (answer, grade_id, error)
            elif answer != "forward":  # the later exercises use the forward pass
                assert error is None, (answer, grade_id, error)


def test_the_first_visible_test_of_a_guarded_exercise_says_so_in_the_release():
    for assignment, exercises in CHEATS.items():
        release = nbformat.read(
            ROOT / "release" / assignment / f"{assignment}.ipynb", as_version=4
        )
        for test_ids in exercises.values():
            visible = grade_ids(release)[test_ids[0]].source
            assert "own_work(" in visible and "raises" in visible, (assignment, test_ids[0])


# -- point 4: only an error scores 0, and feedback says why -------------------------------------
def test_a_warning_is_a_note_and_a_cell_value_is_no_score():
    cell = cells.tests("assert True", "t", points=3)
    warning = "RuntimeWarning: invalid value encountered in subtract\n"
    cell.outputs = [
        v4.new_output("stream", name="stderr", text=warning),
        v4.new_output("execute_result", data={"text/plain": "'anything'"}, execution_count=1),
    ]
    score_only_errors(cell)
    assert determine_grade(cell) == (3, 3)
    assert warning in cell.outputs[0].data["text/plain"]  # still visible, as a note
    cell.outputs.append(v4.new_output("error", ename="AssertionError", evalue="", traceback=[]))
    score_only_errors(cell)
    assert determine_grade(cell) == (0, 3)  # nbgrader would have read 'anything' as full marks


def test_feedback_says_why_a_cell_scored_zero_and_hides_the_rest():
    source = "assert ok(), 'visible'\n### BEGIN HIDDEN TESTS\nassert secret(), 'hidden'\n" \
             "### END HIDDEN TESTS"  # fmt: skip
    for ename, evalue, expected in [
        ("AssertionError", "hidden", "assertion failed"),
        ("ValueError", "shapes (6,3) and (5,2) not aligned", "your code raised ValueError"),
        ("LibraryReferenceUsed", "the library's ad.gradient_descent may not be used", "library"),
        ("KernelDied", "the kernel died while this cell ran", "kernel died"),
    ]:
        cell = cells.tests(source, "t", points=1)
        cell.outputs = [
            v4.new_output("display_data", data={"text/plain": "Note: ... secret() warned"},
                          metadata={"course": "stderr-note"}),
            v4.new_output("error", ename=ename, evalue=evalue,
                          traceback=["----> 3 assert secret(), 'hidden'"]),
        ]  # fmt: skip
        cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
        text = json.dumps(cell)
        assert "secret" not in text and "hidden'" not in text and "(6,3)" not in text
        assert expected in text, (ename, text)
        assert "warnings were written while this cell ran" in text
        if ename in ("LibraryReferenceUsed", "KernelDied"):
            assert evalue in text  # these messages name no test


# -- point 3: hooks into the kernel's running of cells cannot change a test's outcome -----------
HOOKS = {
    # a pre_run_cell callback, registered in an answer cell, patches numpy again after restore
    "t_pre_run_cell": "import numpy as np\n"
    "def _patch(*args):\n    np.allclose = lambda *a, **k: True\n"
    "get_ipython().events.register('pre_run_cell', _patch)\n",
    # registered while the test runs (by the student's function): a post_run_cell callback
    # that says the cell raised nothing and clears its outputs, with the traceback silenced
    "t_post_run_cell": "def answer():\n    ip = get_ipython()\n"
    "    ip.showtraceback = ip._showtraceback = lambda *a, **k: None\n"
    "    def flip(result):\n        result.error_in_exec = None\n"
    "        __import__('IPython.display').display.clear_output()\n"
    "    ip.events.register('post_run_cell', flip)\n    return 1\n",
    "t_input_transformer": "get_ipython().input_transformers_post.append(\n"
    "    lambda lines: [line.replace('assert ', 'assert True or ') for line in lines])\n",
    "t_ast_transformer": "import ast\nclass NoAssert(ast.NodeTransformer):\n"
    "    def visit_Assert(self, node):\n        return ast.Pass()\n"
    "get_ipython().ast_transformers.append(NoAssert())\n",
    "t_custom_exc": "get_ipython().set_custom_exc((AssertionError,), lambda *a, **k: None)\n",
    # not a hook: the student's function patches numpy while the test calls it
    "t_patch_while_tested": "def answer():\n    import numpy\n"
    "    numpy.allclose = lambda *a, **k: True\n    return 1\n",
}
FAILING_TEST = ("from autodiff_lib.testing import own_work\nanswer = own_work(answer)\n"
                "import numpy as np\nassert np.allclose(answer(), 2), 'wrong'")  # fmt: skip


def hooked_notebook():
    """For each hook: an answer cell that installs it, then a test cell that must fail."""
    notebook = v4.new_notebook()
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}  # fmt: skip
    notebook.cells.append(v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 2])"))
    for grade_id, hook in HOOKS.items():
        notebook.cells.append(v4.new_code_cell("def answer():\n    return 1\n" + hook))
        notebook.cells.append(cells.tests(FAILING_TEST, grade_id, points=1))
    notebook.cells.append(cells.tests("assert 1 + 1 == 2", "t_honest", points=1))
    notebook.cells.append(v4.new_code_cell("plt.plot([2, 1])"))  # figures are still shown
    return notebook


@pytest.mark.parametrize("guarded", [True, False], ids=["guarded", "nbgrader's Execute"])
def test_hooks_into_the_running_of_cells_cannot_change_a_tests_outcome(tmp_path, guarded):
    """Graded by the course's Execute, every hooked test scores 0 and the honest one 1; the
    same notebook run by nbgrader's own Execute (in the same sandbox) scores every hook 1:
    the assertions can fail."""
    from nbgrader.preprocessors import Execute

    from course.autograde import GuardedExecute
    from course.sandbox import SandboxedExecute

    executor = GuardedExecute(timeout=60) if guarded else SandboxedExecute(timeout=60)
    assert isinstance(executor, Execute)
    notebook, _ = executor.preprocess(hooked_notebook(), {"metadata": {"path": str(tmp_path)}})
    got = {c.metadata["nbgrader"]["grade_id"]: determine_grade(c)[0]
           for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")}  # fmt: skip
    assert got["t_honest"] == 1, got
    hooked = {grade_id: got[grade_id] for grade_id in HOOKS}
    assert hooked == dict.fromkeys(HOOKS, 0 if guarded else 1), hooked
    if guarded:  # matplotlib's own hook was left in place (unguarded, flip clears the figure)
        figures = [o for o in notebook.cells[-1].outputs if "image/png" in o.get("data", {})]
        assert figures, notebook.cells[-1].outputs


# -- point 4 for nbgrader's Validate: a warning is a note there too ---------------------------
def test_validate_passes_a_test_cell_that_warns(tmp_path):
    """``nbgrader validate`` (the Validate button runs the same Validator, with the same
    configuration) on a notebook whose test cell passes but writes a RuntimeWarning and a line
    to stderr: with the course's nbgrader_config.py it passes, and the warning is shown as a
    note; without it (run outside the course), nbgrader reports the cell as failing."""
    notebook = v4.new_notebook(cells=[
        cells.solution("def answer():\n    ### BEGIN SOLUTION\n    return 1\n"
                       "    ### END SOLUTION", "answer"),
        cells.tests("import sys, warnings\n"
                    "warnings.warn('invalid value encountered in subtract', RuntimeWarning)\n"
                    "print('a line to stderr', file=sys.stderr)\nassert answer() == 1",
                    "test_answer", points=1),
        cells.tests("assert answer() == 2, 'wrong'", "test_wrong", points=1),
    ])  # fmt: skip
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}  # fmt: skip
    path = tmp_path / "warns.ipynb"
    nbformat.write(notebook, path)
    course = run(ROOT, "nbgrader", "validate", str(path), timeout=300)
    assert "VALIDATION FAILED ON 1 CELL(S)" in course.stdout, course.log
    assert "assert answer() == 2" in course.stdout and "a line to stderr" not in course.stdout
    without = run(tmp_path, "nbgrader", "validate", str(path), timeout=300)
    assert "VALIDATION FAILED ON 2 CELL(S)" in without.stdout, without.log
    assert "a line to stderr" in without.stdout  # nbgrader's reason for failing the first cell

    nbformat.write(v4.new_notebook(cells=notebook.cells[:2], metadata=notebook.metadata), path)
    passing = run(ROOT, "nbgrader", "validate", str(path), timeout=300)
    assert "Success! Your notebook passes all the tests." in passing.stdout, passing.log


# -- point 7: each part says that hidden tests run at grading ----------------------------------
@pytest.mark.parametrize("assignment", assignments())
def test_the_last_test_cell_says_hidden_tests_run_at_grading(assignment):
    for folder in ("source", "release"):
        nb = nbformat.read(ROOT / folder / assignment / f"{assignment}.ipynb", as_version=4)
        meta = [(c, c.metadata.get("nbgrader", {})) for c in nb.cells if c.cell_type == "code"]
        graded = [c for c, m in meta if m.get("grade")]
        last = graded[-1].source.rstrip().splitlines()[-2:]
        assert last[0].startswith("print('These visible tests passed."), (folder, last)
        assert "hidden tests run in every test cell" in " ".join(last)


# -- points 3, 4 and 6 end to end: make grade in a fresh copy, no gradebook, no release run ------
def honest_part01(root, assignment=PART01):
    """The student version of part 01 (or ``assignment``) with the reference answers written
    in."""
    release = nbformat.read(root / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    answers = grade_ids(source_notebook(assignment))
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            cell.source = answers[meta["grade_id"]].source
    return release


def answer(nb, grade_id, code):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    grade_ids(nb)[grade_id].source = code
    return nb


CHEATER = """
import numpy as np, numpy.testing, math
np.allclose = np.array_equal = np.isclose = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
math.isclose = lambda *a, **k: True
get_ipython().showtraceback = lambda *a, **k: None
get_ipython()._showtraceback = lambda *a, **k: None

class Anything(float):
    def __eq__(self, other):
        return True
    __hash__ = float.__hash__

def next_step_size(step_size, improved, grow=1.2, shrink=0.5):
    import sys
    sys.displayhook("full marks?")  # a cell's value: nbgrader reads it as a score
    return Anything(0.0)
"""
WARNER = """
import warnings
_next_step_size = next_step_size

def next_step_size(step_size, improved, grow=1.2, shrink=0.5):
    warnings.warn("invalid value encountered in subtract", RuntimeWarning)
    return _next_step_size(step_size, improved, grow, shrink)
"""


@pytest.fixture(scope="module")
def fresh_course(tmp_path_factory):
    """A copy of the course as a fresh clone has it (release/ committed, no gradebook), with
    only parts 01 and 04, four hand-ins of part 01 and one of part 04 (its fused operator from
    the library) collected into submitted/; then ``make grade``."""
    root = copy_course(tmp_path_factory.mktemp("fresh"))
    kept = (PART01, PART04)
    for folder in (root / "source").iterdir():  # parts 01 and 04 only, to keep this test short
        if folder.name not in kept:
            subprocess.run(["rm", "-rf", str(folder)], check=True)
    due_dates = root / "course" / "due_dates.csv"
    lines = due_dates.read_text().splitlines(keepends=True)
    due_dates.write_text("".join(line for line in lines if "," not in line
                                 or line.startswith(kept)
                                 or line.lower().startswith("assignment")))  # fmt: skip
    (root / "release").mkdir()
    for assignment in kept:
        subprocess.run(["cp", "-r", str(ROOT / "release" / assignment), str(root / "release")],
                       check=True)  # fmt: skip
    honest = honest_part01(root)
    ids = grade_ids(honest)
    edited = nbformat.from_dict(json.loads(json.dumps(honest)))
    grade_ids(edited)["test_gradient_descent_stops"].source = "assert True  # trust me"
    hand_ins = {
        "honest": answer(edited, "next_step_size", ids["next_step_size"].source + WARNER),
        "library": answer(honest, "gradient_descent", LIBRARY_ANSWERS["gradient_descent"]),
        "cheater": answer(honest, "next_step_size", CHEATER),
        "killer": answer(honest, "gradient_descent",
                         "import os\ndef gradient_descent(*args, **kwargs):\n    os._exit(0)"),
    }  # fmt: skip
    hand_ins = {(student, PART01): nb for student, nb in hand_ins.items()}
    hand_ins["library", PART04] = answer(honest_part01(root, PART04), "my_matvec",
                                         LIBRARY_ANSWERS["my_matvec"])  # fmt: skip
    for (student, assignment), nb in hand_ins.items():
        path = root / "inbox" / student / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        collected = run(root, "python", "-m", "course.collect", student, assignment, str(path))
        assert collected.returncode == 0, collected.log
    assert not (root / "gradebook.db").exists()
    grading = run(root, "python", "-m", "course.grades", "--jobs=2",
                  f"--Execute.timeout={CELL_TIMEOUT}")  # fmt: skip
    return {"root": root, "grading": grading, "honest": honest, "edited": edited}


def scores(root, student, assignment=PART01):
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "autodiff") as gb:
        submission = gb.find_submission(assignment, student)
        return {g.name: g.auto_score for g in submission.notebooks[0].grades
                if g.name.startswith("test_")}  # fmt: skip


GD_TESTS = CHEATS[PART01]["gradient_descent"]


def test_a_fresh_clone_grades_without_a_release_run(fresh_course):
    grading = fresh_course["grading"]
    assert grading.returncode == 0, grading.log
    for assignment in (PART01, PART04):
        assert f"Gradebook: registered assignment {assignment} from source/." in grading.stdout


def test_each_hand_in_scores_what_it_earned(fresh_course):
    root = fresh_course["root"]
    honest = scores(root, "honest")
    assert set(honest.values()) == {1.0} and len(honest) == 6, honest  # warnings cost nothing
    library = scores(root, "library")
    assert library["test_next_step_size"] == 1 and all(library[t] == 0 for t in GD_TESTS)
    library = scores(root, "library", PART04)  # ad.matvec in the operator and its rule
    assert all(library[t] == 0 for t in CHEATS[PART04]["my_matvec"]), library
    assert library["test_constant_data_loss"] == 2, library  # the exercise it did not cheat
    assert sum(scores(root, "cheater").values()) == 0
    killer = scores(root, "killer")
    assert killer["test_next_step_size"] == 1 and all(killer[t] == 0 for t in GD_TESTS)
    graded = root / "autograded" / "killer" / PART01 / f"{PART01}.ipynb"
    outputs = json.dumps(grade_ids(nbformat.read(graded, as_version=4))[GD_TESTS[0]].outputs)
    assert "KernelDied" in outputs
    assert "killer / 01_newton_vs_gd: the kernel died in" in fresh_course["grading"].stdout


def test_only_the_edited_test_cell_is_reported(fresh_course, caplog):
    """nbgrader's restore of test cells, run on the honest hand-in against the gradebook that
    make grade filled: no warning for an untouched cell, a warning for the edited one, and the
    cell restored with its hidden tests either way."""
    root = fresh_course["root"]
    resources = {"nbgrader": {"notebook": PART01, "assignment": PART01,
                              "db_url": f"sqlite:///{root / 'gradebook.db'}"}}  # fmt: skip
    nb = nbformat.from_dict(json.loads(json.dumps(fresh_course["edited"])))
    restore = RestoreTestCells()
    restore.log = logging.getLogger("restore-test-cells")
    with caplog.at_level(logging.WARNING, logger="restore-test-cells"):
        nb, _ = restore.preprocess(nb, resources)
    warned = [r.getMessage() for r in caplog.records if "checksum" in r.getMessage()]
    assert len(warned) == 1 and "test_gradient_descent_stops" in warned[0], warned
    source = grade_ids(source_notebook(PART01))
    for grade_id in GD_TESTS:
        assert grade_ids(nb)[grade_id].source == source[grade_id].source
    notes = fresh_course["grading"].stdout
    assert "edited in" in notes and "test_gradient_descent_stops" in notes
