"""nbgrader's side of verified scores: the lower of the in-kernel and the verified score counts, and a cell whose
in-kernel score was higher is flagged as suspected tampering in the gradebook, the feedback and the log.

It runs in `nbgrader autograde` after SaveAutoGrades (see nbgrader_config.py), so every nbgrader command that reads
the gradebook (generate_feedback, export, formgrader) shows the verified score.
"""
import json
import os
import time
from pathlib import Path

from nbformat.v4 import new_markdown_cell, new_output
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.grading.verify import verify

FLAG = "Suspected tampering"


def solution_before(source_notebook):
    """{grade cell id: id of the solution cell above it} in the instructor's notebook: where a comment goes."""
    cells = json.loads(Path(source_notebook).read_text(encoding="utf-8"))["cells"]
    owners, solution = {}, None
    for cell in cells:
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if nbgrader.get("solution"):
            solution = nbgrader.get("grade_id")
        if nbgrader.get("grade") and solution:
            owners[nbgrader["grade_id"]] = solution
    return owners


class VerifyScores(NbGraderPreprocessor):
    """Check every grade cell again outside the kernel, and keep the lower score."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        chapter, student, notebook = info["assignment"], info["student"], info["notebook"]
        course = Path(self.config.CourseDirectory.get("root", os.getcwd()))
        started = time.perf_counter()
        verdicts = self.verdicts(nb, resources, chapter, course)
        self.log.info("Verified %s of %s/%s in %.2f s", student, chapter, notebook, time.perf_counter() - started)
        if verdicts is None:
            self.log.warning("No verified checks for %s: its in-kernel scores stand", chapter)
            return nb, resources
        owners = solution_before(course / "source" / chapter / f"{notebook}.ipynb")
        flagged = []
        with Gradebook(info["db_url"]) as gradebook:
            for grade_id, verdict in verdicts.items():
                try:
                    grade = gradebook.find_grade(grade_id, notebook, chapter, student)
                except MissingEntry:
                    continue
                in_kernel, verified = grade.auto_score or 0, 0 if not verdict.passed else grade.max_score
                if verified >= in_kernel:
                    continue
                grade.auto_score = verified
                note = (f"{FLAG}: the tests in the notebook gave {in_kernel:g} of {grade.max_score:g} points for "
                        f"{grade_id}, but checked again outside the notebook it scores {verified:g}.\n"
                        f"{verdict.message}")
                flagged.append((grade_id, note))
                self.log.warning("%s: %s of %s, %s: in the kernel %g, verified %g", FLAG, student, chapter, grade_id,
                                 in_kernel, verified)
                try:
                    comment = gradebook.find_comment(owners.get(grade_id, ""), notebook, chapter, student)
                    comment.auto_comment = note
                except MissingEntry:
                    pass
            gradebook.db.commit()
        if flagged:
            self.show(nb, flagged)
        return nb, resources

    def verdicts(self, nb, resources, chapter, course):
        """{grade_id: Verdict} of the student's code, or None for a chapter without a list of checks."""
        return verify(nb, chapter, course, resources["nbgrader"]["notebook"])

    @staticmethod
    def show(nb, flagged):
        """A note at the top of the notebook, and under each flagged cell, that the feedback shows."""
        notes = dict(flagged)
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "code" and grade_id in notes:
                cell.outputs.append(new_output("stream", name="stderr", text=notes[grade_id] + "\n"))
        summary = "\n".join(f"- `{grade_id}`" for grade_id, _ in flagged)
        nb.cells.insert(0, new_markdown_cell(
            f"**{FLAG}.** These cells passed in the notebook but not when your code was checked again outside "
            f"it, so they score the checked result:\n\n{summary}"))
