"""The lessons as text: maths that renders and section numbers that belong to their chapter."""
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(REPO.glob("source/*/*.ipynb")) + sorted(REPO.glob("release/*/*.ipynb"))
LESSONS = CHAPTERS + sorted(REPO.glob("notebooks/*.ipynb"))

CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
MATHS = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)
# `\\` is a line break inside a matrix; `\\` directly before a command or a spacing mark is a doubled escape,
# which MathJax shows as a line break followed by the command's name ("partial" where ∂ belongs).
DOUBLED_ESCAPE = re.compile(r"\\\\(?=[A-Za-z,;:!])")
NUMBERED_HEADING = re.compile(r"^#+\s+(\d+)(?:\.\d+)*\.?\s", re.M)
CHAPTER_TITLE = re.compile(r"^#\s+Chapter\s+(\d+)\b", re.M)


def markdown_cells(path):
    return [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown"]


def maths_spans(markdown):
    """Every `$...$` and `$$...$$` span of a markdown cell, outside code."""
    prose = CODE.sub("", markdown)
    return [display or inline for display, inline in MATHS.findall(prose)]


def chapter_number(path):
    return int(path.parent.name.split("_", 1)[0])


def test_maths_spans_are_found_outside_code():
    assert maths_spans("$a$ and `$not$` and $$\\frac{1}{2}$$") == ["a", "\\frac{1}{2}"]


def test_a_doubled_backslash_before_a_command_is_caught_and_a_matrix_row_break_is_not():
    assert DOUBLED_ESCAPE.search("\\\\partial c")
    assert DOUBLED_ESCAPE.search("b\\\\,a")
    assert not DOUBLED_ESCAPE.search("a & b \\\\ c & d")


@pytest.mark.parametrize("path", LESSONS, ids=lambda path: path.relative_to(REPO).as_posix())
def test_every_formula_has_single_backslashes_before_its_commands(path):
    doubled = [span for cell in markdown_cells(path) for span in maths_spans(cell) if DOUBLED_ESCAPE.search(span)]
    assert doubled == [], f"formulas with a doubled backslash (write \\partial, not \\\\partial): {doubled}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.relative_to(REPO).as_posix())
def test_every_numbered_heading_starts_with_its_chapters_number(path):
    chapter = chapter_number(path)
    text = "\n".join(markdown_cells(path))
    titles = [int(number) for number in CHAPTER_TITLE.findall(text)]
    assert titles == [chapter], f"the title should be '# Chapter {chapter} · ...', found chapters {titles}"
    wrong = [line for line in text.splitlines()
             if NUMBERED_HEADING.match(line) and int(NUMBERED_HEADING.match(line).group(1)) != chapter]
    assert wrong == [], f"headings numbered for another chapter than {chapter}: {wrong}"


def operation_classes():
    import babygrad
    from babygrad.ops import Function
    return [cls for cls in vars(babygrad.ops).values()
            if isinstance(cls, type) and issubclass(cls, Function) and cls.__module__ == "babygrad.ops"
            and cls not in (Function,) and "forward" in vars(cls)]


@pytest.mark.parametrize("cls", operation_classes(), ids=lambda cls: cls.__name__)
def test_every_operation_and_its_backward_rule_carry_their_maths_in_one_line(cls):
    backward = vars(cls).get("backward")
    docs = {"class": vars(cls).get("__doc__"), "backward": backward and backward.__doc__}
    missing = [where for where, doc in docs.items() if not doc or "\n" in doc.strip()]
    assert missing == [], f"{cls.__name__}: no one-line docstring on its {' and '.join(missing)}"
    assert "∂" in docs["backward"] or "gradient" in docs["backward"], docs["backward"]


def visible_test_code(cell):
    """A test cell's code as students see it: without its hidden tests."""
    return re.sub(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", "", cell.source, flags=re.S)


GRADED = sorted(REPO.glob("source/*/*.ipynb"))


@pytest.mark.parametrize("path", GRADED, ids=lambda path: path.relative_to(REPO).as_posix())
def test_every_rule_a_lesson_states_has_a_visible_check(path):
    """The notebook's metadata lists the rules its lessons state (`lesson_rules`): each is said, in those words, in
    the lesson, and checked by the visible part of the test cell named, which every graded test cell has some of."""
    nb = nbformat.read(path, as_version=4)
    prose = "\n".join(markdown_cells(path))
    tests = {cell.metadata["nbgrader"]["grade_id"]: visible_test_code(cell) for cell in nb.cells
             if cell.metadata.get("nbgrader", {}).get("grade") and cell.metadata["nbgrader"].get("points")}
    rules = nb.metadata.get("lesson_rules", [])
    unsaid = [rule["states"] for rule in rules if rule["states"] not in prose]
    unchecked = [f"{rule['test']}: {rule['states']}" for rule in rules
                 if rule["checked_by"] not in tests.get(rule["test"], "")]
    without_rules = sorted(set(tests) - {rule["test"] for rule in rules})
    assert unsaid == [], f"rules the lesson no longer states in these words: {unsaid}"
    assert unchecked == [], f"rules without a visible check: {unchecked}"
    assert without_rules == [], f"graded tests whose rules are not listed: {without_rules}"
