"""The catalogue of classic mistakes: each one costs exactly its operation's points, and the visible tests say how to fix it.

One course folder is built per session. Mistakes are autograded with real nbgrader as submissions, several to a
submission when they sit in different cells and cost different cells: a submission must lose exactly the cells its
mistakes cost. The same mistakes also run, one at a time, against what students see (the release, with solutions
filled in): the visible tests must flag most of them, each with a hint. The held-out mistakes, never used to shape
the tests, must do as well.
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
from autograder.mistakes import CATALOGUE, DEMO, HELD_OUT

MINIMUM_VISIBLE_CATCH = 0.8
ALL = CATALOGUE + HELD_OUT


def student_of(index):
    return f"mistakes{index:02d}"


# Cells that others are built on: a mistake there changes what the other cells' code does, so it could hide or
# cause another mistake's losses. Mistakes in them, and in chapters whose every cell builds on the one before, are
# graded alone.
FOUNDATIONS = {"function", "unbroadcast", "tensor_operators", "tensor_methods", "module"}
GRADED_ALONE = {"01_tensor", "04_backprop"}


def notebook_of(mistake):
    """The source notebook holding the mistake's cell: a submission is one notebook, so a batch stays within one."""
    return notebook_paths(SOURCE.parent, mistake)[1].name


def batches(mistakes):
    """[[index in `mistakes`, ...], ...]: mistakes of one chapter that can share a submission, because no two
    change the same cell or cost the same cell, and none is in a cell the others build on."""
    groups = []
    for index, mistake in enumerate(mistakes):
        alone = mistake.chapter in GRADED_ALONE or mistake.cell in FOUNDATIONS
        group = None if alone else next((group for group in groups if mistakes[group[0]].chapter == mistake.chapter
                                         and notebook_of(mistakes[group[0]]) == notebook_of(mistake)
                                         and mistakes[group[0]].cell not in FOUNDATIONS and all(
            mistakes[other].cell != mistake.cell and not set(mistakes[other].costs) & set(mistake.costs)
            for other in group)), None)
        if group is None:
            groups.append([index])
        else:
            group.append(index)
    return groups


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


def grade_losses(api, firsts):
    """{submission number: {grade cell that lost points: (score, max_score)}} from the gradebook; `firsts` holds each
    submission's first mistake, which names its chapter and notebook."""
    losses = {}
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        for number, mistake in enumerate(firsts):
            release_path, _ = notebook_paths(Path(api.coursedir.root), mistake)
            notebook = gradebook.find_submission_notebook(release_path.stem, mistake.chapter, student_of(number))
            losses[number] = {grade.cell.name: (grade.score, grade.max_score) for grade in notebook.grades
                              if (grade.score or 0) < grade.max_score}
    return losses


@pytest.fixture(scope="session")
def runs(course):
    """Every mistake autograded with nbgrader in batches (two processes share the submissions) while, meanwhile,
    this process runs them one by one against the visible tests: (batches, losses, problems, visible failures)."""
    folder, api = course
    started = time.perf_counter()
    groups = batches(ALL)
    students = []
    for number, group in enumerate(groups):
        chapter = ALL[group[0]].chapter
        release_path, source_path = notebook_paths(folder, ALL[group[0]])
        target = folder / "submitted" / student_of(number) / chapter / release_path.name
        target.parent.mkdir(parents=True)
        notebook = answered(release_path, source_path, [ALL[index] for index in group])
        target.write_text(json.dumps(notebook, indent=1) + "\n")
        students.append((student_of(number), chapter))
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        shares = [pool.submit(autograde_students, folder, students[half::2]) for half in (0, 1)]
        visible = visible_runs(folder, ALL)
        seen = time.perf_counter() - started
        problems = {student: problem for share in shares for student, problem in share.result().items()}
    print(f"\n{len(ALL)} mistakes: visible tests in {seen:.0f} s, autograded in {len(groups)} submissions in "
          f"{time.perf_counter() - started:.0f} s")
    losses = grade_losses(api, [ALL[group[0]] for group in groups])
    problems = {number: problems[student_of(number)] for number in range(len(groups)) if student_of(number) in problems}
    return groups, losses, problems, visible


@pytest.fixture(scope="session")
def hidden_losses(runs):
    return runs[0], runs[1], runs[2]


@pytest.fixture(scope="session")
def visible_failures(runs):
    return runs[3]


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
                last_test = max(number for number, cell in enumerate(nb.cells)
                                if cell.get("metadata", {}).get("nbgrader", {}).get("grade"))
                for number, cell in enumerate(nb.cells[:last_test + 1]):  # what comes after tests nothing
                    if cell.cell_type == "code":
                        client.execute_cell(cell, number)
                failures[key] = failed_cells(nb)
    return failures


