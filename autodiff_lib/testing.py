"""What the course's tests use so that only a student's own work passes them.

* ``own_work(function, *references)``: the student's ``function``, checked. While it runs, each
  of the library's ``references`` (``ad.gradient_descent`` for an exercise that asks for a
  gradient descent) raises ``LibraryReferenceUsed``, whatever name or import path the student
  reached it by; what it returns goes through ``plain``.
* ``plain(value)``: ``value`` as what it claims to be, a number, a numpy array, a Tensor, an
  ``OptimizationResult`` or a list/tuple of those, checked by exact type. An object whose
  ``__eq__`` returns True, or an ndarray subclass that overrides ``__array_ufunc__``, would
  pass any comparison: it is refused with a ``TypeError`` instead.
* ``stderr_as_notes()``: run when nbgrader's *Validate* starts a kernel (``nbgrader_config.py``):
  what a cell writes to stderr (a numpy ``RuntimeWarning``) is shown on stdout, each line
  marked as a note. nbgrader's Validator fails a test cell with any stderr output, and cannot
  be told otherwise; honest work would be told "VALIDATION FAILED" for a warning.
* ``protect()`` and ``restore()``: run by the grader (``course/autograde.py``) in the student's
  kernel, before the first cell and before each test cell. ``protect`` remembers the functions
  and classes of numpy, math, the library and IPython's kernel; ``restore`` puts back whatever
  a notebook changed in them, so that a test never runs a patched ``np.allclose``, a silenced
  ``showtraceback`` or a replaced ``ad.gradient_descent``. It also removes what a notebook
  hooked into the kernel's running of a cell: IPython's event callbacks (``pre_run_cell``,
  ``post_run_cell``, ...), input and AST transformers, a custom exception handler, a trace
  function. ``restore(next_cell_is_a_test=True)`` wraps the test cell that comes next in
  ``try: ... finally: restore()``, so what the student's code hooks in or patches while the
  test runs is undone before IPython reports the test's error and runs ``post_run_cell``; in
  such a cell, ``own_work`` restores after each call of the student's function, before the
  test reads what it returned.

Why in the library: the hidden tests run in the student's kernel, which sees the library but not
the course's folder. What this cannot stop: a student who copies the library's code into their
answer (or writes a correct answer by any other means) has written a correct answer.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import sys
import types

import numpy as np

__all__ = [
    "LibraryReferenceUsed",
    "NotAPlainValue",
    "own_work",
    "plain",
    "protect",
    "restore",
    "stderr_as_notes",
]


class LibraryReferenceUsed(RuntimeError):
    """A student's function called the library's implementation of what it is asked to do."""


class NotAPlainValue(TypeError):
    """A student's function returned an object that only pretends to be a number or an array."""


# -- own_work: the library's version refuses to run while the student's function runs ---------
_disabled: dict = {}  # function -> [depth, saved code, saved defaults, saved kwdefaults]
_calls = [0]  # how many own_work functions are running (restore after the outermost)
_refusing_codes: dict = {}  # function -> its refusing code, compiled once (a guard costs ~µs)


def _refusing_code(function):
    """A code object that raises ``LibraryReferenceUsed`` naming ``function``; it uses no name
    of the library module's globals, since it runs with them."""
    code = _refusing_codes.get(function)
    if code is None:
        code = _refusing_codes[function] = _compile_refusing_code(function)
    return code


def _compile_refusing_code(function):
    name = f"{function.__module__}.{function.__qualname__}"
    public = f"ad.{function.__name__}"
    message = (
        f"this exercise asks for your own code: the library's {public} ({name}) may not be "
        "used in it, and raises while your function is tested"
    )
    source = (
        "def refused(*args, **kwargs):\n"
        "    raise __import__('autodiff_lib.testing', fromlist=['_'])"
        f".LibraryReferenceUsed({message!r})\n"
    )
    namespace: dict = {}
    exec(compile(source, "<autodiff_lib.testing>", "exec"), namespace)  # noqa: S102
    return namespace["refused"].__code__


