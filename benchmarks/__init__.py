"""Benchmarks of autodiff_lib against hand-written numpy, HIPS autograd and PyTorch eager.

Run by hand, never by the tests: ``python -m benchmarks`` (``--quick`` for a short run).
One BLAS thread is set here, before numpy is first imported, so that every column measures
the same single-threaded arithmetic and the differences are the libraries' own overhead.
"""

import os
import sys

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

NUMPY_WAS_IMPORTED_FIRST = "numpy" in sys.modules  # then the thread limit may come too late
