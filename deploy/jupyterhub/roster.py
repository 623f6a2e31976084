"""The class list: read by the hub at start, and synced into a running hub by root mid-term.

The roster file has one ``user role`` a line (``#`` starts a comment), role ``instructor`` or
``student``. ``jupyterhub_config.py`` reads it when the hub starts. After editing it during the
term, run this module as root (with the hub's Python)::

    /opt/autodiff/venv/bin/python deploy/jupyterhub/roster.py --passwords /root/new-passwords.csv

and the system and the running hub follow the file, without restarting anyone's server:

* a new name becomes a system user with a private home and a random password (appended to the
  ``--passwords`` CSV, mode 0600, for the instructor to hand out); the hub learns the user and
  their group (``formgrade-autodiff`` or ``nbgrader-autodiff``) through its REST API;
* a name no longer listed is deleted from the hub (which stops their server) and their system
  account is locked and expired, never deleted: their home, their work and their grades stay;
  listing them again unlocks it (with a new password);
* a changed role moves the user between the two groups.

The hub is reached with the token of its ``roster`` service, which ``jupyterhub_config.py``
keeps in the hub's state folder (root only).
"""

from __future__ import annotations

import argparse
import csv
import os
import pwd
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

COURSE_ID = "autodiff"  # as in the course's nbgrader_config.py and jupyter/nbgrader_config.py
GROUPS = {  # nbgrader's group names: formgrade-<course> and nbgrader-<course>
    "instructor": f"formgrade-{COURSE_ID}",
    "student": f"nbgrader-{COURSE_ID}",
}
TOKEN_FILE = "roster-api-token"  # in the hub's state folder, written by jupyterhub_config.py


def read_roster(path: Path) -> dict[str, set[str]]:
    """``{"instructor": {...}, "student": {...}}`` from lines ``user role`` (# comments)."""
    people = {role: set() for role in GROUPS}
    seen = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2 or words[1] not in people:
            raise ValueError(f"{path}:{number}: expected 'user instructor' or 'user student'")
        name, role = words
        if name in seen:
            raise ValueError(f"{path}:{number}: {name} is already listed on line {seen[name]}")
        seen[name] = number
        people[role].add(name)
    return people


def service_token(state: Path) -> str:
    """The roster service's API token, created (mode 0600) the first time it is asked for."""
    path = Path(state) / TOKEN_FILE
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
    return path.read_text().strip()