@contextlib.contextmanager
def refused(*references):
    """Within the block, each function of ``references`` raises ``LibraryReferenceUsed`` when
    called, by any name (its code is swapped, not the name). Nested blocks are fine."""
    for function in references:
        if not isinstance(function, types.FunctionType) or function.__closure__:
            raise TypeError(f"refused: {function!r} is not a plain Python function")
    entered = []
    try:
        for function in references:
            state = _disabled.get(function)
            if state is None:
                state = _disabled[function] = [
                    0, function.__code__, function.__defaults__, function.__kwdefaults__,
                ]  # fmt: skip
                function.__code__ = _refusing_code(function)
                function.__defaults__ = function.__kwdefaults__ = None
            state[0] += 1
            entered.append(function)
        yield
    finally:
        for function in entered:
            state = _disabled[function]
            state[0] -= 1
            if state[0] == 0:
                del _disabled[function]
                _, function.__code__, function.__defaults__, function.__kwdefaults__ = state


def _reference(reference):
    """A library function, given as itself or by its name in the package: ``"gradient_descent"``,
    ``"networks.mlp"``, or in the engine: ``"fused._matvec_forward"`` (looked up here, not in the
    notebook, whose ``ad`` may be anything)."""
    if not isinstance(reference, str):
        return reference
    import autodiff_lib

    first, *rest = reference.split(".")
    found = getattr(autodiff_lib, first, None)
    if found is None:  # an engine module's name: the notebooks name them from the package
        found = getattr(autodiff_lib.engine, first)
    for part in rest:
        found = getattr(found, part)
    return found


def own_work(function, *references):
    """``function`` (the student's), wrapped: while it runs, the library's ``references`` (the
    functions, or their names in ``autodiff_lib``: ``"gradient_descent"``, ``"networks.mlp"``,
    ``"fused._matvec_forward"``)
    raise ``LibraryReferenceUsed``; its result is returned through ``plain`` (a generator is
    run to a list first, inside the guard). Wrapping a wrapped function adds references. In a
    graded test cell, what the function changed (a patched ``np.allclose``) is put back
    (``restore``) before the test goes on."""
    if not callable(function):
        raise TypeError(f"own_work: {function!r} is not a function")
    inner = getattr(function, "__own_work__", None)
    if inner is not None:  # wrapped in an earlier test cell
        function, references = inner[0], (*inner[1], *references)
    references = tuple(dict.fromkeys(_reference(r) for r in references))

    @functools.wraps(function)
    def checked(*args, **kwargs):
        _calls[0] += 1
        try:
            with refused(*references):
                result = function(*args, **kwargs)
                if isinstance(result, types.GeneratorType):
                    result = list(result)
        finally:
            _calls[0] -= 1
            if _calls[0] == 0 and _test_cell[1]:  # in a graded test cell
                restore()  # what the student's function patched, before the test reads it
        return plain(result)

    checked.__own_work__ = (function, references)
    return checked


# -- plain: values that are what they claim to be ----------------------------------------------
_SCALARS = (bool, int, float, complex)


def plain(value):
    """``value`` itself if it is a plain value, checked by exact type (subclasses are refused):
    a Python or numpy number or bool, ``None``, a string, a numpy array of numbers, the
    library's Tensor of such an array, an ``OptimizationResult`` of plain fields, or a
    list/tuple/dict of plain values. Anything else raises ``NotAPlainValue``."""
    from .engine.tensor import Tensor
    from .optimizers import OptimizationResult

    kind = type(value)
    if value is None or kind in _SCALARS or kind is str:
        return value
    if isinstance(value, np.generic) and kind.__module__ == "numpy":
        if value.dtype.kind in "biufc":
            return value
    elif kind is np.ndarray:
        if value.dtype.kind in "biufc":
            return value
        if value.dtype.kind == "O":
            for item in value.flat:
                plain(item)
            return value
    elif kind is Tensor:
        plain(value.value)
        return value
    elif kind in (list, tuple):
        for item in value:
            plain(item)
        return value
    elif kind is dict:
        for item in value.values():
            plain(item)
        return value
    elif kind is OptimizationResult:
        for field in ("x", "trajectory", "losses", "step_sizes"):
            if type(getattr(value, field)) is not np.ndarray:
                break
            plain(getattr(value, field))
        else:
            if type(value.converged) is bool and type(value.message) is str:
                return value
    raise NotAPlainValue(
        f"expected a number, a numpy array or a list of them, got {kind.__qualname__}: "
        "return plain values (objects that only pretend to be numbers or arrays are refused)"
    )


