"""The instructor's page of a class's results: `babygrad-course report`.

Everything on it is read from nbgrader's gradebook, plus the times and faults `babygrad-course grade` writes in
logs/CHAPTER/results.json and the notes the grader left at the top of autograded notebooks. The pictures say where
the class stands and what it struggled with; the numbers under them are the gradebook's. What the class struggled
with counts only the submissions that were graded and answered: one handed in blank, or that could not be graded,
says nothing about a test and is counted apart. nbgrader's `export` stays the canonical grades CSV.
"""
import base64
import html
import io
import json
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

TAMPERING = "Suspected tampering"
NO_RESPONSE = "No response."  # nbgrader's comment on a solution cell handed in as released


@dataclass
class Chapter:
    name: str
    max_score: float
    scores: dict = field(default_factory=dict)  # {student: score}
    cells: list = field(default_factory=list)  # grade cell names, in notebook order
    lost: dict = field(default_factory=dict)  # {(student, cell): points lost}
    flags: list = field(default_factory=list)  # [(student, cell, comment)] of suspected tampering
    results: dict = field(default_factory=dict)  # {student: {"seconds", "problem", ...}} from the grader's run
    blank: set = field(default_factory=set)  # students whose every answer was handed in as released
    ungraded: set = field(default_factory=set)  # students whose submission nbgrader could not grade
    restored: dict = field(default_factory=dict)  # {student: [what the grader put back of the instructor's cells]}

    @property
    def answered(self):
        """The students whose submission was graded and answers something: those a test's failure rate is of."""
        return sorted(set(self.scores) - self.blank - self.ungraded)

    def failures(self, cell):
        return sum(self.lost.get((student, cell), 0) > 0 for student in self.answered)

    def failure_rate(self, cell):
        """The share of the answered submissions that lost points on `cell`."""
        return self.failures(cell) / max(len(self.answered), 1)


def read_class(course, db_url=None):
    """Every chapter's scores, lost points and flags, as the gradebook holds them."""
    from nbgrader.api import Gradebook

    from autograder.course import nbgrader_for_course

    api = nbgrader_for_course(course, db_url=db_url)
    chapters = []
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        for assignment in sorted(gradebook.assignments, key=lambda assignment: assignment.name):
            chapter = Chapter(assignment.name, assignment.max_score)
            order = notebook_order(Path(course) / "source" / assignment.name)
            for notebook in assignment.notebooks:  # a test worth no points is not one a student can fail
                chapter.cells += sorted((cell.name for cell in notebook.grade_cells if cell.max_score),
                                        key=lambda name: (order.get(name, len(order)), name))
            for submission in assignment.submissions:
                student = submission.student.id
                chapter.scores[student] = submission.score
                grades = [grade for notebook in submission.notebooks for grade in notebook.grades]
                comments = [comment for notebook in submission.notebooks for comment in notebook.comments]
                for grade in grades:
                    chapter.lost[student, grade.cell.name] = grade.max_score - (grade.score or 0)
                if grades and all(grade.auto_score is None and grade.manual_score is None for grade in grades):
                    chapter.ungraded.add(student)
                elif comments and all(comment.auto_comment == NO_RESPONSE for comment in comments):
                    chapter.blank.add(student)
                for comment in comments:
                    text = comment.comment or comment.auto_comment or ""
                    if text.startswith(TAMPERING):
                        chapter.flags.append((student, comment.cell.name, text))
                chapter.restored[student] = restored_cells(Path(course) / "autograded" / student / assignment.name)
            results = Path(course) / "logs" / assignment.name / "results.json"
            chapter.results = json.loads(results.read_text()) if results.exists() else {}
            if chapter.scores:
                chapters.append(chapter)
    return chapters


def restored_cells(folder):
    """What the grader put back of the instructor's cells in the autograded notebooks in `folder`, as its note at
    the top of each says (autograder/grading/cells.py)."""
    from autograder.grading.cells import NOTE
    restored = []
    for path in sorted(folder.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        note = "".join(cells[0]["source"]) if cells and cells[0].get("id") == "grader-note" else ""
        if note.startswith(NOTE):
            restored += [line[2:] for line in note[len(NOTE):].splitlines() if line.startswith("- ")]
    return restored


def notebook_order(folder):
    """{grade_id: position} of the cells in the chapter's instructor notebooks: the order the course teaches."""
    ids = [cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
           for path in sorted(folder.glob("*.ipynb")) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]]
    return {grade_id: position for position, grade_id in enumerate(ids) if grade_id}


