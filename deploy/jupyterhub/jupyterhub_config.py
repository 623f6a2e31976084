"""JupyterHub for the autodiff course: one course on one server, in the style of The Littlest
JupyterHub (one system user per person, each server run as that user: a systemd unit with
memory and CPU limits, or a local process where there is no systemd), with nbgrader's exchange
in a shared folder. Run as root: ``jupyterhub -f jupyterhub_config.py`` (or the systemd unit
``jupyterhub.service`` beside this file).

Who is who comes from a roster file (``AUTODIFF_ROSTER``), one ``user role`` a line:

* instructors (JupyterHub group ``formgrade-autodiff``): their server loads the course's own
  ``nbgrader_config.py`` (course root, gradebook, hidden-test-free feedback) and has the
  formgrader; the hub lets them see who is logged in. They release, collect and grade.
* students (group ``nbgrader-autodiff``: nbgrader's name for "takes course autodiff", read by
  its JupyterHub auth plugin): their server fetches and submits through the exchange; the
  formgrader and the create-assignment toolbar are switched off there.

Every path can be set by an environment variable of the hub (the defaults are for a server);
the README beside this file says how to deploy it. The hub itself is reached through
configurable-http-proxy on ``AUTODIFF_HUB_URL`` (127.0.0.1:8000 unless told: put a
TLS-terminating proxy, nginx or Caddy, in front of it).
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from roster import GROUPS, read_roster, service_token  # noqa: E402

INSTRUCTORS, STUDENTS = GROUPS["instructor"], GROUPS["student"]


def setting(name, default):
    return os.environ.get(f"AUTODIFF_{name}", default)


def cores():
    """The cores the hub may run on (fewer than the machine's in a container or cgroup)."""
    return len(os.sched_getaffinity(0))


COURSE_ROOT = Path(setting("COURSE_ROOT", "/srv/autodiff/course"))  # the course's checkout
EXCHANGE = Path(setting("EXCHANGE", "/srv/nbgrader/exchange"))  # nbgrader's shared folder
ROSTER = Path(setting("ROSTER", "/srv/autodiff/roster.txt"))
USER_ENV = Path(setting("USER_ENV", "/opt/autodiff/venv"))  # the users' Python, readable by all
# The users' Jupyter settings (jupyter/ and student/ beside this file), readable by all:
# `make hub-install` copies them there from the course's checkout, which students cannot read.
SETTINGS = Path(setting("SETTINGS", "/opt/autodiff/settings"))
STATE = Path(setting("HUB_STATE", "/srv/jupyterhub"))  # the hub's database and secrets


def default_spawner():
    """systemd where systemd runs; else cgroup where cgroups v1 are writable; else local."""
    if Path("/run/systemd/system").is_dir():
        return "systemd"
    import cgroup_spawner

    return "cgroup" if cgroup_spawner.available() else "local"


# systemd: every server a systemd unit with memory and CPU limits (jupyterhub-systemdspawner);
# cgroup: a child process of the hub in cgroups of its user with the same limits
# (cgroup_spawner.py: machines without systemd as PID 1); local: no limits at all.
SPAWNER = setting("SPAWNER", None) or default_spawner()
MEM_LIMIT = setting("MEM_LIMIT", "2G")  # a student's server and kernels together
CPU_LIMIT = float(setting("CPU_LIMIT", "1"))  # cores for a student
# Instructors grade in their server (make grade: a worker per core, each running a kernel on
# a submission): more memory, every core.
INSTRUCTOR_MEM_LIMIT = setting("INSTRUCTOR_MEM_LIMIT", "8G")
# A class logging in at the same minute: at most this many servers starting at once; the others
# are told "Too many users trying to log in right now. Try again in 30 seconds." (HTTP 429).
SPAWN_LIMIT = int(setting("SPAWN_LIMIT", 10 * cores()))
IDLE_TIMEOUT = int(setting("IDLE_TIMEOUT", 3600))  # a server unused this long is stopped
CULL_EVERY = int(setting("CULL_EVERY", 300))  # seconds between the culler's rounds

roster = read_roster(ROSTER)
instructors, students = roster["instructor"], roster["student"]

# -- the hub: addresses, its own state -------------------------------------------------------
c.JupyterHub.bind_url = setting("HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server

# -- who may log in: system users (PAM passwords), the roster only ---------------------------
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = instructors | students
c.LocalAuthenticator.create_system_users = False  # roster.py creates them, with passwords

# -- groups and roles (JupyterHub's role-based access control) --------------------------------
c.JupyterHub.load_groups = {
    INSTRUCTORS: {"users": sorted(instructors)},
    STUDENTS: {"users": sorted(students)},
}
c.JupyterHub.load_roles = [
    {
        "name": "autodiff-instructor",
        "description": "Instructors of the course: see who is logged in and their servers",
        "groups": [INSTRUCTORS],
        "scopes": ["admin-ui", "list:users", "read:users", "read:servers", "read:groups"],
    },
    {
        # The token of each user's server: JupyterHub's default (activity, access to the
        # server itself) plus the user's own name and groups, which nbgrader's JupyterHub auth
        # plugin reads to know the courses of a student. A token never holds more than its user.
        "name": "server",
        "scopes": [
            "users:activity!user",
            "access:servers!server",
            "read:users:name!user",
            "read:users:groups!user",
        ],
    },
    {
        "name": "idle-culler",
        "description": "Stop servers nobody used for a while",
        "services": ["idle-culler"],
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    },
    {
        "name": "roster",
        "description": "roster.py: students added and removed mid-term",
        "services": ["roster"],
        "scopes": ["admin:users", "list:users", "read:users", "groups", "read:groups"],
    },
]

# -- services: the idle culler (run by the hub), the roster's token (used by roster.py) --------
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={IDLE_TIMEOUT}",
            f"--cull-every={CULL_EVERY}",
        ],
    },
    {"name": "roster", "api_token": service_token(STATE)},
]

