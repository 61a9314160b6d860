"""Hostile submissions of chapter 02, each trying one thing a student could try against the grader.

Each is a real notebook: the untouched release ("stubs", worth 0) or a perfect answer ("perfect", worth 100), with
one cell of attack code added at its start or end, or with its nbgrader metadata edited. `expected` is the honest
score: what the notebook's own answers are worth, whatever the attack did.
"""
import json
import os
from dataclasses import dataclass
from typing import Callable, Optional

from autograder.classroom import answered, read_notebook

CHAPTER, NOTEBOOK = "02_operations", "operations.ipynb"


@dataclass
class Attack:
    name: str
    base: str  # "perfect" or "stubs"
    code: object = ""  # a cell added to the notebook, or a list of cells
    at_end: bool = False  # after every cell (the answers already graded) rather than before the first
    edit: Optional[Callable] = None  # changes the notebook itself
    gradable: bool = True  # False when no part of it can be graded: it is worth nothing, whatever its answers

    @property
    def expected(self):
        return 100.0 if self.base == "perfect" and self.gradable else 0.0


def nbgrader_cells(notebook, kind):
    return [cell for cell in notebook["cells"] if cell["metadata"].get("nbgrader", {}).get(kind)]


def tamper_keeping_answers(notebook):
    """A test cell renamed, another without its grade_id, a test and a solution cell duplicated."""
    tests = nbgrader_cells(notebook, "grade")
    tests[0]["metadata"]["nbgrader"]["grade_id"] = "renamed_by_student"
    del tests[1]["metadata"]["nbgrader"]["grade_id"]
    notebook["cells"] += [json.loads(json.dumps(tests[2])), json.loads(json.dumps(nbgrader_cells(notebook, "solution")[1]))]


def tamper_for_points(notebook):
    """Test cells deleted, ungraded, worth 1000 points with a forged checksum, turned into solutions, scrambled."""
    tests = nbgrader_cells(notebook, "grade")
    tests[1]["metadata"]["nbgrader"]["grade"] = False
    tests[2]["metadata"]["nbgrader"].update(points=1000, checksum="0" * 32)
    tests[3]["metadata"]["nbgrader"].update(solution=True, locked=False)
    tests[4]["metadata"]["nbgrader"] = "not a dict"
    tests[5]["metadata"]["nbgrader"] = {"grade": True, "points": 50}
    tests[6]["cell_type"] = "markdown"
    tests[6].pop("outputs", None), tests[6].pop("execution_count", None)
    for cell in tests[1:]:
        cell["source"] = "pass"
    notebook["cells"].remove(tests[0])


def markdown_script(notebook):
    notebook["cells"].append({"cell_type": "markdown", "metadata": {}, "id": "student-note",
                              "source": "<script>document.title='ATTACK-MARKDOWN'</script> my notes"})


SPY_FILES = '''
import os
for secret in ["{course}/source/{chapter}/{notebook}", "{course}/gradebook.db", "{repo}/babygrad/ops.py",
               "{repo}/autograder/grading/sandbox.py", "{course}/submitted/leak/{chapter}/{notebook}",
               "/etc/shadow", "{repo}/pyproject.toml", "{course}/release/{chapter}/{notebook}"]:
    try:
        open(secret).read(1) if os.path.isfile(secret) else os.listdir(secret)
        print("SPY readable:", secret)
    except OSError:
        print("SPY hidden:", secret)
'''

SPY_PROCESSES = '''
import os, signal
visible = [name for name in os.listdir("/proc") if name.isdigit()]
print("SPY processes:", len(visible))
for pid in ({grader_pid}, 1):
    try:
        os.kill(pid, 0)
        print("SPY signal reaches", pid)
    except ProcessLookupError:
        print("SPY no process", pid)
    except PermissionError:
        print("SPY not allowed", pid)
print("SPY uid:", os.getuid(), os.geteuid())
print("SPY capabilities:", [line.split()[1] for line in open("/proc/self/status") if line.startswith("CapEff")])
'''