def picture(figure):
    """A matplotlib figure as an <img> that carries its own PNG."""
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def counted(axis):
    """Ticks at whole numbers only, on an axis that counts students or submissions."""
    from matplotlib.ticker import MaxNLocator
    axis.set_major_locator(MaxNLocator(integer=True))


def score_distribution(chapter):
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(figsize=(5, 2.6))
    axes.hist(list(chapter.scores.values()), bins=10, range=(0, chapter.max_score), color="#4878a8", edgecolor="white")
    axes.set(xlabel="score", ylabel="students", title=f"{chapter.name}: scores")
    counted(axes.yaxis)
    return picture(figure)


def lost_points(chapter):
    import matplotlib.pyplot as plt
    students = sorted(chapter.scores)
    grid = [[chapter.lost.get((student, cell), 0) for cell in chapter.cells] for student in students]
    figure, axes = plt.subplots(figsize=(max(5, 0.28 * len(chapter.cells) + 2), max(2, 0.3 * len(students) + 1)))
    image = axes.imshow(grid, aspect="auto", cmap="Reds", vmin=0)
    # Names as plain text: a student id such as "$x^$" is a name, not a formula for matplotlib to typeset.
    axes.set_xticks(range(len(chapter.cells)), chapter.cells, rotation=90, fontsize=7, parse_math=False)
    axes.set_yticks(range(len(students)), students, fontsize=7, parse_math=False)
    axes.set_title(f"{chapter.name}: points lost per test")
    figure.colorbar(image, ax=axes, label="points lost")
    return picture(figure)


def failure_rates(chapter):
    import matplotlib.pyplot as plt
    rates = sorted(((cell, chapter.failure_rate(cell)) for cell in chapter.cells), key=lambda item: -item[1])
    figure, axes = plt.subplots(figsize=(5, max(2, 0.22 * len(rates) + 1)))
    axes.barh(range(len(rates)), [rate * 100 for _, rate in rates][::-1], color="#c0504d")
    axes.set_yticks(range(len(rates)), [cell for cell, _ in rates][::-1], fontsize=7, parse_math=False)
    axes.set(xlabel=f"% of the {len(chapter.answered)} answered submissions that lost points", xlim=(0, 100),
             title=f"{chapter.name}: what the class struggled with")
    return picture(figure)


def grading_times(chapter):
    import matplotlib.pyplot as plt
    timed = sorted((result["seconds"], student) for student, result in chapter.results.items() if "seconds" in result)
    if not timed:
        return "<p>No grading times: this chapter was not graded by <code>babygrad-course grade</code>.</p>"
    figure, axes = plt.subplots(figsize=(5, 2.6))
    axes.hist([seconds for seconds, _ in timed], bins=10, color="#9bbb59", edgecolor="white")
    axes.set(xlabel="seconds to grade a submission", ylabel="submissions", title=f"{chapter.name}: grading time")
    counted(axes.yaxis)
    return picture(figure)


def feedback_links(course, chapter, student, out):
    pages = sorted((Path(course) / "feedback" / student / chapter.name).glob("*.html"))
    return " ".join(f'<a href="{html.escape(Path(relative(page, out.parent)).as_posix())}">{html.escape(page.stem)}</a>'
                    for page in pages) or "none yet (nbgrader generate_feedback)"


def relative(path, start):
    import os
    return os.path.relpath(path, start)


def student_table(course, chapter, out):
    rows = []
    for student in sorted(chapter.scores):
        result = chapter.results.get(student, {})
        flags = [f"{cell}: {comment}" for name, cell, comment in chapter.flags if name == student]
        flags += [f"cells put back: {what}" for what in chapter.restored.get(student, [])]
        if student in chapter.blank:
            flags.append("blank: every answer as released")
        if result.get("problem"):
            flags.append(f"not graded: {result['problem']}")
        elif student in chapter.ungraded:
            flags.append("not graded: see its log")
        rows.append(f'<tr data-student="{html.escape(student)}" data-score="{chapter.scores[student]:g}">'
                    f"<td>{html.escape(student)}</td><td>{chapter.scores[student]:g} / {chapter.max_score:g}</td>"
                    f"<td>{result.get('seconds', ''):}</td>"
                    f"<td class='flags'>{html.escape('; '.join(flags))}</td>"
                    f"<td>{feedback_links(course, chapter, student, out)}</td></tr>")
    return ("<table><tr><th>student</th><th>score</th><th>seconds</th><th>flags</th><th>feedback</th></tr>"
            + "".join(rows) + "</table>")


