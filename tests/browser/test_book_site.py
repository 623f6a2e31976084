"""make book in headless Chromium (issue 17, point 14): the site is built from the working tree
into a temporary folder (course/book.py, Sphinx with myst-nb), served over HTTP, and every page
is loaded: it answers, raises no script error, draws every image (each figure a lecture stores
is on its page), links its notebook for download, and shows no solution or hidden-test line."""

from __future__ import annotations

import functools
import http.server
import threading

import nbformat
import pytest
from coursekit import ROOT, leaked_lines

from course import book

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built site, served on a free port of 127.0.0.1: its base URL and its folder."""
    try:
        import myst_nb  # noqa: F401
    except ImportError:
        pytest.fail("make book needs the book extra: run `make book` (it installs Sphinx)")
    folder = tmp_path_factory.mktemp("book")
    html = book.build(out=folder / "html", stage_dir=folder / "src")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(html))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", html
    server.shutdown()


def figures(page: str) -> int:
    """How many images the notebook behind a page stores in its outputs."""
    nb = nbformat.read(ROOT / page, as_version=4)
    return sum(
        "image/png" in output.get("data", {})
        for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs
    )  # fmt: skip


def missing(url: str, errors: list) -> None:
    """A resource that did not load, unless it is one the site may lack offline: MathJax, which
    Sphinx loads from its CDN (the test machine has no network; formulas then stay TeX), and
    the favicon Chromium asks for on its own."""
    if not (url.startswith(MATHJAX_CDN) or url.endswith("/favicon.ico")):
        errors.append(f"failed to load {url}")


MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax"
PAGES = ["index.html"] + [where.replace(".ipynb", ".html") for _, where in book.notebooks()]


def test_every_page_loads_draws_its_figures_and_keeps_its_secrets(site, browser):
    base, html = site
    assert sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if p.parent != html or p.name == "index.html") == sorted(PAGES)  # fmt: skip
    secrets = leaked_lines()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: missing(request.url, errors))
    page.on("response", lambda r: missing(r.url, errors) if r.status >= 400 else None)
    problems = []
    for path in PAGES:
        errors.clear()
        response = page.goto(base + path, wait_until="load")
        if not response or not response.ok:
            problems.append(f"{path}: HTTP {response and response.status}")
            continue
        images = page.evaluate(
            "() => Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
        )
        if not all(images):
            problems.append(f"{path}: {images.count(False)} images not drawn")
        text = page.inner_text("body")
        if path != "index.html":
            notebook = path.replace(".html", ".ipynb")
            if len(images) < figures(notebook):
                problems.append(f"{path}: {len(images)} images, the notebook has "
                                f"{figures(notebook)}")  # fmt: skip
            download = page.locator("a", has_text="Download").first
            href = download.get_attribute("href")
            fetched = page.request.get(base + path.rsplit("/", 1)[0] + "/" + href)
            if not fetched.ok or "nbformat" not in fetched.text():
                problems.append(f"{path}: the download link {href} does not give the notebook")
            if page.locator("a", has_text="Open in JupyterLab").count() != 1:
                problems.append(f"{path}: no link to open it in JupyterLab")
        shown = {line.strip() for line in text.splitlines()}
        markers = path != "index.html" and ("### BEGIN SOLUTION" in text or "### BEGIN HIDDEN"
                                            in text)  # the README explains the markers
        if shown & secrets or markers:
            problems.append(f"{path}: shows {sorted(shown & secrets)[:3]}")
        if errors:
            problems.append(f"{path}: script errors {errors[:3]}")
    context.close()
    assert not problems, "\n".join(problems)
