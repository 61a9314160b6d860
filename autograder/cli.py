"""`babygrad-course`: the instructor's command. One subcommand per step of running the course.

    babygrad-course init DIR            a course folder ready to grade (plain `nbgrader autograde` works in it too)
    babygrad-course grade CHAPTER       autograde every submission of a chapter, on all cores or a Dask cluster
    babygrad-course cluster-keys DIR    the keys a Dask cluster that grades needs (TLS, a certificate each)
    babygrad-course report              an HTML page of the class's results
    babygrad-course kit DIR             the folder a student works in
    babygrad-course build [--check]     regenerate babygrad/ and release/ from source/
    babygrad-course demo                grade a sample class, start to finish
    babygrad-course hub ROSTER          serve the course to a class on JupyterHub, on this machine
"""
import argparse
import json
import os
import shutil
import sys
import warnings
from pathlib import Path

from autograder.course import REPO, SOURCE, chapters, course_config, nbgrader_for_course, set_gradebook, shown_url, \
    succeeded


def say(message):
    print(message, flush=True)


def init(folder, db_url=None):
    """The config, source/, every chapter generated (release/ and the gradebook), an empty submitted/. With
    `db_url`, the course's gradebook is that database, for every command run in the folder."""
    folder = Path(folder).resolve()
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty: choose a new folder, so that no gradebook is overwritten")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", folder / "nbgrader_config.py")
    if db_url:
        set_gradebook(folder, db_url)
    shutil.copytree(SOURCE, folder / "source", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (folder / "submitted").mkdir()
    api = nbgrader_for_course(folder)
    for chapter in chapters(folder / "source"):
        succeeded(api.generate_assignment(chapter), f"nbgrader generate_assignment {chapter}")
    return folder


def initialize(arguments):
    folder = init(arguments.folder, arguments.db)
    say(f"Course folder: {folder}\nGradebook: {shown_url(nbgrader_for_course(folder).coursedir.db_url)}\n"
        f"Put submissions in submitted/STUDENT/CHAPTER/, then: babygrad-course grade CHAPTER --course {folder}")
    return 0


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
    workers = arguments.workers or os.cpu_count()
    where = f"the Dask cluster at {arguments.scheduler}" if arguments.scheduler else \
        f"{workers} worker{'s' if workers > 1 else ''}"
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
    say(f"Logs: {course / 'logs' / arguments.chapter}\n"
        f"Gradebook: {shown_url(nbgrader_for_course(course, db_url=arguments.db).coursedir.db_url)}")
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
    from autograder.kit import make_kit, make_zip
    folder = make_kit(arguments.folder)
    say(f"Student kit in {folder}: its README.md tells students how to install it, open it and hand in.")
    if arguments.zip:
        say(f"To upload to a learning platform: {make_zip(folder)}")
    return 0


def build(arguments):
    from autograder.build import main
    if arguments.check:
        say("Checking that babygrad/ and release/ are what source/ generates (every chapter through nbgrader)")
    return main(["--check"] if arguments.check else [])


def demo(arguments):
    from autograder.demo import main
    main(["--work", str(arguments.work)] if arguments.work else [])
    return 0


def hub(arguments):
    from autograder.hub import Hub
    lti = {"issuer": arguments.lti_issuer, "client_id": arguments.lti_client_id,
           "authorize_url": arguments.lti_authorize_url, "jwks_url": arguments.lti_jwks_url,
           "username_claim": arguments.lti_username_claim}
    if any(lti[key] for key in ("issuer", "client_id", "authorize_url", "jwks_url")):
        missing = [f"--lti-{key.replace('_', '-')}" for key in ("issuer", "client_id", "authorize_url", "jwks_url")
                   if not lti[key]]
        if missing:
            raise ValueError(f"LTI sign-in needs {', '.join(missing)} too")
    else:
        lti = None
    course = Hub(arguments.roster, arguments.state, arguments.instructor, arguments.course,
                 arguments.exchange, arguments.homes, arguments.student_env, arguments.instructor_env, arguments.python,
                 arguments.port, lti)
    course.prepare(log=say)
    if not lti:
        say(f"Passwords of new accounts (id,password): {course.private / 'passwords.csv'}")
    say(f"The hub: http://127.0.0.1:{arguments.port}/ (Ctrl-C stops it and every server)")
    return course.serve()


def parser():
    commands = argparse.ArgumentParser(prog="babygrad-course", description=__doc__.split("\n\n")[0])
    verbs = commands.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    verb = verbs.add_parser("init", help="make a course folder ready to grade",
                            description="Make a course folder: nbgrader_config.py, source/, every chapter generated "
                                        "into release/ and the gradebook, an empty submitted/.")
    verb.add_argument("folder", type=Path, help="a new or empty folder")
    verb.add_argument("--db", metavar="URL", help="keep the gradebook in this database (nbgrader's db_url, such as "
                                                  "postgresql://USER@HOST/DB) for every command run in the folder; "
                                                  "default: gradebook.db in the folder")
    verb.set_defaults(run=initialize)

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
                            description="The release notebooks, the coursework tools, a babygrad package of stubs, "
                                        "a README.md for students (install, open, hand in) and the requirements.txt "
                                        "to install from.")
    verb.add_argument("folder", type=Path, help="a new or empty folder")
    verb.add_argument("--zip", action="store_true",
                      help="also write FOLDER.zip beside it, to upload to a learning platform")
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

    verb = verbs.add_parser("hub", help="serve the course to a class on JupyterHub, on this machine",
                            description="Start a JupyterHub on 127.0.0.1 serving one course (run as root). Each "
                                        "person on the roster, and the instructor, gets a Unix account and a server "
                                        "that runs as it; students work in their own kit, in an environment without "
                                        "the reference babygrad, and hand in through nbgrader's exchange and "
                                        "assignment list; the instructor grades in the course folder. Ctrl-C stops "
                                        "the hub and every server.")
    verb.add_argument("roster", type=Path, help="CSV of the class: student id, name (one row per student)")
    verb.add_argument("--instructor", default="instructor", help="the instructor's account (default: instructor)")
    verb.add_argument("--course", type=Path, help="the course folder, made with `init` when missing; its "
                                                  "nbgrader_config.py names the course id (default: the "
                                                  "instructor's home/babygrad)")
    verb.add_argument("--state", type=Path, default=Path("/srv/babygrad-hub"),
                      help="the hub's own folder: its database, the passwords, the students' environment "
                           "(default: /srv/babygrad-hub)")
    verb.add_argument("--exchange", type=Path, help="nbgrader's exchange folder (default: STATE/exchange)")
    verb.add_argument("--homes", type=Path, default=Path("/home"), help="where accounts' homes are made "
                                                                        "(default: /home)")
    verb.add_argument("--student-env", type=Path, help="the students' Python environment, made when missing "
                                                       "(default: STATE/student-env)")
    verb.add_argument("--instructor-env", type=Path, help="the instructor's Python environment (default: this one "
                                                          "when every account may run its Python, else this checkout "
                                                          "installed in STATE/instructor-env)")
    verb.add_argument("--python", help="the Python the environments are made from, which every account must be able "
                                       "to run (default: this one's, else /usr/bin/python3.X of the same version)")
    verb.add_argument("--port", type=positive, default=8000, help="the hub's port on 127.0.0.1 (default: 8000)")
    lti = verb.add_argument_group("sign-in through a learning platform (LTI 1.3), instead of passwords")
    lti.add_argument("--lti-issuer", metavar="URL", help="the platform's issuer, such as https://canvas.instructure.com")
    lti.add_argument("--lti-client-id", metavar="ID", help="the client id the platform gave this tool")
    lti.add_argument("--lti-authorize-url", metavar="URL", help="the platform's OIDC authorization end-point")
    lti.add_argument("--lti-jwks-url", metavar="URL", help="the platform's public keys (JWKS)")
    lti.add_argument("--lti-username-claim", metavar="CLAIM", default="custom_student_id",
                     help="the id_token claim holding the roster's student id; custom_NAME reads the custom "
                          "parameter NAME (default: custom_student_id)")
    verb.set_defaults(run=hub)
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
    except (ValueError, FileExistsError, FileNotFoundError, PermissionError) as error:
        sys.exit(f"babygrad-course {arguments.verb}: {error}")


if __name__ == "__main__":
    sys.exit(main())