# -- protect / restore: what a notebook may not change for the tests ---------------------------
_PROTECTED_MODULES = ("builtins", "math", "cmath", "operator", "numpy", "autodiff_lib")
_KERNEL_CLASSES = (
    ("IPython.core.interactiveshell", "InteractiveShell"),
    ("ipykernel.zmqshell", "ZMQInteractiveShell"),
    ("ipykernel.ipkernel", "IPythonKernel"),
    ("ipykernel.kernelbase", "Kernel"),
    ("ipykernel.displayhook", "ZMQShellDisplayHook"),
    ("ipykernel.iostream", "OutStream"),
    ("IPython.core.events", "EventManager"),
    ("IPython.core.inputtransformer2", "TransformerManager"),
)
_saved: dict | None = None


def _protected(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in _PROTECTED_MODULES)


def _save_function(saved, function):
    if isinstance(function, types.FunctionType) and function not in saved["functions"]:
        saved["functions"][function] = (
            function.__code__, function.__defaults__, function.__kwdefaults__,
        )  # fmt: skip


def _save_class(saved, cls):
    if cls in saved["classes"] or not hasattr(cls, "__dict__"):
        return
    if isinstance(cls.__dict__, types.MappingProxyType):
        saved["classes"][cls] = dict(cls.__dict__)
        for attribute in cls.__dict__.values():
            _save_function(saved, getattr(attribute, "__func__", attribute))


def _method_names(obj) -> set:
    return {name for cls in type(obj).__mro__ for name in vars(cls)}


def protect() -> None:
    """Remember the protected modules' names, functions and classes (the grader runs this in
    the kernel before any of the notebook's cells)."""
    global _saved
    import autodiff_lib  # noqa: F401  (imports every module of the library)

    saved = {"modules": {}, "functions": {}, "classes": {}, "instances": [], "streams": None}
    for name, module in list(sys.modules.items()):
        if module is None or not _protected(name):
            continue
        names = dict(vars(module))
        if module is sys.modules[__name__]:  # its own state (_saved, _disabled) is not undone
            names = {k: v for k, v in names.items() if not k.startswith("_")}
        saved["modules"][module] = names
        for value in names.values():
            if isinstance(value, type) and (value.__module__ or "").startswith(
                ("numpy", "autodiff_lib")
            ):
                _save_class(saved, value)
            _save_function(saved, value)
    for module_name, class_name in _KERNEL_CLASSES:
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, class_name):
            _save_class(saved, getattr(module, class_name))
    shell = None
    with contextlib.suppress(Exception):
        shell = get_ipython()  # noqa: F821  (IPython's builtin in a kernel)
    kernel_objects = [shell, getattr(shell, "kernel", None), getattr(shell, "displayhook", None),
                      getattr(shell, "events", None)]  # fmt: skip
    for obj in [*kernel_objects, sys.stdout, sys.stderr]:
        if obj is not None and hasattr(obj, "__dict__"):
            methods = _method_names(obj)
            kept = {n: v for n, v in vars(obj).items() if n in methods}
            saved["instances"].append((obj, methods, kept))
    saved["streams"] = (sys.stdout, sys.stderr, sys.displayhook, sys.excepthook)
    saved["shell"] = _shell_state(shell)
    _saved = saved


