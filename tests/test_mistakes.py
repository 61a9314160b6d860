"""The catalogue of classic mistakes: each one costs exactly its operation's points, and the visible tests say how to fix it.

One course folder is built per session; every mistake is one student's submission, autograded with real nbgrader.
The same mistakes also run against what students see (the release, with solutions filled in): the visible tests
must catch most of them, each with a hint.
"""
import json
import multiprocessing
import shutil
import time
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from autograder.classroom import answered, grade_id, read_notebook, solution_code
from autograder.course import RELEASE, SOURCE, chapter_notebooks, chapters, nbgrader, succeeded
from autograder.grading.autograde import autograde
from autograder.mistakes import CATALOGUE, DEMO

MINIMUM_VISIBLE_CATCH = 0.75


def student_of(index):
    return f"mistake{index:02d}"


def notebook_paths(course, mistake):
    """(release, source) of the notebook of the mistake's chapter that holds its cell: a chapter may have several."""
    for release_path in sorted((course / "release" / mistake.chapter).glob("*.ipynb")):
        if mistake.cell in {grade_id(cell) for cell in read_notebook(release_path)["cells"]}:
            return release_path, course / "source" / mistake.chapter / release_path.name
    raise LookupError(f"no notebook of {mistake.chapter} has the cell {mistake.cell}")


@pytest.fixture(scope="session")
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mistakes") / "course"
    shutil.copytree(SOURCE, folder / "source")
    api = nbgrader(folder)
    for chapter in chapters(folder / "source"):
        succeeded(api.generate_assignment(chapter), f"nbgrader generate_assignment {chapter}")
    return folder, api


def autograde_students(folder, students):
    """Autograde `students`' submissions (one chapter each) in the course `folder`: {student: problem}."""
    warnings.filterwarnings("ignore", category=SAWarning)
    api = nbgrader(folder)
    problems = {}
    for student, chapter in students:
        result = autograde(api, chapter, student)
        if result.problem:
            problems[student] = result.problem
    return problems


def grade_losses(api, mistakes):
    """{index: {grade cell that lost points: (score, max_score)}} from the gradebook."""
    losses = {}
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        for index, mistake in enumerate(mistakes):
            release_path, _ = notebook_paths(Path(api.coursedir.root), mistake)
            notebook = gradebook.find_submission_notebook(release_path.stem, mistake.chapter, student_of(index))
            losses[index] = {grade.cell.name: (grade.score, grade.max_score) for grade in notebook.grades
                             if (grade.score or 0) < grade.max_score}
    return losses


@pytest.fixture(scope="session")
def runs(course):
    """Every mistake autograded with nbgrader (two processes share the submissions) while, meanwhile, this process
    runs them against the visible tests: (losses, problems, visible failures)."""
    folder, api = course
    started = time.perf_counter()
    students = []
    for index, mistake in enumerate(CATALOGUE):
        release_path, source_path = notebook_paths(folder, mistake)
        target = folder / "submitted" / student_of(index) / mistake.chapter / release_path.name
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(answered(release_path, source_path, [mistake]), indent=1) + "\n")
        students.append((student_of(index), mistake.chapter))
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        shares = [pool.submit(autograde_students, folder, students[half::2]) for half in (0, 1)]
        visible = visible_runs(folder, CATALOGUE)
        seen = time.perf_counter() - started
        problems = {student: problem for share in shares for student, problem in share.result().items()}
    print(f"\n{len(CATALOGUE)} mistakes: visible tests in {seen:.0f} s, autograded in "
          f"{time.perf_counter() - started:.0f} s")
    losses = grade_losses(api, CATALOGUE)
    problems = {index: problems[student_of(index)] for index in range(len(CATALOGUE)) if student_of(index) in problems}
    return losses, problems, visible


@pytest.fixture(scope="session")
def hidden_losses(runs):
    return runs[0], runs[1]


@pytest.fixture(scope="session")
def visible_failures(runs):
    return runs[2]


def as_node(notebook):
    return nbformat.reads(json.dumps(notebook), as_version=4)


def failed_cells(nb):
    """{grade cell id: error text} for the grade cells whose run raised."""
    failures = {}
    for cell in nb.cells:
        errors = [output for output in cell.get("outputs", []) if output.get("output_type") == "error"]
        if errors and cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            failures[grade_id(cell)] = f"{errors[0]['ename']}: {errors[0]['evalue']}"
    return failures


