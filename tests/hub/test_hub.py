"""The course on JupyterHub, end to end on 127.0.0.1: ``make test-hub`` (as root).

A roster of an instructor, two students ``a`` and ``b`` and a class of ``HUB_TEST_CLASS``
students (20 unless told) becomes system users with passwords (``roster.py``, as an
administrator would; the users are removed afterwards whatever happens). JupyterHub (from PyPI)
runs ``deploy/jupyterhub/jupyterhub_config.py`` with configurable-http-proxy (from npm), every
address on 127.0.0.1, with its local-process spawner (this machine has no systemd).

* The whole class logs in through the login form at the same moment, while the servers of the
  instructor, ``a`` and ``b`` start: the hub's concurrent-spawn limit (set to the class size
  here) turns the last ones away with "Try again in ..." and they come back when told.
* The instructor generates and releases part 01 from a private copy of the course; ``a``
  fetches it, writes the reference solution and submits, through the hub's REST API and their
  own server; ``b`` runs the nbgrader commands in their server's environment and hands in the
  release untouched. The instructor collects, grades (``python -m course.grades``, as
  ``make grade``, every kernel in the grading sandbox), generates and releases feedback; both
  fetch it; ``backup.py`` backs it up.
* ``b`` tries to read ``a``'s kernel: the TCP ports of ``a`` in /proc/net/tcp and the Unix
  sockets under ``a``'s home in /proc/net/unix, subscribed to. A kernel of ``a`` on TCP (as
  every kernel was before) is read: the check can fail. ``a``'s kernel on the hub is not.
* Mid-term, one student joins the roster and one leaves: ``roster.py`` again, with the hub
  running; the newcomer logs in with their password; nobody else's server restarts.
* The idle culler (a hub service, here with a 30 s timeout and limited to the class) stops the
  class's servers once they sit unused.

Checked besides: the scores in the gradebook (every autograded point for ``a``, 0 for ``b``),
that a student can read neither the other's work nor the instructor's source, submissions or
gradebook, that no feedback shows hidden-test text, that the formgrader is on for the
instructor and off for students, that the servers run niced below the hub. Printed: the time of
each step, and the sizing figures (the class's start, memory per server and per kernel, CPU
time per server start and per graded submission).
Every process started is stopped by its PID; the users, their homes and the temporary course
are removed.
"""

from __future__ import annotations

import atexit
import csv
import json
import os
import pwd
import re
import secrets as tokens
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from coursekit import ROOT, copy_course, free_port, html_text, leaks, secrets
from hubkit import (
    TCP_KERNEL,
    Cleanup,
    CpuAccount,
    Hub,
    as_user,
    children,
    cpu_seconds,
    niceness,
    pid_alive,
    printing_loop,
    probe,
    remove_user,
    server_environment,
    snoop_kernels,
    start_as_user,
    stop,
    wait_for,
)

from deploy.jupyterhub.kernel_memory import memory_mib

pytestmark = pytest.mark.hub  # make test-hub, as root; make test leaves it out

HERE = ROOT / "deploy" / "jupyterhub"
USER_ENV = ROOT / ".hub" / "venv"  # the users' Python (make hub-deps)
PROXY_BIN = ROOT / ".hub" / "node_modules" / ".bin"  # configurable-http-proxy (make hub-deps)
HUB = Path(sys.executable).parent / "jupyterhub"
COURSE, PART01 = "autodiff", "01_newton_vs_gd"
NOTEBOOK = f"{PART01}.ipynb"
# Test users: adh<pid of the test><role>: i instructor, a and b students, c00... the class,
# n the student who joins mid-term.
PREFIX = "adh"
USER_NAME = re.compile(rf"^{PREFIX}(\d+)([iabn]|c\d\d)$")
CLASS_SIZE = int(os.environ.get("HUB_TEST_CLASS", "20"))
IDLE_TIMEOUT, CULL_EVERY = 30, 10  # the culler, for the class only (see the hub's overlay)
CELL_TIMEOUT = 30
MEM_LIMIT = 512 << 20  # bytes, a student's server and kernels (the hub's default is 2G)
SECRET, CONTROL = "a's kernel output 5f1c", "a's TCP kernel output 9d2e"  # what b must not read


def remove_stale_users() -> None:
    """Users left by an earlier run that was killed before it could clean up (its PID is gone)."""
    for entry in pwd.getpwall():
        match = USER_NAME.match(entry.pw_name)
        if match and not pid_alive(int(match.group(1))):
            remove_user(entry.pw_name)


# -- the whole class, once ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def hub_run():
    if os.geteuid() != 0:
        pytest.fail("the hub test creates system users: run it as root (make test-hub)")
    for needed in (USER_ENV / "bin" / "jupyterhub-singleuser", PROXY_BIN, HUB):
        if not needed.exists():
            pytest.fail(f"{needed} is missing: run `make hub-deps` first")
    sys.path.insert(0, str(HERE))
    from cgroup_spawner import available

    if not available():
        pytest.fail("the hub test runs the cgroup spawner: it needs cgroups v1 memory and cpu")
    started = time.monotonic()
    cleanup = Cleanup()
    atexit.register(cleanup)
    previous_sigterm = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        try:
            result = run_the_class(cleanup)
        except BaseException:
            if cleanup.log is not None and cleanup.log.exists():  # before it is removed
                tail = cleanup.log.read_text().splitlines()[-80:]
                print("\n--- the hub's log, last lines ---\n" + "\n".join(tail), file=sys.stderr)
            raise
        yield result
    finally:
        cleanup()
        signal.signal(signal.SIGTERM, previous_sigterm)
        if "result" in locals():
            report(result)
        print(f"hub test: {time.monotonic() - started:.1f} s in all, clean-up included")


