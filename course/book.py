"""The course as a static website: ``python -m course.book`` (``make book``).

Sphinx with myst-nb (the ``book`` extra) renders, into ``build/book/html/``:

* the README as the landing page (its course index links to every page);
* the lectures (``notebooks/``) with the outputs and figures stored in them by the build
  (``course.build`` keeps every output of a lecture), never executed again here;
* each assignment's *student* version (``release/``): no solutions, no hidden tests;
* above every notebook, a link to download it and one to open it in JupyterLab (``make lab``).

The sources are staged into ``build/book-src/`` first (copies, with the link cell added and the
README's links to folders pointed at the notebook inside), so nothing in the repository is
changed. ``tests/pipeline/test_book.py`` checks the staging, ``tests/browser/test_book_site.py``
the site.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
STAGE = ROOT / "build" / "book-src"
OUT = ROOT / "build" / "book" / "html"
LAB = "http://127.0.0.1:8888/lab/tree/"  # where `make lab` serves the repository root
LINKS_TAG = "book-links"  # the added cell, so that tests can find it

CONF = '''\
# Written by course/book.py: the Sphinx configuration of `make book`.
project = "An open course on automatic differentiation"
extensions = ["myst_nb"]
nb_execution_mode = "off"  # lectures carry their outputs; student versions are shown unrun
myst_enable_extensions = ["dollarmath", "amsmath"]
html_theme = "alabaster"
html_title = project
html_show_sourcelink = False
exclude_patterns = ["_build"]
suppress_warnings = ["myst.xref_missing", "misc.highlighting_failure"]
'''


def notebooks() -> list[tuple[Path, str]]:
    """(file, where it goes in the book) for every lecture and every student version."""
    found = [(p, f"notebooks/{p.name}") for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    for folder in sorted(p for p in (ROOT / "release").iterdir() if p.is_dir()):
        found += [(p, f"release/{folder.name}/{p.name}") for p in sorted(folder.glob("*.ipynb"))]
    return found


def _links_cell(where: str) -> nbformat.NotebookNode:
    name = Path(where).name
    text = (
        f"{{download}}`Download {name} <{name}>` · "
        f"[Open in JupyterLab]({LAB}{where}) (after `make lab` in the repository)"
    )
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["tags"] = [LINKS_TAG]
    return cell


def _index(readme: str, pages: list[str]) -> str:
    """The README as the landing page: links to a folder of release/ point at its notebook,
    and a hidden table of contents lists every page (Sphinx's navigation)."""
    by_folder = {str(Path(p).parent) + "/": p for p in pages if p.startswith("release/")}

    def retarget(match):
        target = match.group(2)
        return f"[{match.group(1)}]({by_folder.get(target, target)})"

    readme = re.sub(r"\[([^\]]*)\]\(([^)\s]+)\)", retarget, readme)
    toc = "\n".join(str(Path(p).with_suffix("")) for p in pages)
    return f"{readme}\n\n```{{toctree}}\n:hidden:\n:maxdepth: 1\n\n{toc}\n```\n"


def stage(dest: Path = STAGE) -> list[str]:
    """Copy what the site shows into ``dest``; returns the notebooks' places in the book."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    pages = []
    for source, where in notebooks():
        nb = nbformat.read(source, as_version=4)
        nb.cells.insert(0, _links_cell(where))
        (dest / where).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest / where)
        pages.append(where)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (dest / "index.md").write_text(_index(readme, pages), encoding="utf-8")
    (dest / "conf.py").write_text(CONF, encoding="utf-8")
    return pages


def build(out: Path = OUT, stage_dir: Path = STAGE) -> Path:
    """Stage and run Sphinx; returns the folder of the HTML site."""
    stage(stage_dir)
    if out.exists():
        shutil.rmtree(out)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "2",
               "-d", str(stage_dir / "_doctrees"), str(stage_dir), str(out)]  # fmt: skip
    subprocess.run(command, check=True)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course.book", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=OUT, help="the site's folder")
    args = parser.parse_args(argv)
    out = build(args.out)
    print(f"the course as a website: {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
