"""Memory and CPU limits per user where there is no systemd: local servers in cgroups (v1).

JupyterHub's ``LocalProcessSpawner`` ignores ``mem_limit`` and ``cpu_limit``: one runaway kernel
can take the machine. On a server with systemd, ``SystemdSpawner`` applies them (see
``jupyterhub_config.py``). Without systemd (a container, a VM started by its own init) but with
the cgroup v1 ``memory`` and ``cpu`` hierarchies mounted and writable, ``CgroupSpawner`` does it
itself: each user's server, and every kernel and terminal it starts, runs in a cgroup
``jupyterhub-<user>`` below the hub's own, with

* ``memory.limit_in_bytes = mem_limit``: past it the kernel's OOM killer stops the largest
  process of that user (their runaway kernel), nobody else's;
* ``cpu.cfs_quota_us = cpu_limit * cpu.cfs_period_us``: at most ``cpu_limit`` cores.

The server joins its cgroups before it runs any code (in the child, before it becomes the
user), so nothing escapes them. cgroups v2 without systemd is not handled: use systemd there.
"""

from __future__ import annotations

import os
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner

CGROUPS = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "cpu")


def own_cgroup(controller: str) -> Path:
    """This process's cgroup folder in ``controller``'s v1 hierarchy."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return CGROUPS / controller / path.lstrip("/")
    raise RuntimeError(f"no cgroup v1 {controller} hierarchy in /proc/self/cgroup")


def available() -> bool:
    """True when the v1 memory and cpu hierarchies are mounted and this process may write there."""
    try:
        return all(os.access(own_cgroup(c), os.W_OK) for c in CONTROLLERS)
    except RuntimeError:
        return False


class CgroupSpawner(LocalProcessSpawner):
    """``LocalProcessSpawner`` with ``mem_limit`` and ``cpu_limit`` applied by cgroups v1."""

    def cgroups(self) -> dict[str, Path]:
        name = f"jupyterhub-{self.user.name}"
        return {controller: own_cgroup(controller) / name for controller in CONTROLLERS}

    async def start(self):
        groups = self.cgroups()
        for folder in groups.values():
            folder.mkdir(exist_ok=True)
        memory = self.mem_limit or -1  # -1: no limit (the folder may keep an earlier one)
        (groups["memory"] / "memory.limit_in_bytes").write_text(str(memory))
        period = int((groups["cpu"] / "cpu.cfs_period_us").read_text())
        quota = int(self.cpu_limit * period) if self.cpu_limit else -1
        (groups["cpu"] / "cpu.cfs_quota_us").write_text(str(quota))
        return await super().start()

    def make_preexec_fn(self, name):
        become_user = super().make_preexec_fn(name)
        procs = [str(folder / "cgroup.procs") for folder in self.cgroups().values()]

        def join_cgroups_then_become_user():
            for path in procs:
                with open(path, "w") as file:
                    file.write(str(os.getpid()))
            become_user()

        return join_cgroups_then_become_user

    async def stop(self, now=False):
        await super().stop(now=now)
        for folder in self.cgroups().values():
            try:
                folder.rmdir()
            except FileNotFoundError:
                pass
            except OSError as error:  # a process of the user still in it: reused next time
                self.log.warning("cgroup %s of %s kept: %s", folder, self.user.name, error)
