"""Submissions that try to buy points with code get their honest score, and are flagged as suspected tampering.

All attacks are graded together by real nbgrader (one autograde run per chapter), with verified scores on: those
that fool the kernel's tests, and those that attack the verifier itself (its files, its probe, its messages).
"""
import json
import os
import time

import nbformat
import numpy as np
import pytest
from nbgrader import utils
from nbgrader.api import Gradebook

from autograder import demo
from autograder.course import REPO, chapter_notebooks, chapters, succeeded
from autograder.grading import verify
from autograder.grading.checks import Case, chapter_checks
from autograder.grading.verified_scores import FLAG, VerifyScores, autograded_cells
from tests.attacks.score_submissions import ATTACKS, SCRIPT, attack_notebook, attacked_release


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("attacks") / "course"
    course.mkdir()
    api, _ = demo.build_release(course)
    chapters = sorted({chapter for chapter, _, _ in ATTACKS.values()})
    for student, (chapter, code, edit) in ATTACKS.items():
        release = attacked_release(course / "release" / chapter, code)
        target = course / "submitted" / student / chapter / release.name
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(attack_notebook(release, code, edit), indent=1))
    logs = {chapter: succeeded(api.autograde(chapter, "*"), f"autograde {chapter}")["log"] for chapter in chapters}
    for chapter in chapters:
        succeeded(api.generate_feedback(chapter), f"feedback {chapter}")
    return course, api, logs


# Attacks that an earlier step already undoes, so that nothing is left to flag: the grader rebuilds every graded
# cell from the gradebook before anything runs, tags and all.
UNDONE_BEFORE_RUNNING = {"skipped_tests"}


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_an_attack_gets_its_honest_score_and_the_flag(graded, student):
    course, api, logs = graded
    chapter = ATTACKS[student][0]
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        submission = gradebook.find_submission(chapter, student)
        assert submission.score == 0
        comments = [comment.auto_comment or "" for notebook in submission.notebooks for comment in notebook.comments]
    if student in UNDONE_BEFORE_RUNNING:
        return
    assert any(comment.startswith(FLAG) for comment in comments)
    page = next((course / "feedback" / student / chapter).glob("*.html")).read_text()
    assert FLAG in page
    assert f"{FLAG}: {student} of {chapter}" in logs[chapter]


def comments_and_page(graded, student):
    """The gradebook's comments on the student's submission, and the feedback page, as a reader gets them."""
    course, api, _ = graded
    chapter = ATTACKS[student][0]
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        submission = gradebook.find_submission(chapter, student)
        comments = {comment.name: comment.auto_comment or "" for notebook in submission.notebooks
                    for comment in notebook.comments}
    return comments, next((course / "feedback" / student / chapter).glob("*.html")).read_text()


@pytest.mark.parametrize("student, reason", [
    ("missing_companion", "an answer with a part missing"),
    ("deep_json", "an answer that could not be read"),
    ("huge_array_header", "an array whose size is not what its header says"),
    ("special_files", "an answer that is not a plain file"),
])
def test_a_reply_the_grader_cannot_read_fails_its_cells_with_the_reason(graded, student, reason):
    comments, page = comments_and_page(graded, student)
    assert reason in "".join(comments.values())
    assert reason in page


@pytest.mark.skipif(os.geteuid() != 0, reason="a folder gets a file system of its own only when grading runs as root")
def test_a_probe_that_fills_its_folder_fills_only_its_bound_and_fails_its_cells(graded):
    comments, page = comments_and_page(graded, "filled_folder")
    reason = f"your code filled the {verify.PROBE_FOLDER_BYTES // verify.MiB} MiB folder it shares with the grader"
    assert reason in "".join(comments.values()) and reason in page


def test_notes_of_cells_under_one_solution_are_kept_together(graded):
    """Every grade cell after `backward` was flagged: its comment holds each one's note."""
    comments, _ = comments_and_page(graded, "forged_replies")
    assert comments["build_topo"].count(FLAG) == 1
    assert comments["backward"].count(FLAG) == 6


