"""After hand-in, on a course whose gradebook is in PostgreSQL: the README's steps give the CSV and pages of SQLite,
every student gets a page, the pages read offline in a browser, and the report's numbers are the CSV's."""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbformat import NotebookNode

from autograder import cli
from autograder.classroom import submission
from autograder.course import database_url
from autograder.grading.feedback import SafeOutputs, as_text
from autograder.report import Chapter, failure_rates, lost_points
from tests.postgres import postgresql_server, server_programs

CHAPTER = "02_operations"
STUDENTS = ["perfect", "buggy", "stubs", "invalid_json"]
BIN = Path(sys.executable).parent


# What a student may write in a markdown cell of their own: it must show as text, and nothing of it run.
SCRIPTED = "<script>document.title = 'ran'</script><img src=x onerror=\"document.title = 'ran'\"> " \
           "$\\href{javascript:document.title='ran'}{x}$"


def hand_in(course):
    """The sample class's submissions of the chapter, as nbgrader's exchange collects them; the buggy student
    adds a markdown cell of scripts."""
    for release in sorted((course / "release" / CHAPTER).glob("*.ipynb")):
        for student in STUDENTS:
            folder = course / "submitted" / student / CHAPTER
            for name, text in submission(release, course / "source" / CHAPTER / release.name, student).items():
                if student == "buggy":
                    notebook = json.loads(text)
                    notebook["cells"].append({"cell_type": "markdown", "id": "scripts", "metadata": {},
                                              "source": SCRIPTED})
                    text = json.dumps(notebook)
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(text, encoding="utf-8")
            (folder / "timestamp.txt").write_text("2027-01-15 10:00:00.000000 UTC")
            (folder / "submission_secret.txt").write_text(f"secret-of-{student}")


def nbgrader(course, *arguments):
    """A plain nbgrader command run in the course folder, as the README says."""
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([str(BIN / "nbgrader"), *arguments], cwd=course, env=environment, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stderr


def after_hand_in(course):
    """The README's steps after hand-in, none told where the gradebook is: grade, feedback, CSV, report."""
    hand_in(course)
    assert cli.main(["grade", CHAPTER, "--course", str(course), "--workers", "2"]) == 0
    log = nbgrader(course, "generate_feedback", CHAPTER)
    nbgrader(course, "export")
    assert cli.main(["report", "--course", str(course)]) == 0
    return log


@pytest.fixture(scope="module")
def postgres_course(tmp_path_factory):
    if server_programs() is None:
        pytest.skip("PostgreSQL's server is not installed")
    with postgresql_server() as url:
        course = cli.init(tmp_path_factory.mktemp("postgres") / "course", url)
        log = after_hand_in(course)
        yield course, url, log


@pytest.fixture(scope="module")
def sqlite_course(tmp_path_factory):
    course = cli.init(tmp_path_factory.mktemp("sqlite") / "course")
    after_hand_in(course)
    return course


def grades_csv(course):
    with open(course / "grades.csv", newline="") as file:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)
                if row["assignment"] == CHAPTER}


def pages(course):
    """{student: what the page says}: its text and pictures, whitespace aside (a kernel may send one printed
    block as one message or two), with the course's folder (which differs between two courses) named alike."""
    return {page.parent.parent.name: re.sub(r"<(?!img)[^>]*>|\s+", "", page.read_text(encoding="utf-8"))
            .replace(str(course), "COURSE") for page in sorted((course / "feedback").glob(f"*/{CHAPTER}/*.html"))}


def test_init_with_a_database_makes_it_the_gradebook_of_every_command_in_the_folder(postgres_course):
    course, url, _ = postgres_course
    assert f"GRADEBOOK = {database_url(url)!r}" in (course / "nbgrader_config.py").read_text()
    assert not (course / "gradebook.db").exists()
    assert grades_csv(course) == {student: result["score"] for student, result in
                                  json.loads((course / "logs" / CHAPTER / "results.json").read_text()).items()}


def test_a_course_in_postgresql_gives_the_csv_and_feedback_of_sqlite(postgres_course, sqlite_course):
    course = postgres_course[0]
    assert grades_csv(course) == grades_csv(sqlite_course)
    assert grades_csv(course)["perfect"] == 100 and grades_csv(course)["invalid_json"] == 0
    assert pages(course) == pages(sqlite_course)


def test_every_student_gets_a_page_the_ungradable_one_saying_why_and_what_to_hand_in(postgres_course, tmp_path):
    course = postgres_course[0]
    assert set(pages(course)) == set(STUDENTS)
    page = (course / "feedback" / "invalid_json" / CHAPTER / "operations.html").read_text()
    assert "Score: 0 / 100" in page and "not the JSON text a saved Jupyter notebook is made of" in page
    assert "What to hand in instead" in page
    nbgrader(course, "release_feedback", CHAPTER, f"--Exchange.root={tmp_path}")
    assert len(list((tmp_path / "babygrad" / "feedback").glob("*.html"))) == len(STUDENTS)


