"""The course on JupyterHub, end to end on 127.0.0.1: ``make test-hub`` (as root).

An instructor and two students become system users (``useradd``, removed afterwards whatever
happens). JupyterHub (from PyPI) runs ``deploy/jupyterhub/jupyterhub_config.py`` with
configurable-http-proxy (from npm), every address on 127.0.0.1. The instructor generates and
releases part 01 from a private copy of the course; student ``a`` fetches it, writes the
reference solution and submits, all through the hub's REST API and their own server; student
``b`` runs the nbgrader commands in their server's environment (as in a terminal of it) and
hands in the release untouched. The instructor collects, grades (``python -m course.grades``,
as ``make grade``), generates and releases feedback; both students fetch it.

Checked: the scores in the gradebook (every autograded point for ``a``, 0 for ``b``), that a
student can read neither the other's work nor the instructor's source, submissions or
gradebook, that no feedback shows hidden-test text, and that the formgrader is on for the
instructor and off for students. Every process started is stopped by its PID; the users, their
homes and the temporary course are removed.
"""

from __future__ import annotations

import atexit
import json
import os
import pwd
import secrets as tokens
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
import requests

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests"))
from coursekit import copy_course, html_text, leaks, secrets  # noqa: E402

HERE = ROOT / "deploy" / "jupyterhub"
USER_ENV = ROOT / ".hub" / "venv"  # the users' Python (make hub-deps)
PROXY_BIN = ROOT / ".hub" / "node_modules" / ".bin"  # configurable-http-proxy (make hub-deps)
HUB = Path(sys.executable).parent / "jupyterhub"
COURSE, PART01 = "autodiff", "01_newton_vs_gd"
NOTEBOOK = f"{PART01}.ipynb"
PREFIX = "adh"  # test users: adh<pid of the test><role>; role i = instructor, a and b = students
CELL_TIMEOUT = 30


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


