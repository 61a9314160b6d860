"""Grade a class on many cores or on a Dask cluster, with grades exactly those of serial `nbgrader autograde`.

The slow parts of grading are running notebooks and verifying the student's code outside the kernel. Workers do
only that: each keeps a private copy of the course (its own SQLite gradebook), sanitizes a submission's notebooks
with the course's own sanitizing steps, executes them with the course's own Execute step and verifies them, and
sends back the executed notebooks as plain text with the verifier's verdicts. One writer, in this process, then
runs nbgrader's real autograde of the same submission on the course, with the execution and verification steps
replaced by the worker's results, once it has checked that its own sanitizing gave the very notebook the worker
executed (a notebook that differs runs in the writer, as in serial nbgrader). So the gradebook rows, the
autograded/ files and the timestamps are nbgrader's own, only one process ever writes the gradebook, and no grade
is lost or written twice.

Workers live as long as the run: each sets up its copy of the course and imports nbgrader once. Everything a
worker needs travels as bytes, so Dask workers on other machines need no shared folder.

No submission stops the class. Each is read when its turn comes, regular files only (a link, a FIFO or a device is
refused unread), and whatever fails for one, in a worker or in the writer, is that submission's failure: 0 points,
the reason in its log and the table, and grading goes on.
"""
import hashlib
import importlib
import io
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader import utils as nbgrader_utils
from nbgrader.converters import Autograde
from nbgrader.preprocessors import CheckCellMetadata, Execute, NbGraderPreprocessor, OverwriteCells
from sqlalchemy.exc import SAWarning
from traitlets.utils.importstring import import_item

from autograder.course import chapter_notebooks, chapters, nbgrader_for_course, succeeded
from autograder.grading.autograde import kernel_death, reason, submission_score
from autograder.grading.cells import LinkedSubmissionError, RestoreInstructorCells, read_regular_file, submission_files
from autograder.grading.pool import pool as worker_pool
from autograder.grading.verified_scores import VerifyScores
from autograder.grading.verify import Verdict, verify
from coursework.export import cell_directive

# What a worker needs from the course: its configuration, the instructor notebooks and the release.
COURSE_PARTS = ("nbgrader_config.py", "source", "release")


class GraderFailure(RuntimeError):
    """The grader itself failed (not a student's submission): the run must not pass for a success."""


@dataclass
class Graded:
    """One submission's outcome, for the score table, the log and the report."""
    student: str
    chapter: str
    score: float = 0.0
    max_score: float = 0.0
    problem: str = ""  # why nbgrader could not grade the submission; empty when it could
    seconds: float = 0.0  # the worker's time for the submission
    log: str = field(default="", repr=False)


def read_tree(root, parts):
    """{relative path: bytes} of every file under the `parts` of `root`."""
    root = Path(root)
    files = {}
    for part in parts:
        path = root / part
        paths = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in paths:
            if "__pycache__" not in file.parts and ".ipynb_checkpoints" not in file.parts:
                files[file.relative_to(root).as_posix()] = file.read_bytes()
    return files


def write_tree(root, files):
    for name, data in files.items():
        path = Path(root) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def course_bundle(course, gradebook, chapter):
    """The course as a worker grading `chapter` receives it: plain bytes, and a digest that names this version.

    Of the instructor's notebooks, only the graded chapter's travel whole: of the chapters before it, only the
    export cells (the reference library the kernel imports), and of the chapters after it, the release. So no
    worker ever holds the hidden tests of another chapter. `gradebook` is a SQLite gradebook that holds the chapter
    alone, which the worker copies rather than make its own."""
    files = {name: data for name, data in read_tree(course, COURSE_PARTS).items()
             if not name.startswith("source/") or name.split("/")[1] == chapter}
    for notebook in chapter_notebooks(Path(course) / "source"):
        other = notebook.parent.name
        if other < chapter:
            files[f"source/{other}/{notebook.name}"] = export_cells_only(notebook)
        elif other > chapter:
            files[f"source/{other}/{notebook.name}"] = (Path(course) / "release" / other / notebook.name).read_bytes()
    files["gradebook.db"] = gradebook
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return {"digest": digest.hexdigest(), "files": files}