# -- each user's server -----------------------------------------------------------------------
c.Spawner.cmd = [str(USER_ENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.env_keep = ["LANG", "LC_ALL"]  # nothing of the hub's own environment leaks through
c.Spawner.environment = {
    "PATH": os.pathsep.join([str(USER_ENV / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
    "AUTODIFF_EXCHANGE": str(EXCHANGE),  # read by jupyter/nbgrader_config.py
}
# A whole class at once on few cores: a server may take minutes to answer (the default 30 s
# gave up on every server of a class of 20 on 2 cores); the spawn limit keeps that bounded.
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300
c.JupyterHub.concurrent_spawn_limit = SPAWN_LIMIT

c.Spawner.mem_limit = MEM_LIMIT
c.Spawner.cpu_limit = CPU_LIMIT
if SPAWNER == "systemd":
    # Each server is a transient systemd unit run as its user: MemoryMax and CPUQuota bound
    # all of a user's kernels together, and CPU is shared per user, not per process. The
    # hub's unit has a higher CPUWeight (jupyterhub.service).
    c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
    c.SystemdSpawner.isolate_tmp = True  # a private /tmp per user
    c.SystemdSpawner.disable_user_sudo = True
elif SPAWNER in ("cgroup", "local"):
    # Each server a child process of the hub, run as its user, niced so that the hub and the
    # proxy stay responsive while a class starts; with "cgroup", in cgroups of its user.
    if SPAWNER == "cgroup":
        c.JupyterHub.spawner_class = "cgroup_spawner.CgroupSpawner"
    else:
        c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
        print("jupyterhub_config.py: LocalProcessSpawner: NO per-user memory or CPU limits")
    c.Spawner.cmd = ["/usr/bin/nice", "-n", "10", *c.Spawner.cmd]
else:
    raise ValueError(f"AUTODIFF_SPAWNER={SPAWNER!r}: expected 'systemd', 'cgroup' or 'local'")

# Kernels talk to their server over Unix sockets (jupyter/jupyter_server_config.py) in the
# user's runtime folder, RUNTIME_ROOT/<uid>: made here by root, owned by the user, mode 0700,
# so that nobody else can reach them. Not in the home: a Unix socket path holds at most 107
# characters, and ~/.local/share/jupyter/runtime/kernel-<uuid>-ipc-1 leaves 28 for the home.
RUNTIME_ROOT = Path(setting("RUNTIME_ROOT", "/run/jupyter"))
SOCKET_PATH_MAX = 107
KERNEL_SOCKET_NAME = len("/kernel-12345678-1234-1234-1234-123456789012-ipc-99")


def runtime_folder(name):
    """RUNTIME_ROOT/<uid> of user ``name``: created or corrected (owner, mode 0700), checked."""
    import pwd

    user = pwd.getpwnam(name)
    RUNTIME_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
    folder = RUNTIME_ROOT / str(user.pw_uid)
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chown(folder, user.pw_uid, user.pw_gid)
    folder.chmod(0o700)
    if len(str(folder)) + KERNEL_SOCKET_NAME > SOCKET_PATH_MAX:
        raise ValueError(
            f"{name}: kernel sockets in {folder} would be longer than {SOCKET_PATH_MAX} "
            "characters: set a shorter AUTODIFF_RUNTIME_ROOT"
        )
    return folder


def per_role(spawner):
    """Where Jupyter and nbgrader read their configuration, and where Lab opens, by group.

    Instructors: the course root first (its nbgrader_config.py: course root, gradebook,
    preprocessors), then the exchange settings; Lab opens at the course root's parent, since
    the formgrader wants the course below the server's root. Students: the extensions they must
    not see switched off (student/), then the exchange settings; Lab opens in their home.
    Instructors have more memory and every core, to grade. Everyone: the kernels' sockets in
    their own private runtime folder.
    """
    groups = {group.name for group in spawner.user.groups}
    if INSTRUCTORS in groups:
        path = [COURSE_ROOT, SETTINGS / "jupyter"]
        spawner.notebook_dir = str(COURSE_ROOT.parent)
        spawner.mem_limit, spawner.cpu_limit = INSTRUCTOR_MEM_LIMIT, None
    else:
        path = [SETTINGS / "student", SETTINGS / "jupyter"]
    spawner.environment = {
        **spawner.environment,
        "JUPYTER_CONFIG_PATH": os.pathsep.join(str(p) for p in path),
        "JUPYTER_RUNTIME_DIR": str(runtime_folder(spawner.user.name)),
    }


c.Spawner.pre_spawn_hook = per_role