def report(result) -> None:
    """The time of each step and the sizing figures, for the README's sizing section."""
    for step, seconds in result["times"].items():
        print(f"{step:>22}: {seconds:5.1f} s")
    crowd = result["class"]
    servers = [m["pss"] for m in crowd["memory"].values()]
    print(
        f"class of {CLASS_SIZE} + 3 at once on {len(os.sched_getaffinity(0))} cores "
        f"(load before: {result['load']}): {len(crowd['throttled'])} told to try again, "
        f"all started {max(crowd['started'].values()):.0f} s after logging in "
        f"(median {statistics.median(crowd['started'].values()):.0f} s); "
        f"slowest hub API answer meanwhile {crowd['slowest_api']:.1f} s"
    )
    print(
        f"CPU: a server's start {statistics.median(crowd['cpu'].values()):.1f} core-seconds "
        f"(median), grading 2 submissions {result['grading'].cpu_seconds:.1f} core-seconds"
    )
    kernel = result["snoop"]["kernel_memory"]
    print(
        f"memory: a server {statistics.median(servers):.0f} MiB PSS (median of {len(servers)}), "
        f"a kernel with numpy, matplotlib and autodiff_lib {kernel['pss']:.0f} MiB PSS "
        f"({kernel['rss']:.0f} MiB RSS)"
    )


