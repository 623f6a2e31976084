"""JupyterHub for the autodiff course: one course on one server, in the style of The Littlest
JupyterHub (one system user per person, each server a local process run as that user), with
nbgrader's exchange in a shared folder. Run as root: ``jupyterhub -f jupyterhub_config.py``.

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
from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

HERE = Path(__file__).resolve().parent
COURSE_ID = "autodiff"  # as in the course's nbgrader_config.py and jupyter/nbgrader_config.py
INSTRUCTORS = f"formgrade-{COURSE_ID}"  # nbgrader's group names: formgrade-<course> and
STUDENTS = f"nbgrader-{COURSE_ID}"  # nbgrader-<course>


def setting(name, default):
    return os.environ.get(f"AUTODIFF_{name}", default)


COURSE_ROOT = Path(setting("COURSE_ROOT", "/srv/autodiff/course"))  # a checkout of the course
EXCHANGE = Path(setting("EXCHANGE", "/srv/nbgrader/exchange"))  # nbgrader's shared folder
ROSTER = Path(setting("ROSTER", "/srv/autodiff/roster.txt"))
USER_ENV = Path(setting("USER_ENV", "/opt/autodiff/venv"))  # the users' Python, readable by all
STATE = Path(setting("HUB_STATE", "/srv/jupyterhub"))  # the hub's database and secrets


def read_roster(path):
    """``{"instructor": {...}, "student": {...}}`` from lines ``user role`` (# comments)."""
    people = {"instructor": set(), "student": set()}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2 or words[1] not in people:
            raise ValueError(f"{path}:{number}: expected 'user instructor' or 'user student'")
        people[words[1]].add(words[0])
    return people


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
c.LocalAuthenticator.create_system_users = False  # created from the roster: see the README

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
]

# -- each user's server: a local process run as that user -------------------------------------
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [str(USER_ENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.env_keep = ["LANG", "LC_ALL"]  # nothing of the hub's own environment leaks through
c.Spawner.environment = {
    "PATH": os.pathsep.join([str(USER_ENV / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
    "AUTODIFF_EXCHANGE": str(EXCHANGE),  # read by jupyter/nbgrader_config.py
}


def per_role(spawner):
    """Where Jupyter and nbgrader read their configuration, and where Lab opens, by group.

    Instructors: the course root first (its nbgrader_config.py: course root, gradebook,
    preprocessors), then the exchange settings; Lab opens at the course root's parent, since
    the formgrader wants the course below the server's root. Students: the extensions they must
    not see switched off (student/), then the exchange settings; Lab opens in their home.
    """
    groups = {group.name for group in spawner.user.groups}
    if INSTRUCTORS in groups:
        path = [COURSE_ROOT, HERE / "jupyter"]
        spawner.notebook_dir = str(COURSE_ROOT.parent)
    else:
        path = [HERE / "student", HERE / "jupyter"]
    config_path = os.pathsep.join(str(p) for p in path)
    spawner.environment = {**spawner.environment, "JUPYTER_CONFIG_PATH": config_path}


c.Spawner.pre_spawn_hook = per_role