def test_feedback_logs_no_warning_an_instructor_cannot_act_on(postgres_course):
    assert "display_data_priority" not in postgres_course[2]


def test_the_reports_struggles_count_answered_submissions_and_match_the_csv(postgres_course):
    course = postgres_course[0]
    page = (course / "report.html").read_text()
    scores = grades_csv(course)
    assert {student: float(score) for student, score in
            re.findall(r'data-student="([^"]+)" data-score="([^"]+)"', page)} == scores
    assert 'data-answered="2" data-blank="1" data-ungraded="1"' in page
    failed = {cell: int(count) for cell, count in re.findall(r'data-cell="([^"]+)" data-failed="(\d+)"', page)}
    lost = scores["perfect"] - scores["buggy"]
    assert failed and max(failed.values()) == 1 and lost > 0   # only the buggy one of the two answered fails
    assert "test_add_mul" not in failed                         # worth no points
    assert "blank: every answer as released" in page and "not graded: NotJSONError" in page


def test_the_report_and_nbgrader_say_where_they_looked_when_the_gradebook_is_elsewhere(postgres_course, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(postgres_course[0], course)
    config = course / "nbgrader_config.py"
    config.write_text(re.sub(r"(?m)^GRADEBOOK = .*$", "GRADEBOOK = None", config.read_text()))
    with pytest.raises(SystemExit) as stopped:
        cli.main(["report", "--course", str(course)])
    assert f"sqlite:///{course / 'gradebook.db'}" in str(stopped.value.code) and CHAPTER in str(stopped.value.code)
    assert "the grades are in another gradebook" in nbgrader(course, "export")


def read_offline(path):
    """What Chromium shows of the page at `path` with every network request refused: (requests it tried, title,
    text, typeset formulas, pictures that loaded)."""
    from playwright.sync_api import sync_playwright
    asked = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        page = browser.new_page()
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else
                   (asked.append(route.request.url), route.abort()))
        page.goto(path.as_uri())
        page.wait_for_function("document.querySelectorAll('mjx-container').length > 0")
        text = page.inner_text("body")
        title = page.title()
        formulas = page.locator("mjx-container").count()
        pictures = page.eval_on_selector_all('img[src^="data:image/svg+xml"]',
                                             "images => images.filter(image => image.naturalWidth > 0).length")
        browser.close()
    return asked, title, text, formulas, pictures


def assert_reads_as_a_lesson(course, text):
    """No raw TeX, entities escaped once, pictures drawn, nothing of the grader's machine, no broken words."""
    assert not re.findall(r"\$[^$\n]+\$|\\frac|\\partial", text)
    assert not re.findall(r"&(amp|lt|gt|quot|#\d+);", text)
    assert "babygrad.viz.Drawing" not in text
    assert str(course) not in text and "/tmp/" not in text and "Not exported" not in text
    assert "[hidden]ed" not in text


def test_a_feedback_page_read_offline_typesets_its_maths_and_shows_its_pictures(postgres_course):
    course = postgres_course[0]
    asked, title, text, formulas, pictures = read_offline(course / "feedback" / "buggy" / CHAPTER / "operations.html")
    assert asked == [] and title == "operations"
    assert SCRIPTED in text                                                # the student's cell, as typed
    assert formulas >= 10 and pictures >= 10
    assert_reads_as_a_lesson(course, text.replace(SCRIPTED, ""))
    assert "every check passed" in text


def test_hidden_lines_hide_whole_output_lines_never_parts_of_words():
    safe = SafeOutputs()
    safe.hidden, safe.quoted, safe.secrets = {"pass", "try:"}, ["check(add(a, b), 3.0, 'the secret')"], []
    assert safe.scrub("✓ test_add: every check passed\nHint: try: x\n") == "✓ test_add: every check passed\n" \
                                                                           "Hint: try: x\n"
    assert safe.scrub("pass\n['x = 1', \"check(add(a, b), 3.0, 'the secret')\"]\n") == "[hidden]\n[hidden]\n"


def test_student_markdown_and_comments_show_as_typed_text():
    assert as_text("<script>alert(1)</script> `a < 0`") == "```text\n<script>alert(1)</script> `a < 0`\n```"
    assert as_text("```x```").startswith("````text\n")
    cell = NotebookNode(cell_type="markdown", source="<img src=x onerror=alert(1)>", metadata=NotebookNode())
    safe = SafeOutputs()
    safe.lessons = set()
    assert safe.preprocess_cell(cell, {}, 0)[0].source.startswith("```text\n<img")


def test_report_pictures_show_student_ids_as_plain_text():
    import matplotlib
    matplotlib.use("Agg")
    chapter = Chapter(CHAPTER, 10, scores={"$x^$": 5.0, "a$b$c": 10.0}, cells=["test_add"],
                      lost={("$x^$", "test_add"): 5.0})
    assert lost_points(chapter).startswith("<img") and failure_rates(chapter).startswith("<img")
