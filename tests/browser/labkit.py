"""JupyterLab as a student sees it, driven in headless Chromium through Playwright.

``Lab`` serves a copy of the course with ``make lab``'s command (no token, a free port on
127.0.0.1, private settings, workspaces and checkpoints) and stops the server and every
process it started (kernels, nbgrader's validator) by PID. ``Notebook`` opens one notebook
in the browser and does what a student does: the Edit and Run menus, typing into cells, the
Validate button. It reads back what JupyterLab drew, cell by cell, and every failure names the
notebook, the cell and the error text.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import ipywidgets
import nbformat
from coursekit import BIN, ROOT, copy_course, environment, free_port, make_lab_command

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package, installed by `make browser-deps`
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
FOLDERS = ["notebooks", "source", "release"]  # what the browser tests open, besides fixtures

# JupyterLab's settings for the test: every cell drawn (no windowing, so that the page holds
# them all), nothing saved behind the test's back, no request to the news feed.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}

# What a widget looks like when JupyterLab cannot draw it: its Python repr as text.
WIDGET_NAMES = sorted(
    name for name, obj in vars(ipywidgets).items()
    if isinstance(obj, type) and issubclass(obj, ipywidgets.Widget)
)  # fmt: skip
WIDGET_AS_TEXT = re.compile(rf"^\s*(?:{'|'.join(WIDGET_NAMES)})\(")
WIDGET_ERRORS = re.compile(r"Error displaying widget|Error rendering view|model not found")
WIDGET_LOADING = "Loading widget..."  # what ipywidgets shows until the widget's model arrives
# JupyterLab draws an error (a traceback) and a stream to stderr (a warning) alike, as
# application/vnd.jupyter.stderr: an error is the one that ends on the exception's name
# (IPython's tracebacks do; SyntaxError's has no "Traceback" header).
STDERR_MIME = "application/vnd.jupyter.stderr"
EXCEPTION_LINE = re.compile(
    r"^([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit|Iteration))(?::|$)"
)


def is_error(output: dict) -> bool:
    if output["mime"] != STDERR_MIME:
        return False
    lines = [line for line in output["text"].splitlines() if line.strip()]
    return bool(lines) and (
        "Traceback (most recent call last)" in output["text"]
        or bool(EXCEPTION_LINE.match(lines[-1]))
    )


# -- processes ---------------------------------------------------------------------------------
def _stat(pid: int) -> tuple[int, str] | None:
    """(parent PID, start time) of a live process, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[19]


