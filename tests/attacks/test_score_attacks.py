"""Submissions that try to buy points with code get their honest score, and are flagged as suspected tampering.

All attacks are graded together by real nbgrader (one autograde run per chapter), with verified scores on.
"""
import json

import pytest
from nbgrader.api import Gradebook

from autograder import demo
from autograder.course import nbgrader, succeeded
from autograder.grading.verified_scores import FLAG
from tests.attacks.submissions import ATTACKS, attack_notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("attacks") / "course"
    course.mkdir()
    api, _ = demo.build_release(course)
    chapters = sorted({chapter for chapter, _, _ in ATTACKS.values()})
    for student, (chapter, code, edit) in ATTACKS.items():
        release = next((course / "release" / chapter).glob("*.ipynb"))
        target = course / "submitted" / student / chapter / release.name
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(attack_notebook(release, code, edit), indent=1))
    logs = {chapter: succeeded(api.autograde(chapter, "*"), f"autograde {chapter}")["log"] for chapter in chapters}
    for chapter in chapters:
        succeeded(api.generate_feedback(chapter), f"feedback {chapter}")
    return course, api, logs


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_an_attack_gets_its_honest_score_and_the_flag(graded, student):
    course, api, logs = graded
    chapter = ATTACKS[student][0]
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        submission = gradebook.find_submission(chapter, student)
        assert submission.score == 0
        comments = [comment.auto_comment or "" for notebook in submission.notebooks for comment in notebook.comments]
    assert any(comment.startswith(FLAG) for comment in comments)
    page = next((course / "feedback" / student / chapter).glob("*.html")).read_text()
    assert FLAG in page
    assert f"{FLAG}: {student} of {chapter}" in logs[chapter]
