"""The folder a student works in: `babygrad-course kit DIR [--zip]`.

It holds the release notebooks, the `coursework` tools they load, a `babygrad` package made from the release
(every method a stub) plus the library's hand-written parts, a README that says how to install, open and hand in,
and the requirements.txt to install from. As the student fills in cells and exports them, the package becomes
theirs: `import babygrad` in that folder runs their code. The kit stands alone: nothing else of the course, and
no answer, is needed to work through it.
"""
import argparse
import importlib.metadata
import shutil
from pathlib import Path

from packaging.requirements import Requirement

from autograder.course import HAND_WRITTEN, PACKAGES, REFERENCE, RELEASE, chapter_notebooks
from coursework.export import export_notebook

# What the notebooks import, with the versions the course is tested with (pyproject.toml): NumPy, Graphviz's
# Python package and the graphviz-pure program to draw graphs, JupyterLab to open the notebooks, ipywidgets for
# the backward stepper's buttons, and chapter 5's digits (scikit-learn) and plots (matplotlib).
STUDENT_PACKAGES = ("numpy", "graphviz", "graphviz-pure", "jupyterlab", "ipywidgets", "scikit-learn", "matplotlib")

README = """\
# babygrad: your kit

In this folder you build **babygrad**, a small deep-learning library with automatic differentiation, one notebook
cell at a time. Each chapter is a folder with its notebooks (`01_tensor/`, `02_operations/`, ...); `babygrad/` is
the package your notebooks write, and `coursework/` the tools they load. Keep the folder's layout as it is.

## 1. Install (once)

With Python 3.10 or newer, in this folder:

    python3 -m venv .venv
    .venv/bin/pip install -r requirements.txt

(On Windows: `py -m venv .venv`, then `.venv\\Scripts\\pip install -r requirements.txt`.) On the course's
JupyterHub all of this is installed already: go to step 2.

## 2. Open

    .venv/bin/jupyter lab

(Windows: `.venv\\Scripts\\jupyter lab`.) Open `01_tensor/tensor.ipynb` and run its first cell. For each task,
read, fill in the cell under `# YOUR CODE HERE`, run it, then run the test below it. The last cell of a chapter
exports your code into `babygrad/`: from then on `import babygrad` in this folder runs your code, and the next
chapter builds on it. Work through the chapters in order; a chapter's first cell says if an earlier one is not
finished yet.

## 3. Hand in

Only your notebooks are graded, each in a fresh environment of its own, so the code a notebook needs must be in
that notebook (which it is, if you kept to its cells).

- **On the course's JupyterHub:** open *Nbgrader → Assignment List* and press *Submit* next to the chapter.
  You may submit again until the deadline; the last submission counts.
- **Through a learning platform:** upload the chapter's notebook files (such as `01_tensor/tensor.ipynb`), or
  the chapter's folder as a zip if your instructor asks for one:

      python -m zipfile -c 01_tensor.zip 01_tensor
"""


def requirements():
    """The lines of requirements.txt: each of STUDENT_PACKAGES with the version pyproject.toml asks for."""
    wanted = {}
    for line in importlib.metadata.requires("babygrad-course"):
        requirement = Requirement(line)
        if requirement.name in STUDENT_PACKAGES:
            wanted.setdefault(requirement.name, f"{requirement.name}{requirement.specifier}")
    return [wanted[name] for name in STUDENT_PACKAGES]


def make_kit(folder):
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty: choose a new folder, so that no student work is overwritten")
    shutil.copytree(RELEASE, folder, dirs_exist_ok=True)
    shutil.copytree(PACKAGES / "coursework", folder / "coursework", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "babygrad").mkdir()
    for name in HAND_WRITTEN:
        shutil.copy(REFERENCE / name, folder / "babygrad" / name)
    for notebook in chapter_notebooks(folder):
        export_notebook(notebook)
    (folder / "README.md").write_text(README)
    (folder / "requirements.txt").write_text("\n".join(requirements()) + "\n")
    return folder


def make_zip(folder):
    """`folder` as FOLDER.zip beside it, for a learning platform: unpacked, it is the folder itself."""
    folder = Path(folder).resolve()
    return Path(shutil.make_archive(str(folder), "zip", root_dir=folder.parent, base_dir=folder.name))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--zip", action="store_true", help="also write FOLDER.zip, to upload to a learning platform")
    arguments = parser.parse_args(argv)
    folder = make_kit(arguments.folder)
    print(f"Student kit in {folder}: open it with `jupyter lab {folder}`.")
    if arguments.zip:
        print(f"To upload: {make_zip(folder)}")


if __name__ == "__main__":
    main()
