"""Grading a class with real nbgrader: the right scores, a reason for every failure, nothing a student can fake."""
import csv
import json

import pytest

from autograder import demo
from autograder.classroom import STUDENTS, answered
from autograder.course import nbgrader
from autograder.grading.autograde import autograde
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
