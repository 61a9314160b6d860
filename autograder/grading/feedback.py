"""Feedback that tells a student what failed without handing over the hidden tests, and that reads anywhere.

A page is one HTML file that loads nothing: its maths is typeset by the MathJax that the course installs, inlined;
its pictures are in it. The lesson reads as the instructor wrote it; whatever the student wrote shows as text.
"""
import base64
import html
import json
import os
import re
from functools import cache
from pathlib import Path

from jinja2 import FileSystemLoader
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests
from traitlets import List

TEMPLATES = Path(__file__).resolve().parent / "templates"
MATHJAX = "<!-- MathJax, inlined -->"  # where templates/mathjax.html.j2 leaves room for the script


def name_test_cells(exporter):
    """Make nbgrader's HTML exporter use `templates/named_feedback.html.j2`: nbgrader's feedback page, whose index
    names each test by its grade_id instead of listing them all as "Test cell", and whose maths needs no network."""
    if getattr(exporter, "template_file", None) not in (None, "named_feedback.html.j2"):
        exporter.extra_loaders = [FileSystemLoader(str(TEMPLATES)), *exporter.extra_loaders]
        exporter.template_file = "named_feedback.html.j2"


@cache
def mathjax_script():
    """MathJax 3 (TeX in, SVG out, every TeX extension and its fonts in one file) and its safe mode, which refuses
    links and styles that TeX could otherwise put on the page."""
    from mathjax import __file__ as package
    es5 = Path(package).parent / "static" / "mathjax" / "es5"
    return "\n".join((es5 / name).read_text(encoding="utf-8") for name in ("tex-svg-full.js", "ui/safe.js"))


class QuietHiddenTests(ClearHiddenTests):
    """nbgrader's preprocessor, taking (and ignoring) the output priorities nbconvert sets for every preprocessor,
    which nbgrader's own takes without saying so, and so warns about on every run."""

    display_data_priority = List().tag(config=True)