SPY_NETWORK = '''
import socket
for address in [("127.0.0.1", {port}), ("1.1.1.1", 53)]:
    try:
        socket.create_connection(address, timeout=2)
        print("SPY network open", address)
    except OSError as error:
        print("SPY network closed", address)
'''

WRITE_OUTSIDE = '''
import ctypes, os, site, sys
targets = ["{site}/zz_attack.pth", "{repo}/ATTACK", "{course}/ATTACK", "{course}/gradebook.db",
           "{course}/autograded/spy/ATTACK", "/usr/ATTACK", "/etc/ATTACK", "/root/ATTACK"]
for target in targets:
    try:
        with open(target, "a") as file:
            file.write("import os; os.system('touch /tmp/owned')\\n")
        print("SPY wrote", target)
    except OSError:
        print("SPY refused", target)
libc = ctypes.CDLL(None, use_errno=True)
for folder in ["/usr", "{site}"]:
    status = libc.mount(None, folder.encode(), None, 32 | 4096 | 16384, None)  # MS_REMOUNT | MS_BIND | MS_REC
    print("SPY remount", folder, "refused" if status != 0 else "worked")
with open("mine.txt", "w") as file:
    file.write("my own folder is writable")
print("SPY own folder writable")
'''

ENVIRONMENT = '''
import os
print(dict(os.environ))
'''

LEAK_HIDDEN_TESTS = '''
from IPython.display import HTML, Javascript, display
for source in In:
    print(source)
print("<script>document.title='ATTACK-PRINT'</script>")
display(HTML("<script>document.title='ATTACK-HTML'</script><b>bold</b>"))
display(Javascript("document.title='ATTACK-JS'"))
'''

BOMBS = [
    "import numpy\nhog = numpy.ones(2 ** 29)",
    'for number in range(1000):\n    with open(f"fill{number}", "wb") as file:\n'
    '        for _ in range(8):\n            file.write(b"x" * 2 ** 20)',
    'open("/tmp/big", "wb").write(b"x" * 2 ** 25)',
    "files = []\ntry:\n    while True:\n        files.append(open('/dev/null'))\nfinally:\n"
    "    for file in files:\n        file.close()",
    'for _ in range(40):\n    print("x" * 2 ** 20)',
    """
import os, time
children = []
while True:
    pid = os.fork()
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    children.append(pid)
""",
]

ATTACKS = [
    Attack("spy", "perfect", [SPY_FILES, SPY_PROCESSES, SPY_NETWORK, WRITE_OUTSIDE, ENVIRONMENT]),
    Attack("leak", "perfect", LEAK_HIDDEN_TESTS, at_end=True, edit=markdown_script),
    Attack("bombs", "stubs", BOMBS),
    Attack("cpu_loop", "perfect", "while True:\n    pass", at_end=True),
    Attack("kill_everything", "perfect", """
import os, signal
try:
    os.kill(-1, signal.SIGKILL)  # every process it may signal
except ProcessLookupError:
    print("nothing else to kill")
for pid in sorted((int(name) for name in os.listdir("/proc") if name.isdigit()), reverse=True):
    try:
        os.kill(pid, signal.SIGKILL)  # then each one it can see, itself last
    except OSError:
        pass
""", at_end=True),
    Attack("segfault", "perfect", "import ctypes\nctypes.string_at(0)", at_end=True),
    Attack("tampered_answers_kept", "perfect", edit=tamper_keeping_answers),
    Attack("tampered_for_points", "stubs", edit=tamper_for_points),
]

# Submissions that cannot be graded at all, and the reason the grader gives.
BROKEN = {"not_json": "NotJSONError", "cells_not_a_list": "Error", "symlinked": "LinkedSubmissionError"}


