"""`babygrad-course`: the instructor's command. One subcommand per step of running the course.

    babygrad-course init DIR            a course folder ready to grade (plain `nbgrader autograde` works in it too)
    babygrad-course grade CHAPTER       autograde every submission of a chapter, on all cores or a Dask cluster
    babygrad-course cluster-keys DIR    the keys a Dask cluster that grades needs (TLS, a certificate each)
    babygrad-course report              an HTML page of the class's results
    babygrad-course kit DIR             the folder a student works in
    babygrad-course build [--check]     regenerate babygrad/ and release/ from source/
    babygrad-course demo                grade a sample class, start to finish
"""
import argparse
import json
import os
import shutil
import sys
import warnings
from pathlib import Path

from autograder.course import REPO, SOURCE, chapters, nbgrader_for_course, course_config, succeeded


def say(message):
    print(message, flush=True)


def init(folder):
    """The config, source/, every chapter generated (release/ and the gradebook), an empty submitted/."""
    folder = Path(folder).resolve()
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty: choose a new folder, so that no gradebook is overwritten")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(SOURCE, folder / "source", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (folder / "submitted").mkdir()
    api = nbgrader_for_course(folder)
    for chapter in chapters(folder / "source"):
        succeeded(api.generate_assignment(chapter), f"nbgrader generate_assignment {chapter}")
    return folder


def score_table(results):
    width = max([len(result.student) for result in results] + [7])
    lines = [f"{'student':<{width}}  {'score':>11}  {'seconds':>7}  problem"]
    for result in sorted(results, key=lambda result: result.student):
        lines.append(f"{result.student:<{width}}  {result.score:>5g}/{result.max_score:<5g}  {result.seconds:>7.1f}  "
                     f"{result.problem}")
    return "\n".join(lines)


def write_results(course, chapter, results):
    """Each submission's log, and the run's results (for the report), in `course`/logs/CHAPTER/."""
    folder = Path(course) / "logs" / chapter
    folder.mkdir(parents=True, exist_ok=True)
    for result in results:
        (folder / f"{result.student}.log").write_text(result.log, encoding="utf-8")
    previous = json.loads((folder / "results.json").read_text()) if (folder / "results.json").exists() else {}
    previous.update({result.student: {"score": result.score, "max_score": result.max_score,
                                      "problem": result.problem, "seconds": round(result.seconds, 3)}
                     for result in results})
    (folder / "results.json").write_text(json.dumps(previous, indent=1, sort_keys=True) + "\n")


def grade(arguments):
    if not arguments.scheduler:
        from autograder.grading import pool
        pool.start_server()  # it imports the grader while this process does
    from tqdm import tqdm
    from autograder.grading.parallel import GraderFailure, grade as grade_class, students_of

    course = arguments.course.resolve()
    course_config(course)  # a clear error when this is not a course folder
    students = arguments.student or students_of(course, arguments.chapter)
    if not students:
        raise ValueError(f"no submission of {arguments.chapter} in {course / 'submitted'} (STUDENT/{arguments.chapter}/)")
    where = f"the Dask cluster at {arguments.scheduler}" if arguments.scheduler else \
        f"{arguments.workers or os.cpu_count()} workers"
    say(f"Grading {len(students)} submissions of {arguments.chapter} on {where}")
    results = []
    try:
        with tqdm(total=len(students), unit="submission", file=sys.stderr) as bar:
            for result in grade_class(course, arguments.chapter, students, arguments.workers, arguments.scheduler,
                                      arguments.db, arguments.keys):
                results.append(result)
                bar.set_postfix_str(f"{result.student}: {result.score:g}/{result.max_score:g}")
                bar.update()
    except Exception as failure:  # the grader's own failure: what was graded is kept and shown all the same
        if not results and isinstance(failure, (ValueError, FileNotFoundError)):
            raise  # a mistake in the command itself, said before anything was graded
        failed = str(failure) if isinstance(failure, GraderFailure) else f"{type(failure).__name__}: {failure}"
    else:
        failed = None
    write_results(course, arguments.chapter, results)
    say(score_table(results))
    say(f"Logs: {course / 'logs' / arguments.chapter}")
    if failed:
        say(f"The grader failed after {len(results)} of {len(students)} submissions: {failed}")
        return 2
    return 0


def cluster_keys(arguments):
    from autograder.grading.cluster import make_keys
    folder = make_keys(arguments.folder)
    say(f"Keys in {folder}:\n"
        f"  dask scheduler --tls-ca-file {folder}/ca.pem --tls-cert {folder}/scheduler.pem "
        f"--tls-key {folder}/scheduler.pem\n"
        f"  dask worker tls://HOST:8786 --tls-ca-file {folder}/ca.pem --tls-cert {folder}/worker.pem "
        f"--tls-key {folder}/worker.pem\n"
        f"  babygrad-course grade CHAPTER --scheduler tls://HOST:8786 --keys {folder}")
    return 0


