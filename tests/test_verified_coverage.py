"""Nothing the hidden tests assert is left to the kernel alone: the verifier checks it too.

A grade cell scores the smaller of the kernel's score and the verifier's, so an assertion of the hidden tests that
the verifier does not check is decided by the student's kernel, which student code can tamper with. Each chapter's
checks module maps every assertion of its hidden tests to the expectations that check it (HIDDEN); these tests keep
that map complete and true, show that wrong code the hidden tests catch, which a shorter list of checks let through,
now fails verification, and that the verifier alone gives every catalogued mistake the losses the tests give it.
"""
import importlib
import json
import re

import nbformat
import numpy as np
import pytest

from autograder.classroom import answered
from autograder.course import REPO, chapter_notebooks
from autograder.grading import verify
from autograder.grading.checks import Case, chapter_checks, hidden_assertions
from autograder.mistakes import CATALOGUE, HELD_OUT, Mistake
from tests.test_mistakes import batches

NOTEBOOKS = [(path.parent.name, path.stem) for path in chapter_notebooks(REPO / "source")]


def graded_cells(chapter, notebook):
    """{grade_id: cell source} of the notebook's grade cells worth points."""
    cells = json.loads((REPO / "source" / chapter / f"{notebook}.ipynb").read_text(encoding="utf-8"))["cells"]
    return {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"]) for cell in cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade") and cell["metadata"]["nbgrader"].get("points")}


def hidden_map(chapter):
    return importlib.import_module(f"autograder.grading.checks.ch{chapter}").HIDDEN


def test_the_assertions_of_a_hidden_test_are_read_by_what_they_say_they_check():
    cell = """check(visible, "seen by students")
### BEGIN HIDDEN TESTS
for bad in (None, "abc"):
    error = check_raises(TypeError, lambda: f(bad), f"f({bad!r})")
    check("x" in str(error), "the message", "x", str(error))
check_close(f(2), 4, "f(2)")
check_backward(Negate(), np.ones(3))
check_backward(Exp(), np.ones(3), what="Exp.backward")
try:
    g()
except RecursionError:
    raise AssertionError("g: RecursionError\\n  hint: a stack") from None
check(True, "the message", True, True)
### END HIDDEN TESTS
passed("test_f")
"""
    assert hidden_assertions(cell) == ["f'f({bad!r})'", "the message", "f(2)", "check_backward(Negate(), np.ones(3))",
                                       "Exp.backward", "g: RecursionError", "the message (2)"]


@pytest.mark.parametrize("chapter, notebook", NOTEBOOKS)
def test_every_assertion_of_the_hidden_tests_is_mapped_to_what_the_verifier_checks(chapter, notebook):
    mapped = hidden_map(chapter)
    in_chapter = set().union(*(graded_cells(chapter, other) for each, other in NOTEBOOKS if each == chapter))
    assert set(mapped) <= in_chapter, f"mapped cells the chapter does not grade: {sorted(set(mapped) - in_chapter)}"
    for grade_id, source in graded_cells(chapter, notebook).items():
        asserted, covered = hidden_assertions(source), mapped.get(grade_id, {})
        unmapped = [label for label in asserted if label not in covered]
        assert not unmapped, f"{grade_id}: hidden assertions the verifier does not check: {unmapped}"
        stale = [label for label in covered if label not in asserted]
        assert not stale, f"{grade_id}: mapped assertions the hidden tests no longer make: {stale}"


def describes(name, what):
    """Whether the description `what` starts with `name`, a `*` in it standing for any text (a number drawn)."""
    return re.match(".*?".join(re.escape(part) for part in name.split("*")), what) is not None


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
                    assert any(describes(name, what) for what in described), \
                        f"{grade_id}: {label!r} is mapped to {name!r}, which no expectation of the cell describes"


RECURSIVE_BUILD_TOPO = """def build_topo(root):
    import sys
    sys.setrecursionlimit(60_000)  # enough for any graph of the tests, surely
    order, visited = [], set()

    def visit(node):
        if id(node) not in visited:
            visited.add(id(node))
            for parent in node._inputs:
                if parent.requires_grad:
                    visit(parent)
            order.append(node)
    visit(root)
    return order


def iterative_build_topo(root):"""