# -- system accounts -----------------------------------------------------------------------------
def tool(name: str) -> str:
    """The path of an administrator's command (useradd, usermod, chpasswd, passwd)."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin:/usr/bin:/bin"
    found = shutil.which(name, path=path)
    if found is None:
        raise SystemExit(f"roster.py needs {name} (Debian's passwd package)")
    return found


def account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def account_locked(name: str) -> bool:
    """True when the password is locked (``passwd --status`` says ``L``)."""
    status = subprocess.run([tool("passwd"), "--status", name], capture_output=True, text=True)
    return status.returncode == 0 and status.stdout.split()[1:2] == ["L"]


def set_passwords(names: list[str]) -> dict[str, str]:
    """A new random password for each name, set with one ``chpasswd``."""
    passwords = {name: secrets.token_urlsafe(12) for name in names}
    if passwords:
        lines = "".join(f"{name}:{password}\n" for name, password in passwords.items())
        subprocess.run([tool("chpasswd")], input=lines, text=True, check=True)
    return passwords


def open_accounts(names: set[str]) -> dict[str, str]:
    """Create the missing accounts (private home, own group) and unlock the locked ones.

    Returns ``{name: password}`` for every account created or unlocked.
    """
    new = []
    for name in sorted(names):
        if not account_exists(name):
            subprocess.run(
                [tool("useradd"), "--create-home", "--key", "HOME_MODE=0700", "--user-group", name],
                check=True,
            )
            new.append(name)
        elif account_locked(name):  # the new password replaces the locked one
            subprocess.run([tool("usermod"), "--expiredate", "", name], check=True)
            new.append(name)
    return set_passwords(new)


def close_account(name: str) -> None:
    """Lock and expire the account: no login, no su; the home and its work stay."""
    if account_exists(name):
        subprocess.run([tool("usermod"), "--lock", "--expiredate", "1", name], check=True)


def record_passwords(path: Path, passwords: dict[str, str]) -> None:
    """Append ``user,password`` lines to ``path`` (created with mode 0600)."""
    if not passwords:
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", newline="") as file:
        csv.writer(file).writerows(sorted(passwords.items()))


# -- the running hub -----------------------------------------------------------------------------
class HubAPI:
    """The hub's REST API with the roster service's token."""

    def __init__(self, url: str, token: str):
        import requests

        self.url = url.rstrip("/") + "/hub/api"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def call(self, method, path, **kwargs):
        response = self.session.request(method, self.url + path, timeout=120, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"hub API {method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def group_members(self) -> dict[str, set[str]]:
        """``{role: {members of that role's group}}`` as the hub has them now."""
        return {
            role: set(self.call("GET", f"/groups/{group}")["users"])
            for role, group in GROUPS.items()
        }

    def users(self) -> set[str]:
        """Every user the hub knows, page by page."""
        names, offset = set(), 0
        headers = {"Accept": "application/jupyterhub-pagination+json"}
        while True:
            page = self.call("GET", f"/users?offset={offset}&limit=200", headers=headers)
            names |= {user["name"] for user in page["items"]}
            following = page["_pagination"]["next"]
            if not following:
                return names
            offset = following["offset"]


def plan(roster: dict[str, set[str]], hub_groups: dict[str, set[str]], hub_users: set[str]):
    """What to change in the hub: (users to add, {role: to join}, {role: to leave}, to delete)."""
    listed = set().union(*roster.values())
    members = set().union(*hub_groups.values())
    to_add = sorted(listed - hub_users)
    join = {role: sorted(roster[role] - hub_groups[role]) for role in GROUPS}
    leave = {role: sorted((hub_groups[role] - roster[role]) & listed) for role in GROUPS}
    to_delete = sorted(members - listed)
    return to_add, join, leave, to_delete


def open_only(roster_path: Path, passwords_path: Path | None) -> dict:
    """Create (or unlock) the accounts of everyone listed, recording their new passwords."""
    roster = read_roster(roster_path)
    if passwords_path is None:
        raise SystemExit("roster.py needs --passwords FILE to record new accounts' passwords")
    passwords = open_accounts(set().union(*roster.values()))
    record_passwords(passwords_path, passwords)
    return {"added": [], "removed": [], "passwords": sorted(passwords)}


def sync(roster_path: Path, hub: HubAPI, passwords_path: Path | None) -> dict:
    """Make the system accounts and the running hub follow the roster; say what changed."""
    roster = read_roster(roster_path)
    to_add, join, leave, to_delete = plan(roster, hub.group_members(), hub.users())
    passwords = open_only(roster_path, passwords_path)["passwords"]
    if to_add:
        hub.call("POST", "/users", json={"usernames": to_add})
    for role, group in GROUPS.items():
        if leave[role]:
            hub.call("DELETE", f"/groups/{group}/users", json={"users": leave[role]})
        if join[role]:
            hub.call("POST", f"/groups/{group}/users", json={"users": join[role]})
    for name in to_delete:
        hub.call("DELETE", f"/users/{name}")  # stops their server first
        close_account(name)
    return {"added": to_add, "removed": to_delete, "passwords": sorted(passwords)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--roster", type=Path, default=os.environ.get("AUTODIFF_ROSTER", "/srv/autodiff/roster.txt")
    )
    parser.add_argument(
        "--hub-state", type=Path, default=os.environ.get("AUTODIFF_HUB_STATE", "/srv/jupyterhub")
    )
    parser.add_argument(
        "--hub-url", default=os.environ.get("AUTODIFF_HUB_URL", "http://127.0.0.1:8000")
    )
    parser.add_argument(
        "--passwords", type=Path, help="CSV to append new accounts' passwords to (mode 0600)"
    )
    parser.add_argument(
        "--no-hub",
        action="store_true",
        help="only create the accounts (before the hub's first start: it reads the roster)",
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("roster.py creates and locks system users: run it as root")
    if args.no_hub:
        changes = open_only(args.roster, args.passwords)
    else:
        hub = HubAPI(args.hub_url, service_token(args.hub_state))
        changes = sync(args.roster, hub, args.passwords)
    for what in ("added", "removed", "passwords"):
        print(f"{what}: {' '.join(changes[what]) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