def run_the_class(cleanup):
    remove_stale_users()
    times, t0 = {}, time.monotonic()
    load = os.getloadavg()[0]
    world = set_up_world(cleanup)
    users, course, homes = world["users"], world["course"], world["homes"]
    instructor, a, b = users["i"], users["a"], users["b"]
    times["users and course"] = time.monotonic() - t0
    background = ThreadPoolExecutor(max_workers=3)
    cleanup.add(background.shutdown)

    # -- while the hub starts, the instructor generates the student version in a shell ----------
    shell = {"PATH": f"{USER_ENV / 'bin'}:/usr/bin:/bin", "HOME": str(homes[instructor])}
    generated = background.submit(
        as_user, instructor, ["nbgrader", "generate_assignment", PART01, "--force"], shell, course
    )
    t0 = time.monotonic()
    hub, alive, pids = start_hub(cleanup, world)
    times["hub start"] = time.monotonic() - t0

    # -- the class logs in at once, while the instructor's and a's and b's servers start -------
    t0 = time.monotonic()
    main = [instructor, a, b]
    user_tokens = {}
    for name in main:
        token = hub.api("POST", f"/users/{name}/tokens", json={"note": "hub test"})
        user_tokens[name] = token["token"]
    spawns = ThreadPoolExecutor(max_workers=len(main))
    cleanup.add(spawns.shutdown)
    for name in main:
        spawns.submit(hub.api, "POST", f"/users/{name}/server")
    wait_for("the first three spawns", lambda: set(main) <= set(hub.servers()), 60, alive)
    crowd = background.submit(class_logs_in, hub, world, alive)
    server_env = {}
    for name in main:
        model = wait_for(f"the server of {name}", lambda n=name: ready(hub, n), 300, alive, 1)
        pids[f"server {name}"] = model["state"]["pid"]
        server_env[name] = server_environment(pids[f"server {name}"])
    times["main servers start"] = time.monotonic() - t0

    def run_as(user, *command, cwd=None):
        result = as_user(user, list(command), server_env[user], cwd or homes[user])
        assert result.returncode == 0, f"{' '.join(command)} as {user}:\n{result.log}"
        return result

    # -- the instructor releases part 01 ----------------------------------------------------------
    t0 = time.monotonic()
    generation = generated.result()
    assert generation.returncode == 0, generation.log
    run_as(instructor, "nbgrader", "release_assignment", PART01, cwd=course)
    times["release"] = time.monotonic() - t0

    # -- a through the hub with a's own token, b with the nbgrader commands, at the same time ------
    t0 = time.monotonic()
    assignment = {"course_id": COURSE, "assignment_id": PART01}

    def action(user, verb):
        response = hub.server(
            "POST", user, f"assignments/{verb}", user_tokens[user], data=assignment
        )
        assert response.status_code == 200, (verb, response.status_code, response.text)
        body = response.json()
        assert not (isinstance(body, dict) and body.get("success") is False), (verb, body)
        return body

    def student_a():
        action(a, "fetch")
        reference = nbformat.read(course / "source" / PART01 / NOTEBOOK, as_version=4)
        content = {"type": "notebook", "format": "json", "content": reference}
        path = f"api/contents/{PART01}/{NOTEBOOK}"
        saved = hub.server("PUT", a, path, user_tokens[a], json=content)
        assert saved.status_code in (200, 201), saved.text
        action(a, "submit")

    def student_b():
        run_as(b, "nbgrader", "fetch_assignment", PART01)
        run_as(b, "nbgrader", "submit", PART01)

    for done in [background.submit(student_a), background.submit(student_b)]:
        done.result()
    times["fetch and submit"] = time.monotonic() - t0

    # -- b after a's kernel ------------------------------------------------------------------------
    t0 = time.monotonic()
    snoop = kernels_seen_by_another(hub, world, user_tokens[a], server_env, pids[f"server {a}"])
    times["kernel snooping"] = time.monotonic() - t0
    t0 = time.monotonic()
    runaway = runaway_kernel(hub, world, user_tokens[a], pids[f"server {a}"])
    runaway["others"] = {name: pid_alive(pids[f"server {name}"]) for name in (instructor, b)}
    runaway["instructor"] = limits_of(pids[f"server {instructor}"])
    times["runaway kernel"] = time.monotonic() - t0

    # -- the instructor collects, grades (as make grade) and returns feedback ----------------------
    t0 = time.monotonic()
    run_as(instructor, "nbgrader", "collect", PART01, cwd=course)
    grade = ["python", "-m", "course.grades", f"--Execute.timeout={CELL_TIMEOUT}"]
    account = CpuAccount(f"{PREFIX}{os.getpid()}-grading")
    cleanup.add(account.remove)
    grading = as_user(instructor, grade, server_env[instructor], course, 600, account.join)
    grading.cpu_seconds = account.seconds()
    times["collect and grade"] = time.monotonic() - t0
    t0 = time.monotonic()
    run_as(instructor, "nbgrader", "generate_feedback", PART01, cwd=course)
    run_as(instructor, "nbgrader", "release_feedback", PART01, cwd=course)
    fetches = [
        background.submit(action, a, "fetch_feedback"),
        background.submit(run_as, b, "nbgrader", "fetch_feedback", PART01),
    ]
    for done in fetches:
        done.result()
    times["feedback"] = time.monotonic() - t0
    t0 = time.monotonic()
    backup = back_up(world)
    times["backup"] = time.monotonic() - t0

    # -- what each student can see, and what the hub lets each one do ---------------------------
    t0 = time.monotonic()
    private = {}
    exchange = world["exchange"]
    for me, other in ((a, b), (b, a)):
        paths = [
            homes[other],
            homes[other] / PART01 / NOTEBOOK,
            exchange / COURSE / "inbound",
            exchange / COURSE / "feedback",
            course / "submitted" / other / PART01 / NOTEBOOK,
            course / "autograded" / other / PART01 / NOTEBOOK,
            course / "feedback" / other / PART01,
            course / "source" / PART01 / NOTEBOOK,
            course / "gradebook.db",
        ]
        assert all(path.exists() for path in paths), [p for p in paths if not p.exists()]
        private[me] = probe(me, server_env[me], paths)
    own = {}
    for me in (a, b):
        feedback = sorted((homes[me] / PART01 / "feedback").rglob("*.html"))
        own[me] = probe(me, server_env[me], [homes[me] / PART01 / NOTEBOOK, *feedback])
    formgrader = {
        name: hub.server("GET", name, "formgrader/manage_assignments", token).status_code
        for name, token in user_tokens.items()
    }
    disabled = {
        name: lab_config(hub.server("GET", name, "lab", token).text).get("disabledExtensions", [])
        for name, token in user_tokens.items()
    }
    other_server = hub.server("GET", b, "api/status", user_tokens[a]).status_code
    times["checks"] = time.monotonic() - t0

    # -- mid-term: one joins, one leaves; then the class's idle servers are culled ---------------
    t0 = time.monotonic()
    crowd = crowd.result()
    times["class all started"] = crowd["all_started"]
    servers_before = {name: pids[f"server {name}"] for name in main}
    midterm = change_the_roster(hub, world, alive)
    midterm["servers_after"] = {name: hub.servers().get(name, {}) for name in main}
    midterm["servers_before"] = servers_before
    times["mid-term roster"] = time.monotonic() - t0
    t0 = time.monotonic()
    culled = culled_servers(hub, world, midterm["left"], alive)
    times["culler (waited)"] = time.monotonic() - t0

    return {
        "users": users,
        "class_names": world["class"],
        "course": course,
        "homes": homes,
        "grading": grading,
        "private": private,
        "own": own,
        "formgrader": formgrader,
        "disabled": disabled,
        "other_server": other_server,
        "snoop": snoop,
        "runaway": runaway,
        "class": crowd,
        "hub_nice": niceness(pids["hub"]),
        "server_nice": {name: niceness(pids[f"server {name}"]) for name in main},
        "midterm": midterm,
        "culled": culled,
        "backup": backup,
        "hub_log": world["state"] / "hub.log",
        "times": times,
        "load": f"{load:.1f}",
    }


