"""Grading that can be killed at any moment and run again with the plain command.

nbgrader skips a submission whose autograded folder exists, finished or not: a run killed half-way would keep a
half-graded submission. Each finished submission gets a marker in its autograded folder (`mark_graded`, nbgrader's
post-convert hook), and before grading, a folder without one is removed (`forget_unfinished`), so it is graded
again from the start.
"""
import shutil
from pathlib import Path

MARKER = ".graded"


def mark_graded(assignment, student, notebooks):
    """nbgrader's post-convert hook: every notebook of this submission was graded."""
    for notebook in notebooks:
        submission = Path(notebook).parent
        folder = Path("autograded") / submission.parent.name / submission.name
        if folder.is_dir():
            (folder / MARKER).write_text("graded\n", encoding="utf-8")


def forget_unfinished(root, student="*", chapter="*"):
    """Remove the autograded folders whose grading did not finish; nbgrader then grades them again."""
    for folder in sorted(Path(root, "autograded").glob(f"{student}/{chapter}")):
        if folder.is_dir() and not (folder / MARKER).exists():
            shutil.rmtree(folder)