def remove_stale_users() -> None:
    """Users left by an earlier run that was killed before it could clean up (its PID is gone)."""
    for entry in pwd.getpwall():
        name = entry.pw_name
        if name.startswith(PREFIX) and name[len(PREFIX) : -1].isdigit() and name[-1] in "iab":
            if not pid_alive(int(name[len(PREFIX) : -1])):
                remove_user(name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def wait_for(what, check, timeout, alive=None):
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
        time.sleep(0.25)
    raise AssertionError(f"{what}: not ready after {timeout} s")


def server_environment(pid: int) -> dict:
    """The environment of a user's running server: what a terminal of that server gets."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def as_user(user, command, env, cwd, timeout=300):
    """Run ``command`` as ``user`` with exactly ``env``, in ``cwd``; output as text."""
    result = subprocess.run(
        ["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    result.log = result.stdout + result.stderr
    return result


PROBE = """
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
    result = as_user(user, ["python", "-c", PROBE, json.dumps([str(p) for p in paths])], env, "/")
    assert result.returncode == 0, result.log
    return json.loads(result.stdout)


# -- the whole class, once ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def hub_run():
    if os.geteuid() != 0:
        pytest.fail("the hub test creates system users: run it as root (make test-hub)")
    for needed in (USER_ENV / "bin" / "jupyterhub-singleuser", PROXY_BIN, HUB):
        if not needed.exists():
            pytest.fail(f"{needed} is missing: run `make hub-deps` first")
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
        times = result["times"] if "result" in locals() else {}
        for step, seconds in times.items():
            print(f"{step:>18}: {seconds:5.1f} s")
        print(f"hub test: {time.monotonic() - started:.1f} s in all, clean-up included")


def run_the_class(cleanup):
    remove_stale_users()
    times = {}
    t0 = time.monotonic()
    users = {role: f"{PREFIX}{os.getpid()}{role}" for role in "iab"}
    instructor, a, b = users["i"], users["a"], users["b"]

    base = Path(tempfile.mkdtemp(prefix="autodiff-hub-"))
    cleanup.add(shutil.rmtree, base, True)
    base.chmod(0o755)
    course, exchange, state = base / "course", base / "exchange", base / "hub"
    state.mkdir(mode=0o700)
    exchange.mkdir()
    exchange.chmod(0o777)  # nbgrader's documented permissions for the exchange root
    roster = base / "roster.txt"
    roster.write_text(f"{instructor} instructor\n{a} student\n{b} student\n")

    for name in users.values():  # as the README says: private homes, one group per user
        cleanup.add(remove_user, name)
        subprocess.run(
            ["useradd", "--create-home", "--key", "HOME_MODE=0700", "--user-group", name],
            check=True,
        )
    usable = as_user(a, ["python", "-c", "import autodiff_lib"], {"PATH": f"{USER_ENV}/bin"}, "/")
    assert usable.returncode == 0, (
        f"the hub's users cannot run {USER_ENV} (is this checkout inside a folder that other "
        f"users cannot enter?):\n{usable.log}"
    )
    copy_course(course)
    subprocess.run(["chown", "-R", f"{instructor}:{instructor}", str(course)], check=True)
    course.chmod(0o700)
    homes = {name: Path(pwd.getpwnam(name).pw_dir) for name in users.values()}
    times["users and course"] = time.monotonic() - t0
    background = ThreadPoolExecutor(max_workers=2)
    cleanup.add(background.shutdown)

    # -- while the hub starts, the instructor generates the student version in a shell ----------
    shell = {"PATH": f"{USER_ENV / 'bin'}:/usr/bin:/bin", "HOME": str(homes[instructor])}
    generated = background.submit(
        as_user, instructor, ["nbgrader", "generate_assignment", PART01, "--force"], shell, course
    )

    # -- the hub ---------------------------------------------------------------------------------
    t0 = time.monotonic()
    admin_token = tokens.token_hex(32)
    port, hub_port, proxy_port = free_port(), free_port(), free_port()
    overlay = state / "test_config.py"
    overlay.write_text(
        f"c = get_config()\n"
        f"load_subconfig({str(HERE / 'jupyterhub_config.py')!r})\n"
        f"c.JupyterHub.bind_url = 'http://127.0.0.1:{port}'\n"
        f"c.JupyterHub.hub_bind_url = 'http://127.0.0.1:{hub_port}'\n"
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{proxy_port}'\n"
        f"c.Spawner.ip = '127.0.0.1'\n"
        f"c.JupyterHub.services = [{{'name': 'hub-test', 'api_token': {admin_token!r}}}]\n"
        f"c.JupyterHub.load_roles.append({{'name': 'hub-test', 'services': ['hub-test'],\n"
        f"    'scopes': ['admin:users', 'admin:servers', 'admin:server_state', 'tokens']}})\n"
    )
    env = {
        "PATH": os.pathsep.join([str(PROXY_BIN), str(HUB.parent), "/usr/bin", "/bin"]),
        "HOME": str(state),
        "LANG": "C.UTF-8",
        "AUTODIFF_COURSE_ROOT": str(course),
        "AUTODIFF_EXCHANGE": str(exchange),
        "AUTODIFF_ROSTER": str(roster),
        "AUTODIFF_USER_ENV": str(USER_ENV),
        "AUTODIFF_HUB_STATE": str(state),
    }
    cleanup.log = state / "hub.log"
    log = cleanup.log.open("w")
    process = subprocess.Popen(
        [str(HUB), "-f", str(overlay)],
        cwd=state,
        env=env,
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
    hub = Hub(f"http://127.0.0.1:{port}", admin_token)

    def alive():
        return process.poll() is None

    wait_for("the hub", lambda: hub.api("GET", "/")["version"], 60, alive)
    times["hub start"] = time.monotonic() - t0

    # -- every user's server, as the hub spawns it ----------------------------------------------
    t0 = time.monotonic()
    user_tokens, server_env = {}, {}
    for name in users.values():
        token = hub.api("POST", f"/users/{name}/tokens", json={"note": "hub test"})
        user_tokens[name] = token["token"]
        hub.api("POST", f"/users/{name}/server")

    def ready(name):
        model = hub.api("GET", f"/users/{name}")
        return model if model["servers"].get("", {}).get("ready") else None

    for name in users.values():
        model = wait_for(f"the server of {name}", lambda name=name: ready(name), 120, alive)
        pids[f"server {name}"] = model["servers"][""]["state"]["pid"]
        server_env[name] = server_environment(pids[f"server {name}"])
    times["servers start"] = time.monotonic() - t0

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

    # -- the instructor collects, grades (as make grade) and returns feedback ----------------------
    t0 = time.monotonic()
    run_as(instructor, "nbgrader", "collect", PART01, cwd=course)
    grade = ["python", "-m", "course.grades", f"--Execute.timeout={CELL_TIMEOUT}"]
    grading = as_user(instructor, grade, server_env[instructor], course)
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

    # -- what each student can see, and what the hub lets each one do ---------------------------
    t0 = time.monotonic()
    private = {}
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

    return {
        "users": users,
        "course": course,
        "homes": homes,
        "grading": grading,
        "private": private,
        "own": own,
        "formgrader": formgrader,
        "disabled": disabled,
        "other_server": other_server,
        "times": times,
    }


def lab_config(page: str) -> dict:
    """The page configuration JupyterLab embeds in its HTML page (jupyter-config-data)."""
    start = page.index('id="jupyter-config-data"')
    start = page.index(">", start) + 1
    return json.loads(page[start : page.index("</script>", start)])


# -- the assertions -----------------------------------------------------------------------------
def scores(course: Path, student: str) -> dict:
    """``{cell: (score, max score, cell type)}`` of one student's part 01, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE) as gb:
        submission = gb.find_submission(PART01, student)
        return {
            g.name: (g.score, g.max_score, g.cell.cell_type)
            for nb in submission.notebooks
            for g in nb.grades
        }


def test_grading_on_the_hub_succeeded(hub_run):
    assert hub_run["grading"].returncode == 0, hub_run["grading"].log
    assert "FAILED" not in hub_run["grading"].stdout


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
