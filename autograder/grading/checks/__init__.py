"""What is verified of each chapter, one module per chapter: `checks/chNN_name.py` for the assignment `NN_name`.

A chapter module has CELLS = {grade_id: function(case)}. Each function writes, with the `Case` it is given, the
steps the probe runs on the student's library (`case.call`) and what must come out of them (`case.expect`): the
same value as the reference library gives for the same steps, run by the grader in its own process. Inputs are
drawn from `case.rng`, afresh for every submission, so no answer can be known in advance.

A chapter of several notebooks has one module too, with a function for every grade cell of every notebook (grade
ids are unique in a chapter): a notebook is verified with the functions of its own grade cells.

Nothing a hidden test asserts is left to the kernel alone (a cell scores the smaller of the kernel's score and the
verifier's, and student code can tamper with the kernel). So a chapter module also has HIDDEN = {grade_id: {label:
names}}: every assertion between the hidden-test markers of the cell, by the label `hidden_assertions` reads from it
(the text the assertion says it checks), and the descriptions (`what`, or how they begin) of the expectations that
check the same thing, with inputs of the same kinds: other types that must be refused, arrays and NumPy scalars,
extreme values, other dtypes, broadcast shapes, chains as long. tests/test_verified_coverage.py fails when an
assertion is unmapped, when a mapped one is no longer in the hidden tests, or when a named expectation is not among
those the cell's function writes.

To verify a new chapter: write `checks/chNN_name.py` with a function per grade cell, in the style of the others, and
its HIDDEN map.
"""
import ast
import importlib
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Expectation:
    step: str
    what: str
    hint: str = ""
    like: str = ""          # compare with the student's own value of this step instead of the reference's
    dtype: bool = False     # the arrays' dtypes must match too
    rtol: float = 1e-5
    atol: float = 1e-6
    message_contains: tuple = ()
    rule: object = None     # judge the student's value with rule(value, value of rule_also) instead: plain values
                            # (arrays, numbers, strings, lists), and a reason for the student, or None when it holds
    rule_also: str = ""


@dataclass
class Case:
    """The steps and expectations of one grade cell, built by the chapter's function for it."""
    rng: np.random.Generator
    steps: list = field(default_factory=list)
    inputs: dict = field(default_factory=dict)
    expectations: list = field(default_factory=list)

    def array(self, value, dtype=None):
        """An input array, sent to the probe (a fresh copy is made for each use)."""
        key = f"i{len(self.inputs)}"
        self.inputs[key] = np.array(value, dtype=dtype)
        return {"input": key}

    def call(self, call, *args, **kwargs):
        """A step: `call` (see probe.py) with these arguments. Returns a reference to its value."""
        name = f"s{len(self.steps)}"
        self.steps.append({"name": name, "call": call, "args": list(args), "kwargs": kwargs})
        return {"var": name}

    def tensor(self, value, dtype=None, **kwargs):
        return self.call("lib.Tensor", self.array(value, dtype), **kwargs)

    def expect(self, value, what, hint="", like=None, rule_also=None, **options):
        """The step `value` must give what the reference gives (or what the step `like` gives, in the probe)."""
        self.expectations.append(Expectation(value["var"], what, hint, like["var"] if like else "",
                                             rule_also=rule_also["var"] if rule_also else "", **options))
        return value

    def for_probe(self):
        """What the probe reads: the steps, and the names of those whose values it sends back."""
        looked_at = {name for e in self.expectations for name in (e.step, e.like, e.rule_also) if name}
        return {"steps": self.steps, "report": sorted(looked_at)}


def chapter_checks(chapter):
    """The CELLS of the chapter `NN_name`, or None when no module lists what to verify of it."""
    try:
        return importlib.import_module(f"{__name__}.ch{chapter}").CELLS
    except ModuleNotFoundError as error:
        if error.name != f"{__name__}.ch{chapter}":
            raise
        return None


# --- What the hidden tests assert ------------------------------------------------------------------------------

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# The chapters' assertions and where their first argument saying what is checked sits (None: only `what=`).
ASSERTIONS = {"check": 1, "check_equal": 2, "check_close": 2, "check_raises": 2, "check_order": 3,
              "check_backward": None, "backward_of": None}


def hidden_assertions(cell_source):
    """The labels of the assertions between the hidden-test markers of a grade cell, in order: the text each says
    it checks (an f-string as written), the whole call where it says nothing, the first line of a raised
    AssertionError's message. A label met again in the cell gets " (2)", " (3)", ..."""
    if HIDDEN_BEGIN not in cell_source:
        return []
    region = cell_source.split(HIDDEN_BEGIN, 1)[1].split(HIDDEN_END, 1)[0]
    labels, seen = [], {}
    nodes = [node for node in ast.walk(ast.parse(region)) if isinstance(node, (ast.Call, ast.Raise))]
    for node in sorted(nodes, key=lambda node: (node.lineno, node.col_offset)):
        label = assertion_label(node)
        if label is not None:
            seen[label] = seen.get(label, 0) + 1
            labels.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return labels


def assertion_label(node):
    if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and getattr(node.exc.func, "id", "") == \
            "AssertionError":
        return text_of(node.exc.args[0]).splitlines()[0]
    if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) in ASSERTIONS):
        return None
    what = next((keyword.value for keyword in node.keywords if keyword.arg == "what"), None)
    position = ASSERTIONS[node.func.id]
    if what is None and position is not None and len(node.args) > position:
        what = node.args[position]
    return text_of(what) if what is not None else ast.unparse(node)


def text_of(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ast.unparse(node)
