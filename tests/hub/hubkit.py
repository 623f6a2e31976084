"""Helpers of the hub test: processes and users by PID and uid, the hub's REST API, a student
logging in through the login form, and what one user can see of another (files, kernels)."""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests


# -- processes and users: everything started here is stopped by its PID ------------------------
def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def processes_of(uid: int) -> list[int]:
    """The PIDs of the processes run by ``uid`` (read from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
            except FileNotFoundError:
                pass
    return pids


def children(pid: int) -> list[int]:
    """The direct children of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def niceness(pid: int) -> int:
    """The nice value of a process (field 19 of /proc/PID/stat)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far, user and system (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuAccount:
    """A cgroup of the v1 ``cpuacct`` hierarchy that counts the CPU time of a command and of
    everything it starts (forked workers, kernels): ``preexec_fn=account.join``."""

    def __init__(self, name: str):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "cpuacct" in controllers.split(","):
                self.folder = Path("/sys/fs/cgroup/cpuacct") / path.lstrip("/") / name
                break
        else:
            raise AssertionError("no cgroup v1 cpuacct hierarchy to count CPU time with")
        self.folder.mkdir()

    def join(self) -> None:
        (self.folder / "cgroup.procs").write_text(str(os.getpid()))

    def seconds(self) -> float:
        return int((self.folder / "cpuacct.usage").read_text()) / 1e9

    def remove(self) -> None:
        self.folder.rmdir()


def stop(pid: int, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if not pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        except ChildProcessError:
            pass
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


def remove_user(name: str) -> None:
    """Stop the user's processes (by PID), then remove the user, their home and group."""
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return
    for _ in range(3):
        pids = processes_of(uid)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.3)
    subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)


class Cleanup:
    """Undo everything, in reverse order, once: at the end of the fixture, at exit, on SIGTERM."""

    def __init__(self):
        self.steps = []
        self.log = None  # the hub's log file, shown if the run fails

    def add(self, step, *args):
        self.steps.append((step, args))

    def __call__(self):
        while self.steps:
            step, args = self.steps.pop()
            try:
                step(*args)
            except Exception as error:  # keep undoing the rest
                print(f"cleanup: {step.__name__}{args}: {error}", file=sys.stderr)


def wait_for(what, check, timeout, alive=None, every=0.25):
    """Poll ``check()`` until it returns something true, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise AssertionError(f"gave up waiting for {what}: the hub exited")
        try:
            result = check()
        except requests.RequestException:
            result = None
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"{what}: not ready after {timeout} s")


# -- talking to the hub and to the users ---------------------------------------------------------
class Hub:
    def __init__(self, url, admin_token):
        self.url = url
        self.admin = {"Authorization": f"token {admin_token}"}

    def api(self, method, path, token=None, **kwargs):
        headers = self.admin if token is None else {"Authorization": f"token {token}"}
        response = requests.request(
            method, f"{self.url}/hub/api{path}", headers=headers, timeout=60, **kwargs
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def server(self, method, user, path, token, **kwargs):
        """A request to ``user``'s own server, through the proxy, with ``token``."""
        return requests.request(
            method,
            f"{self.url}/user/{user}/{path.lstrip('/')}",
            headers={"Authorization": f"token {token}"},
            timeout=120,
            allow_redirects=False,
            **kwargs,
        )

    def servers(self) -> dict:
        """``{user: their default server's model}`` for every user with one (ready or not)."""
        users = self.api("GET", "/users")
        return {u["name"]: u["servers"][""] for u in users if "" in u.get("servers", {})}

    def log_in(self, name, password) -> tuple[requests.Session, requests.Response]:
        """A student in a browser: the login form, then wherever the hub sends them.

        Returns the session (its cookie) and the last page: the spawn-pending page, their
        server, or an error page (429 when too many servers are starting).
        """
        session = requests.Session()
        form = session.get(f"{self.url}/hub/login", timeout=120)
        form.raise_for_status()
        xsrf = re.search(r'name="_xsrf"\s+value="([^"]+)"', form.text).group(1)
        page = session.post(
            f"{self.url}/hub/login?next=",
            data={"username": name, "password": password, "_xsrf": xsrf},
            timeout=300,
        )
        return session, page

    def spawn_page(self, session, name) -> requests.Response:
        """Reload the spawn page, as a student told to try again does."""
        return session.get(f"{self.url}/hub/spawn/{name}", timeout=300)