def export_cells_only(notebook):
    """The notebook's bytes with only the cells its module is written from (`#| ` directives): no test in them."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    nb["cells"] = [cell for cell in nb["cells"]
                   if cell["cell_type"] == "code" and cell_directive("".join(cell["source"]))]
    return json.dumps(nb).encode()


def notebook_digest(nb):
    # Plain JSON: nbformat.writes would validate the whole notebook each time, which costs more than hashing it.
    return hashlib.sha256(json.dumps(nb, sort_keys=True).encode()).hexdigest()


def as_class(item):
    """A preprocessor as nbgrader's configuration names it (a class or its import string): the class."""
    return import_item(item) if isinstance(item, str) else item


def execute_class(config):
    """The preprocessor class that runs notebooks in the course's autograde pipeline."""
    for item in config.Autograde.autograde_preprocessors:
        if issubclass(as_class(item), Execute):
            return as_class(item)
    raise GraderFailure("the course's Autograde.autograde_preprocessors has no Execute step")


def replacing_execute(config, replacement):
    execute = execute_class(config)
    config.Autograde.autograde_preprocessors = [replacement if as_class(item) is execute else item
                                                for item in config.Autograde.autograde_preprocessors]


class Replay(NbGraderPreprocessor):
    """Takes the place of Execute in the writer: the worker's executed notebook instead of running it again.

    Only when the worker executed the very notebook nbgrader sanitized here; any other notebook runs here, with
    the course's own Execute step (`execute`), as in serial nbgrader. A submission the worker could not grade at
    all (`failure`) raises the worker's error for each notebook, so nbgrader records it as it records any other."""
    recorded = {}
    failure = None
    execute = None

    def preprocess(self, nb, resources):
        if Replay.failure:
            raise rebuilt_error(*Replay.failure)
        name = resources["unique_key"]
        entry = Replay.recorded.get(name)
        if entry is None or entry.get("sanitized") != notebook_digest(nb):
            self.log.warning("%s: the worker executed another notebook than the one sanitized here: it runs here",
                             name)
            Replay.recorded.pop(name, None)
            return Replay.execute(parent=self).preprocess(nb, resources)
        if "error" in entry:
            raise rebuilt_error(*entry["error"])
        executed = nbformat.from_dict(json.loads(entry["executed"]))
        if cells_of(executed) != cells_of(nb):
            self.log.warning("%s: the worker sent back other cells than it was given: it runs here", name)
            Replay.recorded.pop(name, None)
            return Replay.execute(parent=self).preprocess(nb, resources)
        return executed, resources


def cells_of(nb):
    """What running a notebook leaves as it was: each cell's type, source and nbgrader metadata."""
    return [(cell.cell_type, cell.source, cell.get("metadata", {}).get("nbgrader")) for cell in nb.cells]


class ReplayedVerifyScores(VerifyScores):
    """Takes the place of VerifyScores in the writer: the verdicts the worker computed for the same notebook."""

    def verdicts(self, nb, resources, chapter, course):
        entry = Replay.recorded.get(resources["unique_key"])
        if entry is None or not {"verdicts", "verify_error"} & set(entry):  # executed here, or not trusted to verify
            return super().verdicts(nb, resources, chapter, course)
        if "verify_error" in entry:  # verifying raised in the worker: it raises here, as it would have here
            raise rebuilt_error(*entry["verify_error"])
        verdicts = entry["verdicts"]
        return None if verdicts is None else {grade_id: Verdict(*verdict) for grade_id, verdict in verdicts.items()}


def rebuilt_error(module, qualname, message):
    """The exception the worker's execution raised, so nbgrader logs the same reason here."""
    try:
        cls = getattr(importlib.import_module(module), qualname)
        return cls(message)
    except Exception:
        return RuntimeError(f"{qualname}: {message}")


def described(error):
    """An exception as plain data that travels back from a worker: [module, class name, message]."""
    return [type(error).__module__, type(error).__qualname__, str(error).encode("utf-8", "replace").decode()]


# --- the worker side -------------------------------------------------------------------------------------------