def descendants(pid: int) -> dict[int, str]:
    """Every live process below ``pid``: {PID: start time} (the start time tells a PID reused
    by another process apart)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))):
            parents[int(entry)] = stat
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, started) in parents.items():
            if ppid == parent and child not in found:
                found[child] = started
                frontier.append(child)
    return found


def _alive(pid: int, started: str) -> bool:
    stat = _stat(pid)
    if stat is None:
        return False
    try:  # a zombie has exited; it is reaped by its parent (or by init)
        if Path(f"/proc/{pid}/status").read_text().find("State:\tZ") >= 0:
            return False
    except OSError:
        return False
    return stat[1] == started


def stop_processes(processes: dict[int, str], grace: float = 5.0) -> list[int]:
    """SIGTERM each process by PID, then SIGKILL those still alive after ``grace`` seconds;
    returns the PIDs that survived both."""
    for pid, started in processes.items():
        if _alive(pid, started):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p, s) for p, s in processes.items()):
        time.sleep(0.1)
    for pid, started in processes.items():
        if _alive(pid, started):
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    return [pid for pid, started in processes.items() if _alive(pid, started)]


# -- the server --------------------------------------------------------------------------------
def copy_served_course(dest: Path) -> Path:
    """The course as ``make lab`` serves it: config, course/, source/, release/, notebooks/,
    and the text files paired with the notebooks (assignments/, lectures/): opening a notebook
    of source/ or notebooks/ reads its cells from its text, as in ``make lab``."""
    root = copy_course(dest)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    for folder in ["release", "notebooks", "assignments", "lectures"]:
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, root / folder, ignore=ignore)
    return root


@dataclass
class Lab:
    """JupyterLab run with ``make lab``'s command in ``root``; its own files all in ``state``."""

    root: Path
    state: Path
    port: int = 0
    process: subprocess.Popen | None = None
    started: dict[int, str] = field(default_factory=dict)  # every process seen below the server
    shutting_down: list[threading.Thread] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> Lab:
        settings = self.state / "settings"
        for name, values in SETTINGS.items():
            path = settings / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        settings_of_make, command = make_lab_command()  # its variables, then the command
        assert command[0].endswith("jupyter"), command
        self.port = free_port()
        env = environment() | {
            "JUPYTER_CONFIG_DIR": str(self.state / "config"),
            "JUPYTER_DATA_DIR": str(self.state / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.state / "runtime"),
            "IPYTHONDIR": str(self.state / "ipython"),
            "MPLCONFIGDIR": str(self.state / "matplotlib"),
        }
        env |= {
            name: value.replace(str(ROOT), str(self.root))
            for name, value in settings_of_make.items()
        }
        self.log = self.state / "jupyterlab.log"
        self.process = subprocess.Popen(
            [str(BIN / "jupyter"), *command[1:], f"--port={self.port}", "--no-browser",
             "--IdentityProvider.token=", "--ServerApp.password=",
             f"--LabApp.user_settings_dir={settings}",
             f"--LabApp.workspaces_dir={self.state / 'workspaces'}",
             f"--FileCheckpoints.checkpoint_dir={self.state / 'checkpoints'}"],
            cwd=self.root, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            try:
                if urllib.request.urlopen(f"{self.url}/lab", timeout=2).status == 200:
                    return self
            except OSError:
                pass
            assert self.process.poll() is None, f"JupyterLab exited:\n{self.log.read_text()}"
            assert time.monotonic() < deadline, f"no /lab after {timeout} s:\n{self.log_tail()}"
            time.sleep(0.25)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def api(self, path: str, method: str = "GET"):
        """A call to the server's REST API (with the XSRF cookie it asks of a change)."""
        if not hasattr(self, "_opener"):
            jar = http.cookiejar.CookieJar()
            self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            self._opener.open(f"{self.url}/lab", timeout=30).read()
            self._xsrf = next((c.value for c in jar if c.name == "_xsrf"), "")
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"X-XSRFToken": self._xsrf}
        )
        with self._opener.open(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def remember_processes(self) -> None:
        """Note every process below the server now (kernels, validators), to stop them later
        even if they outlive it."""
        if self.process is not None and self.process.poll() is None:
            self.started |= descendants(self.process.pid)

    def shut_down_kernels(self, wait: bool = True) -> None:
        """Close every session and kernel there is now, as closing the notebook and shutting
        down its kernel would; ``wait=False``: in the background, while the next notebook
        opens (``stop`` waits for it)."""
        self.remember_processes()
        doomed = [f"/api/sessions/{s['id']}" for s in self.api("/api/sessions")]
        doomed += [f"/api/kernels/{k['id']}" for k in self.api("/api/kernels")]

        def shut_down():
            for path in doomed:
                try:
                    self.api(path, "DELETE")
                except urllib.error.HTTPError as error:  # 404: gone with its session
                    if error.code != 404:
                        raise

        if wait:
            shut_down()
        else:
            worker = threading.Thread(target=shut_down, daemon=True)
            worker.start()
            self.shutting_down.append(worker)

    def stop(self) -> list[int]:
        """Stop the kernels, then the server, then anything left of what it started, by PID;
        returns the PIDs that could not be stopped."""
        if self.process is None:
            return []
        for worker in self.shutting_down:
            worker.join(timeout=30)
        try:
            self.shut_down_kernels()
        except OSError:
            pass
        self.remember_processes()
        server = {self.process.pid: _stat(self.process.pid)[1]} if _stat(self.process.pid) else {}
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        left = stop_processes(self.started)
        return left + [pid for pid, s in server.items() if _alive(pid, s)]


# -- the browser -------------------------------------------------------------------------------
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on screen
CELLS = f"{PANEL} .jp-Notebook .jp-Cell"
STATUS = "#jp-main-statusbar"  # shows the kernel of the notebook on screen: '... | Idle'


def js(code: str) -> str:
    """JavaScript for the page, with PANEL, CELLS and STATUS put in."""
    return code.replace("PANEL", PANEL).replace("CELLS", CELLS).replace("STATUS", STATUS)


class NotebookFailure(AssertionError):
    pass


@dataclass
class Cell:
    """One cell as JupyterLab drew it."""

    index: int  # 0-based position in the notebook
    kind: str  # code, markdown or raw
    prompt: str  # '[3]:', '[*]:', '[ ]:' ('' for markdown)
    rendered: bool  # markdown: shown as rendered text, not as its source
    math_errors: int  # formulas MathJax could not typeset
    outputs: list[dict]  # {mime, text, width, height, widgets, images}

    @property
    def count(self) -> int | None:
        match = re.search(r"\[(\d+)\]", self.prompt)
        return int(match.group(1)) if match else None

    def errors(self) -> list[dict]:
        return [o for o in self.outputs if is_error(o)]


def error_name(text: str) -> str:
    """The exception's name from a rendered traceback: its last line that names one."""
    for line in reversed(text.strip().splitlines()):
        if match := EXCEPTION_LINE.match(line.strip()):
            return match.group(1).split(".")[-1]
    return ""


def error_summary(text: str, lines: int = 6) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


SNAPSHOT_JS = js("""
() => [...document.querySelectorAll('CELLS')].map((c, i) => ({
  index: i,
  kind: c.classList.contains('jp-CodeCell') ? 'code'
      : c.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
  prompt: c.classList.contains('jp-CodeCell')
      ? (c.querySelector('.jp-InputArea-prompt') || {innerText: ''}).innerText.trim() : '',
  rendered: c.classList.contains('jp-MarkdownCell')
      ? c.classList.contains('jp-mod-rendered') && !!c.querySelector('.jp-RenderedMarkdown')
      : true,
  math_errors: c.querySelectorAll('mjx-merror, .MathJax_Error').length,
  outputs: [...c.querySelectorAll(':scope > .jp-Cell-outputWrapper .jp-OutputArea-output')]
    .map(o => {
      const box = o.getBoundingClientRect();
      return {mime: o.dataset.mimeType || '', text: o.innerText || '',
              width: box.width, height: box.height,
              widgets: o.querySelectorAll('.jupyter-widgets').length,
              images: o.querySelectorAll('img, canvas, svg.main-svg').length};
    }),
}))
""")

# Everything the outputs of the notebook show, sliders left out: what moving a slider changes.
OUTPUTS_SIGNATURE_JS = js("""
() => [...document.querySelectorAll('PANEL .jp-Cell-outputWrapper')].map(w => {
  const copy = w.cloneNode(true);
  copy.querySelectorAll('.widget-slider').forEach(s => s.remove());
  return copy.innerHTML;
}).join('\\n')
""")

# Before a run: watch the prompts, and note when one shows [*] (a cell queued or running).
# (textContent, not innerText, in what runs often: it does not make the page lay itself out.)
WATCH_RUN_JS = js("""
() => {
  const nb = document.querySelector('PANEL .jp-Notebook');
  if (window.__runWatch) window.__runWatch.disconnect();
  window.__runStarted = false;
  window.__runWatch = new MutationObserver(() => {
    if ([...nb.querySelectorAll('.jp-InputArea-prompt')].some(p => p.textContent.includes('*')))
      window.__runStarted = true;
  });
  window.__runWatch.observe(nb, {subtree: true, childList: true, characterData: true});
}
""")

KERNEL_IDLE_JS = js("() => document.querySelector('STATUS').textContent.includes('| Idle')")

# The run is over: it started, no prompt shows [*] any more, and the kernel is idle.
RUN_DONE_JS = js("""
() => window.__runStarted
  && ![...document.querySelectorAll('PANEL .jp-InputArea-prompt')]
       .some(p => p.textContent.includes('*'))
  && document.querySelector('STATUS').textContent.includes('| Idle')
""")


def open_lab(page, lab: Lab) -> None:
    """Load JupyterLab in ``page`` with a fresh workspace (nothing reopened from before)."""
    page.goto(f"{lab.url}/lab?reset", wait_until="domcontentloaded")
    page.wait_for_selector(".lm-MenuBar-item", timeout=90_000)
    page.wait_for_selector(STATUS, timeout=90_000)


def fold_left_panel(page) -> None:
    """Fold the file browser away (opening a file shows it): the notebook gets the width."""
    current = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if current.count():
        current.first.click()


def menu(page, name: str, command: str) -> None:
    """Click ``name`` in the menu bar, then the item that runs ``command``."""
    page.keyboard.press("Escape")
    page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{name}$")).click()
    page.locator(f".lm-Menu-item[data-command='{command}']").click()


def show_file_browser(page) -> None:
    """Unfold the file browser in the left sidebar (``fold_left_panel`` folds it)."""
    tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id='filebrowser']")
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()


