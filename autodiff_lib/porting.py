"""What a C++ port of autodiff_lib needs from an n-dimensional array library.

``numpy_usage()`` reads the library's own source with ``ast`` and lists what it uses of numpy:

* ``numpy``: names reached through ``np`` (functions such as ``np.tanh``, ufunc methods such
  as ``np.add.reduce``, submodules such as ``np.linalg.solve``, types such as ``np.float64``);
* ``Generator``: methods of the random generator that ``np.random.default_rng`` returns;
* ``ndarray``: attributes and methods of arrays (``x.shape``, ``x.astype``). The source has no
  types, so this counts every ``value.name`` whose name is an ndarray attribute, on whatever
  value: a Tensor's ``shape`` counts too (it is its array's shape);
* ``operator``: the Python operators applied to values (``+``, ``@``, ``x[i]``, ``<``), which
  on arrays are ndarray's special methods. Some act only on integers here (``%`` on axes).

``TABLE`` maps each of them to its xtensor equivalent and says what xtensor lacks;
``tests/toolkit/test_porting.py`` fails when the two disagree. Modules that a port leaves in Python
or replaces by a language feature are not read (``NOT_PORTED`` says why).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .engine.tensor import Tensor

__all__ = ["NOT_PORTED", "TABLE", "PortEntry", "numpy_usage"]

PACKAGE = Path(__file__).resolve().parent

NOT_PORTED = {  # paths inside the package
    "engine/interop.py": (
        "numpy's dispatch hooks for Tensors; C++ overloads functions and operators"
    ),
    "engine/stable.py": (
        "logsumexp, softmax, logcosh (issue 17): written after the port, not in it yet"
    ),
    "memory.py": "glibc malloc tuning through ctypes; C++ chooses its allocator directly",
    "plotting.py": "drawing stays in Python (matplotlib), on arrays the port hands back",
    "porting.py": "this table and the code that checks it: notes for the port, not code to port",
    "testing.py": "the grading guard of the course's Python notebooks: nothing a C++ user runs",
    "timing.py": "a stopwatch and the machine's name; C++ times itself with std::chrono",
}

# ast operator classes -> the ndarray method Python calls for them
OPERATORS = {
    ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__",
    ast.FloorDiv: "__floordiv__", ast.Mod: "__mod__", ast.Pow: "__pow__",
    ast.MatMult: "__matmul__", ast.USub: "__neg__", ast.UAdd: "__pos__", ast.Invert: "__invert__",
    ast.Eq: "__eq__", ast.NotEq: "__ne__", ast.Lt: "__lt__", ast.LtE: "__le__",
    ast.Gt: "__gt__", ast.GtE: "__ge__", ast.BitAnd: "__and__", ast.BitOr: "__or__",
    ast.LShift: "__lshift__", ast.RShift: "__rshift__",
}  # fmt: skip
TENSOR_SLOTS = set(Tensor.__slots__)  # a Tensor's own attributes (its ``trace`` is not ndarray's)


@dataclass(frozen=True)
class PortEntry:
    """One thing the library uses: numpy's name, xtensor's, and what the port must mind."""

    kind: str  # "numpy", "Generator", "ndarray" or "operator"
    numpy: str  # as written in the source: "np.add.reduce", "astype", "__matmul__"
    xtensor: str  # the equivalent in xtensor (or xtensor-blas); "" if there is none
    notes: str  # what the library uses it for, or what differs in C++
    lacks: str  # what xtensor lacks that numpy gives; "" if nothing


def _chain(node) -> str | None:
    """``np.add.reduce`` for the attribute chain ``np.add.reduce``; None if not rooted in a name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _imported_names(tree) -> set[str]:
    """Names bound by import statements: attributes on them are modules', not arrays'."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _is_default_rng(node) -> bool:
    return isinstance(node, ast.Call) and _chain(node.func) == "np.random.default_rng"


def _module_usage(tree) -> set[tuple[str, str]]:
    """``(kind, name)`` for every use of numpy in one module's syntax tree."""
    found = set()
    modules = _imported_names(tree)
    generators = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_default_rng(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    inner = {  # attributes that are the base of a longer chain: np.add in np.add.reduce
        id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)
    }
    ndarray_names = set(dir(np.ndarray))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain = _chain(node)
            base = chain.split(".")[0] if chain else None
            if base == "np":
                if id(node) not in inner:
                    found.add(("numpy", chain))
            elif _is_default_rng(node.value) or (
                isinstance(node.value, ast.Name) and node.value.id in generators
            ):
                found.add(("Generator", node.attr))
            elif (
                node.attr in ndarray_names
                and not node.attr.startswith("__")
                and node.attr not in TENSOR_SLOTS
                and not (isinstance(node.value, ast.Name) and node.value.id in modules)
            ):
                found.add(("ndarray", node.attr))
        elif isinstance(node, (ast.BinOp, ast.UnaryOp, ast.AugAssign)):
            name = OPERATORS.get(type(node.op))
            if name:
                found.add(("operator", name))
        elif isinstance(node, ast.Compare):
            found |= {("operator", OPERATORS[type(op)]) for op in node.ops if type(op) in OPERATORS}
        elif isinstance(node, ast.Subscript):
            stored = isinstance(node.ctx, ast.Store)
            found.add(("operator", "__setitem__" if stored else "__getitem__"))
    return found


