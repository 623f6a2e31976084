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

# Keep freed heap for reuse, as a training loop does (autodiff_lib.memory), and ask for it here,
# before the other libraries are imported: asked for after them (in main()), it left 4-5 times
# as many page faults in `python -m benchmarks --only mlp` (116-218 thousand against 26 thousand)
# and the MLP 64/256 about 10 % slower. tune_allocator() reports what was done.
from autodiff_lib import memory  # noqa: E402

memory.configure_from_environment()
