"""The tests of the C++ port (``test_cpp_*.py``) need its Python module ``autodiff_cpp``, which
``make test-cpp`` builds and puts on ``PYTHONPATH``. Where it is not importable (``make test``,
which needs no compiler) those files are not collected at all: nothing is skipped."""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("autodiff_cpp") else ["test_cpp_*.py"]