def restore(next_cell_is_a_test: bool = False) -> int:
    """Put back what the notebook changed since ``protect``; returns how many things. With
    ``next_cell_is_a_test``, the next cell the kernel runs ends with ``restore()`` as well."""
    if _saved is None:
        return 0
    changed = 0
    for module, names in _saved["modules"].items():
        current = vars(module)
        for name, value in names.items():
            if current.get(name, _saved) is not value:
                current[name] = value
                changed += 1
    for function, (code, defaults, kwdefaults) in _saved["functions"].items():
        if function in _disabled:
            continue  # refused by own_work right now: own_work puts it back
        if function.__code__ is not code:
            function.__code__ = code
            changed += 1
        if function.__defaults__ is not defaults or function.__kwdefaults__ is not kwdefaults:
            function.__defaults__, function.__kwdefaults__ = defaults, kwdefaults
            changed += 1
    for cls, attributes in _saved["classes"].items():
        for name in set(cls.__dict__) - set(attributes):
            with contextlib.suppress(AttributeError, TypeError):
                delattr(cls, name)
                changed += 1
        for name, value in attributes.items():
            if cls.__dict__.get(name, _saved) is not value:
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(cls, name, value)
                    changed += 1
    for obj, methods, kept in _saved["instances"]:  # a method replaced on the object itself
        current = vars(obj)
        for name in [n for n in current if n in methods]:
            if name not in kept:
                del current[name]
                changed += 1
            elif current[name] is not kept[name]:
                current[name] = kept[name]
                changed += 1
    if (sys.stdout, sys.stderr, sys.displayhook, sys.excepthook) != _saved["streams"]:
        sys.stdout, sys.stderr, sys.displayhook, sys.excepthook = _saved["streams"]
        changed += 1
    changed += _restore_shell(_saved["shell"])
    if next_cell_is_a_test and _saved["shell"] is not None:
        _test_cell[0] = True
        _saved["shell"]["shell"].ast_transformers.append(_FINISH_CELL)
    return changed


# -- the kernel's running of a cell: hooks a notebook may not leave in place ------------------
# Event callbacks added after protect() are removed, but for plain functions of these packages
# (matplotlib's inline backend registers its own when a notebook first plots).
_TRUSTED_CALLBACKS = ("matplotlib", "matplotlib_inline", "ipykernel", "IPython", "ipywidgets")
_TRANSFORM_LISTS = ("cleanup_transforms", "line_transforms", "token_transformers")
_test_cell = [False, False]  # [_FINISH_CELL armed for the next cell, a test cell is running]


def _same(a, b) -> bool:
    """The same items, by identity (an item may claim to equal anything)."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def _shell_state(shell):
    """What of IPython's shell a notebook could hook into, as protect() found it."""
    if shell is None or not hasattr(shell, "events"):
        return None
    events, manager = shell.events, getattr(shell, "input_transformer_manager", None)
    return {
        "shell": shell,
        "events": events,
        "callbacks": events.callbacks,
        "registered": {name: list(found) for name, found in events.callbacks.items()},
        "manager": manager,
        "transforms": {
            name: (getattr(manager, name), list(getattr(manager, name)))
            for name in _TRANSFORM_LISTS if hasattr(manager, name)
        },
        "ast_transformers": list(shell.ast_transformers),
        "input_transformers_post": list(shell.input_transformers_post),
        "custom": (shell.custom_exceptions, vars(shell).get("CustomTB")),
        "trace": (sys.gettrace(), sys.getprofile()),
    }


def _trusted_callback(callback) -> bool:
    module = getattr(callback, "__module__", None) or ""
    return isinstance(callback, types.FunctionType) and module.split(".")[0] in _TRUSTED_CALLBACKS


