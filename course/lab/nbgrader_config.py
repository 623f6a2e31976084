"""nbgrader's settings for `make lab` alone (the Makefile puts this folder on
JUPYTER_CONFIG_PATH): the exchange is .exchange/ at the course root, which make lab creates.

nbgrader's Assignments and Courses panels and the formgrader's release and collect buttons look
for an exchange, the shared folder of a hub (deploy/jupyterhub/ sets its own); without one they
log "Unwritable directory ... /usr/local/share/nbgrader/exchange" at every look. Here, on one
machine, releasing and collecting go through .exchange/ (git-ignored).
"""

from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

c.Exchange.root = str(Path(__file__).resolve().parents[2] / ".exchange")
