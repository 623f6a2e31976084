"""``python -m benchmarks.cpp [--quick]``: the C++ port beside autodiff_lib, hand-written numpy
and PyTorch eager, in one run (issue 16, point 7). ``make benchmark-cpp`` builds the port's
benchmark modules and runs this.

The port is measured in three builds, each a Python module with its own copy of the library
(cpp/benchmarks/): ``-O2``, ``-O3 -march=native``, and ``-O3 -march=native`` with xtensor's
xsimd kernels. Each C++ workload is made once from the same numpy data and timed by calling its
``run()``, which evaluates the whole gradient in C++: one Python call per gradient, never one
per operation (the cost of that one call is printed). Every column's result is checked against
the numpy floor before it is timed. Workloads: the per-operation gradient cost on 1000 size-1
operations (benchmarks/per_op.py), the chain ``x ← tanh(x)·x + x`` on 16-vectors
(benchmarks/chain.py, here on 16 elements instead of 4), the MLP 8→h→1 loss and gradient
(benchmarks/mlp.py) and the Hessian of benchmarks/hessian.py. The run ends with the targets of
issue 16, PASS or MISS for each build.
"""

import argparse
import importlib
import os
import platform
import time

import numpy as np

import autodiff_lib as ad

from . import NUMPY_WAS_IMPORTED_FIRST, chain, hessian, mlp, per_op
from .timing import (
    Settings,
    agree,
    check_columns,
    format_ratio,
    format_time,
    load_torch,
    machine_load,
    measure,
    print_table,
    tune_allocator,
)

FLAVOURS = {
    "C++ -O2": "autodiff_cpp_bench_o2",
    "C++ -O3 native": "autodiff_cpp_bench_o3_native",
    "C++ xsimd": "autodiff_cpp_bench_xsimd",
}
CHAIN_START = np.resize(chain.START, 16)  # the chain's start values, repeated to 16 elements
CHAIN_STEPS = (10, 100, 1000)
MLP_SIZES = ((16, 32), (64, 256), (256, 2048))
HESSIAN_SIZES = (10, 100)
TARGETS = {  # issue 16, point 7
    "per_op": 0.5e-6,  # seconds per operation
    "chain": 0.5,  # at most this fraction of the numpy floor at k = 1000
    "mlp": 1.3,  # at most this multiple of the numpy floor at 64/256
}


def load_modules():
    """The benchmark modules, by column name (an error says how to build a missing one)."""
    modules = {}
    for column, name in FLAVOURS.items():
        try:
            modules[column] = importlib.import_module(name)
        except ImportError as error:
            raise SystemExit(
                f"{name} is not importable ({error}): run `make benchmark-cpp`, which builds it "
                "into cpp/build/benchmark/python and puts that folder on PYTHONPATH"
            ) from None
    return modules


def cpp_columns(modules, make, check, problems, workload):
    """``{column: run}`` for each build: ``make(module)`` is the workload, ``check(w)`` its result
    against the floor (False: a line in ``problems``)."""
    runs = {}
    for column, module in modules.items():
        w = make(module)
        w.run(1)
        if not check(w):
            problems.append(f"  !! {workload}: {column} disagrees with the numpy floor")
        runs[column] = w.run
    return runs


def cpu_times(fns, wall, settings):
    """Least CPU time of this thread per call of each function (``time.thread_time``).

    Wall-clock time on a machine shared with other jobs includes their share of the cores: at
    a load average of 7 on 2 cores it was two to three times the time of a quiet run. The
    thread's CPU time counts only what the call itself ran (other jobs still slow it through
    the caches, less), and the least of the repeats is the run least disturbed. ``wall`` (the
    median wall-clock seconds per call) sizes each loop to about ``settings.repeat_time``.
    """
    times = {}
    for name, fn in fns.items():
        number = max(1, round(settings.repeat_time / max(wall[name], 1e-9)))
        best = float("inf")
        for _ in range(max(3, settings.repeats)):
            start = time.thread_time()
            for _ in range(number):
                fn()
            best = min(best, (time.thread_time() - start) / number)
        times[name] = best
    return times