# Wrong code that the hidden tests fail and that passed every check the verifier made before it checked what they
# assert: with one tampering cell beside it, the kernel's full marks would have stood.
PASSED_A_SHORTER_CHECK_LIST = [
    Mistake("01_tensor", "leaving", "return float(self.data.reshape(()))",
            "return float(self.data.reshape(())) if self.data.ndim != 1 else self.data.reshape(())",
            "item() of a 1-d tensor returns a 0-d array", ("test_leaving",)),
    Mistake("02_operations", "function", "data = np.asarray(data)", "data = np.asarray(data)[()]",
            "a full reduction's .data is a NumPy scalar, not an array", ("test_function",)),
    Mistake("02_operations", "tensor_operators", "return AddScalar(other)(Negate()(self))",
            "return Tensor(other - self.data)", "number - tensor records no operation", ("test_tensor_operators",)),
    Mistake("03_gradients", "sigmoid", "return mul(out_grad, mul(node, add_scalar(negate(node), 1.0)))",
            "s = Tensor(1 / (1 + np.exp(-node._inputs[0].data)), requires_grad=False)\n"
            "    return mul(out_grad, mul(s, add_scalar(negate(s), 1.0)))",
            "Sigmoid.backward recomputes exp of the input, which overflows", ("test_sigmoid",)),
    Mistake("03_gradients", "relu", "np.sign(node.data)", "(node.data > 1e-12).astype(node.dtype)",
            "Relu.backward treats tiny positive numbers as 0", ("test_relu",)),
    Mistake("03_gradients", "summation", "return broadcast_to(reshape(out_grad, kept), shape)",
            "return mul(broadcast_to(reshape(out_grad, kept), shape), Tensor(np.ones(shape), requires_grad=False))",
            "Summation.backward multiplies by float64 ones", ("test_summation",)),
    Mistake("04_backprop", "build_topo", "def build_topo(root):", RECURSIVE_BUILD_TOPO,
            "a recursive build_topo with a raised recursion limit", ("test_build_topo",)),
    Mistake("04_backprop", "build_topo", "    return order", "    return tuple(order)", "build_topo returns a tuple",
            ("test_build_topo",)),
    Mistake("05_training", "module", "return [parameter for _, parameter in self.named_parameters()]",
            "return [parameter for _, parameter in self.named_parameters()] or ()",
            "a module without parameters gives an empty tuple", ("test_module",)),
]


def release_holding(mistake):
    """The release notebook of the mistake's chapter that holds its cell (chapter 5 has three)."""
    for path in sorted((REPO / "release" / mistake.chapter).glob("*.ipynb")):
        if mistake.cell in {cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                            for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]}:
            return path
    raise LookupError(f"no notebook of {mistake.chapter} has the cell {mistake.cell}")


@pytest.mark.parametrize("mistake", PASSED_A_SHORTER_CHECK_LIST, ids=lambda mistake: mistake.description)
def test_wrong_code_the_hidden_tests_catch_fails_verification_of_its_cell_alone(mistake):
    release = release_holding(mistake)
    submitted = nbformat.from_dict(answered(release, REPO / "source" / mistake.chapter / release.name, [mistake]))
    verdicts = verify.verify(submitted, mistake.chapter, REPO, release.stem)
    assert sorted(grade_id for grade_id, verdict in verdicts.items() if not verdict.passed) == list(mistake.costs)


CATALOGUED = CATALOGUE + HELD_OUT


@pytest.mark.parametrize("group", batches(CATALOGUED), ids=lambda group: CATALOGUED[group[0]].name)
def test_every_catalogued_mistake_fails_verification_of_exactly_the_cells_its_tests_cost(group):
    """The verifier alone gives each mistake the losses the kernel's tests give it: none decided by the kernel only,
    none the tests do not make. Mistakes in different cells that cost different cells share a submission."""
    mistakes = [CATALOGUED[index] for index in group]
    release = release_holding(mistakes[0])
    submitted = nbformat.from_dict(answered(release, REPO / "source" / mistakes[0].chapter / release.name, mistakes))
    verdicts = verify.verify(submitted, mistakes[0].chapter, REPO, release.stem)
    costs = sorted({cell for mistake in mistakes for cell in mistake.costs if cell in verdicts})
    assert sorted(grade_id for grade_id, verdict in verdicts.items() if not verdict.passed) == costs
