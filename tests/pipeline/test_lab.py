"""``make lab``: JupyterLab at the root, on 127.0.0.1 only, with nbgrader's extensions on."""

import json
import re
import subprocess
import time
import urllib.request

import pytest
from coursekit import BIN, ROOT, copy_course, environment, free_port, make_lab_command

ANSI = re.compile(r"\x1b\[[0-9;]*m")
NBGRADER_SERVER_EXTENSIONS = ["formgrader", "validate_assignment", "assignment_list", "course_list"]


def jupyter(*commands):
    """The output of several ``jupyter`` commands, run side by side (each takes seconds)."""
    runs = [
        subprocess.Popen([str(BIN / "jupyter"), *args], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=environment())
        for args in commands
    ]  # fmt: skip
    return [ANSI.sub("", run.communicate(timeout=120)[0]) for run in runs]


def test_nbgraders_server_and_lab_extensions_are_enabled_by_installing_it():
    servers, labs = jupyter(["server", "extension", "list"], ["labextension", "list"])
    for name in NBGRADER_SERVER_EXTENSIONS:
        assert re.search(rf"nbgrader\.server_extensions\.{name}\s+enabled", servers), servers
        assert re.search(rf"nbgrader\.server_extensions\.{name}\s+OK", servers), servers
    assert re.search(r"@jupyter/nbgrader v\S+ enabled\s+OK", labs), labs


def listening_addresses(port):
    """Local addresses with a socket listening on ``port`` (from /proc/net/tcp, tcp6)."""
    found = []
    for table in ["/proc/net/tcp", "/proc/net/tcp6"]:
        with open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.append(address)
    return found


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``make lab``'s command, started in a copy of the course without a browser or token
    (one server for the tests of this module)."""
    tmp_path = tmp_path_factory.mktemp("lab")
    root = copy_course(tmp_path / "course")
    settings, command = make_lab_command()
    assert command[0].endswith("jupyter")
    (root / ".exchange").mkdir()  # make lab's first step
    port = free_port()
    env = environment() | {"JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    env |= {name: value.replace(str(ROOT), str(root)) for name, value in settings.items()}
    log = tmp_path / "lab.log"
    server = subprocess.Popen(
        [str(BIN / "jupyter"), *command[1:], f"--port={port}", "--no-browser",
         "--IdentityProvider.token=", "--ServerApp.password="],
        cwd=root, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(480):  # up to 2 min: a loaded machine starts it slowly
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=1)
                break
            except OSError:
                assert server.poll() is None, f"JupyterLab exited:\n{log.read_text()}"
                time.sleep(0.25)
        else:
            pytest.fail(f"JupyterLab did not answer within 2 minutes:\n{log.read_text()}")
        yield {"port": port, "command": command, "log": log, "root": root}
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_make_lab_serves_the_course_on_loopback_only_with_the_formgrader(lab):
    port = lab["port"]
    assert "--ip=127.0.0.1" in lab["command"]
    assert listening_addresses(port) and all(
        address in ("0100007F", "00000000000000000000000001000000")  # 127.0.0.1 and ::1
        for address in listening_addresses(port)
    ), listening_addresses(port)
    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=10)
    assert page.status == 200
    api = f"http://127.0.0.1:{port}/formgrader/api/assignments"
    assignments = json.load(urllib.request.urlopen(api, timeout=30))  # reads nbgrader_config.py
    assert "01_newton_vs_gd" in {a["name"] for a in assignments}


def test_make_lab_gives_nbgraders_panels_an_exchange_of_its_own(lab):
    """The Assignments and Courses panels ask nbgrader's exchange; under make lab it is the
    course's .exchange/, so they answer, and nothing warns about a system folder."""
    port = lab["port"]
    for path in ["assignments?course_id=autodiff", "courses"]:
        answer = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=60))
        assert answer["success"], (path, answer)
    log = lab["log"].read_text()
    assert "Unwritable directory" not in log and "exchange directory does not exist" not in log
    assert "/usr/local/share/nbgrader/exchange" not in log, log