def per_operation(settings, torch, modules):
    runs = per_op.candidates(torch)
    runs.pop("autograd")
    reference = per_op.numpy_value_and_grad(per_op.START.copy())
    problems = check_columns("per-op chain", reference, {n: f() for n, f in runs.items()})
    runs |= cpp_columns(
        modules,
        lambda m: m.PerOperation(per_op.START, per_op.OPERATIONS),
        lambda w: agree(reference, w.result()),
        problems,
        "per-op chain",
    )
    wall = measure(runs, settings)
    times = {name: t / per_op.OPERATIONS for name, t in wall.items()}
    print_table(
        f"Gradient cost per operation: value_and_grad of {per_op.OPERATIONS} alternating sin(x), "
        "x*1.1 on size-1 arrays, time / 1000",
        ("ops",),
        [((per_op.OPERATIONS,), times)],
        list(runs),
        notes=problems,
    )
    cpu = {name: t / per_op.OPERATIONS for name, t in cpu_times(runs, wall, settings).items()}
    print_table(
        "The same, in CPU time of the benchmark's thread (time.thread_time, the least of the "
        "repeats): what the load of other jobs adds to wall-clock time left out",
        ("ops",),
        [((per_op.OPERATIONS,), cpu)],
        list(runs),
    )
    return {"wall": times, "cpu": cpu}


def chain_rows(settings, torch, modules):
    rows, problems = [], []
    for k in CHAIN_STEPS:
        x = CHAIN_START.copy()
        grad_chain = ad.grad(chain.chain(ad.tanh, ad.sum))
        runs = {
            "autodiff_lib": lambda x=x, k=k, grad_chain=grad_chain: grad_chain(x, k),
            "numpy": lambda x=x, k=k: chain.numpy_gradient(x, k),
        }
        if torch is not None:
            f = chain.chain(torch.tanh, torch.sum)
            t_x = torch.from_numpy(x.copy()).requires_grad_()
            runs["torch"] = lambda f=f, t_x=t_x, k=k: torch.autograd.grad(f(t_x, k), t_x)[0]
        reference = chain.numpy_gradient(x, k)
        problems += check_columns(f"chain k={k}", reference, {n: f() for n, f in runs.items()})
        runs |= cpp_columns(
            modules,
            lambda m, x=x, k=k: m.Chain(x, k),
            lambda w, reference=reference: agree(reference, w.result()),
            problems,
            f"chain k={k}",
        )
        rows.append(((k,), measure(runs, settings)))
    print_table(
        "Chain x ← tanh(x)·x + x, k steps, x of size 16: gradient of sum(x_k), ratio to numpy",
        ("k",),
        rows,
        list(rows[0][1]),
        notes=problems,
    )
    return dict(rows)


def mlp_rows(settings, torch, modules):
    rows, problems = [], []
    for hidden, batch in MLP_SIZES:
        runs, _, reference = mlp.candidates(hidden, batch, torch)
        runs = {name: f for name, (f, _) in runs.items() if name != "autograd"}
        problems += check_columns(
            f"MLP {hidden}/{batch}", reference, {n: f() for n, f in runs.items()}
        )
        params, x, y = mlp.make_problem(hidden, batch)
        runs |= cpp_columns(
            modules,
            lambda m, params=params, x=x, y=y: m.MLP(list(params), x, y),
            lambda w, reference=reference: agree(reference, w.result()),
            problems,
            f"MLP {hidden}/{batch}",
        )
        rows.append(((hidden, batch), measure(runs, settings)))
    print_table(
        f"MLP {mlp.INPUTS}→h→1 loss + gradient w.r.t. W1, b1, W2, b2 (tanh, MSE): median per call",
        ("hidden", "batch"),
        rows,
        list(rows[0][1]),
        notes=problems,
    )
    return dict(rows)