def cell_table(chapter):
    rows = "".join(f'<tr data-cell="{html.escape(cell)}" data-failed="{chapter.failures(cell)}">'
                   f"<td>{html.escape(cell)}</td><td>{chapter.failures(cell)} of {len(chapter.answered)}</td>"
                   f"<td>{chapter.failure_rate(cell):.0%}</td></tr>"
                   for cell in sorted(chapter.cells, key=lambda cell: -chapter.failure_rate(cell)))
    return (f"<details><summary>failure rate of every test, over the answered submissions</summary><table>"
            f"<tr><th>test</th><th>lost points</th><th>share</th></tr>{rows}</table></details>")


STYLE = """body{font-family:sans-serif;margin:2em;max-width:1100px}h2{border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:2px 8px;font-size:90%}
.pictures{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}.flags{color:#b00}"""


def render(course, chapters, out):
    sections = []
    for chapter in chapters:
        flagged = len({student for student, _, _ in chapter.flags})
        restored = sum(bool(what) for what in chapter.restored.values())
        sections.append(
            f'<section data-chapter="{html.escape(chapter.name)}" data-answered="{len(chapter.answered)}" '
            f'data-blank="{len(chapter.blank)}" data-ungraded="{len(chapter.ungraded)}"><h2>{html.escape(chapter.name)}</h2>'
            f"<p>{len(chapter.scores)} submissions, mean score {sum(chapter.scores.values()) / len(chapter.scores):.1f}"
            f" / {chapter.max_score:g}: {len(chapter.answered)} answered, {len(chapter.blank)} handed in blank, "
            f"{len(chapter.ungraded)} could not be graded; {flagged} flagged for suspected tampering; {restored} "
            f"graded with cells put back.</p>"
            f'<div class="pictures">{score_distribution(chapter)}{failure_rates(chapter)}{grading_times(chapter)}'
            f"{lost_points(chapter)}</div>{cell_table(chapter)}{student_table(course, chapter, out)}</section>")
    body = "".join(sections)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>babygrad: class report</title>"
            f"<style>{STYLE}</style></head><body><h1>Class report</h1>"
            f"<p>Course folder {html.escape(str(course))}. The canonical grades are <code>nbgrader export</code>'s CSV."
            f"</p>{body}</body></html>\n")


def write_report(course, out=None, db_url=None):
    """Write the report; a gradebook with nothing graded in it is an error that says where it looked."""
    import matplotlib
    matplotlib.use("Agg")
    out = Path(out or Path(course) / "report.html").resolve()
    chapters = read_class(course, db_url)
    if not chapters:
        raise ValueError(nothing_graded(course, db_url))
    out.write_text(render(course, chapters, out), encoding="utf-8")
    return out


def nothing_graded(course, db_url):
    from autograder.course import nbgrader_for_course, shown_url
    where = shown_url(nbgrader_for_course(course, db_url=db_url).coursedir.db_url)
    return elsewhere(course, where) or \
        f"the gradebook at {where} holds no graded submission yet: run babygrad-course grade CHAPTER first"


def elsewhere(course, where):
    """Why a gradebook with nothing graded in it is not the one `babygrad-course grade` wrote to, or None."""
    graded = sorted(path.parent.name for path in Path(course).glob("logs/*/results.json"))
    if graded:
        return (f"the gradebook at {where} holds no graded submission, yet babygrad-course grade graded "
                f"{', '.join(graded)} in {Path(course).resolve()}: the grades are in another gradebook (give its URL "
                f"with --db, or make it the course's with `babygrad-course init --db`)")
    return None


@cache  # once per command: nbgrader reads its configuration more than once
def warn_if_elsewhere(course, db_url):
    """For nbgrader's own commands run in a course folder: say so on stderr when the gradebook they read holds
    nothing graded while `babygrad-course grade` graded submissions here, rather than write an empty result."""
    from nbgrader.api import Gradebook

    from autograder.course import shown_url
    with Gradebook(db_url) as gradebook:
        empty = not any(assignment.submissions for assignment in gradebook.assignments)
    if empty and elsewhere(course, shown_url(db_url)):
        print(f"Warning: {elsewhere(course, shown_url(db_url))}", file=sys.stderr)