def _restore_shell(state) -> int:
    if state is None:
        return 0
    shell, changed = state["shell"], 0
    if shell.events is not state["events"]:
        shell.events = state["events"]
        changed += 1
    events = state["events"]
    if events.callbacks is not state["callbacks"]:
        events.callbacks = state["callbacks"]
        changed += 1
    for name, found in list(events.callbacks.items()):
        before = state["registered"].get(name, [])
        kept = [f for f in found if any(f is b for b in before) or _trusted_callback(f)]
        if not _same(kept, found):
            events.callbacks[name] = kept
            changed += 1
    if getattr(shell, "input_transformer_manager", None) is not state["manager"]:
        shell.input_transformer_manager = state["manager"]
        changed += 1
    for name, (found, items) in state["transforms"].items():
        if getattr(state["manager"], name) is not found:
            setattr(state["manager"], name, found)
            changed += 1
        if not _same(found, items):
            found[:] = items
            changed += 1
    for name in ("ast_transformers", "input_transformers_post"):
        if not _same(getattr(shell, name), state[name]):
            setattr(shell, name, list(state[name]))
            changed += 1
    exceptions, handler = state["custom"]
    if shell.custom_exceptions is not exceptions or vars(shell).get("CustomTB") is not handler:
        shell.custom_exceptions = exceptions
        if handler is not None:
            shell.CustomTB = handler
        changed += 1
    trace, profile = state["trace"]
    if sys.gettrace() is not trace:
        sys.settrace(trace)
        changed += 1
    if sys.getprofile() is not profile:
        sys.setprofile(profile)
        changed += 1
    return changed


class _FinishCell(ast.NodeTransformer):
    """Wraps the next cell's code in ``try: ... finally: restore()`` (IPython's AST hook):
    whatever it hooked in or patched is undone before IPython reports its error (with a
    ``showtraceback`` put back) and before ``post_run_cell`` runs. One cell only."""

    def visit_Module(self, node):
        if not _test_cell[0]:
            return node
        _test_cell[:] = [False, True]
        finish = ast.parse(
            "__import__('autodiff_lib.testing', fromlist=['_'])._end_of_test_cell()"
        ).body
        wrapped = ast.Try(body=node.body or [ast.Pass()], handlers=[], orelse=[],
                          finalbody=finish)  # fmt: skip
        node.body = [ast.copy_location(wrapped, node.body[0]) if node.body else wrapped]
        return ast.fix_missing_locations(node)


_FINISH_CELL = _FinishCell()


def _end_of_test_cell() -> None:
    """What a graded test cell runs last (``_FinishCell``)."""
    _test_cell[1] = False
    restore()


# -- stderr_as_notes: nbgrader's Validate reads a warning as a failed test ---------------------
STDERR_NOTE = "note (stderr, costs no points): "


class _NotesOnStdout:
    """A stand-in for sys.stderr: each line goes to ``stdout``, marked as a note."""

    def __init__(self, stdout):
        self._stdout = stdout
        self._line_start = True

    def write(self, text):
        if not text:
            return 0
        lines = text.splitlines(keepends=True)
        marked = [(STDERR_NOTE if i or self._line_start else "") + line
                  for i, line in enumerate(lines)]  # fmt: skip
        self._line_start = text.endswith("\n")
        self._stdout.write("".join(marked))
        return len(text)

    def flush(self):
        self._stdout.flush()

    def __getattr__(self, name):  # encoding, isatty, fileno, ...
        return getattr(self._stdout, name)


def stderr_as_notes() -> None:
    """From now on, what this process writes to ``sys.stderr`` is written to ``sys.stdout``,
    each line starting with ``note (stderr, costs no points): ``. For nbgrader's Validator
    (the *Validate* button, ``nbgrader validate``), which counts any stderr output of a test
    cell as a failure: ``nbgrader_config.py`` runs this in the kernels it starts. Grading does
    the same in ``course/autograde.py``."""
    if not isinstance(sys.stderr, _NotesOnStdout):
        sys.stderr = _NotesOnStdout(sys.stdout)
