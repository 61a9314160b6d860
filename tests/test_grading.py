"""Grading a class with real nbgrader: the right scores, a reason for every failure, nothing a student can fake."""
import csv
import json
import os

import pytest

from autograder import demo
from autograder.classroom import STUDENTS, answered
from autograder.course import nbgrader
from autograder.grading.autograde import autograde
from tests.test_feedback import assert_reads_as_a_lesson, read_offline
from tests.test_generated import hidden_test_lines, strip_regions


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    course = tmp_path_factory.mktemp("class") / "course"
    results = demo.main(["--work", str(course)])
    return course, {(result.student, result.chapter): result for result in results}


@pytest.fixture(scope="module")
def course_chapters(graded_class):
    course, results = graded_class
    return sorted({chapter for _, chapter in results})


def scores(graded_class, student):
    return {chapter: result.score for (name, chapter), result in graded_class[1].items() if name == student}


def test_the_reference_solution_gets_full_marks_in_every_chapter(graded_class, course_chapters):
    assert scores(graded_class, "perfect") == {chapter: 100 for chapter in course_chapters}


def test_a_chapter_03_feedback_page_read_offline_typesets_its_maths_and_shows_its_pictures(graded_class):
    course = graded_class[0]
    asked, title, text, formulas, pictures = read_offline(course / "feedback" / "buggy" / "03_gradients" /
                                                          "gradients.html")
    assert asked == [] and title == "gradients"
    assert formulas >= 10 and pictures >= 10
    assert_reads_as_a_lesson(course, text)


def test_the_untouched_release_gets_nothing(graded_class, course_chapters):
    assert scores(graded_class, "stubs") == {chapter: 0 for chapter in course_chapters}


def test_classic_mistakes_cost_some_points_but_not_all(graded_class):
    assert all(0 < score < 100 for score in scores(graded_class, "buggy").values())


@pytest.mark.parametrize("student, cause", [("crash", "DeadKernelError"), ("invalid_json", "NotJSONError")])
def test_a_submission_that_cannot_be_graded_gets_zero_and_the_reason(graded_class, student, cause):
    for (name, _), result in graded_class[1].items():
        if name == student:
            assert result.score == 0 and cause in result.problem


def test_library_files_shipped_in_a_submission_are_not_used(graded_class):
    course, _ = graded_class
    assert scores(graded_class, "sneaky") == {chapter: 0 for chapter in scores(graded_class, "sneaky")}
    assert list((course / "autograded" / "sneaky").rglob("*.py")) == []


def test_the_grades_csv_has_a_row_per_student_and_chapter(graded_class, course_chapters):
    course, _ = graded_class
    rows = list(csv.DictReader(open(course / "grades.csv")))
    assert len(rows) == len(STUDENTS) * len(course_chapters)
    assert {row["problem"][:15] for row in rows if row["student"] == "crash"} == {"DeadKernelError"}


def test_feedback_shows_failures_but_not_the_hidden_tests(graded_class, course_chapters):
    course, _ = graded_class
    for chapter in course_chapters:
        for source in (course / "source" / chapter).glob("*.ipynb"):
            texts = ["".join(cell["source"]) for cell in json.loads(source.read_text())["cells"]]
            shown = "\n".join(strip_regions(text) for text in texts)
            secrets = [line for text in texts for line in hidden_test_lines(text) if line not in shown]
            page = (course / "feedback" / "buggy" / chapter / f"{source.stem}.html").read_text()
            assert "AssertionError" in page or "Error" in page
            assert not [line for line in secrets if line in page.replace("&quot;", '"').replace("&#39;", "'")]


def test_the_feedback_index_names_each_test_cell_by_its_test(graded_class, course_chapters):
    course, _ = graded_class
    for chapter in course_chapters:
        for source in (course / "source" / chapter).glob("*.ipynb"):
            tests = [cell["metadata"]["nbgrader"]["grade_id"] for cell in json.loads(source.read_text())["cells"]
                     if cell["metadata"].get("nbgrader", {}).get("grade")]
            page = (course / "feedback" / "buggy" / chapter / f"{source.stem}.html").read_text()
            assert ">Test cell<" not in page
            assert all(f'<a href="#{test}">{test}</a>' in page for test in tests)


def test_a_warning_printed_by_correct_code_costs_no_points(graded_class):
    course, _ = graded_class
    chapter = "01_tensor"
    nb = answered(course / "release" / chapter / "tensor.ipynb", course / "source" / chapter / "tensor.ipynb")
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "as_array":
            cell["source"] = cell["source"].replace(
                '    if isinstance(data, Tensor):',
                '    import warnings\n    warnings.warn("as_array ran")\n    if isinstance(data, Tensor):')
    target = course / "submitted" / "noisy" / chapter / "tensor.ipynb"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(nb))
    result = autograde(nbgrader(course), chapter, "noisy")
    assert (result.score, result.problem) == (100, "")
    graded = (course / "autograded" / "noisy" / chapter / "tensor.ipynb").read_text()
    assert "UserWarning" not in graded