def exactly(text: str) -> re.Pattern:
    """A label that is ``text`` and nothing more (has_text alone also finds longer labels)."""
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def listed(page, path: str):
    """The file browser, shown and gone to the folder of ``path`` (File > Open from Path...
    with the folder); the file's entry in it."""
    folder, _, name = path.rpartition("/")
    menu(page, "File", "filebrowser:open-path")
    page.locator(".jp-Dialog input").fill(folder + "/")
    page.keyboard.press("Enter")
    show_file_browser(page)
    return page.locator(".jp-DirListing-item").filter(
        has=page.locator(".jp-DirListing-itemText", has_text=exactly(name))
    )


def open_with(page, path: str, viewer: str) -> None:
    """Open ``path`` as an instructor does with a file that is not opened as wanted by a double
    click: go to its folder (File > Open from Path... with the folder), right-click the file in
    the file browser, then *Open With* > ``viewer`` (the menu's exact label)."""
    listed(page, path).click(button="right")
    page.locator(".lm-Menu-item").filter(
        has=page.locator(".lm-Menu-itemLabel", has_text=exactly("Open With"))
    ).hover()
    page.locator(".lm-Menu-item").filter(
        has=page.locator(".lm-Menu-itemLabel", has_text=exactly(viewer))
    ).click()


