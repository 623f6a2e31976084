"""make book (issue 17, point 14): what course/book.py stages for Sphinx, checked without
building (tests/browser/test_book.py builds the site and loads every page in Chromium)."""

import re

import nbformat
from coursekit import ROOT

from course import book


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


def test_the_book_stages_every_lecture_and_every_student_version(tmp_path):
    pages = book.stage(tmp_path)
    lectures = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("notebooks/*.ipynb"))
    released = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("release/*/*.ipynb"))
    assert sorted(pages) == sorted(lectures + released)
    assert not any(p.startswith("source/") for p in pages), "no instructor version on the site"
    index = (tmp_path / "index.md").read_text(encoding="utf-8")
    assert index.startswith((ROOT / "README.md").read_text(encoding="utf-8").split("\n")[0])
    for page in pages:
        assert f"\n{page.removesuffix('.ipynb')}\n" in index, f"{page} is not in the toctree"
        nb = nbformat.read(tmp_path / page, as_version=4)
        links = nb.cells[0]
        assert book.LINKS_TAG in links.metadata["tags"]
        name = page.rsplit("/", 1)[1]
        assert f"{{download}}`Download {name} <{name}>`" in links.source
        assert f"]({book.LAB}{page})" in links.source
        assert nb.cells[1:] == nbformat.read(ROOT / page, as_version=4).cells
    for folder in {page.rsplit("/", 1)[0] for page in released}:
        assert f"]({folder}/)" not in index, f"the README's link to {folder}/ leads nowhere"


def test_nothing_staged_holds_a_solution_or_a_hidden_test(tmp_path):
    book.stage(tmp_path)
    secrets = leaked_lines()
    assert secrets, "the source notebooks have solutions and hidden tests to look for"
    for path in tmp_path.rglob("*.ipynb"):
        text = path.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, path
        shown = {line.strip() for line in text.replace("\\n", "\n").splitlines()}
        assert not shown & secrets, f"{path}: {sorted(shown & secrets)[:3]}"
