"""The instructor's distribution installs from its wheel: the course's files travel in it, and a course runs from a
fresh environment with nothing of this checkout."""
import csv
import json
import shutil
import subprocess
from pathlib import Path

from tests.environments import UV, fresh_environment, isolated

REPO = Path(__file__).resolve().parent.parent
# What the wheel is built from; the rest of the checkout (tests, benchmarks, a build/ left over) stays behind.
LEFT_OUT = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
BUILT_FROM = ["pyproject.toml", "README.md", "nbgrader_config.py", "source", "release", "babygrad", "coursework",
              "autograder"]


def build_wheel(folder):
    """The wheel, built from a copy of the files it is made of, so nothing is written into the checkout."""
    tree = folder / "tree"
    tree.mkdir()
    for name in BUILT_FROM:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, tree / name, ignore=LEFT_OUT)
        else:
            shutil.copy(REPO / name, tree / name)
    subprocess.run([UV, "build", "--quiet", "--wheel", "--out-dir", str(folder / "dist"), str(tree)], check=True)
    (wheel,) = (folder / "dist").glob("babygrad_course-*.whl")
    return wheel


def test_an_instructor_who_installs_the_wheel_grades_the_instructors_answers_100(tmp_path):
    venv = fresh_environment(tmp_path / "venv", f"{build_wheel(tmp_path)}[course]")
    env = isolated(venv, tmp_path)

    def command(*arguments, cwd=tmp_path):
        done = subprocess.run([str(venv / arguments[0]), *arguments[1:]], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, f"{' '.join(arguments)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    where = command("python", "-c", "from autograder.course import REPO, REFERENCE; print(REPO, REFERENCE)").split()
    assert all(Path(path).is_relative_to(tmp_path / "venv") for path in where), where   # none of this checkout

    command("babygrad-course", "init", "course")
    course = tmp_path / "course"
    assert (course / "release" / "01_tensor" / "tensor.ipynb").is_file()
    answers = course / "submitted" / "teacher" / "01_tensor"
    answers.mkdir(parents=True)
    shutil.copy(course / "source" / "01_tensor" / "tensor.ipynb", answers / "tensor.ipynb")

    command("nbgrader", "autograde", "01_tensor", cwd=course)
    command("nbgrader", "export", cwd=course)
    with open(course / "grades.csv") as grades:
        score = [(row["score"], row["max_score"]) for row in csv.DictReader(grades)
                 if (row["student_id"], row["assignment"]) == ("teacher", "01_tensor")]
    assert score == [("100.0", "100.0")]

    assert "report.html" in command("babygrad-course", "report", "--course", "course")
    command("babygrad-course", "kit", "kit")
    assert (tmp_path / "kit" / "requirements.txt").is_file()
    assert json.loads((tmp_path / "kit" / "01_tensor" / "tensor.ipynb").read_text())["cells"]