def notebook_of(attack, release, source, **places):
    notebook = answered(release, source) if attack.base == "perfect" else read_notebook(release)
    codes = [attack.code] if isinstance(attack.code, str) else attack.code
    cells = [{"cell_type": "code", "execution_count": None, "id": f"attack-{number}", "metadata": {}, "outputs": [],
              "source": fill(code.strip(), places)} for number, code in enumerate(codes) if code]
    position = len(notebook["cells"]) if attack.at_end else 0
    notebook["cells"][position:position] = cells
    if attack.edit:
        attack.edit(notebook)
    return notebook


def fill(code, places):
    for key, value in places.items():
        code = code.replace("{" + key + "}", str(value))
    return code


def write_class(course, places):
    """Every attack's submission, and the broken ones, in `course`/submitted."""
    release, source = course / "release" / CHAPTER / NOTEBOOK, course / "source" / CHAPTER / NOTEBOOK
    for attack in ATTACKS:
        folder = course / "submitted" / attack.name / CHAPTER
        folder.mkdir(parents=True)
        notebook = notebook_of(attack, release, source, **places)
        (folder / NOTEBOOK).write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    for name in BROKEN:
        (course / "submitted" / name / CHAPTER).mkdir(parents=True)
    (course / "submitted" / "not_json" / CHAPTER / NOTEBOOK).write_text('{"cells": [', encoding="utf-8")
    (course / "submitted" / "cells_not_a_list" / CHAPTER / NOTEBOOK).write_text(json.dumps(
        {"cells": "none", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), encoding="utf-8")
    os.symlink(source, course / "submitted" / "symlinked" / CHAPTER / NOTEBOOK)


# Submissions that once stopped the grading of a whole class, graded by `babygrad-course grade` with its workers.
# Each costs only its own grade: {student: the reason its score names}.
def with_surrogate(notebook):
    """A lone surrogate in an export cell: valid JSON ("\\ud800"), but no text a file or a kernel can hold."""
    for cell in nbgrader_cells(notebook, "solution"):
        if cell["source"].startswith("#| export"):
            cell["source"] += "\nname = '\ud800'\n"
            return


FLOOD = 'print("x" * 60_000)'  # in each of many cells: under the cap of a cell, over the cap of the notebook
SLOW = "import time\ntime.sleep(8)"  # in each of a few cells: under the deadline of a cell, over the notebook's

ORPHAN_MARK = "babygrad-orphan-7d1e"
# A process that leaves its kernel (a new session, its parent gone) to live on after grading.
ORPHAN = f"""
import os, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", "{ORPHAN_MARK}"])
    os._exit(0)
"""

ISOLATED = [
    Attack("surrogate", "perfect", edit=with_surrogate, gradable=False),
    Attack("flood", "stubs", [FLOOD] * 40),
    Attack("slow", "stubs", [SLOW] * 6),
    Attack("orphan", "perfect", ORPHAN, at_end=True),
]
# Folders that hold something no grader may open: a link to a device, and a FIFO no one writes to.
SPECIAL_FILES = {"zero_link": "LinkedSubmissionError", "fifo": "LinkedSubmissionError"}


def write_isolation_class(course, perfect=("a_perfect",), isolated=ISOLATED):
    """The submissions above (`isolated` of them, and those with special files), and perfect ones, in
    `course`/submitted."""
    release, source = course / "release" / CHAPTER / NOTEBOOK, course / "source" / CHAPTER / NOTEBOOK
    for attack in isolated:
        folder = course / "submitted" / attack.name / CHAPTER
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_text(json.dumps(notebook_of(attack, release, source)), encoding="utf-8")
    for student in [*SPECIAL_FILES, *perfect]:
        folder = course / "submitted" / student / CHAPTER
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_text(json.dumps(answered(release, source)), encoding="utf-8")
    os.symlink("/dev/zero", course / "submitted" / "zero_link" / CHAPTER / "data.bin")
    os.mkfifo(course / "submitted" / "fifo" / CHAPTER / "notes.txt")