def set_up_world(cleanup) -> dict:
    """The roster, its accounts (made by roster.py), the course, the exchange, the hub's state."""
    pid = os.getpid()
    users = {role: f"{PREFIX}{pid}{role}" for role in "iab"}
    class_names = [f"{PREFIX}{pid}c{k:02d}" for k in range(CLASS_SIZE)]
    newcomer = f"{PREFIX}{pid}n"
    base = Path(tempfile.mkdtemp(prefix="autodiff-hub-"))
    cleanup.add(shutil.rmtree, base, True)
    base.chmod(0o755)
    course, exchange, state = base / "course", base / "exchange", base / "hub"
    state.mkdir(mode=0o700)
    exchange.mkdir()
    exchange.chmod(0o777)  # nbgrader's documented permissions for the exchange root
    roster = base / "roster.txt"
    roster.write_text(
        f"# the hub test's class\n{users['i']} instructor\n{users['a']} student\n"
        f"{users['b']} student  # hands in the release untouched\n"
        + "".join(f"{name} student\n" for name in class_names)
    )
    world = {
        "users": users,
        "class": class_names,
        "newcomer": newcomer,
        "base": base,
        "course": course,
        "exchange": exchange,
        "state": state,
        "roster": roster,
        "passwords": state / "passwords.csv",
        "runtime_root": base / "run" / "jupyter",  # the hub's default: /run/jupyter
    }
    for name in [*users.values(), *class_names, newcomer]:
        cleanup.add(remove_user, name)
    cleanup.add(remove_cgroups, f"jupyterhub-{PREFIX}{pid}")
    made = roster_py(world, "--no-hub")
    assert made.returncode == 0, made.stdout + made.stderr
    world["homes"] = {name: Path(pwd.getpwnam(name).pw_dir) for name in users.values()}
    usable = as_user(
        users["a"], ["python", "-c", "import autodiff_lib"], {"PATH": f"{USER_ENV}/bin"}, "/"
    )
    assert usable.returncode == 0, (
        f"the hub's users cannot run {USER_ENV} (is this checkout inside a folder that other "
        f"users cannot enter?):\n{usable.log}"
    )
    copy_course(course)
    subprocess.run(["chown", "-R", f"{users['i']}:{users['i']}", str(course)], check=True)
    course.chmod(0o700)
    return world


def hub_environment(world) -> dict:
    """The hub's environment: where everything is (as the systemd unit sets it)."""
    return {
        "PATH": os.pathsep.join([str(PROXY_BIN), str(HUB.parent), "/usr/bin", "/bin"]),
        "HOME": str(world["state"]),
        "LANG": "C.UTF-8",
        "AUTODIFF_COURSE_ROOT": str(world["course"]),
        "AUTODIFF_EXCHANGE": str(world["exchange"]),
        "AUTODIFF_ROSTER": str(world["roster"]),
        "AUTODIFF_USER_ENV": str(USER_ENV),
        "AUTODIFF_SETTINGS": str(HERE),
        "AUTODIFF_HUB_STATE": str(world["state"]),
        "AUTODIFF_RUNTIME_ROOT": str(world["runtime_root"]),
        "AUTODIFF_SPAWNER": "cgroup",  # no systemd here; cgroups v1 (cgroup_spawner.py)
        "AUTODIFF_MEM_LIMIT": f"{MEM_LIMIT >> 20}M",
        "AUTODIFF_CPU_LIMIT": "1",
        "AUTODIFF_SPAWN_LIMIT": str(CLASS_SIZE),  # the class and the three: three too many
        "AUTODIFF_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
        "AUTODIFF_CULL_EVERY": str(CULL_EVERY),
    }


def roster_py(world, *args) -> subprocess.CompletedProcess:
    """``roster.py`` as root with the hub's Python, as the README says."""
    env = {**hub_environment(world), "AUTODIFF_HUB_URL": world.get("url", "")}
    command = [sys.executable, str(HERE / "roster.py"), "--passwords", str(world["passwords"])]
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=300)


def password_of(world, name) -> str:
    """The latest password roster.py recorded for ``name``."""
    with world["passwords"].open() as file:
        return [row[1] for row in csv.reader(file) if row[0] == name][-1]


