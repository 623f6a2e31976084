"""Every submission's kernel in a sandbox while it is graded: ``SandboxedKernelManager``.

A submission is code from a stranger, and ``nbgrader autograde`` runs it with every right of the
grader: it could read ``source/`` (the hidden tests and the solutions), other students' work and
the gradebook, write anywhere, reach the network, or take the machine's memory. Here each kernel
nbgrader starts for grading runs under bubblewrap (``bwrap``, Debian's ``bubblewrap``: the
sandbox of Flatpak, small and well kept), which sees:

* a private copy of its own submission folder, at the same path (what it writes there is thrown
  away), and a private ``/tmp`` (``HOME`` too); both count towards a limit on what it may write;
* the Python environment, the library and the system's ``/usr`` read-only, and nothing else of the
  file system: no ``source/``, no other submission, no gradebook, no home, no ``.git``;
* no network at all: a network namespace of its own, whose loopback is not the machine's, so
  services on the machine's 127.0.0.1 are out of reach. The kernel talks to nbgrader over Unix
  sockets (ZeroMQ's IPC transport) in a folder bound into the sandbox, not over TCP;
* its own process and IPC namespaces (it cannot see or signal nbgrader, which it would otherwise
  kill with ``os.kill(os.getppid(), ...)``), no terminal (a new session), and it dies with its
  parent;
* one BLAS thread (``OMP_NUM_THREADS=1`` and the like, unless the grader sets them: make grade
  runs a kernel per core already, and a thread per core each would run into the process limit
  on a large machine);
* resource limits (``prlimit``): address space (``memory_mib``, default 2 GiB: a larger
  allocation fails with ``MemoryError``), processes (``processes``, default 64: a fork bomb gets
  ``BlockingIOError``), the size of one file (``file_size_mib``, default 512 MiB: a larger write
  fails with ``File too large``); and all it writes (``disk_mib``, default 1 GiB), watched from
  outside: past it, the kernel is stopped (bubblewrap 0.8, Debian 12's, cannot size a tmpfs).

Graded as root (CI, a container), the kernel runs as a user id of its own with no capabilities
(``setpriv``; the id is 1000000000 plus the grading process's id, so that two kernels graded at
once never share a process count); graded as an unprivileged user (the hub's instructor),
bubblewrap makes a user namespace instead, and the limits count that sandbox's processes alone.

The cell timeout is nbgrader's (``Execute.timeout``), interrupting over the control channel
(a signal to bubblewrap would not reach the kernel). The costs: measured by
``python -m benchmarks.grading`` (README, *For instructors*).

``nbgrader_config.py`` makes ``nbgrader autograde`` (and so ``make grade``) use it;
``--SandboxedKernelManager.enabled=False`` (``make grade ARGS=--no-sandbox``) turns it off.
Where the sandbox cannot be set up, grading refuses and says why (``problem()``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from functools import cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

__all__ = [
    "INSTALL",
    "remove_boxes",
    "SandboxedExecute",
    "SandboxedKernelManager",
    "problem",
    "sandbox_notes",
]

INSTALL = "make sandbox-deps (as root: apt-get install bubblewrap util-linux)"
UID_BASE = 1_000_000_000  # + the grading process's id: the kernel's user id when grading as root
PRESTART = "__import__('zmq.utils.garbage', fromlist=['gc']).gc.start()"  # zmq's thread
INSIDE = "/run/kernel"  # where the kernel finds its connection file and makes its sockets
SYSTEM_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")  # /usr merged or not
ETC = ("ld.so.cache", "ld.so.conf", "localtime", "passwd", "group", "nsswitch.conf", "fonts")
FONT_CACHE = "/var/cache/fontconfig"  # read-only: fontconfig then need not scan every font
# BLAS would start a thread per core, each counted against the process limit.
BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# The environment a kernel keeps (not the grader's other variables: a database URL, a token).
KEEP_ENV = ("LANG", "LANGUAGE", "TZ", "MPLBACKEND", "PYTHONHASHSEED")


def as_root() -> bool:
    return os.geteuid() == 0


def readable_paths() -> list[str]:
    """What the kernel reads: the Python environment grading runs in (the virtual environment and
    the Python it was made from) and the library, wherever it is installed."""
    library = importlib.util.find_spec("autodiff_lib")  # found, not imported (numpy is slow)
    paths = {
        sys.prefix,
        sys.exec_prefix,
        sys.base_prefix,
        sys.base_exec_prefix,
        str(Path(os.path.realpath(sys.executable)).parent.parent),
        str(Path(library.origin).resolve().parent),
    }
    paths = sorted({os.path.realpath(p) for p in paths} | paths)
    # a folder inside another one is bound with it; /usr is bound anyway
    keep = [p for p in paths if p not in ("/", "/usr") and Path(p).exists()]
    return [p for p in keep if not any(p != q and p.startswith(q + os.sep) for q in keep)]


def mount_point(args: list[str], path: str, made: set[str]) -> None:
    """Make ``path``'s parents inside the sandbox, readable by the kernel's user (bubblewrap makes
    them 0700 when it runs as root)."""
    parents = list(Path(path).parents)[::-1][1:]  # without "/"
    for parent in parents:
        if str(parent) not in made:
            made.add(str(parent))
            args += ["--perms", "0755", "--dir", str(parent)]


def namespaces() -> list[str]:
    """bubblewrap's namespaces: every one as an unprivileged user; as root no user namespace,
    so that the kernel can then drop to a user id of its own (setpriv)."""
    if as_root():
        return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try"]  # fmt: skip
    return ["--unshare-all"]


def bwrap_command(*, box: Path, cwd: str | None, uid: int | None, limits: dict) -> list[str]:
    """The command line that runs a kernel command (appended to it) inside the sandbox.

    ``box`` holds ``work/`` (the private copy of ``cwd``), ``tmp/`` and ``ipc/`` (the connection
    file and the sockets, seen inside at ``/run/kernel``)."""
    args = [shutil.which("bwrap") or "bwrap", *namespaces(), "--die-with-parent", "--new-session"]
    # the kernel's parent is bubblewrap's init, pid 1 inside: not a parent that died (nor a
    # kernel started by hand, which prints how to connect to it)
    args += ["--setenv", "JPY_PARENT_PID", "1"]
    made: set[str] = set()
    args += ["--ro-bind", "/usr", "/usr"]
    for name in SYSTEM_LINKS:
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    args += ["--perms", "0755", "--dir", "/etc"]
    made.add("/etc")
    for name in ETC:
        if (Path("/etc") / name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    if Path(FONT_CACHE).is_dir():
        mount_point(args, FONT_CACHE, made)
        args += ["--ro-bind", FONT_CACHE, FONT_CACHE]
    args += ["--proc", "/proc", "--dev", "/dev"]
    # the private /tmp first: a checkout or environment that lives under /tmp is bound on top
    args += ["--bind", str(box / "tmp"), "/tmp"]
    made.add("/tmp")
    for path in readable_paths():
        mount_point(args, path, made)
        args += ["--ro-bind", path, path]
    mount_point(args, INSIDE, made)
    args += ["--bind", str(box / "ipc"), INSIDE]
    if cwd is not None:
        mount_point(args, cwd, made)
        args += ["--bind", str(box / "work"), cwd, "--chdir", cwd]
    args += ["--", shutil.which("prlimit") or "prlimit"]
    args += [f"--{name}={value}" for name, value in limits.items()]
    if uid is not None:
        args += [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}",
                 "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
                 "--"]  # fmt: skip
    return args


@cache
def problem(quick: bool = False) -> str | None:
    """Why the sandbox cannot be set up here (and how to fix it), or None where it can: a
    sandboxed Python imports the library (``quick``: starts, as each grading process checks)."""
    if not sys.platform.startswith("linux"):
        return "the grading sandbox needs Linux (bubblewrap and its namespaces)."
    tools = ["bwrap", "prlimit", *(["setpriv"] if as_root() else [])]
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not found. Install them: {INSTALL}."
    with tempfile.TemporaryDirectory(prefix="adk-") as folder:
        box = Path(folder)
        for name in ("tmp", "ipc"):
            (box / name).mkdir()
        uid = UID_BASE + os.getpid() if as_root() else None
        command = bwrap_command(box=box, cwd=None, uid=uid, limits={"nproc": 64})
        try:
            done = subprocess.run(
                [*command, sys.executable, "-c", "" if quick else "import autodiff_lib"],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap did not run: {error}"
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no message"]
        return (
            f"bubblewrap could not start a sandboxed Python here ({why[0]}). It needs user "
            "namespaces (sysctl kernel.unprivileged_userns_clone=1) as an unprivileged user, "
            f"and the Python environment readable by every user as root. Install: {INSTALL}."
        )
    return None


def box_prefix(pid: int) -> str:
    return f"adk-{pid}-"


def remove_boxes(pid: int) -> None:
    """Remove the sandbox folders of grading process ``pid``, killed before it could."""
    for box in Path(tempfile.gettempdir()).glob(box_prefix(pid) + "*"):
        shutil.rmtree(box, ignore_errors=True)


def children_of() -> dict[int, list[int]]:
    """``{pid: [its children]}`` for every process (read from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    return children


def started(pid: int) -> int:
    """When process ``pid`` started (clock ticks since boot; 0 if it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return 0


def seed_matplotlib_cache(dest: Path) -> None:
    """Copy the grader's matplotlib font list into the kernel's fresh cache: building it again
    takes a second or two of every submission (its fonts are at the same paths inside)."""
    cache = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib"
    )
    for font_list in Path(cache).glob("fontlist-*.json"):
        dest.mkdir(exist_ok=True)
        with contextlib.suppress(OSError):
            shutil.copy(font_list, dest / font_list.name)


def disk_usage(folder: Path) -> int:
    """Bytes in the files under ``folder`` (what was written, sparse files at their size)."""
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run in the sandbox described above (IPC transport)."""

    enabled = Bool(True, help="Run kernels in the sandbox (False: as the grader).").tag(config=True)
    memory_mib = Integer(2048, help="Address space of each kernel process, MiB.").tag(config=True)
    processes = Integer(64, help="Processes and threads a kernel may run.").tag(config=True)
    file_size_mib = Integer(512, help="Largest file a kernel may write, MiB.").tag(config=True)
    disk_mib = Integer(1024, help="All a kernel may write (folder, /tmp), MiB.").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.box = None
        self.stopped_for = ""  # why the watchdog stopped the kernel, if it did
        self.kernel_pid = None  # as this machine sees it
        self._watching = threading.Event()

    async def _async_pre_start_kernel(self, **kw):
        if self.enabled and self.box is None:
            # short (a socket's path takes < 108 bytes), and named after the grading process
            self.box = Path(tempfile.mkdtemp(prefix=box_prefix(os.getpid())))
            for name in ("work", "tmp", "ipc"):
                (self.box / name).mkdir()
            self.transport = "ipc"
            self.ip = str(self.box / "ipc" / "k")
            self.connection_file = str(self.box / "ipc" / "host.json")
            self.cache_ports = False
        return await super()._async_pre_start_kernel(**kw)

    async def _async_start_kernel(self, **kw):
        try:
            await super()._async_start_kernel(**kw)
        except BaseException:
            self._remove_box()
            raise

    start_kernel = _async_start_kernel  # AsyncKernelManager's name is bound to its parent's

    def limits(self) -> dict:
        mib = 1024 * 1024
        return {
            "as": self.memory_mib * mib,
            "nproc": self.processes,
            "fsize": self.file_size_mib * mib,
            "core": 0,
        }

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if not self.enabled:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        why = problem(quick=True)
        if why is not None:
            raise RuntimeError(f"Refusing to run a submission outside the sandbox: {why}")
        box = self.box
        uid = UID_BASE + os.getpid() if as_root() else None
        cwd = kw.pop("cwd", None)
        if cwd is not None:
            shutil.rmtree(box / "work")
            shutil.copytree(cwd, box / "work", symlinks=True)
            cwd = os.path.realpath(cwd)
        kw["cwd"] = str(box)
        # the kernel's copy of the connection file: its sockets at /run/kernel/k-<port>
        info = json.loads(Path(self.connection_file).read_text())
        info["ip"] = f"{INSIDE}/k"
        (box / "ipc" / "kernel.json").write_text(json.dumps(info))
        kernel_cmd = [
            f"{INSIDE}/kernel.json" if arg == self.connection_file else arg for arg in kernel_cmd
        ]
        seed_matplotlib_cache(box / "tmp" / ".matplotlib")
        if uid is not None:
            for path in [box / "ipc", box / "work", box / "tmp", *(box / "work").rglob("*"),
                         *(box / "tmp").rglob("*")]:  # fmt: skip
                os.lchown(path, uid, uid)
        env = kw.get("env") or os.environ
        kw["env"] = {k: v for k, v in env.items() if k in KEEP_ENV or k.startswith("LC_")}
        kw["env"].update(
            PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            HOME="/tmp",
            MPLCONFIGDIR="/tmp/.matplotlib",
        )
        for name in BLAS_THREADS:  # one per kernel (make grade runs one kernel per core)
            kw["env"][name] = env.get(name, "1")
        # a signal to bubblewrap does not reach the kernel: interrupt over the control channel
        self.kernel_spec.interrupt_mode = "message"
        # the kernel's own threads first: under a fork bomb it could not start them later
        kernel_cmd = [*kernel_cmd, f"--IPKernelApp.exec_lines={PRESTART!r}"]
        command = bwrap_command(box=box, cwd=cwd, uid=uid, limits=self.limits())
        self.kernel_pid = None
        await super()._async_launch_kernel([*command, *kernel_cmd], **kw)
        self._watch_disk()

    def reap(self) -> int:
        """Kill what the kernel left running (its children, theirs): a cell's processes end with
        the cell, so that a fork bomb's children cannot hold the process limit for the cells after
        it. Returns how many were killed."""
        process = getattr(self.provisioner, "process", None)
        if not self.enabled or process is None or process.poll() is not None:
            return 0
        children = children_of()
        # bubblewrap -> its init (pid 1 inside) -> the kernel (its first child); orphans of the
        # kernel's processes become children of that init
        inits = children.get(process.pid, [])
        below = sorted(p for init in inits for p in children.get(init, []))
        if self.kernel_pid is None and below:
            self.kernel_pid = min(below, key=started)
        strays, todo = [], [p for p in below if p != self.kernel_pid]
        todo += children.get(self.kernel_pid, [])
        while todo:
            pid = todo.pop()
            strays.append(pid)
            todo += children.get(pid, [])
        for pid in strays:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return len(strays)

    def _watch_disk(self) -> None:
        """Stop the kernel once it has written more than ``disk_mib`` (checked twice a second)."""
        process = getattr(self.provisioner, "process", None)
        limit = self.disk_mib * 1024 * 1024
        box = self.box

        def watch():
            while not self._watching.wait(0.5) and process.poll() is None:
                used = disk_usage(box / "work") + disk_usage(box / "tmp")
                if used > limit:
                    self.stopped_for = f"it wrote more than {self.disk_mib} MiB"
                    self.log.warning("Sandbox: kernel stopped, %s", self.stopped_for)
                    process.kill()
                    return

        if process is not None:
            self._watching.clear()
            threading.Thread(target=watch, daemon=True, name="sandbox-disk").start()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self._remove_box()

    def _remove_box(self) -> None:
        self._watching.set()
        if self.box is not None:
            shutil.rmtree(self.box, ignore_errors=True)
            self.box = None


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` with its kernels in the sandbox (``SandboxedKernelManager``), and
    what a cell left running killed when it ends."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    async def async_execute_cell(self, *args, **kwargs):
        try:
            return await super().async_execute_cell(*args, **kwargs)
        finally:
            if isinstance(self.km, SandboxedKernelManager):
                self.km.reap()


# -- what make grade says about it ---------------------------------------------------------------
# (A kernel that died is noted by course/autograde.py's kernel_notes, with the cell it died in.)
LIMIT_ERRORS = {
    "MemoryError": "ran into the memory limit (MemoryError)",
    "BlockingIOError": "ran into the process limit (could not start a process)",
    "File too large": "ran into the file-size limit",
    "Resource temporarily unavailable": "ran into the process limit (could not start a process)",
}


def sandbox_notes(root: Path, config, graded) -> list[str]:
    """A note for each graded submission that hit a limit of the sandbox (read from the errors in
    its graded notebooks): its score stands, and the instructor knows why cells failed."""
    import nbformat

    notes = []
    for student, assignment in graded:
        folder = root / config.autograded_directory / student / assignment
        found = []
        for path in sorted(folder.glob("*.ipynb")):
            try:
                nb = nbformat.read(path, as_version=4)
            except Exception:  # noqa: BLE001 (unreadable: reported by grading itself)
                continue
            for cell in nb.cells:
                for output in cell.get("outputs", []):
                    if output.get("output_type") != "error":
                        continue
                    text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
                    found += [why for key, why in LIMIT_ERRORS.items() if key in text]
        for why in dict.fromkeys(found):
            notes.append(f"- {student} / {assignment}: {why} in the grading sandbox")
    return notes
