"""The processes that grade on this machine, beside the one writer.

They fork from one server process that has imported the grader once (nbgrader alone takes seconds to import),
itself started from a clean interpreter, so no worker holds a copy of the writer's open gradebook. This module
imports nothing heavy: `start_server()` early, and the server imports the grader while this process does too.

No worker outlives the run, however it ends: the server ends when this process does, and each worker (and so each
sandbox it started) with the server.
"""
import ctypes
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver

GRADER = "autograder.grading.parallel"


def start_server():
    """The server the workers fork from, importing the grader from now on."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([GRADER])
    forkserver.ensure_running()
    return context


def pool(workers):
    """`workers` long-lived worker processes."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=start_server(), initializer=die_with_parent)


def die_with_parent():
    """The kernel kills this process when its parent (the server) ends: PR_SET_PDEATHSIG."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


PR_SET_PDEATHSIG = 1
