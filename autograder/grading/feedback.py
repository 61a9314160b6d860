"""Feedback that tells a student what failed without handing over the hidden tests."""
from pathlib import Path

from jinja2 import FileSystemLoader
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests

TEMPLATES = Path(__file__).resolve().parent / "templates"


def name_test_cells(exporter):
    """Make nbgrader's HTML exporter use `templates/named_feedback.html.j2`: nbgrader's feedback page, whose index
    names each test by its grade_id instead of listing them all as "Test cell"."""
    if getattr(exporter, "template_file", None) not in (None, "named_feedback.html.j2"):
        exporter.extra_loaders = [FileSystemLoader(str(TEMPLATES)), *exporter.extra_loaders]
        exporter.template_file = "named_feedback.html.j2"


class HideHiddenTests(ClearHiddenTests):
    """Removes hidden test code from grade cells, and every traceback, which could quote it.

    A traceback can pass through hidden code from any cell (a picture cell calling a function that a hidden test
    defined), so none is kept. What stays is each error's name and message: the checks in `coursework.checks`
    write messages that say what was expected and what came back, which is what a student needs.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        name_test_cells(self.parent)                     # before any page is made: the exporter is our parent

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        if utils.is_grade(cell):
            self._remove_hidden_test_region(cell)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