class Worker:
    """A worker process's private copy of the course, and nbgrader's steps set up once to run on it."""

    def __init__(self, bundle, parent=None):
        self.root = Path(tempfile.mkdtemp(prefix="babygrad-worker-", dir=parent or worker_folder()))
        write_tree(self.root, bundle["files"])
        self.config = nbgrader_for_course(self.root, db_url=f"sqlite:///{self.root / 'gradebook.db'}").config
        self.logged = io.StringIO()
        handler = logging.StreamHandler(self.logged)
        handler.setFormatter(logging.Formatter("[worker | %(levelname)s] %(message)s"))
        self.log = logging.getLogger(f"babygrad.worker.{id(self)}")
        self.log.addHandler(handler)
        self.log.setLevel(logging.INFO)
        self.log.propagate = False
        steps = [as_class(item) for item in self.config.Autograde.get(
            "sanitize_preprocessors", Autograde.class_traits()["sanitize_preprocessors"].default())]
        # These only check, or do again what RestoreInstructorCells did: here they would change nothing. The
        # writer runs every step, and executes here only a notebook its own sanitizing gives too.
        unchanging = {CheckCellMetadata, OverwriteCells} if RestoreInstructorCells in steps else {CheckCellMetadata}
        self.sanitize = NotebookExporter(config=self.config, log=self.log)
        for step in steps:
            if step not in unchanging:
                self.sanitize.register_preprocessor(step)
        self.execute = execute_class(self.config)(config=self.config, log=self.log)

    def resources(self, student, chapter, notebook, folder):
        """What nbgrader's Autograde hands its steps for one notebook (see BaseConverter and Exporter)."""
        return {"unique_key": notebook, "output_files_dir": f"{notebook}_files",
                "nbgrader": {"student": student, "assignment": chapter, "notebook": notebook,
                             "db_url": self.config.CourseDirectory.db_url},
                "metadata": {"name": notebook, "path": str(folder)}}

    def run(self, chapter, student, files):
        """{notebook: the digest of it sanitized, and it executed with the verdicts or the error that stopped it}."""
        submitted = self.root / "submitted" / student / chapter
        autograded = self.root / "autograded" / student / chapter
        shutil.rmtree(submitted, ignore_errors=True)
        write_tree(submitted, files)
        autograded.mkdir(parents=True, exist_ok=True)
        notebooks = {}
        for path in sorted(submitted.glob("*.ipynb")):
            if not (self.root / "source" / chapter / path.name).exists():
                continue  # nbgrader skips a notebook the instructor did not write
            entry = self.run_notebook(chapter, student, path, autograded)
            if entry is not None:
                notebooks[path.stem] = entry
        return notebooks

    def run_notebook(self, chapter, student, path, autograded):
        resources = self.resources(student, chapter, path.stem, path.parent)
        try:
            sanitized, _ = self.sanitize.from_filename(str(path), resources=resources)
        except Exception as error:
            self.log.info("Could not sanitize %s (the writer's nbgrader says why): %s", path.name, error)
            return None
        # As nbgrader reads it back from autograded/ before executing it.
        nb = nbformat.reads(sanitized, as_version=4)
        entry = {"sanitized": notebook_digest(nb)}
        resources = self.resources(student, chapter, path.stem, autograded)
        try:
            with nbgrader_utils.setenv(NBGRADER_EXECUTION="autograde"):
                nb, resources = self.execute(nb, resources)
        except Exception as error:
            entry["error"] = described(error)
            return entry
        entry["executed"] = json.dumps(nb)
        # Verifying is as costly as a kernel's start: the workers do it too, so the one writer need not.
        started = time.perf_counter()
        try:
            verdicts = verify(nb, chapter, self.root, path.stem)
        except Exception as error:
            self.log.exception("Verifying %s failed", path.name)
            entry["verify_error"] = described(error)
            return entry
        self.log.info("Verified %s of %s/%s in %.2f s", resources["nbgrader"]["student"], chapter, path.stem,
                      time.perf_counter() - started)
        entry["verdicts"] = None if verdicts is None else {
            grade_id: [verdict.passed, verdict.message] for grade_id, verdict in verdicts.items()}
        return entry


