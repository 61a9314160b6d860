"""Verified scores: every grade cell checked again, outside the kernel the student's code ran in.

The code the student wrote (the notebook's `#| export` cells, as the exporter writes them) is loaded in a fresh
sandboxed process, the probe (probe.py), in the library the grading kernel has: the reference for the chapters
before, the release for the graded chapter's other notebooks (their tests never use each other's code, so a mistake
in one notebook costs nothing in another, and none of the chapter's answers sits where the student's code could
read it). The grader sends it
the chapter's cases with inputs drawn afresh (checks/), reads back only plain data (JSON, and arrays from .npz
with pickles refused), runs the same steps on the reference library in its own process, and compares. A reply
that is late, too large or malformed fails its cell. Nothing here imports the student's code.
"""
import gc
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import babygrad
from autograder.grading import probe
from autograder.grading.checks import Case, chapter_checks
from autograder.grading.sandbox import confine, sandbox_user, share_with_sandbox, write_library
from coursework.export import EXPORT, cell_directive, exported_code, module_source

CELL_SECONDS = 30            # a grade cell's case must be answered within this time
MAX_REPLY_BYTES = 32 << 20   # the most a reply (JSON and arrays together) may take
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


# --- Reading the probe's replies as data ------------------------------------------------------------------

class BadReply(Exception):
    """The probe's answer is not what a plain reply looks like."""


def read_reply(base):
    """(description, arrays) of reply-N, refusing pickles, sizes past the limit and anything but numbers."""
    json_path, npz_path = Path(f"{base}.json"), Path(f"{base}.npz")
    if json_path.stat().st_size + npz_path.stat().st_size > MAX_REPLY_BYTES:
        raise BadReply("the answer was larger than any correct one")
    try:
        reply = json.loads(json_path.read_text(encoding="utf-8"))
        with np.load(npz_path, allow_pickle=False) as stored:
            arrays = {}
            for key in stored.files:
                info = stored.zip.getinfo(f"{key}.npy")
                if info.file_size > MAX_REPLY_BYTES:
                    raise BadReply("an array larger than any correct one")
                arrays[key] = stored[key]
    except (ValueError, OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as error:
        raise BadReply(f"an answer that could not be read ({type(error).__name__})") from None
    if not isinstance(reply, dict) or any(array.dtype.kind not in "biuf" for array in arrays.values()):
        raise BadReply("an answer that is not plain data")
    return reply, arrays


def run_probe(folder, library, count, meanwhile=lambda: None):
    """{cell index: (reply, arrays) or the reason there is none}, restarting the probe after a cell that hung.

    `meanwhile()` runs once the probe has started (the grader's own work, done while the probe works)."""
    answers, first = {}, 0
    user = sandbox_user()
    share_with_sandbox(user, folder)  # the probe writes its replies there, as the sandbox's unprivileged user
    while first < count:
        command = confine([sys.executable, "-I", "-S", "-B", str(folder / "probe.py"), str(library), str(folder),
                           str(first)], user, workdir=folder.parent / "work", library=library, shared=folder)
        process = subprocess.Popen(command, cwd=folder, env=PROBE_ENVIRONMENT, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        meanwhile()
        meanwhile = lambda: None  # noqa: E731 (once)
        deadline = time.monotonic() + CELL_SECONDS
        while first < count:
            base = folder / f"reply-{first}"
            if Path(f"{base}.json").exists():
                try:
                    answers[first] = read_reply(base)
                except BadReply as error:
                    answers[first] = str(error)
                first += 1
                deadline = time.monotonic() + CELL_SECONDS
                continue
            if (folder / "import-error.json").exists():
                reason = read_import_error(folder / "import-error.json")
                answers.update({index: reason for index in range(first, count)})
                first = count
                break
            finished = process.poll() is not None
            if finished and not Path(f"{base}.json").exists():
                answers[first] = "your code ended the process that was testing it"
                first += 1
                break
            if time.monotonic() > deadline:
                answers[first] = f"no answer within {CELL_SECONDS} seconds"
                first += 1
                break
            time.sleep(0.01)
        stop(process)
    return answers


def read_import_error(path):
    try:
        error = json.loads(path.read_text(encoding="utf-8")[:4000])["error"]
    except (ValueError, KeyError, TypeError):
        error = "an error"
    return f"your code could not be imported: {str(error)[:500]}"


def stop(process):
    if process.poll() is None:
        try:
            os.killpg(process.pid, 9)
        except ProcessLookupError:
            pass
    process.wait()



# --- Judging --------------------------------------------------------------------------------------------

def shown(description, arrays):
    """A description as a student reads it in a message."""
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
            message = (f"{expectation.what}\n  expected: {shown(expected, expected_arrays)}\n"
                       f"  got:      {shown(got, arrays) if isinstance(got, dict) else 'no answer'} ({reason})")
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

    `notebook` is its name (nbgrader's, without .ipynb); it may be left out in a chapter of one notebook."""
    checks = chapter_checks(chapter)
    if checks is None:
        return None
    source = graded_notebook(course, chapter, notebook)
    cases = draw_cases(checks_of(source, checks), secrets.randbits(64))
    order = list(cases)
    with tempfile.TemporaryDirectory(prefix="babygrad-verify-") as private:
        library = Path(private) / "library"
        folder = Path(private) / "probe"
        folder.mkdir()
        package = write_library(library, course / "source", course / "release", chapter)
        module, _ = module_source(source, chapter)
        (package / f"{module}.py").write_text(student_module(nb), encoding="utf-8")
        shutil.copy(probe.__file__, folder / "probe.py")
        for index, grade_id in enumerate(order):  # one inputs.npz: each cell's inputs under names of its own
            rename_inputs(cases[grade_id], f"c{index}_")
        (folder / "cases.json").write_text(json.dumps([cases[grade_id].for_probe() for grade_id in order]))
        np.savez(folder / "inputs.npz", **{key: array for case in cases.values() for key, array in case.inputs.items()})
        references = {}
        answers = run_probe(folder, library, len(order), lambda: references.update(
            (grade_id, reference_answers(cases[grade_id])) for grade_id in order))
    verdicts = {}
    for index, grade_id in enumerate(order):
        message = judge(cases[grade_id], answers.get(index, "no answer"), *references[grade_id])
        verdicts[grade_id] = Verdict(message is None, message or "")
    return verdicts


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
