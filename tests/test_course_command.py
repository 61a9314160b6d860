"""The instructor's command: a course folder where plain nbgrader works, a class graded in parallel, on a Dask
cluster or into PostgreSQL with exactly the grades of serial `nbgrader autograde`, and a report of the gradebook."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder import cli
from autograder.classroom import answered, crashing, make_mixed_class
from autograder.course import database_url
from autograder.grading import parallel
from tests.postgres import postgresql_server, server_programs

CHAPTER = "01_tensor"
BIN = Path(sys.executable).parent


def with_cells_tampered(notebook):
    """A test cell deleted and a locked cell edited: the grader puts the instructor's back, with a note."""
    graded = [cell for cell in notebook["cells"] if cell["metadata"].get("nbgrader", {}).get("grade")]
    notebook["cells"].remove(graded[0])
    graded[1]["source"] = "print('edited')"
    return notebook


@pytest.fixture(scope="module")
def ungraded(tmp_path_factory):
    """A course folder from `init` with a small class: perfect, buggy, untouched, tampered cells, a dead kernel,
    not JSON."""
    course = cli.init(tmp_path_factory.mktemp("course") / "ungraded")
    students = make_mixed_class(course, CHAPTER, 3)
    release, source = course / "release" / CHAPTER / "tensor.ipynb", course / "source" / CHAPTER / "tensor.ipynb"
    for student, text in [("crash", json.dumps(crashing(answered(release, source)))), ("broken", '{"cells": ['),
                          ("tampered", json.dumps(with_cells_tampered(answered(release, source))))]:
        (course / "submitted" / student / CHAPTER).mkdir(parents=True)
        (course / "submitted" / student / CHAPTER / "tensor.ipynb").write_text(text)
    return course, students + ["crash", "broken", "tampered"]


def copy_of(ungraded, tmp_path_factory, name):
    course = tmp_path_factory.mktemp(name) / "course"
    shutil.copytree(ungraded[0], course)
    return course


def gradebook_grades(db_url):
    """{(student, grade cell): (score, submission score)} as nbgrader's gradebook holds them."""
    with Gradebook(db_url, "babygrad") as gradebook:
        return {(submission.student.id, grade.cell.name): (grade.score, submission.score)
                for submission in gradebook.find_assignment(CHAPTER).submissions
                for notebook in submission.notebooks for grade in notebook.grades}


# The Dask and PostgreSQL paths grade a graded and a failing submission: the rest of the class is the same work.
FEW = ["s002", "crash"]


def only(grades, students):
    return {key: value for key, value in grades.items() if key[0] in students}


def sqlite(course):
    return f"sqlite:///{course / 'gradebook.db'}"


@pytest.fixture(scope="module")
def serial(ungraded, tmp_path_factory):
    """The class graded by plain `nbgrader autograde`, run in the folder `init` made."""
    course = copy_of(ungraded, tmp_path_factory, "serial")
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([str(BIN / "nbgrader"), "autograde", CHAPTER], cwd=course, env=environment,
                          capture_output=True, text=True)
    assert "No assignment" not in done.stderr, done.stderr
    return gradebook_grades(sqlite(course))


@pytest.fixture(scope="module")
def in_parallel(ungraded, tmp_path_factory):
    course = copy_of(ungraded, tmp_path_factory, "parallel")
    assert cli.main(["grade", CHAPTER, "--course", str(course), "--workers", "2"]) == 0
    return course


def test_plain_nbgrader_autograde_works_in_a_course_folder_from_init(serial, ungraded):
    students = {student for student, _ in serial}
    assert students == set(ungraded[1])
    assert {score for (student, _), (_, score) in serial.items() if student == "s001"} == {100}


def test_grading_in_parallel_gives_the_grades_of_serial_nbgrader(serial, in_parallel):
    assert gradebook_grades(sqlite(in_parallel)) == serial


def test_a_submission_that_cannot_be_graded_gets_zero_and_its_reason_in_the_results(in_parallel):
    results = json.loads((in_parallel / "logs" / CHAPTER / "results.json").read_text())
    assert "DeadKernelError" in results["crash"]["problem"] and results["crash"]["score"] == 0
    assert "NotJSONError" in results["broken"]["problem"]
    assert results["s001"]["problem"] == "" and results["s001"]["seconds"] > 0
    assert "Autograding" in (in_parallel / "logs" / CHAPTER / "s002.log").read_text()


def test_grading_on_a_dask_cluster_gives_the_grades_of_serial_nbgrader(serial, ungraded, tmp_path_factory):
    from distributed import Client, LocalCluster
    course = copy_of(ungraded, tmp_path_factory, "dask")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        results = list(parallel.grade(course, CHAPTER, FEW, scheduler=client))
    assert {result.student for result in results} == set(FEW)
    assert gradebook_grades(sqlite(course)) == only(serial, FEW)