_workers = {}  # this process's workers, by the digest of the course they copy


def worker_folder():
    """Where a Dask worker keeps files (Dask removes it), or the system's temporary folder."""
    try:
        from distributed import get_worker
        return get_worker().local_directory
    except (ImportError, ValueError):
        return None


def execute_submission(bundle, chapter, student, files, parent=None):
    """Sanitize, execute and verify one submission's notebooks as nbgrader's autograde would, in a private copy.

    Whatever fails comes back as that submission's failure, never as the worker's."""
    started = time.perf_counter()
    if bundle["digest"] not in _workers:
        _workers[bundle["digest"]] = Worker(bundle, parent)
    worker = _workers[bundle["digest"]]
    worker.logged.seek(0)
    worker.logged.truncate()
    try:
        notebooks = worker.run(chapter, student, files)
    except Exception as error:
        worker.log.exception("The worker could not grade this submission")
        return failed(student, chapter, error, worker.logged.getvalue(), time.perf_counter() - started)
    return {"student": student, "chapter": chapter, "notebooks": notebooks, "log": worker.logged.getvalue(),
            "seconds": time.perf_counter() - started}


def failed(student, chapter, error, log="", seconds=0.0):
    """What comes back for a submission that could not be graded: the error, which the writer records."""
    return {"student": student, "chapter": chapter, "notebooks": {}, "failure": described(error), "log": log,
            "seconds": seconds}


# --- the writer side -------------------------------------------------------------------------------------------

def students_of(course, chapter):
    submitted = Path(course) / "submitted"
    return sorted(folder.name for folder in submitted.iterdir() if (folder / chapter).is_dir()) \
        if submitted.is_dir() else []