class HideHiddenTests(QuietHiddenTests):
    """Removes hidden test code from grade cells, and every traceback, which could quote it.

    A traceback can pass through hidden code from any cell (a picture cell calling a function that a hidden test
    defined), so none is kept. What stays is each error's name and message: the checks in `coursework.checks`
    write messages that say what was expected and what came back, which is what a student needs.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        name_test_cells(self.parent)                     # before any page is made: the exporter is our parent

    def preprocess(self, nb, resources):
        resources["mathjax"] = mathjax_script()
        return super().preprocess(nb, resources)

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
# What the chapter's export cell prints when the grader runs it: true of the grader, not of the student's work.
NOT_EXPORTED = re.compile(r"^Not exported: there is no babygrad package at .*\n?", re.MULTILINE)


class SafeOutputs(QuietHiddenTests):
    """Outputs a student cannot use to leak the hidden tests or the grader's environment, or to run a script.

    Student code can print anything: the hidden tests' source (it is in the kernel's history once they ran) or
    the environment. An output line that is a line of a hidden test, or holds a long one, is hidden whole (never a
    part of a word: a hidden `pass` leaves "passed" alone); values of the grader's environment and its folders are
    cut out. Outputs that a browser would render (HTML, JavaScript, widgets) are dropped; an SVG picture is kept as
    an image, where no script of it runs. The lesson's markdown is the instructor's and renders as written; a
    markdown cell the student wrote or edited, and any comment, shows as text. Runs before `HideHiddenTests`.
    """

    def preprocess(self, nb, resources):
        self.hidden = set()
        for cell in nb.cells:
            if cell.cell_type == "code" and utils.is_grade(cell):
                self.hidden.update(self.hidden_lines(cell.source))
        self.quoted = sorted((line for line in self.hidden if len(line) >= 20), key=len, reverse=True)
        folder = Path(resources.get("metadata", {}).get("path") or ".").resolve()
        self.lessons = lesson_texts(folder, resources.get("nbgrader", {}))
        machine = {str(folder), str(folder.parents[2]) if len(folder.parents) > 2 else str(folder)}
        secrets = {value for value in os.environ.values() if len(value) >= 8} | machine
        self.secrets = sorted(secrets, key=len, reverse=True)
        return super().preprocess(nb, resources)

    def hidden_lines(self, source):
        """The lines of `source` between the hidden-test markers, stripped, the blank ones left out."""
        inside, lines = False, []
        for line in source.splitlines():
            if self.begin_test_delimeter in line:
                inside = True
            elif self.end_test_delimeter in line:
                inside = False
            elif inside and line.strip():
                lines.append(line.strip())
        return lines

    def scrub(self, text):
        text = "".join(text) if isinstance(text, list) else str(text)
        text = NOT_EXPORTED.sub("", text)
        lines = text.split("\n")
        for number, line in enumerate(lines):
            if line.strip() in self.hidden or any(quoted in line for quoted in self.quoted):
                lines[number] = "[hidden]"
        text = "\n".join(lines)
        for secret in self.secrets:
            text = text.replace(secret, "[hidden]")
        return text

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "markdown" and not utils.is_locked(cell) and cell.source not in self.lessons:
            cell.source = as_text(cell.source)
        nbgrader = cell.metadata.get("nbgrader", {})
        if nbgrader.get("comment"):
            nbgrader["comment"] = as_text(nbgrader["comment"])
        kept = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                output.text = self.scrub(output.text)
                if not output.text:
                    continue
            elif output.output_type == "error":
                output.ename, output.evalue = self.scrub(output.ename), self.scrub(output.evalue)
                output.traceback = [self.scrub(line) for line in output.traceback]
            elif "data" in output:
                shown = {key: value for key, value in output.data.items() if key in SAFE_DATA}
                if "image/svg+xml" in output.data:
                    shown = {"text/html": svg_image(output.data["image/svg+xml"])}
                dropped = sorted(set(output.data) - set(shown) - {"image/svg+xml"})
                if "text/plain" in shown:
                    shown["text/plain"] = self.scrub(shown["text/plain"])
                elif dropped and not shown:
                    shown["text/plain"] = f"[output of type {', '.join(dropped)} not shown in feedback]"
                output.data = shown
                output.metadata = {}
            kept.append(output)
        if "outputs" in cell:
            cell.outputs = kept
        return cell, resources


class FormgraderSafeOutputs(SafeOutputs):
    """SafeOutputs on formgrader's page of a submission, which shows the autograded notebook through nbconvert's
    HTML exporter: as written, a student's markdown and HTML outputs would run their scripts in the instructor's
    browser. Configured on every HTMLExporter, it acts only where formgrader's resources are (its submission id);
    nbgrader's own conversions, feedback among them, run SafeOutputs themselves."""

    def preprocess(self, nb, resources):
        if "submission_id" not in resources:
            return nb, resources
        root = Path(self.config.CourseDirectory.get("root", os.getcwd()))
        folder = root / "autograded" / resources["student"] / resources["assignment_id"]
        page = {"metadata": {"path": str(folder)},
                "nbgrader": {"assignment": resources["assignment_id"], "notebook": resources["notebook_id"]}}
        nb, _ = super().preprocess(nb, page)
        return nb, resources


def svg_image(svg):
    """An SVG picture as an <img> that carries it: a browser shows it but runs none of its scripts, nor loads
    anything it links to."""
    svg = "".join(svg) if isinstance(svg, list) else svg
    return f'<img alt="picture" src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}">'


def as_text(text):
    """Markdown that shows `text` as it was typed, as text: a fenced block longer than any run of backticks in it."""
    fence = "`" * max([3, *(len(run) + 1 for run in re.findall(r"`+", text))])
    return f"{fence}text\n{text}\n{fence}"


