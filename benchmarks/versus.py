"""An earlier autodiff_lib against this one, in one process: ``python -m benchmarks.versus``.

``--old REV`` (a git revision, default 33db965: the library before issue 14's checks) is
extracted with ``git archive`` into a temporary folder and imported as ``autodiff_lib_old``
beside ``autodiff_lib``. Each workload is timed in CPU time (``time.process_time``: other
processes on a loaded machine count less than in wall time), old and new interleaved and in
alternating order, and the median of the per-round ratios new/old is printed beside the
median times. Run by hand, never by the tests: a ratio is only a measurement.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse
import gc
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import autodiff_lib

from . import chain, hessian, mlp, per_op
from .timing import machine_load, tune_allocator

OLD = "33db965"  # main before issue 14's library work (the parent of its 'lib' merges)


def load_old(rev: str, folder: str):
    """autodiff_lib at git revision ``rev``, imported as the package ``autodiff_lib_old``."""
    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", rev, "autodiff_lib"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    path = Path(folder) / "autodiff_lib"
    spec = importlib.util.spec_from_file_location(
        "autodiff_lib_old", path / "__init__.py", submodule_search_locations=[str(path)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["autodiff_lib_old"] = module
    spec.loader.exec_module(module)
    return module


def workloads(ad):
    """``{name: zero-argument callable}`` of the peer benchmark's workloads, written with ``ad``."""
    runs = {}
    for hidden, batch in ((64, 256), (16, 32)):
        params, x, y = mlp.make_problem(hidden, batch)

        def loss(params, x, y):
            W1, b1, W2, b2 = params
            residual = ad.matmul(ad.tanh(ad.matmul(x, W1) + b1), W2) + b2 - y
            return ad.mean(residual**2)

        vg = ad.value_and_grad(loss)
        runs[f"MLP {hidden}/{batch}"] = lambda vg=vg, p=params, x=x, y=y: vg(p, x, y)
    for k in (100, 1000):
        g = ad.grad(chain.chain(ad.tanh, ad.sum))
        runs[f"chain k={k}"] = lambda g=g, k=k: g(chain.START.copy(), k)
    vg = ad.value_and_grad(per_op.chain(ad.sin, ad.sum))
    runs["per-op (1000 ops)"] = lambda vg=vg: vg(per_op.START.copy())
    A, b, x = hessian.make_problem(100)
    f = lambda x, A=A, b=b: (  # noqa: E731  (hessian.ad_objective, written with ``ad``)
        0.5 * ad.dot(x, ad.matmul(A, x)) + ad.dot(b, x) + ad.sum(ad.log(ad.cosh(x)))
    )
    h = ad.hessian(f)
    runs["Hessian n=100"] = lambda h=h, x=x: h(x)
    return runs


def _leaves(result):
    """The arrays of a result (nested tuples of arrays), in order."""
    if isinstance(result, (tuple, list)):
        return [leaf for item in result for leaf in _leaves(item)]
    return [np.asarray(result)]


def _loop(fn, number):
    start = time.process_time()
    for _ in range(number):
        fn()
    return (time.process_time() - start) / number


def compare(old, new, rounds, repeat_time):
    """Median CPU seconds per call of ``old`` and ``new``, and the median of the ratios."""
    old(), new()
    number = 1
    while _loop(new, number) * number < repeat_time:
        number *= 2
    olds, news, ratios = [], [], []
    for r in range(rounds):
        if r % 2:
            t_new, t_old = _loop(new, number), _loop(old, number)
        else:
            t_old, t_new = _loop(old, number), _loop(new, number)
        olds.append(t_old)
        news.append(t_new)
        ratios.append(t_new / t_old)
    return statistics.median(olds), statistics.median(news), statistics.median(ratios)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.versus", description=__doc__)
    parser.add_argument("--old", default=OLD, help=f"git revision (default {OLD})")
    parser.add_argument("--rounds", type=int, default=11, help="interleaved rounds (median)")
    parser.add_argument("--time", type=float, default=0.05, help="seconds per loop")
    parser.add_argument("--only", default="", help="comma-separated substrings of the names")
    args = parser.parse_args(argv)
    allocator = tune_allocator()  # for both: older revisions tuned malloc when imported
    with tempfile.TemporaryDirectory() as folder:
        old_ad = load_old(args.old, folder)
        old_runs, new_runs = workloads(old_ad), workloads(autodiff_lib)
    for name in old_runs:  # the two must agree before they are timed
        for a, b in zip(_leaves(old_runs[name]()), _leaves(new_runs[name]()), strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12, err_msg=name)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    print(f"old: autodiff_lib at {args.old}; new: {Path(autodiff_lib.__file__).parent}")
    print(allocator)
    print(f"CPU time per call, median of {args.rounds} interleaved rounds; load average "
          f"before {machine_load():.2f}")  # fmt: skip
    print(f"{'workload':<20}{'old':>12}{'new':>12}{'new/old':>10}")
    gc.collect()
    gc.freeze()
    for name in old_runs:
        if chosen and not any(c in name for c in chosen):
            continue
        t_old, t_new, ratio = compare(old_runs[name], new_runs[name], args.rounds, args.time)
        print(f"{name:<20}{t_old * 1e3:>10.3f}ms{t_new * 1e3:>10.3f}ms{ratio:>9.2f}x", flush=True)
    print(f"load average after {machine_load():.2f}")


if __name__ == "__main__":
    main()
