"""Autograde a class with nbgrader, and say for every submission what it scored or why it could not be graded."""
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.grading.resume import forget_unfinished


@dataclass
class Result:
    student: str
    chapter: str
    score: float
    max_score: float
    problem: str = ""  # why the submission could not be graded, or why its kernel died; empty when neither
    seconds: float = 0.0


def reason(log):
    """The last exception nbgrader logged, as one line: what a teacher needs to know first."""
    errors = re.findall(r"^\s*(?:\w+\.)*(\w+(?:Error|Exception)\b.*)$", log or "", flags=re.MULTILINE)
    return errors[-1].strip() if errors else "nbgrader could not grade it (see its log)"


def submission_score(api, chapter, student):
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        try:
            submission = gradebook.find_submission(chapter, student)
        except MissingEntry:
            assignment = gradebook.find_assignment(chapter)
            return 0.0, assignment.max_score
        return submission.score, submission.max_score


def autograde(api, chapter, student):
    """Grade one submission; a failure costs the student every point and is reported with its cause."""
    started = time.perf_counter()
    forget_unfinished(api.coursedir.root, student, chapter)
    outcome = api.autograde(chapter, student)
    seconds = time.perf_counter() - started
    score, max_score = submission_score(api, chapter, student)
    if not outcome["success"]:
        return Result(student, chapter, 0.0, max_score, reason(outcome.get("log", "")), seconds)
    return Result(student, chapter, score, max_score, kernel_death(api, chapter, student), seconds)


def kernel_death(api, chapter, student):
    """Why the kernel of a graded submission died, when it did: the cells it ran were graded, the rest got 0."""
    folder = Path(api.coursedir.root) / "autograded" / student / chapter
    for notebook in sorted(folder.glob("*.ipynb")):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            for output in cell.get("outputs", []):
                if output.get("ename") == "DeadKernelError":
                    return f"DeadKernelError: {output['evalue']}"
    return ""


def struggles(api, chapter):
    """[(grade cell, students who lost points there)] for one chapter, the hardest first."""
    students = {}
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        for notebook in gradebook.find_assignment(chapter).notebooks:
            for submission in notebook.submissions:
                for grade in submission.grades:
                    lost = (grade.score or 0) < grade.max_score
                    students[grade.cell.name] = students.get(grade.cell.name, 0) + lost
    return sorted(students.items(), key=lambda item: -item[1])
