"""Fixtures of the browser tests: one JupyterLab for the session (per pytest-xdist worker),
serving a copy of the course, one headless Chromium with one page holding JupyterLab (each test
closes its notebooks and their kernels), and a record of the working tree to prove that nothing
was written into it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import fixture_notebooks  # noqa: E402
import pytest
from coursekit import ROOT  # noqa: E402
from labkit import CHROMIUM, CHROMIUM_FLAGS, Lab, close_all, copy_served_course, open_lab  # noqa: E402

SCREENSHOTS = ROOT / "browser-screenshots"  # git-ignored: one full-page picture per notebook


def working_tree() -> dict[str, int]:
    """Every path git reports as changed, untracked or ignored (Python's own caches and the
    screenshots aside), with its modification time: anything the lab writes shows here."""
    status = subprocess.run(
        ["git", "status", "--porcelain=v1", "-z", "--ignored=matching", "--untracked-files=all"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found = {}
    for entry in filter(None, status.split("\0")):
        path = entry[3:]
        if "__pycache__" in path or path.startswith(SCREENSHOTS.name + "/"):
            continue
        try:
            found[path] = (ROOT / path).stat().st_mtime_ns
        except OSError:
            found[path] = 0
    return found


def files(root: Path) -> dict[str, int]:
    """{path: modification time} of every file under ``root`` (Python's caches aside)."""
    return {
        p.relative_to(root).as_posix(): p.stat().st_mtime_ns
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def written_into(lab: Lab) -> list[str]:
    """Files of the served course changed or added since the start, but the student's own
    folder (Validate saves the notebook there first)."""
    now = files(lab.root)
    return sorted(
        path for path in set(lab.files_at_start) | set(now)
        if lab.files_at_start.get(path) != now.get(path) and not path.startswith("student/")
    )  # fmt: skip


def pytest_configure(config):
    config.addinivalue_line("markers", "xdist_group: run on one pytest-xdist worker")


def pytest_sessionstart(session):
    """Old screenshots go, once, in the process that starts the workers (or the only one)."""
    if not hasattr(session.config, "workerinput"):
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)


@pytest.fixture(scope="session")
def tree_before():
    return working_tree()


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def lab(tmp_path_factory, tree_before):
    """``make lab``'s JupyterLab on a copy of the course (and the fixture notebooks), with its
    settings, workspaces, checkpoints and runtime files in a temporary folder."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = copy_served_course(base / "course")
    (base / "state").mkdir()
    server = Lab(root, base / "state")
    server.fixtures = fixture_notebooks.write(root)
    server.files_at_start = files(root)
    server.start()
    try:
        yield server
    finally:
        left = server.stop()
        assert not left, f"processes of JupyterLab still running after SIGKILL: {left}"
    changed = written_into(server)
    assert not changed, f"written into the served course {root}: {changed}"


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make browser-deps` (Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def lab_page(browser, lab):
    """One browser page holding JupyterLab for the whole session (loading it takes seconds)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    open_lab(page, lab)
    yield page
    context.close()


@pytest.fixture
def page(lab_page, lab):
    """JupyterLab's page; afterwards every tab is closed (unsaved) and every kernel shut down."""
    yield lab_page
    close_all(lab_page, lab)