def report(arguments):
    from autograder.report import write_report
    out = write_report(arguments.course.resolve(), arguments.out, arguments.db)
    say(f"Report: {out}")
    return 0


def kit(arguments):
    from autograder.kit import make_kit
    folder = make_kit(arguments.folder)
    say(f"Student kit in {folder}: open it with `jupyter lab {folder}`.")
    return 0


def build(arguments):
    from autograder.build import main
    return main(["--check"] if arguments.check else [])


def demo(arguments):
    from autograder.demo import main
    main(["--work", str(arguments.work)] if arguments.work else [])
    return 0


def parser():
    commands = argparse.ArgumentParser(prog="babygrad-course", description=__doc__.split("\n\n")[0])
    verbs = commands.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    verb = verbs.add_parser("init", help="make a course folder ready to grade",
                            description="Make a course folder: nbgrader_config.py, source/, every chapter generated "
                                        "into release/ and the gradebook, an empty submitted/.")
    verb.add_argument("folder", type=Path, help="a new or empty folder")
    verb.set_defaults(run=lambda arguments: say(f"Course folder: {init(arguments.folder)}\n"
                                                f"Put submissions in submitted/STUDENT/CHAPTER/, then: "
                                                f"babygrad-course grade CHAPTER --course {arguments.folder}") or 0)

    verb = verbs.add_parser("grade", help="autograde every submission of a chapter",
                            description="Autograde the submissions of a chapter with nbgrader, in parallel: on this "
                                        "machine's cores, or on a Dask cluster. Grades are those of serial "
                                        "`nbgrader autograde`. Exits non-zero only when the grader itself fails.")
    verb.add_argument("chapter", help="the assignment id, such as 02_operations")
    verb.add_argument("--course", type=Path, default=Path("."), help="the course folder (default: here)")
    verb.add_argument("--student", nargs="+", metavar="ID", help="grade only these students")
    verb.add_argument("--workers", type=positive, metavar="N", help="worker processes (default: one per core)")
    verb.add_argument("--scheduler", metavar="ADDRESS", help="run on the Dask cluster at tls://HOST:PORT")
    verb.add_argument("--keys", type=Path, metavar="DIR", help="the cluster's keys (from cluster-keys)")
    verb.add_argument("--db", metavar="URL", help="the gradebook's database (nbgrader's db_url), "
                                                  "such as postgresql://USER@HOST/DB")
    verb.set_defaults(run=grade)

    verb = verbs.add_parser("cluster-keys", help="the keys of a Dask cluster that grades",
                            description="Write a certificate authority's certificate (ca.pem) and a certificate "
                                        "with its key for the scheduler, the workers and the grader (ROLE.pem): "
                                        "every connection of the cluster is then TLS, and only their holders "
                                        "connect. The authority's key is not kept.")
    verb.add_argument("folder", type=Path, help="where to write them (keep it private)")
    verb.set_defaults(run=cluster_keys)

    verb = verbs.add_parser("report", help="an HTML page of the class's results",
                            description="Write an HTML page with pictures of the class's results, read from the "
                                        "gradebook. `nbgrader export` stays the canonical grades CSV.")
    verb.add_argument("--course", type=Path, default=Path("."), help="the course folder (default: here)")
    verb.add_argument("--out", type=Path, help="the HTML file (default: COURSE/report.html)")
    verb.add_argument("--db", metavar="URL", help="the gradebook's database, when it is not the folder's")
    verb.set_defaults(run=report)

    verb = verbs.add_parser("kit", help="make the folder a student works in",
                            description="The release notebooks, the coursework tools and a babygrad package of stubs.")
    verb.add_argument("folder", type=Path, help="a new or empty folder")
    verb.set_defaults(run=kit)

    verb = verbs.add_parser("build", help="regenerate babygrad/ and release/ from source/",
                            description="Regenerate the reference package babygrad/ and the student notebooks "
                                        "release/ of this repository from source/.")
    verb.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is out of date")
    verb.set_defaults(run=build)

    verb = verbs.add_parser("demo", help="grade a sample class, start to finish",
                            description="Build the release, write sample submissions, autograde them, write "
                                        "feedback and a grades CSV, in a fresh folder.")
    verb.add_argument("--work", type=Path, help="folder for the run (default: a new temporary folder)")
    verb.set_defaults(run=demo)
    return commands


def positive(text):
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def main(argv=None):
    arguments = parser().parse_args(argv)
    from sqlalchemy.exc import SAWarning
    # nbgrader's database layer warns about its own sessions: not the teacher's problem.
    warnings.filterwarnings("ignore", category=SAWarning)
    try:
        return arguments.run(arguments)
    except (ValueError, FileExistsError, FileNotFoundError) as error:
        sys.exit(f"babygrad-course {arguments.verb}: {error}")


if __name__ == "__main__":
    sys.exit(main())