class Writer:
    """The one process that writes the gradebook: nbgrader's autograde, fed the workers' executed notebooks."""

    def __init__(self, course, db_url=None):
        self.course = Path(course)
        api = nbgrader_for_course(course, db_url=db_url)
        Replay.execute = execute_class(api.config)
        replacing_execute(api.config, Replay)
        # Running a notebook leaves its nbgrader metadata as sanitizing made it, and the writer's own sanitizing
        # checked it: checking it again after grading would only cost time.
        api.config.Autograde.autograde_preprocessors = [
            ReplayedVerifyScores if issubclass(as_class(item), VerifyScores) else item
            for item in api.config.Autograde.autograde_preprocessors if as_class(item) is not CheckCellMetadata]
        self.api = nbgrader_for_course(course, config=api.config)

    def ensure_assignment(self, chapter):
        """A gradebook (a new PostgreSQL one, say) that lacks the chapter gets it from `source/`, as nbgrader does."""
        from nbgrader.api import Gradebook, MissingEntry
        with Gradebook(self.api.coursedir.db_url, self.api.coursedir.course_id) as gradebook:
            try:
                gradebook.find_assignment(chapter)
                return
            except MissingEntry:
                pass
        succeeded(self.api.generate_assignment(chapter), f"nbgrader generate_assignment {chapter}")

    def gradebook_file(self, chapter, alone=False):
        """The bytes of a SQLite gradebook that holds the chapter: the course's own, or one made from source/ that
        holds the chapter `alone` (for workers on other machines: no other chapter's hidden tests)."""
        db_url = self.api.coursedir.db_url
        if db_url.startswith("sqlite:///") and os.path.exists(db_url[len("sqlite:///"):]):
            gradebook = Path(db_url[len("sqlite:///"):]).read_bytes()
            return chapter_alone(gradebook, chapter, self.api.coursedir.course_id) if alone else gradebook
        with tempfile.TemporaryDirectory(prefix="babygrad-gradebook-") as folder:
            write_tree(folder, read_tree(self.course, ["nbgrader_config.py", f"source/{chapter}"]))
            api = nbgrader_for_course(folder, db_url=f"sqlite:///{Path(folder) / 'gradebook.db'}")
            succeeded(api.generate_assignment(chapter), f"nbgrader generate_assignment {chapter}")
            return (Path(folder) / "gradebook.db").read_bytes()

    def submission(self, chapter, student):
        """{notebook's name: bytes} of what the student handed in; the notebooks alone travel to a worker.

        Read when the submission's turn comes, regular files only (see `submission_files`), as nbgrader's
        CourseDirectory says: its `ignore` globs left out, files past its `max_file_size` refused."""
        folder = self.course / "submitted" / student / chapter
        coursedir = self.api.coursedir

        def read(path):
            top_notebook = path.parent == folder and path.suffix == ".ipynb"
            return read_regular_file(path, coursedir.max_file_size * 1000) if top_notebook else None

        files = submission_files(folder, coursedir.ignore, read)
        return {name: data for name, data in files if data is not None}

    def refuse(self, chapter, student, problem):
        """A submission nbgrader must not even open: recorded as not graded, with every point lost and the reason."""
        from nbgrader.api import Gradebook
        shutil.rmtree(self.course / "autograded" / student / chapter, ignore_errors=True)
        with Gradebook(self.api.coursedir.db_url, self.api.coursedir.course_id) as gradebook:
            gradebook.update_or_create_student(student)
            gradebook.update_or_create_submission(chapter, student)
        _, max_score = submission_score(self.api, chapter, student)
        return Graded(student, chapter, 0.0, max_score, problem, 0.0, f"Not graded: {problem}\n")

    def record(self, executed):
        """`write`, and any failure of it the submission's alone: 0 points and the reason, and grading goes on."""
        try:
            return self.write(executed)
        except Exception as error:
            problem = f"{type(error).__name__}: {error}"
            self.api.log.exception("Could not write the grades of %s", executed["student"])
            try:
                _, max_score = submission_score(self.api, executed["chapter"], executed["student"])
            except Exception:
                max_score = 0.0
            return Graded(executed["student"], executed["chapter"], 0.0, max_score, problem, executed["seconds"],
                          executed["log"] + f"\n--- writing the gradebook failed ---\n{problem}\n")

    def write(self, executed):
        chapter, student = executed["chapter"], executed["student"]
        Replay.recorded = executed["notebooks"]
        Replay.failure = executed.get("failure")
        try:
            with warnings.catch_warnings():
                # nbgrader's database layer warns about its own sessions: not the teacher's problem.
                warnings.filterwarnings("ignore", category=SAWarning)
                outcome = self.api.autograde(chapter, student)
        finally:
            Replay.failure = None
        log = executed["log"] + "\n--- writing the gradebook ---\n" + outcome.get("log", "")
        score, max_score = submission_score(self.api, chapter, student)
        if not outcome["success"]:
            return Graded(student, chapter, 0.0, max_score, reason(outcome.get("log", "")), executed["seconds"], log)
        return Graded(student, chapter, score, max_score, kernel_death(self.api, chapter, student), executed["seconds"],
                      log)


def chapter_alone(gradebook, chapter, course_id):
    """The bytes of a copy of the SQLite `gradebook` with every other chapter removed, and no trace of them left."""
    import sqlite3

    from nbgrader.api import Gradebook
    with tempfile.TemporaryDirectory(prefix="babygrad-gradebook-") as folder:
        copy = Path(folder) / "gradebook.db"
        copy.write_bytes(gradebook)
        with Gradebook(f"sqlite:///{copy}", course_id) as book:
            for assignment in [assignment.name for assignment in book.assignments if assignment.name != chapter]:
                book.remove_assignment(assignment)
        with sqlite3.connect(copy) as database:
            database.execute("VACUUM")  # the pages that held them are cleared, not only marked free
        return copy.read_bytes()


