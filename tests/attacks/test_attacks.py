"""Hostile submissions graded by the real `nbgrader autograde` command, all in one run.

Each ends with its honest score (what its answers are worth, whatever it tried), the reason where a limit of the
grader stopped it, and nothing changed outside its own folder. A second, smaller class is killed mid-run and graded
again with the plain command.
"""
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from autograder.course import REPO, RELEASE, SOURCE
from autograder.grading.sandbox import SANDBOX_USERS, bubblewrap_available
from tests.attacks.sandbox_submissions import (ATTACKS, BROKEN, CHAPTER, FLOOD, ISOLATED, NOTEBOOK, ORPHAN_MARK,
                                                SPECIAL_FILES, answered, write_class, write_isolation_class)
from tests.test_generated import hidden_test_lines, strip_regions

pytestmark = pytest.mark.skipif(not bubblewrap_available(), reason="bubblewrap (bwrap) is not installed")

# Smaller limits than a course's, so that each bomb is over quickly.
TEST_LIMITS = """
c.SandboxedKernelManager.cpu_seconds = 10
c.SandboxedKernelManager.processes = 64
c.SandboxedKernelManager.disk = 32 * 1024 * 1024
c.SandboxedKernelManager.file_size = 16 * 1024 * 1024
c.SandboxedExecute.max_output_bytes = 64 * 1024
c.Execute.timeout = 60
"""
SECRET = "babygrad-grader-secret-7f3a9c"
SITE = sysconfig.get_paths()["purelib"]


def new_course(folder):
    shutil.copytree(SOURCE, folder / "source")
    shutil.copytree(RELEASE, folder / "release")
    (folder / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text() + TEST_LIMITS)
    nbgrader_command(folder, "generate_assignment", CHAPTER, "--force")
    return folder


def environment():
    """The instructor's shell: this environment's programs first, and a secret no student may see."""
    scripts = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": scripts + os.pathsep + os.environ["PATH"], "BABYGRAD_SECRET": SECRET}


def nbgrader_command(course, *arguments, check=True):
    command = [str(Path(sys.executable).parent / "nbgrader"), *arguments]
    done = subprocess.run(command, cwd=course, capture_output=True, text=True, timeout=900, env=environment())
    if check and done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(arguments)} failed:\n{done.stderr}")
    return done.stdout + done.stderr


def exported_scores(course):
    nbgrader_command(course, "export", "--to", str(course / "grades.csv"))
    rows = csv.DictReader(open(course / "grades.csv", encoding="utf-8"))
    return {row["student_id"]: float(row["score"]) for row in rows if row["assignment"] == CHAPTER}


def snapshot(*folders):
    return {str(path): path.stat().st_mtime_ns for folder in folders for path in Path(folder).rglob("*")}


def leftover_kernels():
    """Sandboxed grading kernels (run as sandbox users) still running although their grading folder is gone."""
    left = []
    for process in Path("/proc").iterdir():
        try:
            if process.stat().st_uid not in SANDBOX_USERS:
                continue
            command = (process / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        files = [Path(part.decode()) for part in command if b"babygrad-kernel-" in part]
        if files and not any(file.exists() for file in files):
            left.append(process.name)
    return left


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("attacks"))
    listener = socket.create_server(("127.0.0.1", 0))
    places = {"course": course, "repo": REPO, "site": SITE, "grader_pid": os.getpid(), "chapter": CHAPTER,
              "notebook": NOTEBOOK, "port": listener.getsockname()[1]}
    write_class(course, places)
    before = snapshot(course / "source", course / "release", course / "submitted", SITE)
    log = nbgrader_command(course, "autograde", CHAPTER, check=False)
    after = snapshot(course / "source", course / "release", course / "submitted", SITE)
    listener.close()
    nbgrader_command(course, "generate_feedback", CHAPTER, check=False)
    return {"course": course, "log": log, "scores": exported_scores(course), "unchanged": before == after}


