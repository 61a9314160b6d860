"""The processes that grade on this machine, beside the one writer.

They fork from one server process that has imported the grader once (nbgrader alone takes seconds to import),
itself started from a clean interpreter, so no worker holds a copy of the writer's open gradebook. This module
imports nothing heavy: `start_server()` early, and the server imports the grader while this process does too.

No worker outlives the run, however it ends: each ends with this process, and each sandbox with its worker.
"""
import multiprocessing
import os
import select
import signal
import threading
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
    """`workers` long-lived worker processes, each ending with this process."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=start_server(), initializer=die_with,
                               initargs=(os.getpid(),))


def die_with(grader):
    """This worker ends when the process `grader` does, however it ends, and with it the sandboxes it started.

    A worker is the server's child, not the grader's, and the server lives as long as any worker does: so the
    worker watches the grader itself (a pidfd, readable once the process is gone)."""
    try:
        watched = os.pidfd_open(grader)
    except ProcessLookupError:
        os._exit(1)

    def watch():
        select.select([watched], [], [])
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="die-with-grader", daemon=True).start()
