"""pyproject.toml and environment.yml declare the same dependencies.

pip users install ``-e .[course,dev]`` from pyproject.toml; conda and Binder users build
environment.yml. Every package of the runtime dependencies and of every extra (``course``,
``dev``, ``deploy``) must appear in both, with the same version constraints (names compared
after PEP 503 normalisation, constraints as specifier sets, so ``>=4,<5`` equals ``<5, >=4``).
environment.yml is read by the small parser below, enough for its flat list, so that this
test needs nothing beyond the standard library and ``packaging`` (which pytest requires).
"""

from __future__ import annotations

import re

from coursekit import ROOT
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest itself depends on tomli there
    import tomli as tomllib



def conda_dependencies(text):
    """The ``dependencies:`` list of an environment.yml: (plain entries, entries under pip:)."""
    plain, pip = [], []
    lines = iter(text.splitlines())
    for line in lines:
        if re.match(r"^dependencies\s*:\s*(#.*)?$", line):
            break
    else:
        raise AssertionError("environment.yml has no top-level 'dependencies:' list")
    item_indent, in_pip = None, False
    for raw in lines:
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:  # the next top-level key ends the list
            break
        match = re.match(r"^(\s*)-\s*(.*)$", line)
        if match is None:
            raise AssertionError(f"environment.yml: unexpected line in dependencies: {raw!r}")
        entry = match.group(2).strip().strip("'\"")
        if item_indent is None:
            item_indent = indent
        if indent == item_indent:
            in_pip = entry == "pip:"
            if not in_pip:
                plain.append(entry)
        elif in_pip and indent > item_indent:
            pip.append(entry)
        else:
            raise AssertionError(f"environment.yml: unexpected nesting: {raw!r}")
    return plain, pip


def requirement_map(specs):
    """{normalised name: SpecifierSet}; a name listed twice is an error."""
    out = {}
    for spec in specs:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name not in out, f"{name} is listed twice"
        out[name] = requirement.specifier
    return out


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def environment():
    return conda_dependencies((ROOT / "environment.yml").read_text())


def test_the_parser_reads_a_conda_list():
    """The parser itself: plain entries, comments, and the nested pip: list."""
    text = (
        "name: x\ndependencies:\n  - python>=3.10\n  # a comment\n  - Foo_Bar>=1,<2  # why\n"
        "  - pip\n  - pip:\n      - -e .\nchannels:\n  - conda-forge\n"
    )
    assert conda_dependencies(text) == (["python>=3.10", "Foo_Bar>=1,<2", "pip"], ["-e ."])


def test_numpy_is_the_only_runtime_dependency():
    assert set(requirement_map(pyproject()["dependencies"])) == {"numpy"}


def test_the_extras_hold_the_course_and_dev_tools():
    extras = pyproject()["optional-dependencies"]
    course = set(requirement_map(extras["course"]))
    dev = set(requirement_map(extras["dev"]))
    assert {"jupyterlab", "matplotlib", "ipywidgets", "nbgrader", "nbval", "tqdm"} <= course
    assert {"pytest", "hypothesis", "autograd", "ruff"} <= dev


def test_pyproject_and_environment_yml_agree():
    """Same package names and the same version constraints in both files."""
    project = pyproject()
    extras = project["optional-dependencies"]
    every_extra = [spec for specs in extras.values() for spec in specs]
    pip_side = requirement_map(project["dependencies"] + every_extra)
    plain, _ = environment()
    conda_side = requirement_map(
        e for e in plain if canonicalize_name(Requirement(e).name) not in {"python", "pip"}
    )
    assert len(pip_side) > 5
    missing_in_conda = sorted(set(pip_side) - set(conda_side))
    missing_in_pip = sorted(set(conda_side) - set(pip_side))
    assert not missing_in_conda and not missing_in_pip, (
        f"only in pyproject.toml: {missing_in_conda}; only in environment.yml: {missing_in_pip}"
    )
    differing = {
        name: (str(pip_side[name]), str(conda_side[name]))
        for name in pip_side
        if pip_side[name] != conda_side[name]
    }
    assert not differing, f"constraints differ (pyproject, environment.yml): {differing}"


def test_environment_yml_pins_python_and_installs_the_package():
    """python matches requires-python, and pip installs this repository in editable mode."""
    plain, pip = environment()
    pythons = [Requirement(e) for e in plain if Requirement(e).name == "python"]
    assert len(pythons) == 1
    assert pythons[0].specifier == SpecifierSet(pyproject()["requires-python"])
    assert "pip" in plain
    assert "-e ." in pip
