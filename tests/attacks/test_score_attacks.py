"""Submissions that try to buy points with code get their honest score, and are flagged as suspected tampering.

All attacks are graded together by real nbgrader (one autograde run per chapter), with verified scores on.
"""
import json

import nbformat
import numpy as np
import pytest
from nbgrader.api import Gradebook

from autograder import demo
from autograder.course import REPO, chapter_notebooks, chapters, succeeded
from autograder.grading import verify
from autograder.grading.checks import Case, chapter_checks
from autograder.grading.verified_scores import FLAG
from tests.attacks.score_submissions import ATTACKS, attack_notebook, attacked_release


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