def grade(course, chapter, students=None, workers=None, scheduler=None, db_url=None, keys=None):
    """Grade `students` (default: every submission) of `chapter`; yields a Graded per submission as it is written.

    `scheduler` is a Dask scheduler's address (tls://HOST:PORT, reached with the course's `keys`, a folder made
    by `cluster.make_keys`), or a dask.distributed Client; without it the work runs on `workers` processes of this
    machine (default: one per core).
    """
    if isinstance(scheduler, str) and keys is None:
        raise ValueError("a Dask cluster grades only over TLS with the course's keys: make them with "
                         "`babygrad-course cluster-keys DIR`, start the cluster with them, and pass --keys DIR")
    course = Path(course).resolve()
    if chapter not in chapters(course / "source"):
        raise ValueError(f"no chapter {chapter!r} in {course / 'source'}: the chapters are {chapters(course / 'source')}")
    students = list(students) if students else students_of(course, chapter)
    missing = [student for student in students if not (course / "submitted" / student / chapter).is_dir()]
    if missing:
        raise ValueError(f"no submission of {chapter} in {course / 'submitted'} for: {', '.join(missing)}")
    writer = Writer(course, db_url)
    writer.ensure_assignment(chapter)
    bundle = course_bundle(course, writer.gradebook_file(chapter, alone=scheduler is not None), chapter)
    if scheduler is not None:
        yield from _on_dask(scheduler, keys, writer, bundle, chapter, students)
    else:
        yield from _on_this_machine(workers or os.cpu_count(), writer, bundle, chapter, students)


AGAIN = object()  # a submission to hand to a worker once more


def submissions_in_turn(writer, chapter, students, window, start, finished):
    """Graded submissions, each read when its turn comes and `window` at most in the workers' hands at once.

    `start(student, files)` hands one to a worker and returns its future; `finished(futures)` one of them that is
    done and its result, the exception it raised, or AGAIN. Any failure of one submission is that submission's:
    its Graded with the reason, and grading goes on."""
    waiting = list(reversed(students))
    running = {}
    while waiting or running:
        while waiting and len(running) < window:
            student = waiting.pop()
            try:
                files = writer.submission(chapter, student)
            except (LinkedSubmissionError, OSError) as error:
                yield writer.refuse(chapter, student, f"{type(error).__name__}: {error}")
                continue
            running[start(student, files)] = student
        if running:
            future, executed = finished(running)
            student = running.pop(future)
            if executed is AGAIN:
                waiting.append(student)
                continue
            if isinstance(executed, BaseException):
                executed = failed(student, chapter, executed)
            yield writer.record(executed)


def _on_this_machine(workers, writer, bundle, chapter, students):
    """On this machine's workers. A worker that dies breaks the pool, and takes with it only what it held: a new
    pool takes over, and the submissions in progress are tried once more, then count as not graded."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool
    tries = {}
    pools = [worker_pool(workers)]

    def start(student, files):
        try:
            return pools[-1].submit(execute_submission, bundle, chapter, student, files, scratch)
        except BrokenProcessPool:
            pools.append(worker_pool(workers))
            return pools[-1].submit(execute_submission, bundle, chapter, student, files, scratch)

    def finished(running):
        future = next(iter(wait(running, return_when=FIRST_COMPLETED)[0]))
        try:
            return future, future.result()
        except BrokenProcessPool as error:
            tries[running[future]] = tries.get(running[future], 0) + 1
            return future, AGAIN if tries[running[future]] < 2 else error
        except Exception as error:
            return future, error

    try:
        with tempfile.TemporaryDirectory(prefix="babygrad-grading-") as scratch:
            yield from submissions_in_turn(writer, chapter, students, 2 * workers, start, finished)
    finally:
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)


def _on_dask(scheduler, keys, writer, bundle, chapter, students):
    """On a Dask cluster. What a worker sends back is checked here as any worker's is, and verified here again:
    a worker on another machine is not trusted to decide a score."""
    from distributed import Client, as_completed

    from autograder.grading.cluster import security
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler, security=security(keys))
    done = as_completed()

    def start(student, files):
        future = client.submit(execute_submission, shared, chapter, student, files, key=f"grade-{chapter}-{student}",
                               pure=False)
        done.add(future)
        return future

    def finished(running):
        future = next(done)
        try:
            executed = future.result()
        except Exception as error:
            return future, error
        for entry in executed["notebooks"].values():
            entry.pop("verdicts", None)
            entry.pop("verify_error", None)
        return future, executed

    try:
        shared = client.scatter(bundle, broadcast=True)
        window = 2 * max(1, sum(client.nthreads().values()))
        yield from submissions_in_turn(writer, chapter, students, window, start, finished)
    finally:
        if client is not scheduler:
            client.close()