def hessian_rows(settings, torch, modules):
    rows, problems = [], []
    for n in HESSIAN_SIZES:
        runs, (reference, _) = hessian.candidates(n, torch)
        runs = {name: h for name, (h, _) in runs.items() if name != "autograd"}
        problems += check_columns(f"Hessian n={n}", reference, {k: h() for k, h in runs.items()})
        A, b, x = hessian.make_problem(n)
        runs |= cpp_columns(
            modules,
            lambda m, A=A, b=b, x=x: m.Hessian(A, b, x),
            lambda w, reference=reference: agree(reference, w.result()),
            problems,
            f"Hessian n={n}",
        )
        rows.append(((n,), measure(runs, settings)))
    print_table(
        "Hessian of ½ xᵀAx + bᵀx + Σ log cosh x: median per call, ratio to the closed form",
        ("n",),
        rows,
        list(rows[0][1]),
        notes=problems,
    )
    return dict(rows)


def targets(results, modules):
    """Lines ``PASS|MISS  target  measured``, one per target and build."""
    lines = []
    cpu, wall = results["per_op"]["cpu"], results["per_op"]["wall"]
    for column in modules:
        lines.append(
            (f"per-operation gradient cost ≤ {format_time(TARGETS['per_op'])}", column,
             f"{format_time(cpu[column])} CPU time, {format_time(wall[column])} wall-clock "
             f"(autodiff_lib {format_time(cpu['autodiff_lib'])} CPU time"
             + (f", torch {format_time(cpu['torch'])})" if "torch" in cpu else ")"),
             cpu[column] <= TARGETS["per_op"])
        )  # fmt: skip
    for column in modules:
        times = results["chain"][(1000,)]
        ratio = times[column] / times["numpy"]
        lines.append(
            (f"chain k=1000 on 16-vectors ≤ {TARGETS['chain']:g}× numpy", column,
             f"{format_ratio(ratio)} ({format_time(times[column])} vs "
             f"{format_time(times['numpy'])})", ratio <= TARGETS["chain"])
        )  # fmt: skip
    for column in modules:
        times = results["mlp"][(64, 256)]
        ratio = times[column] / times["numpy"]
        lines.append(
            (f"MLP 64/256 loss+gradient ≤ {TARGETS['mlp']:g}× numpy", column,
             f"{format_ratio(ratio)} ({format_time(times[column])} vs "
             f"{format_time(times['numpy'])})", ratio <= TARGETS["mlp"])
        )  # fmt: skip
    width = max(len(target) for target, *_ in lines)
    return [
        f"  {'PASS' if passed else 'MISS'}  {target:<{width}}  {column:<15} measured {measured}"
        for target, column, measured, passed in lines
    ]


def cpu_model():
    """The processor's name from /proc/cpuinfo (Linux), or what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cpp", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats")
    args = parser.parse_args(argv)
    settings = Settings.make(args.quick)
    modules = load_modules()
    torch, torch_note = load_torch()
    allocator = tune_allocator()  # the C++ columns allocate through the same malloc
    print(
        f"autodiff_lib {ad.__version__} | numpy {np.__version__} | Python "
        f"{platform.python_version()} | {cpu_model()}, {os.cpu_count()} CPUs"
    )
    print(torch_note)
    print(allocator)
    for column, module in modules.items():
        print(f"{column}: {module.__name__}, built with {module.flags}")
    print(
        "BLAS threads: OPENBLAS/OMP/MKL_NUM_THREADS=1"
        + (" (WARNING: numpy was imported first)" if NUMPY_WAS_IMPORTED_FIRST else "")
    )
    nothing = next(iter(modules.values())).nothing
    call = measure({"call": lambda: nothing(1)}, settings)["call"]
    print(f"one call from Python into a C++ module: {format_time(call)} (in each C++ time)")
    print(
        f"timing: median of up to {settings.repeats} repeats of a loop of ≥ "
        f"{settings.repeat_time * 1e3:g} ms" + (" (--quick)" if settings.quick else "")
    )
    print(f"load average before the run: {machine_load():.2f}")
    start = time.perf_counter()
    results = {
        "per_op": per_operation(settings, torch, modules),
        "chain": chain_rows(settings, torch, modules),
        "mlp": mlp_rows(settings, torch, modules),
        "hessian": hessian_rows(settings, torch, modules),
    }
    print("\nTargets of issue 16, point 7 (the C++ port):")
    for line in targets(results, modules):
        print(line)
    print(
        f"\ntotal benchmark time {time.perf_counter() - start:.0f} s, "
        f"load average after the run {machine_load():.2f}"
    )


if __name__ == "__main__":
    main()
