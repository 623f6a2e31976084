"""make book (issue 17, point 14): what course/book.py stages for Sphinx, checked without
building (tests/browser/test_book_site.py builds the site and loads every page in Chromium)."""


import nbformat
from coursekit import ROOT, leaked_lines

from course import book


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
