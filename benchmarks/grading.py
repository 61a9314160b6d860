"""Grading throughput: a class graded by serial `nbgrader autograde` and by `babygrad-course grade`, in one run.

    python benchmarks/grading.py [--submissions 40] [--chapter 02_operations] [--workers N]

Both grade the same submissions (by turns perfect, with one classic mistake, the untouched release) in course
folders made by `babygrad-course init`, so with the same configuration. It prints both times, the ratio, the
machine's load, and whether every grade in the two gradebooks is the same.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.classroom import make_mixed_class
from autograder.cli import init

BIN = Path(sys.executable).parent


def timed(command, course):
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=course, env=environment, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def grades(course, chapter):
    """{(student, grade cell): score} of the chapter, as the course's gradebook holds them."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "babygrad") as gradebook:
        return {(submission.student.id, grade.cell.name): grade.score
                for submission in gradebook.find_assignment(chapter).submissions
                for notebook in submission.notebooks for grade in notebook.grades}


def load():
    return open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--chapter", default="02_operations")
    parser.add_argument("--workers", type=int, help="babygrad-course grade's workers (default: one per core)")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="babygrad-bench-") as work:
        serial, parallel = Path(work) / "serial", Path(work) / "parallel"
        init(serial)
        make_mixed_class(serial, arguments.chapter, arguments.submissions)
        shutil.copytree(serial, parallel)
        print(f"{arguments.submissions} submissions of {arguments.chapter} on {os.cpu_count()} cores", flush=True)

        print(f"load before: {load()}", flush=True)
        serial_seconds = timed([str(BIN / "nbgrader"), "autograde", arguments.chapter], serial)
        print(f"serial nbgrader autograde:  {serial_seconds:7.1f} s   (load {load()})", flush=True)
        workers = ["--workers", str(arguments.workers)] if arguments.workers else []
        parallel_seconds = timed([str(BIN / "babygrad-course"), "grade", arguments.chapter, *workers], parallel)
        print(f"babygrad-course grade:      {parallel_seconds:7.1f} s   (load {load()})", flush=True)
        print(f"throughput ratio:           {serial_seconds / parallel_seconds:7.2f}x")

        expected, got = grades(serial, arguments.chapter), grades(parallel, arguments.chapter)
        differing = sorted(key for key in expected.keys() | got.keys() if expected.get(key) != got.get(key))
        print(f"grades: {len(expected)} grade cells, {'identical' if not differing else f'{len(differing)} differ'}")
        return 1 if differing or len(expected) == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
