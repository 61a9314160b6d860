"""Grading kernels treat student code as hostile: no answers to import, no private files, no network."""
import json
import shutil
import textwrap

import pytest

from autograder.course import RELEASE, SOURCE, nbgrader, succeeded
from autograder.grading.autograde import autograde
from autograder.grading.sandbox import bubblewrap_available

CHAPTER = "02_operations"

SPY = textwrap.dedent('''
    import inspect, os, socket
    import babygrad.ops
    try:
        babygrad.ops.Sub().forward(1.0, 2.0)
        print("SPY reference: usable")
    except NotImplementedError:
        print("SPY reference: a stub")
    for secret in ["{course}/source/{chapter}/operations.ipynb", "{course}/gradebook.db", "{repo}/babygrad/ops.py"]:
        print("SPY file:", os.path.exists(secret))
    try:
        socket.create_connection(("127.0.0.1", 22), timeout=1)
        print("SPY network: open")
    except OSError:
        print("SPY network: closed")
''')


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("sandbox")
    shutil.copytree(SOURCE, course / "source")
    shutil.copytree(RELEASE, course / "release")
    api = nbgrader(course)
    succeeded(api.generate_assignment(CHAPTER), "generate_assignment")
    return course, api


def submit(course, student, first_cell):
    notebook = json.loads((course / "release" / CHAPTER / "operations.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = first_cell
            break
    target = course / "submitted" / student / CHAPTER / "operations.ipynb"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(notebook))


def outputs(course, student):
    graded = json.loads((course / "autograded" / student / CHAPTER / "operations.ipynb").read_text())
    return "".join("".join(output.get("text", "")) for cell in graded["cells"] for output in cell.get("outputs", []))


def test_the_graded_chapters_answers_are_not_importable_while_grading(course):
    course, api = course
    submit(course, "spy", SPY.format(course=course, chapter=CHAPTER, repo=SOURCE.parent))
    assert autograde(api, CHAPTER, "spy").problem == ""
    assert "SPY reference: a stub" in outputs(course, "spy")


@pytest.mark.skipif(not bubblewrap_available(), reason="bubblewrap (bwrap) is not installed")
def test_student_code_sees_no_private_file_and_no_network(course):
    course, api = course
    submit(course, "spy2", SPY.format(course=course, chapter=CHAPTER, repo=SOURCE.parent))
    autograde(api, CHAPTER, "spy2")
    printed = outputs(course, "spy2")
    assert printed.count("SPY file: False") == 3
    assert "SPY network: closed" in printed


def test_a_cell_that_never_ends_is_interrupted_and_the_rest_still_runs(course):
    course, _ = course
    api = nbgrader(course)
    api.config.Execute.timeout = 3
    submit(course, "looper", "while True:\n    pass")
    result = autograde(api, CHAPTER, "looper")
    assert result.problem == ""
    graded = json.loads((course / "autograded" / "looper" / CHAPTER / "operations.ipynb").read_text())
    errors = [output["ename"] for cell in graded["cells"] for output in cell.get("outputs", [])
              if output["output_type"] == "error"]
    assert errors[0] in ("CellTimeoutError", "KeyboardInterrupt") and len(errors) > 1
