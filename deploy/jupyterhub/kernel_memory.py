"""Memory of a student's kernel after each notebook, for sizing the hub (run by hand)::

    .venv/bin/python deploy/jupyterhub/kernel_memory.py source/*/*.ipynb

Each notebook is run top to bottom in a fresh kernel (nbclient, from the notebook's folder),
and the kernel's memory is read from /proc when it has finished: PSS (shared pages split
between the processes sharing them: what a kernel adds on a hub running many) and RSS.
A cell that fails is reported and the notebook's figure is still printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def memory_mib(pid: int) -> dict:
    """``{"rss": ..., "pss": ...}`` of a process in MiB, from /proc/PID/smaps_rollup."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key.lower()] = int(rest.split()[0]) / 1024
    return values


def kernel_memory(notebook: Path, timeout: int) -> tuple[dict, str]:
    """Run ``notebook`` in a new kernel; the kernel's memory at the end, and an error if any."""
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=timeout, resources={"metadata": {"path": notebook.parent}})
    error = ""
    with client.setup_kernel():
        try:
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        except CellExecutionError as failure:
            error = str(failure).splitlines()[0]
        pid = client.km.provisioner.process.pid
        return memory_mib(pid), error


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    args = parser.parse_args(argv)
    pss = []
    for notebook in args.notebooks:
        memory, error = kernel_memory(notebook.resolve(), args.timeout)
        pss.append(memory["pss"])
        note = f"  (failed: {error})" if error else ""
        print(f"{memory['pss']:6.0f} MiB PSS {memory['rss']:6.0f} MiB RSS  {notebook}{note}")
    print(f"median {statistics.median(pss):.0f} MiB PSS, largest {max(pss):.0f} MiB PSS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