def graded_notebook(graded, student):
    return json.loads((graded["course"] / "autograded" / student / CHAPTER / NOTEBOOK).read_text())


def printed(graded, student):
    """Everything the submission's cells printed or raised, as one text."""
    texts = []
    for cell in graded_notebook(graded, student)["cells"]:
        for output in cell.get("outputs", []):
            texts += [output.get("text", ""), output.get("ename", ""), output.get("evalue", "")]
    return "\n".join("".join(text) if isinstance(text, list) else text for text in texts)


def feedback(graded, student):
    return (graded["course"] / "feedback" / student / CHAPTER / NOTEBOOK.replace(".ipynb", ".html")).read_text()


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.name)
def test_every_attack_gets_the_score_of_its_answers(graded, attack):
    assert graded["scores"][attack.name] == attack.expected


@pytest.mark.parametrize("student, reason", BROKEN.items())
def test_a_submission_that_cannot_be_graded_gets_nothing_and_a_reason(graded, student, reason):
    assert graded["scores"].get(student, 0.0) == 0.0
    assert reason in graded["log"]


def test_student_code_reads_no_private_file(graded):
    output = printed(graded, "spy")
    assert "SPY readable" not in output and output.count("SPY hidden") == 8


def test_student_code_sees_and_signals_no_process_of_the_host(graded):
    output = printed(graded, "spy")
    assert f"SPY no process {os.getpid()}" in output
    assert int(output.split("SPY processes: ")[1].split()[0]) <= 5
    uid, euid = output.split("SPY uid: ")[1].split()[:2]
    assert uid == euid and int(uid) in SANDBOX_USERS
    assert "SPY capabilities: ['0000000000000000']" in output


def test_student_code_has_no_network(graded):
    assert printed(graded, "spy").count("SPY network closed") == 2


def test_student_code_writes_only_its_own_folder(graded):
    output = printed(graded, "spy")
    assert "SPY wrote" not in output and output.count("SPY refused") == 8
    assert output.count("refused") == 10 and "SPY own folder writable" in output
    assert not (Path(SITE) / "zz_attack.pth").exists() and not (REPO / "ATTACK").exists()
    assert not (graded["course"] / "ATTACK").exists()


def test_nothing_outside_the_graded_folders_changes_during_grading(graded):
    assert graded["unchanged"]
    assert not list((graded["course"] / "autograded").rglob("fill*"))


def test_no_process_of_any_submission_outlives_its_grading(graded):
    assert leftover_kernels() == []


@pytest.mark.parametrize("student, reason", [
    ("bombs", "the grader allows 2048 MiB of memory"),
    ("bombs", "the grader allows 64 processes and threads"),
    ("bombs", "the grader allows 32 MiB of files"),
    ("bombs", "the grader allows files of at most 16 MiB"),
    ("bombs", "the grader allows 256 open files"),
    ("bombs", "the grader keeps 64 KiB of output per cell"),
    ("cpu_loop", "the kernel was stopped after 10 s of CPU time"),
])
def test_a_limit_that_stops_a_cell_is_named_in_the_feedback(graded, student, reason):
    assert reason in printed(graded, student)
    assert reason in feedback(graded, student).replace("&#39;", "'")


def test_a_flood_of_output_is_cut(graded):
    path = graded["course"] / "autograded" / "bombs" / CHAPTER / NOTEBOOK
    assert path.stat().st_size < 1024 * 1024


@pytest.mark.parametrize("student, reason", [
    ("segfault", "the kernel crashed (segmentation fault)"),
    ("kill_everything", "the kernel was killed"),
])
def test_a_kernel_that_dies_keeps_the_cells_it_ran(graded, student, reason):
    cells = graded_notebook(graded, student)["cells"]
    assert reason in printed(graded, student)
    assert cells[-1]["outputs"][-1]["ename"] == "DeadKernelError"


