"""Importing autodiff_lib leaves malloc alone; training.train asks for the tuning (issue 18, 9).

What glibc does is observed from outside the library, in a fresh process: the heap grows by
M_TOP_PAD beyond what a request needs, so the first growth of the heap under a stream of small
blocks is about 128 KiB with glibc's defaults and 64 MiB once ``memory`` has asked to keep
freed heap (``mallinfo2().arena``: bytes the heap holds).
"""

import ctypes
import os
import subprocess
import sys

import pytest

from autodiff_lib import memory


def _glibc_with_mallinfo2():
    try:
        return hasattr(ctypes.CDLL(None), "mallinfo2")
    except OSError:
        return False


pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not _glibc_with_mallinfo2(),
    reason="observes glibc's heap (mallinfo2, glibc 2.33 and later)",
)

HEAP_STEP = """
import ctypes, sys
libc = ctypes.CDLL(None)
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def heap_step():
    '''How much the heap grows when a stream of 4 KiB blocks first needs more of it.'''
    before, blocks = libc.mallinfo2().arena, []
    while libc.mallinfo2().arena == before and len(blocks) < 100_000:
        blocks.append(libc.malloc(4096))
    step = libc.mallinfo2().arena - before
    for block in blocks:
        libc.free(block)
    return step

import numpy as np
import autodiff_lib as ad
{action}
print(heap_step(), ad.memory.configured)
"""

TRAIN = """
from autodiff_lib.data import teacher_student
from autodiff_lib.networks import init_mlp
data = teacher_student([2, 4, 1], n_samples=8, noise=0.1, seed=0)
ad.training.train(init_mlp([2, 4, 1], seed=0), data.x, data.y, 0.1, steps=3, batch_size=4)
"""


def heap_step_after(action="", **environment):
    """The heap's first growth in a fresh process that imported autodiff_lib, then ran
    ``action``; and what ``memory.configured`` says."""
    env = {k: v for k, v in os.environ.items() if k != "AUTODIFF_LIB_MALLOC_TOP_PAD"}
    result = subprocess.run(
        [sys.executable, "-c", HEAP_STEP.format(action=action)],
        env={**env, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    step, configured = result.stdout.split()
    return int(step), configured


def test_importing_the_library_leaves_malloc_alone():
    step, configured = heap_step_after()
    assert step < 8 << 20, f"the heap grew by {step >> 10} KiB at once: malloc was tuned"
    assert configured == "None"


def test_training_asks_glibc_to_keep_freed_heap():
    step, configured = heap_step_after(TRAIN)
    assert step >= memory.DEFAULT_TOP_PAD, f"the heap grew by only {step >> 10} KiB"
    assert configured == "True"


def test_the_training_loss_and_the_stopwatch_ask_for_it_too():
    # part 07 times its own steps on training.loss; parts 01, 02, 04 and lecture 10 best_time
    for action in [
        "ad.grad(ad.training.loss)(ad.networks.init_mlp([2, 3, 1]), np.ones((4, 2)), "
        "np.ones((4, 1)))",
        "from autodiff_lib.timing import best_time; best_time(lambda: None)",
    ]:
        step, configured = heap_step_after(action)
        assert step >= memory.DEFAULT_TOP_PAD and configured == "True", action


def test_the_environment_can_leave_malloc_alone_during_training_too():
    step, configured = heap_step_after(TRAIN, AUTODIFF_LIB_MALLOC_TOP_PAD="0")
    assert step < 8 << 20, f"the heap grew by {step >> 10} KiB at once: malloc was tuned"
    assert configured == "False"


def test_the_tuning_is_asked_for_once_per_process():
    step, configured = heap_step_after(
        "calls, ask = [], ad.memory.keep_freed_memory\n"
        "ad.memory.keep_freed_memory = lambda top_pad: calls.append(top_pad) or ask(top_pad)\n"
        + TRAIN
        + TRAIN
        + "assert ad.memory.configure_from_environment()\n"
        "assert calls == [ad.memory.DEFAULT_TOP_PAD], calls\n"
    )
    assert step >= memory.DEFAULT_TOP_PAD and configured == "True"
