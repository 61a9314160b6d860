"""Grading kernels treat student code as hostile: no answers to import, no private files, no network."""
import json
import os
import shutil
import textwrap

import pytest

from autograder.course import RELEASE, SOURCE, nbgrader, succeeded
from autograder.grading.autograde import autograde
from autograder.grading.sandbox import bubblewrap_available

CHAPTER = "02_operations"

SPY = textwrap.dedent('''
    import inspect, os, socket, sys
    print("SPY debugger:", "debugpy.server" in sys.modules)
    import babygrad.ops
    try:
        babygrad.ops.Sub().forward(1.0, 2.0)
        print("SPY reference: usable")
    except NotImplementedError:
        print("SPY reference: a stub")
    for secret in ["{course}/source/{chapter}/operations.ipynb", "{course}/gradebook.db", "{repo}/babygrad/ops.py"]:
        print("SPY file:", os.path.exists(secret))
    try:
        socket.create_connection(("127.0.0.1", 22), timeout=1)
        print("SPY network: open")
    except OSError:
        print("SPY network: closed")
''')


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("sandbox")
    shutil.copytree(SOURCE, course / "source")
    shutil.copytree(RELEASE, course / "release")
    api = nbgrader(course)
    succeeded(api.generate_assignment(CHAPTER), "generate_assignment")
    return course, api


def submit(course, student, first_cell):
    notebook = json.loads((course / "release" / CHAPTER / "operations.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = first_cell
            break
    target = course / "submitted" / student / CHAPTER / "operations.ipynb"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(notebook))


def outputs(course, student):
    graded = json.loads((course / "autograded" / student / CHAPTER / "operations.ipynb").read_text())
    return "".join("".join(output.get("text", "")) for cell in graded["cells"] for output in cell.get("outputs", []))


def test_the_graded_chapters_answers_are_not_importable_while_grading(course):
    course, api = course
    submit(course, "spy", SPY.format(course=course, chapter=CHAPTER, repo=SOURCE.parent))
    assert autograde(api, CHAPTER, "spy").problem == ""
    assert "SPY reference: a stub" in outputs(course, "spy")


@pytest.mark.skipif(not bubblewrap_available(), reason="bubblewrap (bwrap) is not installed")
def test_student_code_sees_no_private_file_no_network_and_no_debugger(course):
    course, api = course
    submit(course, "spy2", SPY.format(course=course, chapter=CHAPTER, repo=SOURCE.parent))
    autograde(api, CHAPTER, "spy2")
    printed = outputs(course, "spy2")
    assert printed.count("SPY file: False") == 3
    assert "SPY network: closed" in printed
    assert "SPY debugger: False" in printed


def test_a_cell_that_never_ends_is_interrupted_and_the_rest_still_runs(course):
    course, _ = course
    api = nbgrader(course)
    api.config.Execute.timeout = 3
    submit(course, "looper", "while True:\n    pass")
    result = autograde(api, CHAPTER, "looper")
    assert result.problem == ""
    graded = json.loads((course / "autograded" / "looper" / CHAPTER / "operations.ipynb").read_text())
    errors = [output["ename"] for cell in graded["cells"] for output in cell.get("outputs", [])
              if output["output_type"] == "error"]
    assert errors[0] in ("CellTimeoutError", "KeyboardInterrupt") and len(errors) > 1


def start_confined(tmp_path, code, limits=None):
    """`code` started by Python in the closed sandbox, as a verifier would start it: the process, its output piped."""
    import subprocess
    import sys

    from autograder.grading.sandbox import Limits, confine, environment, sandbox_user, share_with_sandbox
    library = tmp_path / "library"
    (library / "babygrad").mkdir(parents=True, exist_ok=True)
    shared = tmp_path / "shared"
    shared.mkdir(exist_ok=True)
    for folder in (tmp_path, library, library / "babygrad"):
        folder.chmod(0o755)
    user = sandbox_user()
    share_with_sandbox(user, shared)
    command = confine([sys.executable, "-c", code], user, tmp_path / "work", library, shared, limits or Limits())
    return subprocess.Popen(command, env=environment(library), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def run_confined(tmp_path, code, limits=None):
    """`code` run by Python in the closed sandbox, as a verifier would run it; (exit status, what it printed)."""
    process = start_confined(tmp_path, code, limits)
    printed, _ = process.communicate(timeout=60)
    return process.returncode, printed


def stop(process):
    """End a sandbox started by `start_confined`, and with it every process in it."""
    os.killpg(process.pid, 9)
    process.wait()


sandboxed = pytest.mark.skipif(not bubblewrap_available(), reason="bubblewrap (bwrap) is not installed")


@sandboxed
def test_no_process_of_the_host_can_be_seen_or_signalled(tmp_path):
    code = (f"import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n"
            f"try:\n    os.kill({os.getpid()}, 9)\nexcept ProcessLookupError:\n    print('no such process')")
    status, printed = run_confined(tmp_path, code)
    assert status == 0 and "no such process" in printed
    assert max(eval(printed.splitlines()[0])) < 10


@sandboxed
def test_files_outside_the_sandbox_cannot_be_read_or_written(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("answers")
    secret.chmod(0o644)
    code = (f"import os\nprint(os.path.exists({str(secret)!r}), os.path.exists({str(SOURCE)!r}))\n"
            "for path in ['/usr/x', '/etc/x', " + repr(str(tmp_path / "shared" / "ok")) + "]:\n"
            "    try:\n        open(path, 'w').close(); print('wrote', path)\n"
            "    except OSError:\n        print('refused', path)")
    status, printed = run_confined(tmp_path, code)
    assert "False False" in printed and printed.count("refused") == 2 and "wrote " + str(tmp_path) in printed


@sandboxed
def test_the_network_is_refused(tmp_path):
    import socket
    with socket.create_server(("127.0.0.1", 0)) as server:
        code = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {server.getsockname()[1]}), 2)\n"
                "    print('connected')\nexcept OSError:\n    print('refused')")
        assert run_confined(tmp_path, code)[1].strip() == "refused"