@pytest.mark.parametrize("student, reasons", [
    ("tampered_answers_kept", ["claiming to be 'renamed_by_student'", "had nbgrader metadata the instructor did not",
                               "was duplicated", "was missing"]),
    ("tampered_for_points", ["was missing", "had its grade changed", "had its points changed",
                             "had its locked, solution changed", "had its cell type changed",
                             "had nbgrader metadata the instructor did not write"]),
])
def test_tampered_metadata_is_graded_with_the_instructors_cells_and_says_so(graded, student, reasons):
    note = "".join(graded_notebook(graded, student)["cells"][0]["source"])
    assert "graded this notebook with the instructor's cells" in note
    assert [reason for reason in reasons if reason not in note] == []
    assert "instructor's cells" in feedback(graded, student)


def test_feedback_leaks_no_hidden_test_and_runs_no_student_script(graded):
    texts = ["".join(cell["source"]) for cell in json.loads((SOURCE / CHAPTER / NOTEBOOK).read_text())["cells"]]
    shown = "\n".join(strip_regions(text) for text in texts)
    secrets = [line.strip() for text in texts for line in hidden_test_lines(text) if line not in shown]
    unescaped = feedback(graded, "leak").replace("&quot;", '"').replace("&#39;", "'")
    assert [line for line in secrets if len(line) >= 4 and line in unescaped] == []
    assert "<script>document.title='ATTACK" not in unescaped
    assert [line for line in secrets if len(line) >= 4 and line in printed(graded, "leak")]


def test_no_value_of_the_graders_environment_reaches_the_kernel_or_the_feedback(graded):
    assert SECRET not in printed(graded, "spy")
    assert "PYTHONPATH" in printed(graded, "spy")
    assert SECRET not in feedback(graded, "spy")