def test_a_script_in_student_text_reaches_no_page(graded):
    comments, page = comments_and_page(graded, "scripted_error")
    assert "<script" not in "".join(comments.values())
    assert SCRIPT not in page and "as_array(a list of integers)" in page


def test_the_probe_reveals_nothing_of_the_plan(graded):
    comments, page = comments_and_page(graded, "plan_read_back")
    for text in ("".join(comments.values()), page):
        assert FLAG in text
        assert "inputs.npz" not in text and "babygrad-verify-" not in text and "reply-" not in text


def student_notebook(chapter, code):
    """The release notebook of `chapter` with these solution cells' code, as nbgrader hands it to a preprocessor."""
    release = attacked_release(REPO / "release" / chapter, code)
    return nbformat.from_dict(json.loads(json.dumps(attack_notebook(release, code))))


def test_a_cell_that_never_answers_fails_alone(monkeypatch):
    monkeypatch.setattr(verify, "CELL_SECONDS", 3)
    code = {"sub": "class Sub(Function):\n    def forward(self, a, b):\n        while True:\n            pass\n\n\n"
                   "def sub(a, b):\n    return Sub()(a, b)\n"}
    verdicts = verify.verify(student_notebook("02_operations", code), "02_operations", REPO)
    assert not verdicts["test_sub"].passed and "no answer within 3 seconds" in verdicts["test_sub"].message
    assert verdicts["test_mulscalar"].message  # later cells are still graded, by a new probe
    assert "no answer" not in verdicts["test_mulscalar"].message


def test_code_that_ends_the_probe_fails_its_cell_and_the_rest_are_graded():
    code = {"negate": "class Negate(Function):\n    def forward(self, a):\n        import os\n        os._exit(0)\n\n\n"
                      "def negate(a):\n    return Negate()(a)\n"}
    verdicts = verify.verify(student_notebook("02_operations", code), "02_operations", REPO)
    assert "ended the process" in verdicts["test_negate"].message
    assert "ended the process" not in verdicts["test_log"].message