@pytest.mark.skipif(server_programs() is None, reason="PostgreSQL's server is not installed")
def test_a_gradebook_in_postgresql_gets_the_grades_of_serial_nbgrader(serial, ungraded, tmp_path_factory):
    course = copy_of(ungraded, tmp_path_factory, "postgres")
    (course / "gradebook.db").unlink()
    with postgresql_server() as url:
        assert cli.main(["grade", CHAPTER, "--course", str(course), "--db", url, "--student", *FEW]) == 0
        assert gradebook_grades(database_url(url)) == only(serial, FEW)
    assert not (course / "gradebook.db").exists()


def test_every_notebook_graded_in_parallel_ran_in_a_worker_even_with_cells_put_back(in_parallel):
    logs = {log.stem: log.read_text() for log in (in_parallel / "logs" / CHAPTER).glob("*.log")}
    assert "the instructor's version ran" in logs["tampered"]
    assert not [student for student, log in logs.items() if "it runs here" in log]


def test_student_logs_say_once_what_was_verified_and_nothing_of_discarded_kernel_clients(in_parallel):
    logs = {log.stem: log.read_text() for log in (in_parallel / "logs" / CHAPTER).glob("*.log")}
    assert not [student for student, log in logs.items() if "Could not destroy zmq context" in log]
    graded = [student for student, log in logs.items() if "Autograding" in log and student != "broken"]
    assert graded and all(len(re.findall(r"Verified \S+ of ", logs[student])) == 1 for student in graded)


def test_a_notebook_a_worker_executed_otherwise_runs_in_the_writer_with_the_grades_of_serial(serial, in_parallel,
                                                                                             tmp_path):
    course = tmp_path / "course"
    shutil.copytree(in_parallel, course)
    graded = parallel.Writer(course).write({"student": "s002", "chapter": CHAPTER, "log": "", "seconds": 0.0,
                                            "notebooks": {"tensor": {"sanitized": "another notebook"}}})
    assert "it runs here" in graded.log
    assert only(gradebook_grades(sqlite(course)), ["s002"]) == only(serial, ["s002"])


def test_the_report_shows_the_gradebooks_numbers_and_its_pictures(in_parallel):
    out = in_parallel / "report.html"
    assert cli.main(["report", "--course", str(in_parallel), "--out", str(out)]) == 0
    page = out.read_text()
    assert page.count('src="data:image/png;base64,') == 4
    with Gradebook(sqlite(in_parallel), "babygrad") as gradebook:
        assignment = gradebook.find_assignment(CHAPTER)
        scores = {submission.student.id: submission.score for submission in assignment.submissions}
        failed = {}
        for submission in assignment.submissions:  # struggles count the graded submissions that answer something
            grades = [grade for notebook in submission.notebooks for grade in notebook.grades]
            comments = [comment for notebook in submission.notebooks for comment in notebook.comments]
            if all(grade.auto_score is None for grade in grades) or \
                    all(comment.auto_comment == "No response." for comment in comments):
                continue
            for grade in grades:
                if grade.max_score:
                    failed[grade.cell.name] = failed.get(grade.cell.name, 0) + ((grade.score or 0) < grade.max_score)
    assert {student: float(score) for student, score in
            re.findall(r'data-student="([^"]+)" data-score="([^"]+)"', page)} == scores
    assert {cell: int(count) for cell, count in re.findall(r'data-cell="([^"]+)" data-failed="(\d+)"', page)} == failed
    assert "not graded: DeadKernelError" in page


def test_a_suspected_tampering_comment_is_flagged_in_the_report(in_parallel, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(in_parallel, course)
    with Gradebook(sqlite(course), "babygrad") as gradebook:
        notebook = gradebook.find_submission_notebook("tensor", CHAPTER, "s003")
        notebook.comments[0].auto_comment = "Suspected tampering: the checks were replaced"
        gradebook.db.commit()
    page = cli.main(["report", "--course", str(course)]) == 0 and (course / "report.html").read_text()
    assert "1 flagged for suspected tampering" in page
    assert "Suspected tampering: the checks were replaced" in page


@pytest.mark.parametrize("verb", ["init", "grade", "report", "kit", "build", "demo"])
def test_every_subcommand_has_help(verb, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main([verb, "--help"])
    assert exit.value.code == 0 and "usage: babygrad-course" in capsys.readouterr().out


def test_grading_a_chapter_that_does_not_exist_names_it(in_parallel):
    with pytest.raises(SystemExit) as exit:
        cli.main(["grade", "09_nothing", "--course", str(in_parallel)])
    assert "09_nothing" in str(exit.value.code)


def test_init_refuses_a_folder_that_is_not_empty(in_parallel):
    with pytest.raises(SystemExit) as exit:
        cli.main(["init", str(in_parallel)])
    assert "not empty" in str(exit.value.code)