def reference_key(release_path):
    return f"{release_path.parent.name}/{release_path.name}"


def test_the_catalogue_has_eighty_mistakes_mostly_in_chapters_2_to_4_and_a_distinct_held_out_set():
    per_chapter = Counter(mistake.chapter for mistake in CATALOGUE)
    assert len(CATALOGUE) >= 80 and per_chapter["01_tensor"] < len(CATALOGUE) / 4
    assert len(set(ALL)) == len(ALL) and len(HELD_OUT) >= 12


def test_batched_mistakes_change_different_cells_and_cost_different_cells():
    for group in batches(ALL):
        mistakes = [ALL[index] for index in group]
        assert len(mistakes) == 1 or not {mistake.cell for mistake in mistakes} & FOUNDATIONS
        assert len(mistakes) == 1 or mistakes[0].chapter not in GRADED_ALONE
        assert len({mistake.chapter for mistake in mistakes}) == 1
        assert len({notebook_of(mistake) for mistake in mistakes}) == 1
        assert len({mistake.cell for mistake in mistakes}) == len(mistakes)
        costs = [cost for mistake in mistakes for cost in mistake.costs]
        assert len(set(costs)) == len(costs)


def test_the_demo_student_makes_a_catalogued_mistake_in_every_chapter():
    assert set(DEMO) <= set(CATALOGUE)
    assert {mistake.chapter for mistake in DEMO} == set(chapters(SOURCE))


@pytest.mark.parametrize("mistake", ALL, ids=lambda mistake: mistake.name)
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


@pytest.mark.parametrize("index", range(len(ALL)), ids=lambda index: ALL[index].name)
def test_a_mistake_costs_the_points_of_its_own_operation_and_no_others(hidden_losses, index):
    """Its submission loses exactly the cells its mistakes cost: each of them its own, and nothing more."""
    groups, losses, problems = hidden_losses
    number = next(number for number, group in enumerate(groups) if index in group)
    assert number not in problems, problems.get(number)
    assert set(ALL[index].costs) <= set(losses[number]), losses[number]
    assert sorted(losses[number]) == sorted(cost for other in groups[number] for cost in ALL[other].costs)


@pytest.mark.parametrize("which", ["catalogue", "held out"])
def test_the_visible_tests_catch_most_mistakes_and_say_how_to_fix_them(visible_failures, which):
    mistakes = range(len(CATALOGUE)) if which == "catalogue" else range(len(CATALOGUE), len(ALL))
    caught = {index: visible_failures[index] for index in mistakes if visible_failures[index]}
    fraction = len(caught) / len(mistakes)
    missed = [ALL[index].name for index in mistakes if index not in caught]
    print(f"\n{which}: visible tests catch {len(caught)} of {len(mistakes)} mistakes ({fraction:.0%}); missed:\n  "
          + "\n  ".join(missed))
    # A mistake in a helper (unbroadcast, build_topo) also breaks, in the student's notebook, the visible tests of
    # what is built on it; the hint that matters is in the mistake's own tests, which come first.
    unhinted = {ALL[index].name: message for index, failures in caught.items()
                for cell, message in failures.items() if cell in ALL[index].costs and "hint:" not in message}
    print(f"caught without a hint: {sorted(unhinted)}")
    fraction = (len(caught) - len(unhinted)) / len(mistakes)
    elsewhere_only = [ALL[index].name for index, failures in caught.items()
                      if not set(failures) & set(ALL[index].costs)]
    assert elsewhere_only == []
    assert fraction >= MINIMUM_VISIBLE_CATCH
    per_chapter = {}
    for index in mistakes:
        own = {cell: message for cell, message in visible_failures[index].items() if cell in ALL[index].costs}
        hinted = any("hint:" in message for message in own.values())
        per_chapter.setdefault(ALL[index].chapter, []).append(hinted)
    print("\n".join(f"{chapter}: {sum(hinted)} of {len(hinted)} fail a visible test of their own cell with a hint "
                    f"({sum(hinted) / len(hinted):.0%})" for chapter, hinted in sorted(per_chapter.items())))
    if which == "catalogue":
        short = {chapter: sum(hinted) / len(hinted) for chapter, hinted in per_chapter.items()
                 if sum(hinted) / len(hinted) < MINIMUM_VISIBLE_CATCH}
        assert short == {}, f"chapters whose visible tests catch fewer than {MINIMUM_VISIBLE_CATCH:.0%}: {short}"
