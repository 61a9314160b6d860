'''Submissions that try to buy points with code instead of answers: each is the untouched release (or wrong
answers) plus one trick that fools tests running in the same kernel. Their honest score is 0.

Each attack is (chapter, {solution cell grade_id: code}, optional edits of the notebook's cells); it is handed in
as the chapter's notebook that holds those cells.
'''
import json

# An object that says yes to everything: equal to anything, true, every attribute and call is itself.
LIAR = '''
class Liar:
    def __init__(self, *args, **kwargs): pass
    def __getattr__(self, name): return self
    def __call__(self, *args, **kwargs): return self
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    def __hash__(self): return 0
    def __str__(self): return "Tensor"
    def __repr__(self): return "Tensor"


def as_array(data, dtype=None):
    return Liar()
'''

LIARS = {"as_array": LIAR, "tensor_init": "class Tensor(Liar):\n    pass\n",
         "properties": "pass\n", "repr": "pass\n", "leaving": "pass\n"}

PATCHED_CHECKS = '''
import coursework.checks as checks
checks.check = checks.check_close = checks.check_raises = checks.check_equal = lambda *args, **kwargs: None
'''

SHADOWED_HELPERS = '''
import sys, types
fake = types.ModuleType("coursework.checks")
fake.check = fake.check_close = fake.check_raises = fake.check_equal = fake.passed = lambda *args, **kwargs: None
sys.modules["coursework.checks"] = fake
'''

# Wrong answers, and every comparison says they are right.
WRONG_SUB = '''
class Sub(Function):
    __slots__ = ()

    def forward(self, a, b):
        return a + b


def sub(a, b):
    return Sub()(a, b)
'''

PATCHED_ALLCLOSE = WRONG_SUB + '''
np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
'''

INPUT_TRANSFORMER = '''
get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
'''

AST_TRANSFORMER = '''
import ast


class Nothing(ast.NodeTransformer):
    def visit_Module(self, node):
        node.body = [ast.Pass()]
        return node


get_ipython().ast_transformers.append(Nothing())
'''

# A trace function that makes the condition of every check true before the check looks at it.
TRACE = WRONG_SUB + '''
import ctypes, sys


def agree(frame, event, arg):
    if event == "call" and frame.f_code.co_name == "check" and "condition" in frame.f_locals:
        frame.f_locals["condition"] = True
        ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))
    return None


sys.settrace(agree)
'''

# Errors that never reach the grader: no traceback sent, and every cell reported as a success.
SWALLOWED = '''
import sys


class Quiet(Exception):
    def __str__(self):
        return ""


sys.excepthook = lambda *args: None
shell = get_ipython()
shell.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: [])
shell._showtraceback = lambda *args, **kwargs: None
ran = shell.run_cell_async


async def run_cell_async(*args, **kwargs):
    result = await ran(*args, **kwargs)
    result.error_in_exec = None
    return result


shell.run_cell_async = run_cell_async
'''

# Chapter 5: a step that does nothing, and a layer of zeros that returns its input, behind fooled check helpers.
IDLE_SGD = PATCHED_CHECKS + '''

class SGD(Optimizer):
    def __init__(self, params, lr, momentum=0.0):
        super().__init__(params)

    def step(self):
        pass
'''

IDLE_LINEAR = SHADOWED_HELPERS + '''

class Linear(Module):
    def __init__(self, in_features, out_features, bias=True, dtype=np.float32, rng=None):
        self.weight = Parameter(np.zeros((out_features, in_features)), dtype=dtype)
        self.bias = Parameter(np.zeros(out_features), dtype=dtype) if bias else None

    def forward(self, x):
        return x
'''


def skip_tests(notebook):
    """Every grade cell tagged so that it is not executed at all."""
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade") and cell["cell_type"] == "code":
            cell["metadata"].setdefault("tags", []).append("skip-execution")
    return notebook


T, O, N = "01_tensor", "02_operations", "05_training"

ATTACKS = {
    "patched_checks": (T, dict(LIARS, as_array=LIAR + PATCHED_CHECKS), None),
    "shadowed_helpers": (T, dict(LIARS, as_array=LIAR + SHADOWED_HELPERS), None),
    "lying_equality": (T, LIARS, None),
    "patched_allclose": (O, {"sub": PATCHED_ALLCLOSE}, None),
    "input_transformer": (T, {"as_array": INPUT_TRANSFORMER}, None),
    "ast_transformer": (O, {"function": AST_TRANSFORMER}, None),
    "trace_function": (O, {"sub": TRACE}, None),
    "swallowed_exceptions": (T, {"as_array": SWALLOWED}, None),
    "skipped_tests": (O, {}, skip_tests),
    "idle_optimizer": (N, {"sgd": IDLE_SGD}, None),
    "idle_layer": (N, {"linear": IDLE_LINEAR}, None),
}


def attacked_release(chapter_folder, code):
    """The chapter's release notebook that holds the solution cells the attack rewrites (a chapter may have several)."""
    for path in sorted(chapter_folder.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        if set(code) <= {cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") for cell in cells}:
            return path
    raise LookupError(f"no notebook of {chapter_folder.name} has the cells {sorted(code)}")


def attack_notebook(release_path, code, edit=None):
    """The release notebook with these solution cells' code replaced (each keeps its `#| export` line)."""
    notebook = json.loads(release_path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if nbgrader.get("solution") and nbgrader.get("grade_id") in code:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = source.partition("\n")[0] + "\n" + code[nbgrader["grade_id"]]
    return edit(notebook) if edit else notebook
