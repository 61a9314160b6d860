"""What is verified of each chapter, one module per chapter: `checks/chNN_name.py` for the assignment `NN_name`.

A chapter module has CELLS = {grade_id: function(case)}. Each function writes, with the `Case` it is given, the
steps the probe runs on the student's library (`case.call`) and what must come out of them (`case.expect`): the
same value as the reference library gives for the same steps, run by the grader in its own process. Inputs are
drawn from `case.rng`, afresh for every submission, so no answer can be known in advance.

A chapter of several notebooks has one module too, with a function for every grade cell of every notebook (grade
ids are unique in a chapter): a notebook is verified with the functions of its own grade cells.

To verify a new chapter: write `checks/chNN_name.py` with a function per grade cell, in the style of the others.
"""
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