def start_hub(cleanup, world):
    """The hub on free ports with the course's configuration and a token for the test."""
    admin_token = tokens.token_hex(32)
    port, hub_port, proxy_port = free_port(), free_port(), free_port()
    class_group = f"{PREFIX}{os.getpid()}-class"
    state = world["state"]
    overlay = state / "test_config.py"
    overlay.write_text(
        f"c = get_config()\n"
        f"load_subconfig({str(HERE / 'jupyterhub_config.py')!r})\n"
        f"c.JupyterHub.bind_url = 'http://127.0.0.1:{port}'\n"
        f"c.JupyterHub.hub_bind_url = 'http://127.0.0.1:{hub_port}'\n"
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{proxy_port}'\n"
        f"c.Spawner.ip = '127.0.0.1'\n"
        f"c.JupyterHub.services.append({{'name': 'hub-test', 'api_token': {admin_token!r}}})\n"
        f"c.JupyterHub.load_roles.append({{'name': 'hub-test', 'services': ['hub-test'],\n"
        f"    'scopes': ['admin:users', 'admin:servers', 'admin:server_state', 'tokens']}})\n"
        f"# the culler: the class's servers only, since the others are busy outside the hub\n"
        f"c.JupyterHub.load_groups[{class_group!r}] = {{'users': {world['class']!r}}}\n"
        f"for role in c.JupyterHub.load_roles:\n"
        f"    if role['name'] == 'idle-culler':\n"
        f"        role['scopes'] = [s + '!group={class_group}' for s in role['scopes']]\n"
    )
    cleanup.log = state / "hub.log"
    log = cleanup.log.open("w")
    process = subprocess.Popen(
        [str(HUB), "-f", str(overlay)],
        cwd=state,
        env=hub_environment(world),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    pids = {"hub": process.pid}

    def stop_everything():
        proxy_pid = state / "jupyterhub-proxy.pid"
        if proxy_pid.exists():
            pids["proxy"] = int(proxy_pid.read_text().strip())
        stop(pids.pop("hub"), grace=30)  # the hub stops the users' servers and the proxy
        for pid in pids.values():
            stop(pid)
        log.close()

    cleanup.add(stop_everything)
    world["url"] = f"http://127.0.0.1:{port}"
    hub = Hub(world["url"], admin_token)

    def alive():
        return process.poll() is None

    wait_for("the hub", lambda: hub.api("GET", "/")["version"], 60, alive)
    return hub, alive, pids


def ready(hub, name):
    """``name``'s server model once it is ready, else None."""
    server = hub.api("GET", f"/users/{name}")["servers"].get("", {})
    return server if server.get("ready") else None


# -- point 9: the class at the same minute ----
def class_logs_in(hub, world, alive) -> dict:
    """Every student of the class logs in through the form at once; those told to try again
    come back after the time the hub suggests. Returns when every server started: when each
    one did (seconds after logging in), the pages of the throttled, each server's memory and
    nice value when first seen ready, and the slowest answer of the hub's API meanwhile."""
    names, t0 = world["class"], time.monotonic()
    crowd = ThreadPoolExecutor(max_workers=len(names))
    logins = {name: crowd.submit(hub.log_in, name, password_of(world, name)) for name in names}
    throttled, retries = {}, []
    started, memory, cpu, nice, slowest = {}, {}, {}, {}, 0.0
    pending = set(names)
    deadline = t0 + 600
    while pending and time.monotonic() < deadline and alive():
        for name, login in list(logins.items()):
            if login.done():
                session, page = logins.pop(name).result()
                if page.status_code == 429:
                    throttled[name] = (page.text, page.headers.get("Retry-After"))
                    retries.append(crowd.submit(come_back, hub, session, name, page))
        asked = time.monotonic()
        servers = hub.servers()
        slowest = max(slowest, time.monotonic() - asked)
        for name in sorted(pending):
            server = servers.get(name, {})
            if server.get("ready"):
                pending.discard(name)
                started[name] = time.monotonic() - t0
                pid = server["state"]["pid"]
                memory[name], nice[name] = memory_mib(pid), niceness(pid)
                cpu[name] = cpu_seconds(pid)
        time.sleep(1)
    for retry in retries:
        assert retry.result().status_code != 429, "still throttled after trying again"
    crowd.shutdown()
    assert not pending, f"never started within 600 s: {sorted(pending)}"
    return {
        "started": started,
        "all_started": time.monotonic() - t0,
        "throttled": throttled,
        "memory": memory,
        "cpu": cpu,
        "nice": nice,
        "slowest_api": slowest,
    }


def come_back(hub, session, name, page):
    """A throttled student waits as long as the hub said, then reloads the spawn page."""
    while page.status_code == 429:
        time.sleep(int(page.headers.get("Retry-After", "30")))
        page = hub.spawn_page(session, name)
    return page


# -- point 8: kernels on Unix sockets ----
def kernels_seen_by_another(hub, world, token_a, server_env, server_a) -> dict:
    """a's kernel on the hub prints SECRET, a kernel of a on TCP prints CONTROL, and b tries to
    read both. Returns a's connection file, its socket paths, what b read, the kernel's memory."""
    a, b = world["users"]["a"], world["users"]["b"]
    home = world["homes"][a]
    response = hub.server("POST", a, "api/kernels", token_a, json={"name": "python3"})
    assert response.status_code == 201, response.text
    kernel_id = response.json()["id"]
    runtime = world["runtime_root"] / str(pwd.getpwnam(a).pw_uid)
    connection_file = runtime / f"kernel-{kernel_id}.json"
    wait_for("a's connection file", connection_file.exists, 60)
    connection = json.loads(connection_file.read_text())
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels(hb=False)  # a heartbeat not yet answered would read as a dead kernel
    try:
        client.wait_for_ready(timeout=120)
        imports = "import numpy, matplotlib.pyplot, autodiff_lib\n"
        client.execute(imports + printing_loop(SECRET, 60))
        control = start_as_user(
            a,
            ["python", "-c", TCP_KERNEL, printing_loop(CONTROL, 60), "60"],
            server_env[a],
            home,
            world["base"] / "tcp-kernel.log",
        )
        try:
            log = world["base"] / "tcp-kernel.log"
            wait_for("a's TCP kernel", lambda: "printing" in log.read_text(), 120)
            time.sleep(2)  # a's kernel has imported and prints
            kernel_pids = children(server_a)
            assert len(kernel_pids) == 1, kernel_pids
            kernel_memory = memory_mib(kernel_pids[0])
            seen = snoop_kernels(b, server_env[b], a, [home, runtime], [SECRET, CONTROL])
        finally:
            stop(control.pid)
    finally:
        client.stop_channels()
        hub.server("DELETE", a, f"api/kernels/{kernel_id}", token_a)
    ports = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
    return {
        "connection": connection,
        "runtime": runtime,
        "socket_paths": [f"{connection['ip']}-{connection[port]}" for port in ports],
        "seen": seen,
        "kernel_memory": kernel_memory,
    }


# -- point 10: a runaway kernel is stopped by its user's memory limit ----------------------------
def runaway_kernel(hub, world, token_a, server_a) -> dict:
    """a's kernel allocates twice the memory limit. Returns its fate, the server's, and what
    a's cgroups say (the limits, the OOM kills)."""
    a = world["users"]["a"]
    response = hub.server("POST", a, "api/kernels", token_a, json={"name": "python3"})
    assert response.status_code == 201, response.text
    kernel_id = response.json()["id"]
    runtime = world["runtime_root"] / str(pwd.getpwnam(a).pw_uid)
    connection_file = runtime / f"kernel-{kernel_id}.json"
    wait_for("a's connection file", connection_file.exists, 60)
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels(hb=False)
    try:
        client.wait_for_ready(timeout=120)
        (kernel,) = children(server_a)
        groups = {c: cgroup_of(server_a, c) for c in ("memory", "cpu")}
        in_group = str(kernel) in (groups["memory"] / "cgroup.procs").read_text().split()
        client.execute(f"hog = b'x' * {2 * MEM_LIMIT}; print('survived', flush=True)")
        killed = ended(kernel, client, within=120)
    finally:
        client.stop_channels()
        hub.server("DELETE", a, f"api/kernels/{kernel_id}", token_a)
    oom = dict(
        line.split() for line in (groups["memory"] / "memory.oom_control").read_text().splitlines()
    )
    return {
        "groups": groups,
        "kernel_in_group": in_group,
        "killed": killed,
        "oom_kills": int(oom.get("oom_kill", 0)),
        "memory_limit": int((groups["memory"] / "memory.limit_in_bytes").read_text()),
        "peak": int((groups["memory"] / "memory.max_usage_in_bytes").read_text()),
        "cpu_quota": int((groups["cpu"] / "cpu.cfs_quota_us").read_text()),
        "cpu_period": int((groups["cpu"] / "cpu.cfs_period_us").read_text()),
        "server_alive": pid_alive(server_a),
        "server_ready": bool(ready(hub, a)),
    }


def ended(pid: int, client, within: float) -> bool:
    """True once ``pid`` is gone; False if its kernel says it survived, or after ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        try:
            message = client.get_iopub_msg(timeout=0.5)
        except Exception:  # queue.Empty: nothing printed yet
            continue
        if "survived" in message["content"].get("text", ""):
            return False
    return False


def limits_of(pid: int) -> dict:
    """The memory limit (bytes) and CPU quota (microseconds a period; -1: none) of a process."""
    return {
        "memory": int((cgroup_of(pid, "memory") / "memory.limit_in_bytes").read_text()),
        "cpu_quota": int((cgroup_of(pid, "cpu") / "cpu.cfs_quota_us").read_text()),
    }


def cgroup_of(pid: int, controller: str) -> Path:
    """The v1 cgroup folder of ``pid`` in ``controller``'s hierarchy."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return Path("/sys/fs/cgroup") / controller / path.lstrip("/")
    raise AssertionError(f"process {pid} is in no {controller} cgroup")


def remove_cgroups(prefix: str) -> None:
    """The test users' cgroups left behind (empty once their processes are gone)."""
    for controller in ("memory", "cpu"):
        parent = cgroup_of(os.getpid(), controller)
        for folder in parent.glob(f"{prefix}*"):
            try:
                folder.rmdir()
            except OSError as error:
                print(f"cleanup: {folder}: {error}", file=sys.stderr)


# -- point 10: the gradebook backed up, the roster changed mid-term, idle servers culled ----
def back_up(world) -> dict:
    """backup.py as root, as the nightly timer runs it."""
    command = [
        sys.executable,
        str(HERE / "backup.py"),
        "--course",
        str(world["course"]),
        "--exchange",
        str(world["exchange"]),
        "--to",
        str(world["base"] / "backups"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return {"folder": Path(result.stdout.strip().splitlines()[-1])}


def change_the_roster(hub, world, alive) -> dict:
    """A student joins (listed in the roster), the class's first student leaves (taken out);
    roster.py applies it to the running hub. The newcomer logs in with their new password."""
    newcomer, leaver = world["newcomer"], world["class"][0]
    text = world["roster"].read_text().replace(f"{leaver} student\n", "")
    world["roster"].write_text(text + f"{newcomer} student  # joined mid-term\n")
    synced = roster_py(world)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    session, page = hub.log_in(newcomer, password_of(world, newcomer))
    assert page.status_code == 200, (page.status_code, page.text[-2000:])
    wait_for("the newcomer's server", lambda: ready(hub, newcomer), 300, alive, 1)
    leaver_status = hub_user_status(hub, leaver)
    locked = subprocess.run(["passwd", "--status", leaver], capture_output=True, text=True)
    return {
        "synced": synced.stdout,
        "newcomer": newcomer,
        "newcomer_groups": hub.api("GET", f"/users/{newcomer}")["groups"],
        "left": leaver,
        "leaver_status": leaver_status,
        "leaver_account": locked.stdout.split()[1],
        "leaver_home": Path(pwd.getpwnam(leaver).pw_dir).is_dir(),
    }


def hub_user_status(hub, name) -> int:
    """The HTTP status of GET /users/<name> (404 once the hub forgot them)."""
    import requests

    response = requests.get(f"{hub.url}/hub/api/users/{name}", headers=hub.admin, timeout=60)
    return response.status_code


def culled_servers(hub, world, left, alive) -> dict:
    """Wait until the culler stopped every class server (the test never stops them)."""
    names = [name for name in world["class"] if name != left]

    def all_stopped():
        running = set(hub.servers())
        return not (running & set(names))

    wait_for("the culler", all_stopped, 4 * IDLE_TIMEOUT + 120, alive, 2)
    return {
        "names": names,
        "still_known": [name for name in names if hub_user_status(hub, name) == 200],
    }


def lab_config(page: str) -> dict:
    """The page configuration JupyterLab embeds in its HTML page (jupyter-config-data)."""
    start = page.index('id="jupyter-config-data"')
    start = page.index(">", start) + 1
    return json.loads(page[start : page.index("</script>", start)])


# -- the assertions -----------------------------------------------------------------------------
def scores(course: Path, student: str, gradebook: Path | None = None) -> dict:
    """``{cell: (score, max score, cell type)}`` of one student's part 01, from the gradebook
    (the course's, or ``gradebook``)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{gradebook or course / 'gradebook.db'}", COURSE) as gb:
        submission = gb.find_submission(PART01, student)
        return {
            g.name: (g.score, g.max_score, g.cell.cell_type)
            for nb in submission.notebooks
            for g in nb.grades
        }


def test_grading_on_the_hub_succeeded_in_the_sandbox(hub_run):
    """As the unprivileged instructor, make grade runs every kernel in the sandbox (it would
    refuse to grade, with exit status 2, where the sandbox could not be set up)."""
    assert hub_run["grading"].returncode == 0, hub_run["grading"].log
    assert "FAILED" not in hub_run["grading"].stdout
    assert "Each submission runs in the grading sandbox" in hub_run["grading"].stdout


def test_the_reference_solution_gets_every_autograded_point(hub_run):
    got = scores(hub_run["course"], hub_run["users"]["a"])
    code = {name: g for name, g in got.items() if g[2] == "code"}
    assert code and sum(g[1] for g in code.values()) > 0
    for name, (score, max_score, _) in code.items():
        assert score == max_score, f"{name}: {score} of {max_score}"


def test_the_untouched_release_gets_nothing(hub_run):
    got = scores(hub_run["course"], hub_run["users"]["b"])
    assert got and all(score == 0 for score, _, _ in got.values()), got


def test_a_student_reads_nothing_of_the_other_or_of_the_instructor(hub_run):
    for student, seen in hub_run["private"].items():
        readable = [path for path, what in seen.items() if what != "denied"]
        assert not readable, f"{student} can read (or finds missing): {readable}"


def test_each_student_reads_their_own_work_and_feedback(hub_run):
    for student, seen in hub_run["own"].items():
        assert len(seen) >= 2, f"{student} got no feedback: {seen}"  # the notebook, its feedback
        assert set(seen.values()) == {"readable"}, seen


def test_no_feedback_shows_hidden_tests(hub_run):
    secret = secrets(hub_run["course"] / "source" / PART01 / NOTEBOOK)
    assert secret["hidden"]  # the check has something to find
    for student in (hub_run["users"]["a"], hub_run["users"]["b"]):
        pages = sorted((hub_run["homes"][student] / PART01 / "feedback").rglob("*.html"))
        assert pages, f"no feedback fetched by {student}"
        for page in pages:
            text = html_text(page)
            assert not leaks(text, secret["hidden"]), (page, leaks(text, secret["hidden"]))
            if student == hub_run["users"]["b"]:  # handed in no solution of their own
                assert not leaks(text, secret["solution"]), (page, leaks(text, secret["solution"]))


def test_the_formgrader_is_the_instructors_only(hub_run):
    users, status, disabled = hub_run["users"], hub_run["formgrader"], hub_run["disabled"]
    assert status[users["i"]] == 200, status
    assert status[users["a"]] == 404 and status[users["b"]] == 404, status
    hidden = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"}
    assert not hidden & set(disabled[users["i"]]), disabled
    assert hidden <= set(disabled[users["a"]]) and hidden <= set(disabled[users["b"]]), disabled


def test_a_student_cannot_use_the_others_server(hub_run):
    assert hub_run["other_server"] == 403


# -- point 8: kernels on Unix sockets in the user's private runtime folder ----
def test_kernels_listen_on_private_unix_sockets(hub_run):
    snoop = hub_run["snoop"]
    assert snoop["connection"]["transport"] == "ipc", snoop["connection"]
    for path in snoop["socket_paths"]:
        assert Path(path).parent == snoop["runtime"], path
        assert len(path) <= 107, f"{path}: {len(path)} characters, a socket path holds 107"
    folder = snoop["runtime"].stat()
    assert folder.st_mode & 0o077 == 0, oct(folder.st_mode)
    assert folder.st_uid == pwd.getpwnam(hub_run["users"]["a"]).pw_uid


def test_a_student_reads_nothing_of_anothers_kernel(hub_run):
    seen = hub_run["snoop"]["seen"]
    assert CONTROL in seen["read"], f"the probe read nothing even from a TCP kernel: {seen}"
    assert SECRET not in seen["read"], f"b read a's kernel on the hub: {seen['read']}"
    assert set(hub_run["snoop"]["socket_paths"]) <= set(seen["paths"]), seen  # found, and
    assert len(seen["unreachable"]) == len(seen["paths"]), seen  # not one could be reached


# -- point 9: a class logging in at once ----
def test_the_whole_class_started_those_turned_away_when_they_came_back(hub_run):
    crowd = hub_run["class"]
    assert sorted(crowd["started"]) == sorted(hub_run["class_names"]), crowd["started"]
    assert len(crowd["throttled"]) == 3, sorted(crowd["throttled"])  # the class and 3: 3 too many
    for page, retry_after in crowd["throttled"].values():
        assert "Too many users trying to log in right now. Try again in" in html_of(page), page
        assert int(retry_after) > 0


def test_servers_run_niced_below_the_hub(hub_run):
    expected = min(hub_run["hub_nice"] + 10, 19)
    nice = {**hub_run["server_nice"], **hub_run["class"]["nice"]}
    assert set(nice.values()) == {expected}, nice


# -- point 10: roster, culler, backups ----
def test_a_student_joins_mid_term_without_restarting_the_others(hub_run):
    midterm = hub_run["midterm"]
    assert "nbgrader-autodiff" in midterm["newcomer_groups"], midterm
    for name, pid in midterm["servers_before"].items():
        after = midterm["servers_after"][name]
        assert after.get("ready") and after["state"]["pid"] == pid, (name, pid, after)


def test_a_student_who_leaves_keeps_their_work_but_not_their_login(hub_run):
    midterm = hub_run["midterm"]
    assert midterm["leaver_status"] == 404, midterm  # the hub forgot them (and their server)
    assert midterm["leaver_account"] == "L", midterm  # the password is locked
    assert midterm["leaver_home"], midterm  # their home is kept


def test_the_idle_culler_stops_idle_servers(hub_run):
    culled = hub_run["culled"]
    assert culled["names"] and culled["still_known"] == culled["names"], culled  # stopped, kept
    log = hub_run["hub_log"].read_text()
    for name in culled["names"]:
        assert f"Culling server {name}" in log, name


def test_the_backup_holds_the_grades_and_the_work(hub_run, tmp_path):
    folder = hub_run["backup"]["folder"]
    assert folder.stat().st_mode & 0o077 == 0, oct(folder.stat().st_mode)
    course = hub_run["course"]
    for student in (hub_run["users"]["a"], hub_run["users"]["b"]):
        assert scores(course, student, folder / "gradebook.db") == scores(course, student)
    work = members(folder / "course-work.tar.gz")
    exchange = members(folder / "exchange.tar.gz")
    for student in (hub_run["users"]["a"], hub_run["users"]["b"]):
        assert f"{course}/submitted/{student}/{PART01}/{NOTEBOOK}".lstrip("/") in work
        assert any(f"/inbound/{student}+{PART01}+" in m for m in exchange), student


def members(archive: Path) -> set[str]:
    import tarfile

    with tarfile.open(archive) as tar:
        return set(tar.getnames())


def html_of(page: str) -> str:
    """Whitespace collapsed, as a reader sees the text of an HTML page."""
    return re.sub(r"\s+", " ", page)


# -- the systemd units (no systemd runs here: systemd-analyze reads them) -----------------------
UNITS = ["jupyterhub.service", "jupyterhub-backup.service", "jupyterhub-backup.timer"]


def test_the_systemd_units_are_valid(tmp_path):
    """systemd-analyze finds nothing wrong but the programs not installed on this machine, and
    the hub's unit sets only variables that jupyterhub_config.py reads."""
    for unit in UNITS:
        shutil.copy(HERE / unit, tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *UNITS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    complaints = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if not re.search(r"Command /opt/autodiff/venv/bin/\w+ is not executable", line)
    ]
    assert not complaints, complaints
    config = (HERE / "jupyterhub_config.py").read_text()
    unit = (HERE / "jupyterhub.service").read_text()
    for name in re.findall(r"^Environment=AUTODIFF_(\w+)=", unit, re.M):
        assert f'setting("{name}"' in config, name
    start = re.search(r"^ExecStart=\S+ -f /srv/autodiff/course/(\S+)$", unit, re.M)
    assert start and (ROOT / start.group(1)).exists(), start


# -- point 10: per-user memory and CPU limits (cgroups v1 here; systemd units on a server) ------
def test_a_runaway_kernel_is_stopped_by_its_users_memory_limit(hub_run):
    runaway, a = hub_run["runaway"], hub_run["users"]["a"]
    assert all(g.name == f"jupyterhub-{a}" for g in runaway["groups"].values()), runaway
    assert runaway["kernel_in_group"], runaway  # the kernel inherited its server's cgroup
    assert runaway["memory_limit"] == MEM_LIMIT, runaway
    assert runaway["killed"] and runaway["oom_kills"] >= 1, runaway
    assert runaway["peak"] <= MEM_LIMIT, runaway
    assert runaway["server_alive"] and runaway["server_ready"], runaway  # a keeps their server
    assert all(runaway["others"].values()), runaway  # and everybody else theirs


def test_a_student_gets_one_core_at_most(hub_run):
    runaway = hub_run["runaway"]
    assert runaway["cpu_quota"] == runaway["cpu_period"], runaway  # AUTODIFF_CPU_LIMIT=1


def test_an_instructor_gets_more_memory_and_every_core_to_grade(hub_run):
    limits = hub_run["runaway"]["instructor"]
    assert limits == {"memory": 8 << 30, "cpu_quota": -1}, limits  # the hub's defaults
