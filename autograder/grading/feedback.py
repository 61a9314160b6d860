"""Feedback that tells a student what failed without handing over the hidden tests."""
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests


class HideHiddenTests(ClearHiddenTests):
    """Removes hidden test code from grade cells, and every traceback, which could quote it.

    A traceback can pass through hidden code from any cell (a picture cell calling a function that a hidden test
    defined), so none is kept. What stays is each error's name and message: the checks in `coursework.checks`
    write messages that say what was expected and what came back, which is what a student needs.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        if utils.is_grade(cell):
            self._remove_hidden_test_region(cell)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
