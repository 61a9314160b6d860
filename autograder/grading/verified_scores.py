"""nbgrader's side of verified scores: the lower of the in-kernel and the verified score counts, and a cell whose
in-kernel score was higher is flagged as suspected tampering in the gradebook, the feedback and the log.

`VerifyScores` runs in `nbgrader autograde` just before SaveAutoGrades (see nbgrader_config.py) and lowers a cell
the way SaveAutoGrades itself reads a score: a test cell whose first output is an error scores 0
(`nbgrader.utils.determine_grade`). So the gradebook never holds an unverified score, even for a moment, and
whatever goes wrong while verifying fails every grade cell of the notebook, with the reason. `FlagComments` runs
after SaveAutoGrades (which writes the comments afresh) and puts the flag notes in the gradebook's comments; what it
needs comes through nbgrader's `resources`.
"""
import html
import json
import os
import time
from pathlib import Path

from nbformat.v4 import new_markdown_cell, new_output
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.grading.verify import Verdict, verify

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


def autograded_cells(nb):
    """{grade_id: cell} of the notebook's test cells, which the kernel scored."""
    return {cell.metadata.nbgrader.grade_id: cell for cell in nb.cells
            if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)}


class VerifyScores(NbGraderPreprocessor):
    """Check every grade cell again outside the kernel, and keep the lower score, before SaveAutoGrades."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        chapter, student, notebook = info["assignment"], info["student"], info["notebook"]
        course = Path(self.config.CourseDirectory.get("root", os.getcwd()))
        cells = autograded_cells(nb)
        try:
            verdicts = self.verdicts(nb, resources, chapter, course)
        except Exception as error:  # fail closed: nothing of this notebook passes unchecked
            self.log.error("Verifying %s of %s/%s failed: %s", student, chapter, notebook, error, exc_info=error)
            reason = f"your code could not be checked outside the notebook ({type(error).__name__})"
            verdicts = {grade_id: Verdict(False, reason) for grade_id in cells}
        if verdicts is None:
            self.log.warning("No verified checks for %s: its in-kernel scores stand", chapter)
            return nb, resources
        flags = {}
        for grade_id, cell in cells.items():
            in_kernel, max_score = utils.determine_grade(cell, self.log)
            if not in_kernel or not float(cell.metadata.nbgrader.get("points", 0)):
                continue
            verdict = verdicts.get(grade_id, Verdict(False, "this cell was not checked outside the notebook"))
            if verdict.passed:
                continue
            why = (f"the tests in the notebook gave {in_kernel:g} of {max_score:g} points for {grade_id},\n"
                   f"but checked again outside the notebook it scores 0.\n{verdict.message}")
            flags[grade_id] = f"{FLAG}: {why}"
            # What SaveAutoGrades reads first: an error scores the cell 0, and the feedback shows why.
            cell.outputs.insert(0, new_output("error", ename=FLAG, evalue=why, traceback=[flags[grade_id]]))
            self.log.warning("%s: %s of %s, %s: in the kernel %g, verified 0", FLAG, student, chapter, grade_id,
                             in_kernel)
        if flags:
            summary = "\n".join(f"- `{grade_id}`" for grade_id in flags)
            nb.cells.insert(0, new_markdown_cell(
                f"**{FLAG}.** These cells passed in the notebook but not when your code was checked again outside "
                f"it, so they score the checked result:\n\n{summary}"))
        info["flags"] = flags
        return nb, resources

    def verdicts(self, nb, resources, chapter, course):
        """{grade_id: Verdict} of the student's code, or None for a chapter without a list of checks."""
        info, started = resources["nbgrader"], time.perf_counter()
        verdicts = verify(nb, chapter, course, info["notebook"])
        self.log.info("Verified %s of %s/%s in %.2f s", info["student"], chapter, info["notebook"],
                      time.perf_counter() - started)
        return verdicts


class FlagComments(NbGraderPreprocessor):
    """After SaveAutoGrades: each flag note in the comment of the solution cell above its grade cell, escaped (it
    is shown as HTML), the notes of cells that share a solution cell together."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        flags = info.get("flags") or {}
        if not flags:
            return nb, resources
        chapter, student, notebook = info["assignment"], info["student"], info["notebook"]
        course = Path(self.config.CourseDirectory.get("root", os.getcwd()))
        owners = solution_before(course / "source" / chapter / f"{notebook}.ipynb")
        notes = {}
        for grade_id, note in flags.items():
            if grade_id in owners:
                # Markdown, which keeps HTML: escaped, and each line kept as a line.
                notes.setdefault(owners[grade_id], []).append(html.escape(note, quote=False).replace("\n", "  \n"))
        with Gradebook(info["db_url"]) as gradebook:
            for solution, texts in notes.items():
                try:
                    comment = gradebook.find_comment(solution, notebook, chapter, student)
                except MissingEntry:
                    continue
                comment.auto_comment = "\n\n".join(texts + ([comment.auto_comment] if comment.auto_comment else []))
            gradebook.db.commit()
        return nb, resources