def test_a_reply_with_a_pickle_or_past_the_size_limit_is_refused(tmp_path, monkeypatch):
    (tmp_path / "reply-0.json").write_text("{}")
    np.savez(tmp_path / "reply-0.npz", a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(verify.BadReply):
        verify.read_reply(tmp_path / "reply-0")
    np.savez(tmp_path / "reply-0.npz", a=np.zeros(1000))
    monkeypatch.setattr(verify, "MAX_REPLY_BYTES", 100)
    with pytest.raises(verify.BadReply):
        verify.read_reply(tmp_path / "reply-0")


def test_one_deadline_bounds_a_notebook_whose_every_cell_hangs(monkeypatch):
    monkeypatch.setattr(verify, "CELL_SECONDS", 3)
    monkeypatch.setattr(verify, "NOTEBOOK_SECONDS", 5)
    code = {"as_array": "while True:\n    pass\n"}  # every probe hangs as it imports the student's code
    started = time.monotonic()
    verdicts = verify.verify(student_notebook("01_tensor", code), "01_tensor", REPO)
    assert time.monotonic() - started < 5 + 10  # the deadline, and the probe's start and the grader's own work
    assert not any(verdict.passed for verdict in verdicts.values())
    assert "no answer within the 5 seconds" in verdicts["test_leaving"].message


@pytest.mark.parametrize("make", [os.mkfifo, os.mkdir, lambda path: os.symlink("/dev/zero", path)])
def test_a_reply_that_is_not_a_regular_file_is_refused_without_waiting(tmp_path, make):
    make(tmp_path / "reply-0.json")
    np.savez(tmp_path / "reply-0.npz")
    with pytest.raises(verify.BadReply, match="not a plain file"):
        verify.read_reply(tmp_path / "reply-0")


def test_verification_that_fails_scores_every_cell_zero_before_anything_is_saved():
    class Failing(VerifyScores):
        def verdicts(self, nb, resources, chapter, course):
            raise RecursionError("deep")

    nb = nbformat.read(REPO / "source" / "01_tensor" / "tensor.ipynb", as_version=4)
    resources = {"nbgrader": {"assignment": "01_tensor", "student": "s", "notebook": "tensor"}}
    cells = autograded_cells(nb)
    assert all(utils.determine_grade(cell)[0] == utils.determine_grade(cell)[1] for cell in cells.values())
    nb, resources = Failing().preprocess(nb, resources)
    assert all(utils.determine_grade(cell)[0] == 0 for cell in autograded_cells(nb).values())
    assert set(resources["nbgrader"]["flags"]) == {grade_id for grade_id, cell in cells.items()
                                                   if cell.metadata.nbgrader.points}
    assert all("(RecursionError)" in note for note in resources["nbgrader"]["flags"].values())


def test_a_malformed_answer_fails_the_check_not_the_grader():
    case = Case(np.random.default_rng(0))
    case.expect(case.call("lib.ops.Negate"), "Negate()")
    reference = {case.steps[0]["name"]: {"kind": "object", "type": "Negate"}}
    for reply in ({"s0": "text"}, {"s0": {"kind": "sequence", "items": 3}}, {"s0": {"kind": "ndarray", "array": []}},
                  {"s0": {"kind": "Tensor", "data": {"kind": "ndarray", "array": "missing"}}}, {}):
        assert verify.judge(case, (reply, {}), reference, {}).startswith("Negate()")


VERIFIED = [chapter for chapter in chapters() if chapter_checks(chapter) is not None]
# Every notebook of a verified chapter, as (chapter, notebook name): chapter 5 has three.
VERIFIED_NOTEBOOKS = [(path.parent.name, path.stem) for path in chapter_notebooks(REPO / "source")
                      if path.parent.name in VERIFIED]


def test_every_chapter_is_verified():
    assert VERIFIED == chapters()
    assert "05_training" in VERIFIED


def grade_cells_worth_points(chapter, notebook):
    cells = nbformat.read(REPO / "source" / chapter / f"{notebook}.ipynb", as_version=4).cells
    return {cell.metadata.nbgrader.grade_id for cell in cells
            if cell.metadata.get("nbgrader", {}).get("grade") and cell.metadata.nbgrader.get("points")}


@pytest.mark.parametrize("chapter", VERIFIED)
def test_every_grade_cell_worth_points_is_verified(chapter):
    graded = set().union(*(grade_cells_worth_points(chapter, notebook) for each, notebook in VERIFIED_NOTEBOOKS
                           if each == chapter))
    assert set(chapter_checks(chapter)) == graded


@pytest.mark.parametrize("chapter, notebook", VERIFIED_NOTEBOOKS)
def test_the_reference_passes_verification_and_the_release_fails_it(chapter, notebook):
    """Each notebook alone: beside it the probe holds the release of the chapter's other notebooks."""
    for folder, passes in (("source", True), ("release", False)):
        submitted = nbformat.read(REPO / folder / chapter / f"{notebook}.ipynb", as_version=4)
        verdicts = verify.verify(submitted, chapter, REPO, notebook)
        assert set(verdicts) == grade_cells_worth_points(chapter, notebook)
        assert {grade_id: verdict.passed for grade_id, verdict in verdicts.items()} == dict.fromkeys(verdicts, passes)


def test_a_chapter_of_several_notebooks_needs_the_graded_notebooks_name():
    release = nbformat.read(REPO / "release" / "05_training" / "nn.ipynb", as_version=4)
    with pytest.raises(ValueError, match="3 notebooks"):
        verify.verify(release, "05_training", REPO)