# --- A cluster that grades for the course's keys only ----------------------------------------------------------

@pytest.fixture(scope="module")
def small_course(tmp_path_factory):
    """A course folder with chapter 01 generated, and two submissions: a perfect one, and one no file can hold."""
    import shutil

    from autograder.course import RELEASE, REPO, SOURCE, succeeded
    from tests.attacks.sandbox_submissions import with_surrogate
    course = tmp_path_factory.mktemp("cluster")
    shutil.copytree(SOURCE, course / "source")
    shutil.copytree(RELEASE, course / "release")
    shutil.copy(REPO / "nbgrader_config.py", course)
    succeeded(nbgrader(course).generate_assignment("01_tensor"), "generate_assignment")
    release = course / "release" / "01_tensor" / "tensor.ipynb"
    source = course / "source" / "01_tensor" / "tensor.ipynb"
    for student in ("perfect", "surrogate"):
        notebook = answered(release, source)
        if student == "surrogate":
            with_surrogate(notebook)
        (course / "submitted" / student / "01_tensor").mkdir(parents=True)
        (course / "submitted" / student / "01_tensor" / "tensor.ipynb").write_text(json.dumps(notebook))
    return course


def test_a_worker_receives_no_hidden_test_of_another_chapter(small_course):
    from autograder.course import succeeded
    from autograder.grading.parallel import Writer, course_bundle
    succeeded(nbgrader(small_course).generate_assignment("02_operations"), "generate_assignment")
    gradebook = Writer(small_course).gradebook_file("02_operations", alone=True)
    files = course_bundle(small_course, gradebook, "02_operations")["files"]
    others = [name for name in files if name.startswith("source/") and "/02_operations/" not in name]
    assert others and not [name for name in others if b"BEGIN HIDDEN TESTS" in files[name]]
    assert any(b"BEGIN HIDDEN TESTS" in files[name] for name in files if "source/02_operations/" in name)
    hidden = [line.strip().encode() for line in hidden_test_lines(
        "\n".join("".join(cell["source"]) for cell in
                  json.loads((small_course / "source" / "01_tensor" / "tensor.ipynb").read_text())["cells"]))
              if len(line.strip()) > 20]
    assert hidden and any(line in (small_course / "gradebook.db").read_bytes() for line in hidden)
    assert not [line for line in hidden if line in gradebook]


def refused_without_certificate(address, authority):
    """Whether the scheduler at `address` ends a TLS connection that shows no certificate."""
    import socket
    import ssl
    host, port = address[len("tls://"):].rsplit(":", 1)
    context = ssl.create_default_context(cafile=str(authority))
    context.check_hostname = False
    try:
        with socket.create_connection((host, int(port)), timeout=5) as raw, context.wrap_socket(raw) as tls:
            tls.sendall(b"hello")
            return tls.recv(1) == b""
    except OSError:
        return True


def test_a_cluster_with_the_courses_keys_grades_and_refuses_any_other_client(small_course, tmp_path):
    from distributed import Client, LocalCluster

    from autograder.grading import parallel
    from autograder.grading.cluster import make_keys, security
    keys, strangers = make_keys(tmp_path / "keys"), make_keys(tmp_path / "strangers")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, protocol="tls://", dashboard_address=None,
                      security=security(keys)) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        assert refused_without_certificate(address, keys / "ca.pem")
        with pytest.raises((OSError, TimeoutError)):
            Client(address, security=security(strangers), timeout=5)
        results = {result.student: result for result in parallel.grade(small_course, "01_tensor", scheduler=address,
                                                                          keys=keys)}
    assert results["perfect"].score == 100 and results["perfect"].problem == ""
    assert results["surrogate"].score == 0 and "UnicodeEncodeError" in results["surrogate"].problem


def test_a_submission_is_read_without_following_links_or_blocking_and_as_nbgrader_ignores(tmp_path):
    from autograder.grading.cells import LinkedSubmissionError, submission_files
    folder = tmp_path / "submission"
    (folder / "babygrad").mkdir(parents=True)
    (folder / "tensor.ipynb").write_text("{}")
    (folder / "babygrad" / "ops.py").write_text("answers")
    assert dict(submission_files(folder, ["babygrad"])) == {"tensor.ipynb": b"{}"}
    os.mkfifo(folder / "notes.txt")
    with pytest.raises(LinkedSubmissionError, match="notes.txt is not a regular file"):
        dict(submission_files(folder, ["babygrad"]))
    (folder / "notes.txt").unlink()
    os.symlink("/dev/zero", folder / "data.bin")
    with pytest.raises(LinkedSubmissionError, match="data.bin is a symbolic link"):
        dict(submission_files(folder, ["babygrad"]))
