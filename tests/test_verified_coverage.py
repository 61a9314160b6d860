"""Nothing the hidden tests assert is left to the kernel alone: the verifier checks it too.

A grade cell scores the smaller of the kernel's score and the verifier's, so an assertion of the hidden tests that
the verifier does not check is decided by the student's kernel, which student code can tamper with. Each chapter's
checks module maps every assertion of its hidden tests to the expectations that check it (HIDDEN); these tests keep
that map complete and true, and show that wrong code the hidden tests catch, which an earlier, shorter list of
checks let through, now fails verification.
"""
import json

import nbformat
import numpy as np
import pytest

from autograder.classroom import answered
from autograder.course import REPO, chapter_notebooks
from autograder.grading import verify
from autograder.grading.checks import Case, chapter_checks, hidden_assertions
from autograder.mistakes import Mistake

NOTEBOOKS = [(path.parent.name, path.stem) for path in chapter_notebooks(REPO / "source")]


def graded_cells(chapter, notebook):
    """{grade_id: cell source} of the notebook's grade cells worth points."""
    cells = json.loads((REPO / "source" / chapter / f"{notebook}.ipynb").read_text(encoding="utf-8"))["cells"]
    return {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"]) for cell in cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade") and cell["metadata"]["nbgrader"].get("points")}


def hidden_map(chapter):
    return __import__(f"autograder.grading.checks.ch{chapter}", fromlist=["HIDDEN"]).HIDDEN


@pytest.mark.parametrize("chapter, notebook", NOTEBOOKS)
def test_every_assertion_of_the_hidden_tests_is_mapped_to_what_the_verifier_checks(chapter, notebook):
    mapped = hidden_map(chapter)
    for grade_id, source in graded_cells(chapter, notebook).items():
        asserted, covered = hidden_assertions(source), mapped.get(grade_id, {})
        unmapped = [label for label in asserted if label not in covered]
        assert not unmapped, f"{grade_id}: hidden assertions the verifier does not check: {unmapped}"
        stale = [label for label in covered if label not in asserted]
        assert not stale, f"{grade_id}: mapped assertions the hidden tests no longer make: {stale}"


@pytest.mark.parametrize("chapter, notebook", NOTEBOOKS)
def test_the_expectations_the_map_names_are_among_those_the_verifier_draws(chapter, notebook):
    """Whatever the inputs drawn: a named expectation is one whose description starts with the name."""
    checks, mapped = chapter_checks(chapter), hidden_map(chapter)
    for seed in range(3):
        for grade_id in graded_cells(chapter, notebook):
            case = Case(np.random.default_rng(seed))
            checks[grade_id](case)
            described = [expectation.what for expectation in case.expectations]
            for label, names in mapped.get(grade_id, {}).items():
                for name in (names,) if isinstance(names, str) else names:
                    assert any(what.startswith(name) for what in described), \
                        f"{grade_id}: {label!r} is mapped to {name!r}, which no expectation of the cell describes"
