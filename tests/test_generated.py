"""One source of truth: babygrad/ and release/ are exactly what source/ generates, and release/ gives nothing away."""
import json
import re

import pytest

from autograder import build
from autograder.course import RELEASE, REPO, SOURCE, chapter_notebooks


@pytest.fixture(scope="module")
def generated():
    return build.generated_files()


def test_babygrad_and_release_match_what_source_generates(generated):
    stale = [str(path.relative_to(REPO)) for path in build.differences(generated)]
    assert stale == [], f"out of date (run `babygrad-course build`): {stale}"


def test_a_hand_edit_of_a_generated_file_is_reported(generated, tmp_path):
    module, text = next((path, text) for path, text in generated.items() if path.suffix == ".py")
    edited = tmp_path / module.name
    edited.write_text(text + "x = 1  # edited by hand\n")
    assert edited in build.differences({edited: text})
    assert module not in build.differences(generated)


def test_every_chapter_has_a_release_notebook_and_a_reference_module(generated):
    assert {p.relative_to(SOURCE) for p in chapter_notebooks(SOURCE)} == \
           {p.relative_to(RELEASE) for p in chapter_notebooks(RELEASE)}
    assert len([path for path in generated if path.suffix == ".py"]) == len(chapter_notebooks(SOURCE))


def cells(path):
    return [("".join(cell["source"]), cell) for cell in json.loads(path.read_text())["cells"]]


def hidden_test_lines(source):
    regions = re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", source, flags=re.S)
    return [line.strip() for region in regions for line in region.splitlines() if len(line.strip()) > 12]


def solution_lines(source):
    regions = re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", source, flags=re.S)
    return [line.strip() for region in regions for line in region.splitlines() if len(line.strip()) > 12]


def secret_lines(notebook):
    """Lines of solutions and hidden tests, less those the instructor also wrote in cells students see."""
    given = "\n".join(strip_regions(text) for text, _ in cells(notebook))
    return [line for text, _ in cells(notebook) for line in hidden_test_lines(text) + solution_lines(text)
            if line not in given]


def strip_regions(text):
    return re.sub(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n.*?### END (SOLUTION|HIDDEN TESTS)", "", text, flags=re.S)


@pytest.mark.parametrize("notebook", chapter_notebooks(SOURCE), ids=lambda path: path.parent.name)
def test_release_holds_no_solution_and_no_hidden_test(notebook):
    released = (RELEASE / notebook.relative_to(SOURCE)).read_text()
    assert "BEGIN SOLUTION" not in released and "HIDDEN TESTS" not in released
    for line in secret_lines(notebook):
        assert json.dumps(line)[1:-1] not in released, f"release/ gives away: {line}"