@contextmanager
def restored(root: Path, *paths: str):
    """Put each file back as it was afterwards, content and modification time: a test that
    saves into the served course leaves it as it found it (the ``lab`` fixture checks)."""
    kept = {path: ((root / path).read_bytes(), (root / path).stat()) for path in paths}
    try:
        yield
    finally:
        for path, (content, stat) in kept.items():
            (root / path).write_bytes(content)
            os.utime(root / path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def close_all(page, lab: Lab) -> None:
    """File > Close All Tabs, discarding changes (as a student who does not save), then shut
    down every kernel. Anything unexpected: load JupyterLab afresh."""
    try:
        if page.locator(".jp-Dialog").count():
            page.locator(".jp-Dialog .jp-Dialog-button").first.click()  # Cancel / OK
        if page.locator(".jp-NotebookPanel").count():
            menu(page, "File", "application:close-all")
            discard = page.locator(".jp-Dialog .jp-Dialog-button", has_text="Discard")
            for _ in range(20):  # one "Save your work?" per notebook changed
                if discard.count():
                    discard.first.click()
                elif not page.locator(".jp-NotebookPanel").count():
                    break
                page.wait_for_timeout(100)
        assert not page.locator(".jp-NotebookPanel").count(), "a notebook stayed open"
    except Exception:
        open_lab(page, lab)
    lab.shut_down_kernels(wait=False)


class Notebook:
    """A notebook open in JupyterLab in one browser page."""

    def __init__(self, page, lab: Lab, path: str, timeout: float = 300):
        self.page, self.lab, self.path, self.timeout = page, lab, path, timeout
        self.file = nbformat.read(lab.root / path, as_version=4)

    # -- naming things in failure messages ---------------------------------------------------
    def describe(self, index: int) -> str:
        cell = self.file.cells[index]
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        first = next((line for line in cell.source.splitlines() if line.strip()), "")
        name = f" '{grade_id}'" if grade_id else ""
        return f"cell {index + 1}{name} ({cell.cell_type}: {first[:70]!r})"

    def fail(self, problems: list[str]) -> None:
        if problems:
            raise NotebookFailure(f"{self.path}:\n  " + "\n  ".join(problems))

    # -- opening, menus, running -------------------------------------------------------------
    def open(self) -> Notebook:
        """File > Open from Path..., then wait for every cell and for the kernel."""
        if not self.page.locator(".lm-MenuBar-item").count():
            open_lab(self.page, self.lab)
        close_all(self.page, self.lab)
        self.menu("File", "filebrowser:open-path")
        self.page.locator(".jp-Dialog input").fill(self.path)
        self.page.keyboard.press("Enter")
        try:  # JupyterLab draws the cells a few at a time
            self.page.wait_for_function(
                js("(n) => document.querySelectorAll('CELLS').length === n"),
                arg=len(self.file.cells), timeout=60_000,
            )  # fmt: skip
        except Exception:
            raise NotebookFailure(
                f"{self.path}: JupyterLab shows {len(self.cells())} cells, "
                f"the file has {len(self.file.cells)}"
            ) from None
        self.page.wait_for_function(KERNEL_IDLE_JS, timeout=90_000)  # the kernel has started
        fold_left_panel(self.page)
        return self

    def menu(self, name: str, command: str) -> None:
        menu(self.page, name, command)

    def cell(self, index: int):
        return self.page.locator(CELLS).nth(index)

    def clear_outputs(self) -> None:
        """Edit > Clear Outputs of All Cells."""
        self.menu("Edit", "editmenu:clear-all")
        self.page.wait_for_function(
            js("() => !document.querySelector('PANEL .jp-OutputArea-output')")
        )

    def select(self, index: int) -> None:
        """Select a cell as a student does: click beside its input (command mode)."""
        self.page.keyboard.press("Escape")
        self.cell(index).locator(".jp-InputPrompt").first.click()

    def _run(self, first: int, menu_command: str) -> None:
        if not any(c.kind == "code" and c.index >= first for c in self.cells()):
            return
        self.page.evaluate(WATCH_RUN_JS)
        self.menu("Run", menu_command)
        try:
            self.page.wait_for_function(RUN_DONE_JS, timeout=self.timeout * 1000, polling=100)
        except Exception as error:  # Playwright's TimeoutError: name the cells still running
            running = [self.describe(c.index) for c in self.cells() if "*" in c.prompt]
            raise NotebookFailure(
                f"{self.path}: still running after {self.timeout:.0f} s: {running or 'no cell'}"
                f" ({type(error).__name__})"
            ) from None

    def run_all(self) -> None:
        """Run > Run All Cells, and wait until every cell it ran is done and the kernel idle."""
        self._run(0, "runmenu:run-all")

    def run_to_the_end(self) -> list[Cell]:
        """Run All Cells; where a cell raised and the run stopped, go on as a student would
        (select the next cell, Run > Run Selected Cell and All Below) until every cell ran."""
        self.run_all()
        while True:
            cells = self.cells()
            waiting = [c for c in cells if c.kind == "code" and c.count is None]
            if not waiting:
                return cells
            first = waiting[0].index
            assert any(c.errors() for c in cells[:first]), (
                f"{self.path}: {self.describe(first)} did not run, and no cell above it failed"
            )
            self.select(first)
            self._run(first, "notebook:run-all-below")

    def wait_idle(self) -> None:
        self.page.wait_for_function(KERNEL_IDLE_JS, timeout=self.timeout * 1000, polling=200)

    # -- what JupyterLab drew ----------------------------------------------------------------
    def cells(self) -> list[Cell]:
        return [Cell(**c) for c in self.page.evaluate(SNAPSHOT_JS)]

    def errors(self, cells: list[Cell] | None = None) -> list[tuple[int, str]]:
        """(cell index, error text) for every error output."""
        cells = self.cells() if cells is None else cells
        return [(c.index, o["text"]) for c in cells for o in c.errors()]

    def error_report(self, found: list[tuple[int, str]]) -> list[str]:
        return [
            f"{self.describe(i)} raised {error_name(text)}:\n{error_summary(text)}"
            for i, text in found
        ]

    def check_rendered(self, cells: list[Cell]) -> list[str]:
        """Every markdown cell rendered, with its formulas typeset; every code cell ran."""
        problems = []
        for cell in cells:
            where = self.describe(cell.index)
            if cell.kind == "markdown" and not cell.rendered:
                problems.append(f"{where} is not rendered")
            if cell.math_errors:
                problems.append(f"{where}: {cell.math_errors} formula(s) fail to typeset")
            if cell.kind == "code" and cell.count is None:
                problems.append(f"{where} did not run (prompt {cell.prompt!r})")
        return problems

    def check_widgets(self, settle: float = 10) -> list[str]:
        """Every widget drawn as a widget: not as its Python repr, not as an error, not still
        loading after ``settle`` seconds, not empty. (ipywidgets' renderer gives its output no
        MIME type: a widget output is one without.)"""
        try:
            self.page.wait_for_function(
                js("(text) => ![...document.querySelectorAll('PANEL .jp-OutputArea-output')]"
                   ".some(o => o.textContent.includes(text))"),
                arg=WIDGET_LOADING, timeout=settle * 1000, polling=250,
            )  # fmt: skip
        except Exception:
            pass  # reported below, cell by cell
        problems = []
        for cell in self.cells():
            where = self.describe(cell.index)
            for output in cell.outputs:
                text = output["text"].strip()
                if output["mime"] == "":
                    if WIDGET_ERRORS.search(text) or WIDGET_LOADING in text:
                        problems.append(f"{where}: widget not drawn: {text[:200]!r}")
                    elif not output["widgets"] or not (output["width"] and output["height"]):
                        problems.append(f"{where}: widget output is empty")
                elif output["mime"] == "text/plain" and WIDGET_AS_TEXT.match(text):
                    problems.append(f"{where}: a widget shows only as text: {text[:200]!r}")
        return problems

    def sliders(self):
        return self.page.locator(f"{PANEL} .jp-Cell-outputWrapper .widget-slider")

    def move_slider(self, slider, attempts: int = 3) -> str:
        """Drag the slider's handle half-way to the farther end of its track, as with a mouse;
        returns the slider's readout afterwards. A drag measured while the notebook above was
        still re-laying out misses the handle, so it is measured again and retried; the last
        try uses the keyboard (End or Home on the focused handle), as a student could."""
        readout = slider.locator(".widget-readout")

        def value() -> str:
            return readout.first.inner_text() if readout.count() else ""

        before = value()
        for attempt in range(attempts):
            slider.scroll_into_view_if_needed()
            self.page.wait_for_timeout(200 * attempt)  # let a moving layout settle
            handle = slider.locator(".noUi-handle").first
            track = slider.locator(".noUi-base, .noUi-target").first
            h, t = handle.bounding_box(), track.bounding_box()
            assert h and t, "slider without a drawn handle or track"
            x, y = h["x"] + h["width"] / 2, h["y"] + h["height"] / 2
            right, left = t["x"] + t["width"] - x, x - t["x"]
            if attempt < attempts - 1:
                target = x + right / 2 if right >= left else x - left / 2
                self.page.mouse.move(x, y)
                self.page.mouse.down()
                self.page.mouse.move(target, y, steps=8)
                self.page.mouse.up()
            else:
                handle.focus()
                self.page.keyboard.press("End" if right >= left else "Home")
            try:
                self.page.wait_for_function(
                    "([el, before]) => { const r = el.querySelector('.widget-readout');"
                    " return !r || r.innerText !== before; }",
                    arg=[slider.element_handle(), before], timeout=1000, polling=100,
                )  # fmt: skip
                break
            except Exception:
                continue
        return value()

    def check_sliders(self, settle: float = 30) -> tuple[int, list[str]]:
        """Move every slider drawn, one at a time; each must change what the notebook's
        outputs show (sliders themselves left out), without an error. Returns (sliders moved,
        problems)."""
        problems = []
        count = self.sliders().count()
        for k in range(count):
            slider = self.sliders().nth(k)
            label = slider.locator(".widget-label").first
            name = label.inner_text().strip() if label.count() else f"slider {k + 1}"
            index = slider.evaluate(js("s => [...document.querySelectorAll('CELLS')]"
                                       ".indexOf(s.closest('.jp-Cell'))"))  # fmt: skip
            where = self.describe(index)
            readout = slider.locator(".widget-readout")
            value_before = readout.first.inner_text() if readout.count() else ""
            errors_before = self.errors()
            before = self.page.evaluate(OUTPUTS_SIGNATURE_JS)
            value_after = self.move_slider(slider)
            if value_after == value_before:
                problems.append(f"{where}: slider {name!r} did not move (still {value_before})")
                continue
            try:
                self.page.wait_for_function(
                    f"(before) => ({OUTPUTS_SIGNATURE_JS})() !== before",
                    arg=before, timeout=settle * 1000, polling=250,
                )  # fmt: skip
            except Exception:
                problems.append(
                    f"{where}: moving slider {name!r} from {value_before} to {value_after} "
                    f"changed no output in {settle:.0f} s"
                )
                continue
            self.wait_idle()
            new = [e for e in self.errors() if e not in errors_before]
            if new:
                report = "; ".join(self.error_report(new))
                problems.append(f"{where}: after moving slider {name!r}: {report}")
        return count, problems

    def screenshot(self, path: Path) -> Path:
        """The whole notebook in one picture: the page made as tall as the notebook."""
        path.parent.mkdir(parents=True, exist_ok=True)
        size = self.page.viewport_size
        outer = f"document.querySelector('{PANEL} .jp-WindowedPanel-outer')"
        self.page.evaluate(f"() => {outer}.scrollTo(0, 0)")
        height = self.page.evaluate(
            f"() => {outer}.scrollHeight + {outer}.getBoundingClientRect().top + 40"
        )
        self.page.set_viewport_size({"width": size["width"], "height": min(int(height), 30_000)})
        self.page.wait_for_timeout(300)  # one layout after the resize
        self.page.screenshot(path=str(path), full_page=True)
        self.page.set_viewport_size(size)
        return path

    # -- a student's hands -------------------------------------------------------------------
    def replace_cell_text(self, index: int, text: str) -> None:
        """Click into a cell's editor, select all of it and type ``text`` over it (inserted as
        typed text, so that the editor's auto-indent and closing brackets leave it as is)."""
        cell = self.cell(index)
        cell.scroll_into_view_if_needed()
        if self.file.cells[index].cell_type == "markdown":
            cell.dblclick()  # a rendered markdown cell opens its editor on a double click
        cell.locator(".cm-content").first.click()
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(text)
        self.page.keyboard.press("Escape")

    def validate(self, timeout: float = 300) -> tuple[str, str]:
        """Press nbgrader's Validate button in the notebook toolbar; returns the result dialog's
        kind (validation-success, validation-failed, ...) and its text, and closes it."""
        button = self.page.locator(f"{PANEL} .jp-NotebookPanel-toolbar jp-button.validate-button")
        assert button.count() == 1, f"{self.path}: no Validate button in the toolbar"
        button.click()
        dialog = self.page.locator(".jp-Dialog").first
        dialog.locator(".jp-Dialog-body").wait_for(timeout=timeout * 1000)
        result = dialog.locator("#validation-message")
        classes = (result.get_attribute("class") or "").split() if result.count() else []
        kind = " ".join(c for c in classes if c.startswith("validation-"))
        text = dialog.inner_text()
        dialog.locator(".jp-Dialog-button").last.click()
        dialog.wait_for(state="detached")
        return kind, text
