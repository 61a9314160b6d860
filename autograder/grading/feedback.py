"""Feedback that tells a student what failed without handing over the hidden tests."""
import html
import os
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


SAFE_DATA = ("text/plain", "image/png", "image/jpeg")


class SafeOutputs(ClearHiddenTests):
    """Outputs a student cannot use to leak the hidden tests or the grader's environment, or to run a script.

    Student code can print anything: the hidden tests' source (it is in the kernel's history once they ran) or
    the environment. Every line of a hidden test and every value of the grader's environment is cut out of every
    output. Outputs that a browser would render (HTML, JavaScript, SVG, widgets) are dropped, and a markdown cell
    the instructor did not lock shows its HTML as text. Runs before `HideHiddenTests`, which needs no such care.
    """

    def preprocess(self, nb, resources):
        hidden = set()
        for cell in nb.cells:
            if cell.cell_type == "code" and utils.is_grade(cell):
                hidden.update(self.hidden_lines(cell.source))
        secrets = {value for value in os.environ.values() if len(value) >= 8}
        self.secrets = sorted(hidden | secrets, key=len, reverse=True)
        return super().preprocess(nb, resources)

    def hidden_lines(self, source):
        inside, lines = False, []
        for line in source.splitlines():
            if self.begin_test_delimeter in line:
                inside = True
            elif self.end_test_delimeter in line:
                inside = False
            elif inside and len(line.strip()) >= 4:
                lines.append(line.strip())
        return lines

    def scrub(self, text):
        text = "".join(text) if isinstance(text, list) else str(text)
        for secret in self.secrets:
            text = text.replace(secret, "[hidden]")
        return text

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "markdown" and not utils.is_locked(cell):
            cell.source = html.escape(cell.source, quote=False)
        kept = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                output.text = self.scrub(output.text)
            elif output.output_type == "error":
                output.ename, output.evalue = self.scrub(output.ename), self.scrub(output.evalue)
                output.traceback = [self.scrub(line) for line in output.traceback]
            elif "data" in output:
                shown = {key: value for key, value in output.data.items() if key in SAFE_DATA}
                dropped = sorted(set(output.data) - set(shown))
                if "text/plain" in shown:
                    shown["text/plain"] = self.scrub(shown["text/plain"])
                elif dropped:
                    shown["text/plain"] = f"[output of type {', '.join(dropped)} not shown in feedback]"
                output.data = shown
                output.metadata = {}
            kept.append(output)
        if "outputs" in cell:
            cell.outputs = kept
        return cell, resources
