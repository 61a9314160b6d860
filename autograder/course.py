"""Where the course's parts live, and nbgrader set up for a course folder."""
import os
import sys
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from traitlets.config.loader import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "source"
RELEASE = REPO / "release"
REFERENCE = REPO / "babygrad"
# The package's modules that no chapter writes; every other module of babygrad is exported from a chapter notebook.
HAND_WRITTEN = ("__init__.py", "viz.py", "stepper.py")


def chapters(source=SOURCE):
    """The assignment ids, one folder per chapter, in teaching order."""
    return sorted(folder.name for folder in source.iterdir() if any(folder.glob("*.ipynb")))


def chapter_notebooks(folder):
    return sorted(Path(folder).glob("*/*.ipynb"))


def nbgrader(root):
    """nbgrader's Python API for the course folder `root`, configured by the repo's nbgrader_config.py."""
    # nbgrader starts `alembic` and the `python` of the kernel by name: find this environment's, even when it
    # was not activated.
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ["PATH"]
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    config.CourseDirectory.root = str(Path(root).resolve())
    return NbGraderAPI(config=config)


def succeeded(result, what):
    """Raise with nbgrader's own log when one of its steps failed."""
    if not result["success"]:
        raise RuntimeError(f"{what} failed:\n{result.get('log', '')}\n{result.get('error', '')}")
    return result
