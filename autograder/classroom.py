"""A sample class of submissions, each showing one thing a grader meets in real life."""
import json
from pathlib import Path

from autograder.mistakes import DEMO
from coursework.export import SOLUTION_MARKERS

SNEAKY_CHECKS = '''"""A fake coursework.checks shipped with a submission: every check passes."""
def check(*args, **kwargs): pass
def check_close(*args, **kwargs): pass
def check_equal(*args, **kwargs): pass
def check_raises(*args, **kwargs): pass
def passed(*args, **kwargs): pass
'''


def read_notebook(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def cell_source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def solution_code(cell):
    """An instructor's solution cell as a student would have typed it: without nbgrader's markers."""
    lines = cell_source(cell).split("\n")
    return "\n".join(line for line in lines if line.strip() not in SOLUTION_MARKERS)


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def answered(release_path, source_path, mistakes=()):
    """The student notebook with every solution cell filled in from the instructor's, then `mistakes` made."""
    notebook = read_notebook(release_path)
    solutions = {grade_id(cell): solution_code(cell) for cell in read_notebook(source_path)["cells"]}
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            code = solutions[grade_id(cell)]
            for mistake in mistakes:
                if mistake.cell == grade_id(cell):
                    if mistake.find not in code:
                        raise ValueError(f"mistake {mistake.description!r}: {mistake.find!r} is not in {mistake.cell}")
                    code = code.replace(mistake.find, mistake.replace)
            cell["source"] = code
    return notebook


def crashing(notebook):
    """The notebook with a first solution cell that kills its kernel, as a segfaulting extension would."""
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell["source"] = "import os\nos._exit(1)\n" + cell_source(cell)
            return notebook
    raise ValueError("the notebook has no solution cell")


STUDENTS = {
    "perfect": "every answer right",
    "buggy": "a few classic mistakes",
    "stubs": "the release, untouched",
    "crash": "kills its kernel",
    "invalid_json": "a notebook file that is not JSON",
    "sneaky": "stubs, edited tests and a fake coursework/checks.py",
}


def submission(release_path, source_path, student):
    """What `student` hands in for one notebook: {file name: text}."""
    if student == "invalid_json":
        return {release_path.name: '{"cells": ['}
    notebook = {
        "perfect": lambda: answered(release_path, source_path),
        "buggy": lambda: answered(release_path, source_path, [m for m in DEMO
                                                              if m.chapter == release_path.parent.name]),
        "stubs": lambda: read_notebook(release_path),
        "crash": lambda: crashing(answered(release_path, source_path)),
        "sneaky": lambda: with_tests_passing(read_notebook(release_path)),
    }[student]()
    files = {release_path.name: json.dumps(notebook, indent=1) + "\n"}
    if student == "sneaky":
        files.update({"coursework/__init__.py": "", "coursework/checks.py": SNEAKY_CHECKS})
    return files


def make_class(course, chapters):
    """Write every sample student's submission of every chapter into `course`/submitted."""
    for chapter in chapters:
        for release_path in sorted((course / "release" / chapter).glob("*.ipynb")):
            source_path = course / "source" / chapter / release_path.name
            for student in STUDENTS:
                for name, text in submission(release_path, source_path, student).items():
                    path = course / "submitted" / student / chapter / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text, encoding="utf-8")
    return STUDENTS


def with_tests_passing(notebook):
    """Every grade cell's code replaced by `pass`: nbgrader must put the instructor's tests back."""
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade") and cell["cell_type"] == "code":
            cell["source"] = "pass"
    return notebook


def make_mixed_class(course, chapter, count):
    """`count` submissions of `chapter` in `course`/submitted, by turns perfect, with one classic mistake, untouched.

    The students are s001, s002, ...; each buggy one makes the next mistake of the chapter's catalogue."""
    from autograder.mistakes import CATALOGUE
    mistakes = [mistake for mistake in CATALOGUE if mistake.chapter == chapter]
    students = []
    for number in range(count):
        student = f"s{number + 1:03}"
        for release_path in sorted((course / "release" / chapter).glob("*.ipynb")):
            source_path = course / "source" / chapter / release_path.name
            notebook = [lambda: answered(release_path, source_path),
                        lambda: answered(release_path, source_path, [mistakes[number // 3 % len(mistakes)]]),
                        lambda: read_notebook(release_path)][number % 3]()
            path = course / "submitted" / student / chapter / release_path.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
        students.append(student)
    return students