def test_grading_killed_mid_class_and_run_again_gives_the_same_grades(tmp_path):
    course = new_course(tmp_path)
    release, source = course / "release" / CHAPTER / NOTEBOOK, course / "source" / CHAPTER / NOTEBOOK
    for student in ("a_perfect", "b_perfect", "c_stubs"):
        folder = course / "submitted" / student / CHAPTER
        folder.mkdir(parents=True)
        notebook = answered(release, source) if "perfect" in student else json.loads(release.read_text())
        (folder / NOTEBOOK).write_text(json.dumps(notebook))
    command = [str(Path(sys.executable).parent / "nbgrader"), "autograde", CHAPTER]
    grading = subprocess.Popen(command, cwd=course, env=environment(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    half_done = course / "autograded" / "b_perfect" / CHAPTER / NOTEBOOK
    while not half_done.exists() and grading.poll() is None:
        time.sleep(0.05)
    grading.kill()
    grading.wait()
    assert not (half_done.parent / ".graded").exists()
    nbgrader_command(course, "autograde", CHAPTER)
    assert exported_scores(course) == {"a_perfect": 100.0, "b_perfect": 100.0, "c_stubs": 0.0}
    assert leftover_kernels() == []


# --- One submission never stops a class ----------------------------------------------------------------------

BIN = Path(sys.executable).parent
# A notebook's whole output and time, smaller than a course's, so that the flood and the slow notebook hit them soon.
NOTEBOOK_LIMITS = """
c.SandboxedExecute.max_notebook_output_bytes = 256 * 1024
c.SandboxedExecute.notebook_seconds = 15
"""


def grade_command(course, *students):
    return [str(BIN / "babygrad-course"), "grade", CHAPTER, "--course", str(course), "--workers", "2",
            *(["--student", *students] if students else [])]


@pytest.fixture(scope="module")
def isolated(tmp_path_factory):
    """A class where each attack once stopped `babygrad-course grade` for everyone, graded by that command."""
    course = new_course(tmp_path_factory.mktemp("isolation"))
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(NOTEBOOK_LIMITS)
    write_isolation_class(course)
    started = time.perf_counter()
    done = subprocess.run(grade_command(course), capture_output=True, text=True, timeout=900, env=environment())
    results = json.loads((course / "logs" / CHAPTER / "results.json").read_text())
    return {"course": course, "done": done, "results": results, "seconds": time.perf_counter() - started}


def test_a_submission_that_once_stopped_the_class_costs_only_its_own_grade(isolated):
    done, results = isolated["done"], isolated["results"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert results["a_perfect"]["score"] == 100 and results["a_perfect"]["problem"] == ""
    expected = {**{attack.name: attack.expected for attack in ISOLATED}, **dict.fromkeys(SPECIAL_FILES, 0.0)}
    assert {student: results[student]["score"] for student in expected} == expected
    students = list(expected)
    table = done.stdout.split("problem", 1)[1]
    assert all(f"\n{student} " in table for student in [*students, "a_perfect"])


@pytest.mark.parametrize("student", sorted(SPECIAL_FILES))
def test_a_link_to_a_device_or_a_fifo_is_refused_unread_with_the_reason(isolated, student):
    problem = isolated["results"][student]["problem"]
    assert SPECIAL_FILES[student] in problem and ("symbolic link" in problem or "not a regular file" in problem)


def test_an_export_cell_no_file_can_hold_is_not_graded_and_says_why(isolated):
    assert "UnicodeEncodeError" in isolated["results"]["surrogate"]["problem"]


def test_output_over_the_notebooks_cap_is_cut_and_the_cap_named(isolated):
    path = isolated["course"] / "autograded" / "flood" / CHAPTER / NOTEBOOK
    assert path.stat().st_size < 1024 * 1024
    floods = [cell for cell in json.loads(path.read_text())["cells"] if "".join(cell["source"]) == FLOOD]
    assert len(floods) == 40 and not floods[-1]["outputs"]
    assert "the grader keeps 256 KiB of output per notebook" in "".join(
        "".join(output.get("text", "")) for cell in floods for output in cell["outputs"])


def test_a_notebook_past_its_deadline_is_stopped_and_the_deadline_named(isolated):
    problem = isolated["results"]["slow"]["problem"]
    assert "the grader allows 15 s for a whole notebook" in problem
    assert isolated["results"]["slow"]["seconds"] < 60


def test_no_process_a_submission_left_behind_outlives_its_grading(isolated):
    assert not [process for process in Path("/proc").iterdir()
                if process.name.isdigit() and ORPHAN_MARK in command_line(process.name)]


def test_serial_nbgrader_leaves_out_a_submission_holding_a_link_to_a_device_or_a_fifo(tmp_path):
    course = new_course(tmp_path)
    write_isolation_class(course, isolated=())
    log = nbgrader_command(course, "autograde", CHAPTER)
    assert exported_scores(course) == {"a_perfect": 100.0}
    assert all(f"{student} is not graded: {reason}" in log for student, reason in SPECIAL_FILES.items())


def descendants(pid):
    """Every process started, directly or not, by process `pid`."""
    children = {}
    for process in Path("/proc").iterdir():
        try:
            parent = int((process / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if process.name.isdigit():
            children.setdefault(parent, []).append(int(process.name))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def command_line(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_no_sandbox_or_kernel_outlives_a_grader_killed_mid_class(isolated, tmp_path):
    course = isolated["course"]
    grading = subprocess.Popen(grade_command(course, "slow", "a_perfect"), env=environment(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    started = []
    while time.monotonic() < deadline and not [pid for pid in started if "bwrap" in command_line(pid)]:
        time.sleep(0.2)
        started = descendants(grading.pid)
    assert [pid for pid in started if "ipykernel" in command_line(pid)], "no kernel was started"
    started = descendants(grading.pid)
    grading.kill()
    grading.wait()
    deadline = time.monotonic() + 5  # well before the slow notebook's own deadline
    while time.monotonic() < deadline and [pid for pid in started if alive(pid)]:
        time.sleep(0.2)
    assert [command_line(pid) for pid in started if alive(pid)] == []
