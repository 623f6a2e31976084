"""nbgrader's settings for everyone on the hub: the course and the exchange.

Every user's server reads this file (the hub puts this folder on JUPYTER_CONFIG_PATH); an
instructor's server reads the course's own nbgrader_config.py before it.
"""

import os

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

c.CourseDirectory.course_id = "autodiff"

# The shared folder through which assignments, submissions and feedback pass. Created by the
# administrator with the permissions nbgrader documents (mode 0777: `chmod ugo+rw`); nbgrader
# then gives each course its own folders: outbound/ readable by all, inbound/ writable but not
# listable by students (each submission named with a random suffix), feedback/ not listable.
c.Exchange.root = os.environ.get("AUTODIFF_EXCHANGE", "/srv/nbgrader/exchange")

# A student sees, fetches and submits only the courses of their JupyterHub groups
# (nbgrader-<course>); the plugin asks the hub with the server's token.
c.Authenticator.plugin_class = "nbgrader.auth.JupyterHubAuthPlugin"

# nbgrader's Validate button fails a test cell that writes anything to stderr (a numpy warning),
# even when its assertions pass: in the kernels it starts, stderr is shown on stdout as notes
# (autodiff_lib.testing.stderr_as_notes), as in the course's own nbgrader_config.py.
c.Validator.Execute.extra_arguments = [
    "--IPKernelApp.exec_lines=__import__('autodiff_lib.testing').testing.stderr_as_notes()"
]
