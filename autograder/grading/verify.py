"""Verified scores: every grade cell checked again, outside the kernel the student's code ran in.

The code the student wrote (the notebook's `#| export` cells, as the exporter writes them) is loaded in a fresh
sandboxed process, the probe (probe.py), in the library the grading kernel has: the reference for the chapters
before, the release for the graded chapter's other notebooks (their tests never use each other's code, so a mistake
in one notebook costs nothing in another, and none of the chapter's answers sits where the student's code could
read it). The grader sends it the chapter's cases one at a time, with inputs drawn afresh (checks/), runs the same
steps on the reference library in its own process, and compares.

The probe's folder is the student's as much as the grader's, so what is found there is untrusted input: only
regular files are read, without following a link or waiting on a FIFO, of bounded size, as plain data (JSON of
bounded nesting, arrays whose headers are checked before anything is allocated, no pickles), all under one deadline
for the notebook. A reply that is late, too large or malformed fails its cell; anything else that goes wrong fails
every cell. A message says what failed in the grader's words, never quoting what the student's code wrote (it could
carry whatever that code read in the probe). Nothing here imports the student's code.
"""
import builtins
import gc
import io
import json
import logging
import math
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

import babygrad
from autograder.grading import probe
from autograder.grading.checks import Case, chapter_checks
from autograder.grading.sandbox import MiB, bounded_folder, confine, sandbox_user, share_with_sandbox, write_library
from coursework.export import EXPORT, cell_directive, exported_code, module_source

CELL_SECONDS = 30            # a grade cell's case must be answered within this time
NOTEBOOK_SECONDS = 120       # and all of a notebook's cases within this time
MAX_REPLY_BYTES = 32 << 20   # the most a reply (JSON and arrays together) may take
MAX_NESTING = 16             # the deepest a reply's JSON nests (the probe's own replies stay under 10)
PROBE_FOLDER_BYTES = 128 * MiB  # the probe's folder: its inputs and replies, a few as large as any may be
# The probe's whole environment: nothing of the grader's (no paths, no secrets), one thread for NumPy.
PROBE_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1",
                     "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


@dataclass
class Verdict:
    passed: bool
    message: str = ""


def student_module(nb):
    """The module text the student's notebook exports: its `#| export` cells, in order."""
    sources = [cell.source if isinstance(cell.source, str) else "".join(cell.source)
               for cell in nb.cells if cell.cell_type == "code"]
    exported = [exported_code(source) for source in sources if cell_directive(source) == EXPORT]
    return "# Exported from the submitted notebook.\n" + "\n\n\n".join(exported) + "\n"


def draw_cases(checks, seed):
    """{grade_id: Case}, every input drawn from a generator seeded with `seed`."""
    rng = np.random.default_rng(seed)
    cases = {}
    for grade_id, build in checks.items():
        case = Case(rng)
        build(case)
        cases[grade_id] = case
    return cases


# --- Reading the probe's replies as untrusted data ---------------------------------------------------------

class BadReply(Exception):
    """The probe's answer is not what a plain reply looks like."""