def numpy_usage(package: Path = PACKAGE) -> dict[tuple[str, str], list[str]]:
    """``{(kind, name): [modules using it]}`` over the modules of ``package`` a port needs.

    Modules are named by their path in the package: ``engine/primitives.py``, ``training.py``.
    """
    usage: dict[tuple[str, str], list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package).as_posix()
        if module in NOT_PORTED:
            continue
        for key in _module_usage(ast.parse(path.read_text(encoding="utf-8"))):
            usage.setdefault(key, []).append(module)
    return dict(sorted(usage.items()))


def _entries(kind, rows):
    return [PortEntry(kind, *row) for row in rows]


NO_STREAM = "numpy's PCG64 streams: the same seed gives other numbers in C++"
TENSOR_METHOD = "a Tensor method (t.max()) calling the library's function of that name"
NOT_LISTS = "a tuple fixed at compile time (xt::xtuple); a list known only at run time needs a loop"

# fmt: off  (one row per line: numpy name, xtensor, notes, what xtensor lacks)
TABLE = [
    *_entries("numpy", [
        ("np.abs", "xt::abs", "", ""),
        ("np.add", "operator+", "lazy and broadcasting, like every xtensor expression", ""),
        ("np.add.at", "", "scatter-add with repeated indices (getitem's derivative)",
         "no unbuffered scatter-add: write the loop out[index[k]] += g[k]"),
        ("np.add.reduce", "xt::sum(a, axes, xt::keep_dims)", "keepdims is the keep_dims option",
         ""),
        ("np.all", "xt::all", "", ""),
        ("np.arange", "xt::arange(start, stop, step)", "", ""),
        ("np.argsort", "xt::argsort", "here on an axis permutation: std::sort of indices will do",
         ""),
        ("np.array", "xt::xarray<double>{...}", "a copy; xt::adapt wraps memory without one", ""),
        ("np.array2string", "operator<< (xio.hpp)", "precision via xt::print_options", ""),
        ("np.array_equal", "a == b", "on xtensor expressions == compares whole arrays: one bool",
         ""),
        ("np.array_split", "xt::view(a, xt::range(i, j))", "mini-batches: one view per batch",
         "xt::split cuts into equal parts only; split at given indices with views"),
        ("np.asarray", "xt::xarray<double>", "in C++ a value already has its type: often nothing",
         ""),
        ("np.bool_", "bool", "numpy's scalar types are plain C++ types", ""),
        ("np.broadcast_to", "xt::broadcast(a, shape)", "a view, no copy", ""),
        ("np.concatenate", "xt::concatenate(xt::xtuple(a, b), axis)", "", NOT_LISTS),
        ("np.cos", "xt::cos", "", ""),
        ("np.cosh", "xt::cosh", "", ""),
        ("np.count_nonzero", "xt::count_nonzero", "how many entries of tanh's rule are beyond "
         "|x| = 5", ""),
        ("np.diag", "xt::diag", "", ""),
        ("np.divide", "operator/", "", ""),
        ("np.dtype", "value_type", "checks that values are real (kind 'f', not 'c'): in C++ "
         "the type is double at compile time", ""),
        ("np.errstate", "", "silences overflow warnings in the optimizers",
         "no floating-point error state: IEEE 754 is silent; test with xt::isfinite or "
         "std::fetestexcept"),
        ("np.exp", "xt::exp", "", ""),
        ("np.expm1", "xt::expm1", "", ""),
        ("np.eye", "xt::eye(n)", "seeds the batched sweep of jacobian and diff", ""),
        ("np.equal", "xt::equal(a, b)", "where the base of a power is 0 (its slope in the "
         "exponent)", ""),
        ("np.finfo", "std::numeric_limits<double>", "finfo(float).tiny is min()", ""),
        ("np.float64", "double", "the only dtype of a Tensor: fixed at compile time", ""),
        ("np.generic", "double", "a numpy scalar; in C++ a double or a 0-d xarray", ""),
        ("np.geomspace", "xt::logspace", "geomspace(a, b, n) = logspace(log10 a, log10 b, n)", ""),
        ("np.inf", "std::numeric_limits<double>::infinity()", "", ""),
        ("np.integer", "std::integral (a concept)", "axes and shapes are std::size_t", ""),
        ("np.isfinite", "xt::isfinite", "", ""),
        ("np.linalg.LinAlgError", "std::runtime_error",
         "what xtensor-blas throws when LAPACK fails", ""),
        ("np.linalg.norm", "xt::linalg::norm", "xtensor-blas, a separate library over BLAS", ""),
        ("np.linalg.qr", "xt::linalg::qr", "xtensor-blas (LAPACK)", ""),
        ("np.linalg.solve", "xt::linalg::solve", "xtensor-blas (LAPACK gesv)", ""),
        ("np.log", "xt::log", "", ""),
        ("np.log1p", "xt::log1p", "", ""),
        ("np.logaddexp", "", "log(eˣ + eʸ) without overflow",
         "no logaddexp: write max(x, y) + log1p(exp(−|x − y|))"),
        ("np.matmul", "xt::linalg::dot", "xtensor-blas; xtensor itself has no matrix product",
         "no matmul: dot follows numpy.dot, so stacks (B, m, k) and (B, k, n) give shape "
         "(B, m, B, n), not an error; loop over the matrices of the stack"),
        ("np.max", "xt::amax(a, axes)", "", ""),
        ("np.maximum", "xt::maximum", "", ""),
        ("np.mean", "xt::mean", "only the mean of nothing (nan, with numpy's warning)",
         "no warning on an empty mean: IEEE 754 gives nan silently"),
        ("np.min", "xt::amin", "", ""),
        ("np.minimum", "xt::minimum", "", ""),
        ("np.multiply", "operator*", "", ""),
        ("np.nan", "std::numeric_limits<double>::quiet_NaN()", "", ""),
        ("np.ndarray", "xt::xarray<double>", "rank known at run time; xt::xtensor<double, N> "
         "when known at compile time", ""),
        ("np.negative", "unary operator-", "", ""),
        ("np.number", "double", "a plain number in a list: one type in C++", ""),
        ("np.ones", "xt::ones<double>(shape)", "", ""),
        ("np.power", "xt::pow", "C++ has no ** operator", ""),
        ("np.prod", "xt::prod", "here of a shape: std::accumulate with std::multiplies", ""),
        ("np.random.default_rng", "std::mt19937 engine(seed)",
         "pass the engine to xt::random functions", NO_STREAM),
        ("np.ravel", "xt::ravel(a)", "", ""),
        ("np.reshape", "xt::reshape_view(a, shape)", "", ""),
        ("np.shape", "a.shape()", "", ""),
        ("np.sign", "xt::sign", "", ""),
        ("np.sin", "xt::sin", "", ""),
        ("np.sinh", "xt::sinh", "", ""),
        ("np.size", "a.size()", "", ""),
        ("np.sqrt", "xt::sqrt", "", ""),
        ("np.square", "xt::square", "", ""),
        ("np.stack", "xt::stack(xt::xtuple(a, b), axis)", "", NOT_LISTS),
        ("np.subtract", "operator-", "", ""),
        ("np.sum", "xt::sum", "", ""),
        ("np.tan", "xt::tan", "", ""),
        ("np.tanh", "xt::tanh", "", ""),
        ("np.transpose", "xt::transpose(a, permutation)", "a view, no copy", ""),
        ("np.var", "xt::variance(a, axes)", "ddof: scale by n / (n − ddof)", ""),
        ("np.where", "xt::where", "", ""),
        ("np.zeros", "xt::zeros<double>(shape)", "", ""),
    ]),
    *_entries("Generator", [
        ("normal", "xt::random::randn<double>(shape, mean, std, engine)",
         "lazy: assign it to an xarray once, or every read draws anew", NO_STREAM),
        ("permutation", "xt::random::permutation(n, engine)", "shuffles the samples into "
         "mini-batches", NO_STREAM),
        ("standard_normal", "xt::random::randn<double>(shape)", "lazy, as above", NO_STREAM),
        ("uniform", "xt::random::rand<double>(shape, low, high, engine)", "lazy, as above",
         NO_STREAM),
    ]),
    *_entries("ndarray", [
        ("T", "xt::transpose(a)", "a view, no copy", ""),
        ("astype", "xt::cast<double>(a)", "every value is a double already", ""),
        ("dtype", "value_type", "a compile-time type, not a run-time value", ""),
        ("item", "a()", "the value of a one-element array as a double", ""),
        ("flags", "const", "flags.writeable = False becomes a const xarray the compiler guards",
         ""),
        ("max", "xt::amax(a, axes)", TENSOR_METHOD, ""),
        ("mean", "xt::mean(a, axes)", "", ""),
        ("min", "xt::amin(a, axes)", TENSOR_METHOD, ""),
        ("ndim", "a.dimension()", "", ""),
        ("prod", "xt::prod(a, axes)", TENSOR_METHOD, ""),
        ("ravel", "xt::ravel(a)", "", ""),
        ("reshape", "xt::reshape_view(a, shape)", "a.reshape(shape) reshapes a container in place",
         ""),
        ("shape", "a.shape()", "", ""),
        ("size", "a.size()", "", ""),
        ("squeeze", "xt::squeeze(a)", TENSOR_METHOD, ""),
        ("std", "xt::stddev(a, axes)", TENSOR_METHOD, ""),
        ("sum", "xt::sum(a, axes)", "", ""),
        ("var", "xt::variance(a, axes)", TENSOR_METHOD, ""),
        ("transpose", "xt::transpose(a, permutation)", "", ""),
        ("view", "xt::adapt(pointer, shape)", "a constant wraps the caller's array without a "
         "copy", ""),
    ]),
    *_entries("operator", [
        ("__add__", "operator+", "broadcasting like numpy's", ""),
        ("__eq__", "xt::equal(a, b)", "elementwise; a == b compares whole arrays to one bool", ""),
        ("__floordiv__", "operator/ on integers", "here only on integers: Python floors, C++ "
         "truncates toward zero", ""),
        ("__ge__", "operator>=", "elementwise", ""),
        ("__getitem__", "xt::view(a, xt::range(i, j), xt::all(), n)",
         "masks: xt::filter; integer arrays on one axis: xt::index_view or xt::keep",
         "numpy's advanced indexing with several integer arrays broadcast together"),
        ("__gt__", "operator>", "elementwise", ""),
        ("__le__", "operator<=", "elementwise", ""),
        ("__lt__", "operator<", "elementwise", ""),
        ("__matmul__", "xt::linalg::dot", "C++ has no @ operator", ""),
        ("__mod__", "operator% on integers", "here only on integers (negative axes): C++'s % "
         "keeps the sign, so -1 % 3 is -1, not 2", ""),
        ("__mul__", "operator*", "", ""),
        ("__ne__", "xt::not_equal(a, b)", "elementwise; != compares whole arrays", ""),
        ("__neg__", "unary operator-", "", ""),
        ("__pow__", "xt::pow", "", ""),
        ("__setitem__", "xt::view(out, ...) = g", "on arrays only in scatter-add's forward; a "
         "Tensor refuses it", ""),
        ("__sub__", "operator-", "", ""),
        ("__truediv__", "operator/", "", ""),
    ]),
]
# fmt: on