def lesson_texts(folder, nbgrader):
    """The markdown of the release notebook this page is of: the instructor's lesson, which renders as written.
    `folder` is the autograded notebook's, COURSE/autograded/STUDENT/CHAPTER."""
    if len(folder.parents) < 3 or not nbgrader.get("notebook"):
        return set()
    release = folder.parents[2] / "release" / nbgrader["assignment"] / f"{nbgrader['notebook']}.ipynb"
    if not release.is_file():
        return set()
    cells = json.loads(release.read_text(encoding="utf-8"))["cells"]
    return {"".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"}


# A page for every student ------------------------------------------------------------------------------------------

UNGRADABLE_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{notebook}: not graded</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}
.reason{{background:#fbeaea;border-left:4px solid #c0504d;padding:.5em 1em;white-space:pre-wrap}}</style></head>
<body><h1>{notebook} (Score: 0 / {max_score:g})</h1>
<p>Your hand-in of <b>{chapter}</b> could not be graded, so every test in it scored 0.</p>
<p class="reason">{reason}</p>
<h2>What to hand in instead</h2>
<ol><li>Open <code>{chapter}/{notebook}.ipynb</code> in JupyterLab, the notebook from the course's release that you
worked in: it must open there without an error.</li>
<li>Choose <i>Kernel &gt; Restart Kernel and Run All Cells</i> and check that every cell runs to the end.</li>
<li>Save it (<i>File &gt; Save Notebook</i>) and hand in that file, <code>{notebook}.ipynb</code>, as it is: not
renamed, not exported to another format, not edited outside JupyterLab.</li></ol>
</body></html>
"""


def unreadable(path):
    """Why the notebook file at `path` cannot be read as a notebook, in words a student understands; None if it can."""
    if not path.is_file() or path.is_symlink():
        return f"There was no {path.name} in what you handed in."
    try:
        with open(path, "rb") as file:
            notebook = json.loads(file.read(64 * 1024 * 1024).decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return f"{path.name} is not a notebook: it is not the JSON text a saved Jupyter notebook is made of (it may " \
               "be cut short, or another kind of file)."
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return f"{path.name} is JSON but not a Jupyter notebook: it has no list of cells."
    return None


def why_ungradable(submitted, notebook, others, logged=""):
    """Why the grader could not grade `notebook` of the submission in the folder `submitted`, handed in with
    `others`."""
    problem = unreadable(submitted / f"{notebook}.ipynb")
    if problem:
        return problem
    for other in others:
        if unreadable(submitted / f"{other}.ipynb"):
            return f"{notebook}.ipynb was not graded because {other}.ipynb, handed in with it, could not be read " \
                   f"(its page says why): a chapter is graded as a whole."
    if "DeadKernel" in logged:
        return "Python stopped while your notebook was being graded, before its tests could run (something in " \
               "it made the kernel crash or use more than it may)."
    return "Your notebook could not be run by the grader, so no test in it could run."


def ungradable_submissions(course, db_url, course_id="babygrad"):
    """[(chapter, student, {notebook: max score})] of submissions the gradebook holds that have no autograded
    notebook: nbgrader tried and failed to grade them (one not yet graded has no submission in the gradebook)."""
    from nbgrader.api import Gradebook
    course = Path(course)
    found = []
    with Gradebook(db_url, course_id) as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                student = submission.student.id
                if not any((course / "autograded" / student / assignment.name).glob("*.ipynb")) and \
                        (course / "submitted" / student / assignment.name).is_dir():
                    found.append((assignment.name, student,
                                  {notebook.name: notebook.max_score for notebook in submission.notebooks}))
    return sorted(found, key=lambda item: item[:2])


def write_ungradable_feedback(course, db_url, course_id="babygrad"):
    """A feedback page, in feedback/STUDENT/CHAPTER/ where `nbgrader release_feedback` finds it, for every
    submission nbgrader could not grade: why it scored 0 and what to hand in instead. Returns the pages."""
    course, pages = Path(course), []
    for chapter, student, notebooks in ungradable_submissions(course, db_url, course_id):
        submitted, folder = course / "submitted" / student / chapter, course / "feedback" / student / chapter
        results = course / "logs" / chapter / "results.json"
        logged = json.loads(results.read_text()).get(student, {}).get("problem", "") if results.is_file() else ""
        folder.mkdir(parents=True, exist_ok=True)
        for kept in ("timestamp.txt", "submission_secret.txt"):  # what release_feedback delivers the page by
            if (submitted / kept).is_file() and not (submitted / kept).is_symlink():
                (folder / kept).write_text((submitted / kept).read_text(encoding="utf-8"), encoding="utf-8")
        for notebook, max_score in sorted(notebooks.items()):
            reason = why_ungradable(submitted, notebook, sorted(set(notebooks) - {notebook}), logged)
            page = folder / f"{notebook}.html"
            page.write_text(UNGRADABLE_PAGE.format(notebook=html.escape(notebook), chapter=html.escape(chapter),
                                                   max_score=max_score, reason=html.escape(reason)),
                            encoding="utf-8")
            pages.append(page)
    return pages