def read_untrusted(path, limit):
    """The bytes of `path` if it is a regular file of at most `limit` bytes: a link is not followed, a FIFO or a
    device never waited on."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise BadReply("an answer with a part missing") from None
    except OSError:
        raise BadReply("an answer that is not a plain file") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise BadReply("an answer that is not a plain file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(descriptor, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise BadReply("an answer larger than any correct one")
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def nesting(value):
    """How deep lists and dicts nest in a parsed JSON value (counted without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return deepest


def plain_array(raw):
    """The array an .npy file holds: its header is checked (numbers only, as many bytes as its shape says) before
    anything is allocated."""
    stream = io.BytesIO(raw)
    version = np.lib.format.read_magic(stream)
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in readers:
        raise BadReply("an answer that is not plain data")
    shape, fortran, dtype = readers[version](stream)
    if dtype.hasobject or dtype.kind not in "biuf" or not all(type(size) is int and size >= 0 for size in shape):
        raise BadReply("an answer that is not plain data")
    body = raw[stream.tell():]
    count = math.prod(shape)
    if count * dtype.itemsize != len(body):
        raise BadReply("an array whose size is not what its header says")
    return np.frombuffer(body, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")


def plain_arrays(raw, limit):
    """{name: array} of an .npz file, every member bounded before it is read."""
    arrays, left = {}, limit
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy") or info.file_size > left:
                raise BadReply("an answer larger than any correct one")
            with archive.open(info) as member:
                data = member.read(left + 1)
            left -= len(data)
            if left < 0:
                raise BadReply("an answer larger than any correct one")
            arrays[info.filename[:-len(".npy")]] = plain_array(data)
    return arrays


def read_reply(base):
    """(description, arrays) of reply-N, refusing links, special files, pickles, sizes past the limit, nesting
    deeper than any reply and anything but numbers."""
    description = read_untrusted(f"{base}.json", MAX_REPLY_BYTES)
    stored = read_untrusted(f"{base}.npz", MAX_REPLY_BYTES - len(description))
    try:
        reply = json.loads(description)
        if nesting(reply) > MAX_NESTING:
            raise BadReply("an answer nested deeper than any correct one")
        arrays = plain_arrays(stored, MAX_REPLY_BYTES - len(description))
    except BadReply:
        raise
    except Exception as error:  # RecursionError, MemoryError, a broken archive: whatever it is, not an answer
        raise BadReply(f"an answer that could not be read ({type(error).__name__})") from None
    if not isinstance(reply, dict):
        raise BadReply("an answer that is not plain data")
    return reply, arrays


def send(process, case):
    """Hand the probe one case, never waiting on it: a probe that does not read its input gets no case."""
    line = json.dumps(case).encode() + b"\n"
    try:
        return os.write(process.stdin.fileno(), line) == len(line)
    except OSError:  # the pipe is full or the probe is gone
        return False


def run_probe(folder, library, cases, chores=()):
    """{cell index: (reply, arrays) or the reason there is none}, restarting the probe after a cell that hung.

    Each case is sent once the one before is answered; all of them must be answered by one deadline. `chores`
    (functions) are the grader's own work, done one by one while it waits for the probe."""
    answers, first, count, chores = {}, 0, len(cases), list(chores)
    finish = time.monotonic() + NOTEBOOK_SECONDS
    user = sandbox_user()
    share_with_sandbox(user, folder)  # the probe writes its replies there, as the sandbox's unprivileged user
    while first < count and time.monotonic() < finish:
        command = confine([sys.executable, "-I", "-S", "-B", str(folder / "probe.py"), str(library), str(folder)],
                          user, workdir=folder.parent / "work", library=library, shared=folder)
        process = subprocess.Popen(command, cwd=folder, env=PROBE_ENVIRONMENT, stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        os.set_blocking(process.stdin.fileno(), False)
        sent = send(process, {"index": first, **cases[first]})
        deadline = min(time.monotonic() + CELL_SECONDS, finish)
        while first < count:
            base = folder / f"reply-{first}"
            if os.path.lexists(f"{base}.json"):
                try:
                    answers[first] = read_reply(base)
                except BadReply as error:
                    answers[first] = str(error)
                first += 1
                deadline = min(time.monotonic() + CELL_SECONDS, finish)
                if first < count:
                    sent = send(process, {"index": first, **cases[first]})
                continue
            if os.path.lexists(folder / "import-error.json"):
                reason = import_error(folder / "import-error.json")
                answers.update({index: reason for index in range(first, count)})
                first = count
                break
            if not sent or process.poll() is not None:
                answers[first] = ended(folder)
                first += 1
                break
            if time.monotonic() > deadline:
                answers[first] = f"no answer within {CELL_SECONDS} seconds"
                first += 1
                break
            if chores:
                chores.pop(0)()
            else:
                time.sleep(0.002)
        stop(process)
    for chore in chores:
        chore()
    answers.update({index: f"no answer within the {NOTEBOOK_SECONDS} seconds a notebook's checks may take"
                    for index in range(first, count)})
    return answers


def ended(folder):
    """Why the probe ended before answering: its folder full (its replies had no room), or the student's code."""
    usage = shutil.disk_usage(folder)
    if usage.free < MAX_REPLY_BYTES and usage.total <= PROBE_FOLDER_BYTES:
        return f"your code filled the {PROBE_FOLDER_BYTES // MiB} MiB folder it shares with the grader"
    return "your code ended the process that was testing it"


def import_error(path):
    """Why the library could not be imported, in the grader's words: the name of a built-in exception, no text of
    the student's."""
    try:
        name = json.loads(read_untrusted(path, 4096))["error"]
    except Exception:  # whatever is there, it is not what the probe writes
        name = ""
    known = isinstance(name, str) and isinstance(getattr(builtins, name, None), type) and issubclass(
        getattr(builtins, name), BaseException)
    return f"your code could not be imported ({name if known else 'an error'})"


def remove(folder):
    """Remove a verification's folder. The probe's last process can outlive the sandbox's first by a moment, and
    write there meanwhile: try again until it is gone."""
    for _ in range(100):
        shutil.rmtree(folder, ignore_errors=True)
        if not os.path.lexists(folder):
            return
        time.sleep(0.05)


def stop(process):
    if process.poll() is None:
        try:
            os.killpg(process.pid, 9)
        except ProcessLookupError:
            pass
    process.wait()
    process.stdin.close()


# --- Judging --------------------------------------------------------------------------------------------

def shown(description, arrays):
    """The reference's value as a student reads it in a message."""
    try:
        return describe_for_student(description, arrays)
    except (KeyError, TypeError, ValueError, AttributeError):
        return "nothing readable"


def describe_for_student(description, arrays):
    kind = description.get("kind") if isinstance(description, dict) else None
    if kind in ("ndarray", "numpy scalar") and description.get("array") in arrays:
        array = arrays[description["array"]]
        return f"{np.array2string(array, precision=5, threshold=20)} ({array.dtype}, shape {array.shape})"
    if kind == "Tensor":
        return f"Tensor({shown(description.get('data'), arrays)})"
    if kind == "error":
        types = description.get("types") or ["?"]
        return f"{types[0]}: {str(description.get('message', ''))[:300]}"
    if kind == "sequence":
        items = ", ".join(shown(item, arrays) for item in description.get("items", [])[:8])
        return f"{description.get('type')} of {description.get('length')}: [{items}]"
    if kind == "object":
        return f"a {description.get('type')} object"
    if kind in ("bool", "int", "float", "str", "NoneType"):
        return repr(description.get("value"))
    return "nothing readable"


def outline(description, arrays):
    """What the student's answer was, in the grader's words only: its kind and shape, never a text or a number
    the student's code chose (they could carry whatever that code read in the probe)."""
    try:
        return outline_of(description, arrays)
    except (KeyError, TypeError, ValueError, AttributeError):
        return "nothing readable"


def outline_of(description, arrays):
    kind = description.get("kind") if isinstance(description, dict) else None
    if kind in ("ndarray", "numpy scalar") and description.get("array") in arrays:
        array = arrays[description["array"]]
        return f"an array of {array.dtype}, shape {array.shape}"
    if kind == "Tensor":
        return f"a Tensor holding {outline(description.get('data'), arrays)}"
    if kind == "error":
        name = (description.get("types") or [""])[0]
        known = isinstance(name, str) and isinstance(getattr(builtins, name, None), type)
        return f"an error ({name})" if known else "an error"
    if kind == "sequence" and description.get("type") in ("list", "tuple"):
        return f"a {description['type']}"
    names = {"bool": "True or False", "int": "an int", "float": "a float", "str": "a string", "NoneType": "None",
             "object": "an object"}
    return names.get(kind, "nothing readable")


def difference(got, got_arrays, expected, expected_arrays, expectation):
    """None when `got` (the student's) matches `expected`; otherwise why not, in a few words."""
    if not isinstance(got, dict):
        return "no answer"
    kind, wanted = got.get("kind"), expected["kind"]
    if wanted == "error":
        if kind != "error" or expected["types"][0] not in (got.get("types") or []):
            return "a different outcome"
        message = str(got.get("message", ""))
        missing = [text for text in expectation.message_contains if text not in message]
        return f"a message that shows {missing[0]}" if missing else None
    if kind == "error":
        return "an error"
    if wanted in ("ndarray", "numpy scalar"):
        if kind not in ("ndarray", "numpy scalar") or got.get("array") not in got_arrays:
            return "a different type"
        actual, reference = got_arrays[got["array"]], expected_arrays[expected["array"]]
        if actual.shape != reference.shape:
            return "a different shape"
        if expectation.dtype and actual.dtype != reference.dtype:
            return "a different dtype"
        close = np.allclose(actual.astype(np.float64), reference.astype(np.float64), rtol=expectation.rtol,
                            atol=expectation.atol, equal_nan=True)
        return None if close else "different values"
    if wanted == "Tensor":
        if kind != "Tensor":
            return "not a Tensor"
        return difference(got.get("data"), got_arrays, expected["data"], expected_arrays, expectation)
    if wanted == "sequence":
        if kind != "sequence" or got.get("length") != expected["length"]:
            return "a different number of items"
        if len(got.get("items", [])) != len(expected["items"]):
            return "a different number of items"
        for item, reference in zip(got["items"], expected["items"]):
            reason = difference(item, got_arrays, reference, expected_arrays, expectation)
            if reason:
                return reason
        return None
    if wanted == "float":
        if kind != "float" or not isinstance(got.get("value"), float):
            return "a different type"
        return None if np.isclose(got["value"], expected["value"], rtol=expectation.rtol,
                                  atol=expectation.atol) else "a different value"
    if wanted == "object":
        return None if kind == "object" and got.get("type") == expected["type"] else "a different object"
    same = kind == wanted and type(got.get("value")) is type(expected.get("value")) and got.get("value") == expected.get(
        "value")
    return None if same else "a different value"


def plain(description, arrays):
    """A described value as a rule reads it: an array, a number, a string or a list of them; None for anything else
    (an error, an object)."""
    kind = description.get("kind") if isinstance(description, dict) else None
    if kind in ("ndarray", "numpy scalar"):
        return arrays[description["array"]]
    if kind == "Tensor":
        return plain(description["data"], arrays)
    if kind == "sequence":
        return [plain(item, arrays) for item in description["items"]]
    if kind in ("bool", "int", "float", "str"):
        return description["value"]
    return None


def judge(case, answer, reference, reference_arrays):
    """The teaching message of the first expectation the student's answer fails, or None when all hold."""
    if isinstance(answer, str):
        first = case.expectations[0] if case.expectations else None
        return f"{first.what if first else 'this cell'}: {answer}"
    reply, arrays = answer
    for expectation in case.expectations:
        got = reply.get(expectation.step)
        if expectation.rule:
            try:
                reason = expectation.rule(plain(got, arrays), plain(reply.get(expectation.rule_also), arrays))
            except (KeyError, TypeError, ValueError, AttributeError, IndexError):
                reason = "an answer that could not be read"
            if reason:
                return f"{expectation.what}: {reason}" + (f"\n  hint: {expectation.hint}" if expectation.hint else "")
            continue
        if expectation.like:
            expected, expected_arrays = reply.get(expectation.like), arrays
            if not isinstance(expected, dict) or expected.get("kind") in (None, "error"):
                return f"{expectation.what}: no answer to compare with"
        else:
            expected, expected_arrays = reference[expectation.step], reference_arrays
        try:
            reason = difference(got, arrays, expected, expected_arrays, expectation)
        except (KeyError, TypeError, ValueError, AttributeError):
            reason = "an answer that could not be read"
        if reason:
            wanted = "what your own code gives another way" if expectation.like else shown(expected, expected_arrays)
            message = (f"{expectation.what}\n  expected: {wanted}\n"
                       f"  got:      {outline(got, arrays) if isinstance(got, dict) else 'no answer'} ({reason})")
            return message + (f"\n  hint: {expectation.hint}" if expectation.hint else "")
    return None


def reference_answers(case):
    """The reference library's values for the case's steps, described as the probe describes them."""
    collecting = gc.isenabled()
    gc.disable()  # a graph as long as the tests' would make the collector walk all of the grader's objects, often
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):  # NaN and overflow are answers here, not news
            warnings.simplefilter("ignore")
            # Steps that put a correct piece in the student's library have nothing to do in the reference.
            steps = [step for step in case.steps if not step["call"].startswith("use_reference_")]
            values = probe.run_steps(steps, case.inputs, babygrad)
    finally:
        if collecting:
            gc.enable()
    arrays = {}
    report = case.for_probe()["report"]
    return {name: probe.describe(values[name], arrays) for name in report}, arrays


def verify(nb, chapter, course, notebook=None):
    """{grade_id: Verdict} for the submitted notebook `nb` of `chapter`; None when the chapter lists no checks.

    `notebook` is its name (nbgrader's, without .ipynb); it may be left out in a chapter of one notebook. Whatever
    goes wrong while checking fails every cell, with the reason: no cell passes unchecked."""
    checks = chapter_checks(chapter)
    if checks is None:
        return None
    checks = checks_of(graded_notebook(course, chapter, notebook), checks)
    try:
        return verified(nb, chapter, course, notebook, checks)
    except Exception as error:
        reason = unverified(error)
        return {grade_id: Verdict(False, reason) for grade_id in checks}


def unverified(error):
    """The reason every cell fails when checking itself failed: the grader's own words and the error's kind; the
    whole traceback (which may quote the student's files) goes to the instructor's log only."""
    logging.getLogger(__name__).warning("Checking outside the notebook failed", exc_info=error)
    return f"your code could not be checked outside the notebook ({type(error).__name__})"


def verified(nb, chapter, course, notebook, checks):
    source = graded_notebook(course, chapter, notebook)
    cases = draw_cases(checks, secrets.randbits(64))
    order = list(cases)
    private = tempfile.mkdtemp(prefix="babygrad-verify-")
    try:
        library = Path(private) / "library"
        folder = Path(private) / "probe"
        folder.mkdir()
        package = write_library(library, course / "source", course / "release", chapter)
        module, _ = module_source(source, chapter)
        (package / f"{module}.py").write_text(student_module(nb), encoding="utf-8")
        for index, grade_id in enumerate(order):  # one inputs.npz: each cell's inputs under names of its own
            rename_inputs(cases[grade_id], f"c{index}_")
        references = {}

        def reference_of(grade_id):
            references[grade_id] = reference_answers(cases[grade_id])

        with bounded_folder(folder, PROBE_FOLDER_BYTES):  # bounded before anything is written, gone before cleanup
            shutil.copy(probe.__file__, folder / "probe.py")
            np.savez(folder / "inputs.npz",
                     **{key: array for case in cases.values() for key, array in case.inputs.items()})
            answers = run_probe(folder, library,
                                [with_correct_pieces(cases[grade_id].for_probe()) for grade_id in order],
                                [partial(reference_of, grade_id) for grade_id in order])
    finally:
        remove(private)
    verdicts = {}
    for index, grade_id in enumerate(order):
        message = judge(cases[grade_id], answers.get(index, "no answer"), *references[grade_id])
        verdicts[grade_id] = Verdict(message is None, message or "")
    return verdicts


# Correct pieces a cell's case may ask for (a step named "use_reference_..."), so that a wrong piece costs only its
# own cell, as in the chapter's hidden tests: (module, name, source). The probe holds none of them; each is sent
# with the case that needs it, after the cell that checks the student's own piece has been answered.
CORRECT_PIECES = {
    "use_reference_build_topo": ("backprop", "build_topo", """
def build_topo(root):
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        tensor, ready = stack.pop()
        if ready:
            order.append(tensor)
        elif id(tensor) not in visited:
            visited.add(id(tensor))
            stack.append((tensor, True))
            stack.extend((parent, False) for parent in tensor._inputs
                         if parent.requires_grad and id(parent) not in visited)
    return order
"""),
    "use_reference_unbroadcast": ("gradients", "unbroadcast", """
def unbroadcast(grad, shape):
    ops = sys.modules["babygrad"].ops
    if grad is None or grad.shape == tuple(shape):
        return grad
    added = grad.ndim - len(shape)
    stretched = tuple(added + axis for axis, size in enumerate(shape) if size == 1 and grad.shape[added + axis] != 1)
    return ops.reshape(ops.summation(grad, tuple(range(added)) + stretched), shape)
"""),
    "use_reference_log_softmax": ("nn", "log_softmax", """
def log_softmax(x, axis=-1):
    return x - x.logsumexp(axis, keepdims=True)
"""),
}


def with_correct_pieces(case):
    """The case as the probe runs it: a step asking for a correct piece installs it (see CORRECT_PIECES)."""
    steps = [{**step, "call": "install", "args": list(CORRECT_PIECES[step["call"]]), "kwargs": {}}
             if step["call"] in CORRECT_PIECES else step for step in case["steps"]]
    return {**case, "steps": steps}


def graded_notebook(course, chapter, notebook=None):
    """The instructor's copy of the notebook being graded: `notebook`, or the chapter's only one."""
    if notebook:
        return course / "source" / chapter / f"{notebook}.ipynb"
    notebooks = sorted((course / "source" / chapter).glob("*.ipynb"))
    if len(notebooks) != 1:
        raise ValueError(f"{chapter} has {len(notebooks)} notebooks: say which one is graded")
    return notebooks[0]


def checks_of(source, checks):
    """The chapter's checks of the grade cells in the notebook `source` (a chapter's list covers all its notebooks)."""
    grade_ids = {cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                 for cell in json.loads(source.read_text(encoding="utf-8"))["cells"]}
    return {grade_id: build for grade_id, build in checks.items() if grade_id in grade_ids}


def rename_inputs(case, prefix):
    """Give the case's inputs the names they have in inputs.npz (steps and inputs both)."""
    case.inputs = {prefix + key: array for key, array in case.inputs.items()}

    def renamed(argument):
        if isinstance(argument, dict):
            if "input" in argument:
                return {"input": prefix + argument["input"]}
            return {key: renamed(value) for key, value in argument.items()}
        if isinstance(argument, list):
            return [renamed(item) for item in argument]
        return argument

    for step in case.steps:
        step["args"] = renamed(step["args"])
        step["kwargs"] = renamed(step["kwargs"])