@sandboxed
def test_memory_and_process_caps_hold(tmp_path):
    from autograder.grading.sandbox import Limits
    code = ("import os\ntry:\n    bytearray(2 ** 30)\nexcept MemoryError:\n    print('no memory')\n"
            "children = []\ntry:\n    while True:\n        pid = os.fork()\n        if pid == 0:\n"
            "            import time; time.sleep(30); os._exit(0)\n        children.append(pid)\n"
            "except OSError:\n    print('forked', len(children))")
    status, printed = run_confined(tmp_path, code, Limits(memory=512 * 2 ** 20, processes=16))
    assert "no memory" in printed
    assert int(printed.split("forked ")[1]) < 16


@sandboxed
def test_the_sandbox_runs_as_a_user_of_its_own_without_capabilities_or_the_graders_environment(tmp_path):
    os.environ["BABYGRAD_SECRET_FOR_TEST"] = "do-not-leak"
    code = ("import os\nprint(os.getuid(), os.geteuid(), "
            "open('/proc/self/status').read().split('CapEff:')[1].split()[0], 'BABYGRAD_SECRET_FOR_TEST' in os.environ)")
    uid, euid, capabilities, leaked = run_confined(tmp_path, code)[1].split()
    assert uid == euid and capabilities == "0000000000000000" and leaked == "False"
    if os.geteuid() == 0:
        from autograder.grading.sandbox import SANDBOX_USERS
        assert int(uid) in SANDBOX_USERS


# Forks until the cap on processes is reached, and holds every process it got.
FORK_BOMB = """import os, time
held = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        held += 1
except OSError:
    print('holding', held, flush=True)
time.sleep(60)
"""

# Starts threads and processes, as a kernel does, and says whether it could.
STARTS_WORKERS = """import os, threading, time
threads = [threading.Thread(target=time.sleep, args=(0.5,)) for _ in range(8)]
for thread in threads:
    thread.start()
children = []
for _ in range(4):
    child = os.fork()
    if child == 0:
        time.sleep(0.5)
        os._exit(0)
    children.append(child)
for child in children:
    os.waitpid(child, 0)
for thread in threads:
    thread.join()
print('started all')
"""


@sandboxed
def test_a_sandbox_that_uses_up_its_process_cap_leaves_another_sandboxs_cap_untouched(tmp_path):
    from autograder.grading.sandbox import Limits
    limits = Limits(processes=32)
    (tmp_path / "bomb").mkdir()
    (tmp_path / "innocent").mkdir()
    bomb = start_confined(tmp_path / "bomb", FORK_BOMB, limits)
    try:
        assert bomb.stdout.readline().startswith("holding")
        status, printed = run_confined(tmp_path / "innocent", STARTS_WORKERS, limits)
    finally:
        stop(bomb)
    assert status == 0 and "started all" in printed


@sandboxed
@pytest.mark.skipif(os.geteuid() != 0, reason="without root, every sandbox has a user namespace of its own")
def test_two_sandboxes_at_once_run_as_different_users(tmp_path):
    code = "import os, time\nprint(os.getuid(), flush=True)\ntime.sleep(30)"
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    sandboxes = [start_confined(tmp_path / name, code) for name in ("first", "second")]
    try:
        users = [int(sandbox.stdout.readline()) for sandbox in sandboxes]
    finally:
        for sandbox in sandboxes:
            stop(sandbox)
    assert users[0] != users[1]


@sandboxed
@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a shared folder a file system of its own")
def test_a_folder_a_sandbox_shares_with_the_grader_holds_no_more_than_its_bound(tmp_path):
    from autograder.grading.sandbox import bounded_folder
    shared = tmp_path / "shared"
    shared.mkdir()
    code = ("written = 0\ntry:\n    for number in range(64):\n"
            "        with open(f'" + str(shared) + "/fill{number}', 'wb') as file:\n"
            "            file.write(b'x' * 2 ** 20)\n            written += 1\n"
            "except OSError as error:\n    print('refused after', written, error.errno)")
    with bounded_folder(shared, 4 * 2 ** 20):
        status, printed = run_confined(tmp_path, code)
    assert "refused after" in printed and int(printed.split()[2]) <= 4 and printed.split()[3] == "28"
    assert list(shared.iterdir()) == []  # what it wrote is gone with the bound
