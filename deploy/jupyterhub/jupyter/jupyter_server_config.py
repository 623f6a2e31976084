"""Every user's Jupyter server on the hub (students and instructors alike).

Kernels talk to their server over Unix sockets in the user's private runtime folder
(``JUPYTER_RUNTIME_DIR``: ``/run/jupyter/<uid>``, mode 0700, made by the hub) instead of TCP
ports on 127.0.0.1: any user of the machine can find TCP ports in /proc/net/tcp and subscribe
to a kernel's output there, but nobody else can reach a socket inside another user's private
folder. ``make test-hub`` tries both.
"""

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

c.KernelManager.transport = "ipc"