def server_environment(pid: int) -> dict:
    """The environment of a user's running server: what a terminal of that server gets."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def as_user(user, command, env, cwd, timeout=300, preexec_fn=None):
    """Run ``command`` as ``user`` with exactly ``env``, in ``cwd``; output as text."""
    result = subprocess.run(
        ["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )
    result.log = result.stdout + result.stderr
    return result


def start_as_user(user, command, env, cwd, log: Path) -> subprocess.Popen:
    """Start ``command`` as ``user`` in the background, output to ``log``."""
    with log.open("w") as out:
        return subprocess.Popen(
            [
                "runuser",
                "-u",
                user,
                "--",
                "env",
                "-i",
                *[f"{k}={v}" for k, v in env.items()],
                *command,
            ],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


# -- what one user can see of another ------------------------------------------------------------
FILES_PROBE = """
import json, os, sys
found = {}
for path in json.loads(sys.argv[1]):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read(1)
        found[path] = "readable"
    except PermissionError:
        found[path] = "denied"
    except FileNotFoundError:
        found[path] = "missing"
print(json.dumps(found))
"""


def probe(user, env, paths) -> dict:
    """``{path: "readable" | "denied" | "missing"}`` as seen by ``user`` (a folder: listed)."""
    command = ["python", "-c", FILES_PROBE, json.dumps([str(p) for p in paths])]
    result = as_user(user, command, env, "/")
    assert result.returncode == 0, result.log
    return json.loads(result.stdout)


# A curious student after another's kernel: the victim's TCP ports (LISTEN, their uid) from
# /proc/net/tcp and tcp6, and the Unix sockets under the victim's home or their runtime folder
# (/run/jupyter/<uid>, or wherever it is) from /proc/net/unix;
# a ZeroMQ SUB socket subscribed to everything on each, listening for a few seconds.
# Prints what it tried, which socket files it could not even reach, and the texts it read.
KERNEL_SNOOP = r"""
import json, os, sys, time
import zmq
victim_uid, victim_folders = int(sys.argv[1]), json.loads(sys.argv[2])
seconds, markers = float(sys.argv[3]), json.loads(sys.argv[4])
ports = set()
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    for line in open(table).read().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[7]) == victim_uid:  # LISTEN, owned by the victim
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
paths = set()
for line in open("/proc/net/unix").read().splitlines()[1:]:
    fields = line.split()
    if len(fields) > 7 and any(fields[7].startswith(f + "/") for f in victim_folders):
        paths.add(fields[7])
unreachable = []
for path in paths:
    try:
        os.stat(path)
    except OSError as error:
        unreachable.append(f"{path}: {error.strerror}")
context = zmq.Context()
sockets = []
endpoints = [f"tcp://127.0.0.1:{p}" for p in sorted(ports)] + [f"ipc://{p}" for p in sorted(paths)]
for endpoint in endpoints:
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(endpoint)
    sockets.append(sub)
poller = zmq.Poller()
for sub in sockets:
    poller.register(sub, zmq.POLLIN)
read, frames = set(), 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    for sub, _ in poller.poll(200):
        for frame in sub.recv_multipart():
            frames += 1
            read |= {m for m in markers if m.encode() in frame}
print(json.dumps({"ports": sorted(ports), "paths": sorted(paths), "unreachable": unreachable,
                  "frames": frames, "read": sorted(read)}))
"""


def snoop_kernels(user, env, victim, folders, markers, seconds=4.0) -> dict:
    """What ``user`` reads of ``victim``'s kernels' output in ``seconds`` (see KERNEL_SNOOP),
    looking for their sockets in ``folders``."""
    entry = pwd.getpwnam(victim)
    command = [
        "python",
        "-c",
        KERNEL_SNOOP,
        str(entry.pw_uid),
        json.dumps([str(f) for f in folders]),
        str(seconds),
        json.dumps(markers),
    ]
    result = as_user(user, command, env, "/")
    assert result.returncode == 0, result.log
    return json.loads(result.stdout)


# A kernel of the victim on TCP, as every kernel was before: started with jupyter_client's own
# KernelManager (transport "tcp"), printing a marker over and over.
TCP_KERNEL = r"""
import sys, time
from jupyter_client import KernelManager
manager = KernelManager(transport="tcp")
manager.start_kernel()
client = manager.client()
client.start_channels()
client.wait_for_ready(timeout=120)
client.execute(sys.argv[1])
print("printing", flush=True)
time.sleep(float(sys.argv[2]))
manager.shutdown_kernel(now=True)
"""


def printing_loop(marker: str, seconds: float) -> str:
    """Kernel code that prints ``marker`` five times a second for ``seconds``."""
    return (
        "import time\n"
        f"for _ in range({int(seconds * 5)}):\n"
        f"    print({marker!r}, flush=True)\n"
        "    time.sleep(0.2)\n"
    )
