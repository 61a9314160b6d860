"""The instructor's page of a class's results: `babygrad-course report`.

Everything on it is read from nbgrader's gradebook, plus the times and faults `babygrad-course grade` writes in
logs/CHAPTER/results.json. The pictures say where the class stands and what it struggled with; the numbers under
them are the gradebook's. nbgrader's `export` stays the canonical grades CSV.
"""
import base64
import html
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

TAMPERING = "Suspected tampering"


@dataclass
class Chapter:
    name: str
    max_score: float
    scores: dict = field(default_factory=dict)  # {student: score}
    cells: list = field(default_factory=list)  # grade cell names, in notebook order
    lost: dict = field(default_factory=dict)  # {(student, cell): points lost}
    flags: list = field(default_factory=list)  # [(student, cell, comment)] of suspected tampering
    results: dict = field(default_factory=dict)  # {student: {"seconds", "problem", ...}} from the grader's run

    def failure_rate(self, cell):
        """The share of the class that lost points on `cell`."""
        return sum(self.lost.get((student, cell), 0) > 0 for student in self.scores) / max(len(self.scores), 1)


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
            for notebook in assignment.notebooks:
                chapter.cells += sorted((cell.name for cell in notebook.grade_cells),
                                        key=lambda name: (order.get(name, len(order)), name))
            for submission in assignment.submissions:
                student = submission.student.id
                chapter.scores[student] = submission.score
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        chapter.lost[student, grade.cell.name] = grade.max_score - (grade.score or 0)
                    for comment in notebook.comments:
                        text = comment.comment or comment.auto_comment or ""
                        if text.startswith(TAMPERING):
                            chapter.flags.append((student, comment.cell.name, text))
            results = Path(course) / "logs" / assignment.name / "results.json"
            chapter.results = json.loads(results.read_text()) if results.exists() else {}
            if chapter.scores:
                chapters.append(chapter)
    return chapters


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


def score_distribution(chapter):
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(figsize=(5, 2.6))
    axes.hist(list(chapter.scores.values()), bins=10, range=(0, chapter.max_score), color="#4878a8", edgecolor="white")
    axes.set(xlabel="score", ylabel="students", title=f"{chapter.name}: scores")
    return picture(figure)


def lost_points(chapter):
    import matplotlib.pyplot as plt
    students = sorted(chapter.scores)
    grid = [[chapter.lost.get((student, cell), 0) for cell in chapter.cells] for student in students]
    figure, axes = plt.subplots(figsize=(max(5, 0.28 * len(chapter.cells) + 2), max(2, 0.3 * len(students) + 1)))
    image = axes.imshow(grid, aspect="auto", cmap="Reds", vmin=0)
    axes.set_xticks(range(len(chapter.cells)), chapter.cells, rotation=90, fontsize=7)
    axes.set_yticks(range(len(students)), students, fontsize=7)
    axes.set_title(f"{chapter.name}: points lost per test")
    figure.colorbar(image, ax=axes, label="points lost")
    return picture(figure)


def failure_rates(chapter):
    import matplotlib.pyplot as plt
    rates = sorted(((cell, chapter.failure_rate(cell)) for cell in chapter.cells), key=lambda item: -item[1])
    figure, axes = plt.subplots(figsize=(5, max(2, 0.22 * len(rates) + 1)))
    axes.barh([cell for cell, _ in rates][::-1], [rate * 100 for _, rate in rates][::-1], color="#c0504d")
    axes.set(xlabel="% of students who lost points", xlim=(0, 100), title=f"{chapter.name}: what the class struggled with")
    axes.tick_params(axis="y", labelsize=7)
    return picture(figure)


def grading_times(chapter):
    import matplotlib.pyplot as plt
    timed = sorted((result["seconds"], student) for student, result in chapter.results.items() if "seconds" in result)
    if not timed:
        return "<p>No grading times: this chapter was not graded by <code>babygrad-course grade</code>.</p>"
    figure, axes = plt.subplots(figsize=(5, 2.6))
    axes.hist([seconds for seconds, _ in timed], bins=10, color="#9bbb59", edgecolor="white")
    axes.set(xlabel="seconds to grade a submission", ylabel="submissions", title=f"{chapter.name}: grading time")
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
        if result.get("problem"):
            flags.append(f"not graded: {result['problem']}")
        rows.append(f'<tr data-student="{html.escape(student)}" data-score="{chapter.scores[student]:g}">'
                    f"<td>{html.escape(student)}</td><td>{chapter.scores[student]:g} / {chapter.max_score:g}</td>"
                    f"<td>{result.get('seconds', ''):}</td>"
                    f"<td class='flags'>{html.escape('; '.join(flags))}</td>"
                    f"<td>{feedback_links(course, chapter, student, out)}</td></tr>")
    return ("<table><tr><th>student</th><th>score</th><th>seconds</th><th>flags</th><th>feedback</th></tr>"
            + "".join(rows) + "</table>")


def cell_table(chapter):
    rows = "".join(f'<tr data-cell="{html.escape(cell)}" data-failed="{sum(chapter.lost.get((s, cell), 0) > 0 for s in chapter.scores)}">'
                   f"<td>{html.escape(cell)}</td><td>{chapter.failure_rate(cell):.0%}</td></tr>"
                   for cell in sorted(chapter.cells, key=lambda cell: -chapter.failure_rate(cell)))
    return f"<details><summary>failure rate of every test</summary><table>{rows}</table></details>"


STYLE = """body{font-family:sans-serif;margin:2em;max-width:1100px}h2{border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:2px 8px;font-size:90%}
.pictures{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}.flags{color:#b00}"""


def render(course, chapters, out):
    sections = []
    for chapter in chapters:
        flagged = len({student for student, _, _ in chapter.flags})
        faults = sum(bool(result.get("problem")) for result in chapter.results.values())
        sections.append(
            f'<section data-chapter="{chapter.name}"><h2>{chapter.name}</h2>'
            f"<p>{len(chapter.scores)} submissions, mean score {sum(chapter.scores.values()) / len(chapter.scores):.1f}"
            f" / {chapter.max_score:g}; {flagged} flagged for suspected tampering; {faults} could not be graded.</p>"
            f'<div class="pictures">{score_distribution(chapter)}{failure_rates(chapter)}{grading_times(chapter)}'
            f"{lost_points(chapter)}</div>{cell_table(chapter)}{student_table(course, chapter, out)}</section>")
    body = "".join(sections) or "<p>The gradebook holds no graded submission yet: run babygrad-course grade.</p>"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>babygrad: class report</title>"
            f"<style>{STYLE}</style></head><body><h1>Class report</h1>"
            f"<p>Course folder {html.escape(str(course))}. The canonical grades are <code>nbgrader export</code>'s CSV."
            f"</p>{body}</body></html>\n")


def write_report(course, out=None, db_url=None):
    import matplotlib
    matplotlib.use("Agg")
    out = Path(out or Path(course) / "report.html").resolve()
    out.write_text(render(course, read_class(course, db_url), out), encoding="utf-8")
    return out