def visible_runs(folder, mistakes):
    """{index in `mistakes`, or "chapter/notebook" for the reference: {grade cell whose visible tests failed: message}}.

    One kernel per notebook: every cell is run again for each mistake, so each definition and test starts over,
    and the kernel (and its imports), most of the time a run takes, is reused."""
    failures = {}
    notebooks = {}
    for index, mistake in enumerate(mistakes):
        notebooks.setdefault(notebook_paths(folder, mistake), []).append(index)
    for (release_path, source_path), indices in sorted(notebooks.items()):
        runs = [(reference_key(release_path), answered(release_path, source_path))] + [
            (index, answered(release_path, source_path, [mistakes[index]])) for index in indices]
        client = NotebookClient(as_node(runs[0][1]), timeout=60, allow_errors=True,
                                resources={"metadata": {"path": str(release_path.parent)}})
        with client.setup_kernel():
            for key, notebook in runs:
                client.nb = nb = as_node(notebook)
                for number, cell in enumerate(nb.cells):
                    if cell.cell_type == "code":
                        client.execute_cell(cell, number)
                failures[key] = failed_cells(nb)
    return failures


def reference_key(release_path):
    return f"{release_path.parent.name}/{release_path.name}"


def test_the_catalogue_has_forty_mistakes_mostly_in_chapters_2_to_4():
    per_chapter = Counter(mistake.chapter for mistake in CATALOGUE)
    assert len(CATALOGUE) >= 40 and per_chapter["01_tensor"] < len(CATALOGUE) / 4
    assert len(set(CATALOGUE)) == len(CATALOGUE)


def test_the_demo_student_makes_a_catalogued_mistake_in_every_chapter():
    assert set(DEMO) <= set(CATALOGUE)
    assert {mistake.chapter for mistake in DEMO} == set(chapters(SOURCE))


@pytest.mark.parametrize("mistake", CATALOGUE, ids=lambda mistake: mistake.name)
def test_every_mistake_changes_the_solution_cell_it_names(mistake):
    """A find text that no longer matches (the solution was edited) would make a mistake that is no mistake."""
    _, source_path = notebook_paths(SOURCE.parent, mistake)
    cells = {grade_id(cell): cell for cell in read_notebook(source_path)["cells"]}
    code = solution_code(cells[mistake.cell])
    assert cells[mistake.cell]["metadata"]["nbgrader"]["solution"]
    assert mistake.find in code, f"update the find text of {mistake.name!r}"
    assert code.replace(mistake.find, mistake.replace) != code
    graded = {grade_id(cell) for cell in cells.values() if cell["metadata"].get("nbgrader", {}).get("grade")}
    assert mistake.costs and set(mistake.costs) <= graded


def test_the_reference_passes_every_visible_test(visible_failures):
    notebooks = {reference_key(path) for path in chapter_notebooks(RELEASE)}
    assert {notebook: visible_failures[notebook] for notebook in notebooks} == {notebook: {} for notebook in notebooks}


@pytest.mark.parametrize("index", range(len(CATALOGUE)), ids=lambda index: CATALOGUE[index].name)
def test_a_mistake_costs_the_points_of_its_own_operation_and_no_others(hidden_losses, index):
    losses, problems = hidden_losses
    assert index not in problems, problems.get(index)
    assert sorted(losses[index]) == sorted(CATALOGUE[index].costs), losses[index]


def test_the_visible_tests_catch_most_mistakes_and_say_how_to_fix_them(visible_failures):
    caught = {index: failures for index, failures in visible_failures.items()
              if isinstance(index, int) and failures}
    fraction = len(caught) / len(CATALOGUE)
    missed = [CATALOGUE[index].name for index in range(len(CATALOGUE)) if index not in caught]
    print(f"\nvisible tests catch {len(caught)} of {len(CATALOGUE)} mistakes ({fraction:.0%}); missed:\n  "
          + "\n  ".join(missed))
    # A mistake in a helper (unbroadcast, build_topo) also breaks, in the student's notebook, the visible tests of
    # what is built on it; the hint that matters is in the mistake's own tests, which come first.
    unhinted = {CATALOGUE[index].name: message for index, failures in caught.items()
                for cell, message in failures.items() if cell in CATALOGUE[index].costs and "hint:" not in message}
    assert unhinted == {}
    elsewhere_only = [CATALOGUE[index].name for index, failures in caught.items()
                      if not set(failures) & set(CATALOGUE[index].costs)]
    assert elsewhere_only == []
    assert fraction >= MINIMUM_VISIBLE_CATCH
