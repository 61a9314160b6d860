"""Where the course's parts live, and nbgrader set up for a course folder."""
import os
import re
import sys
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

# Where the packages babygrad, coursework and autograder are: the checkout, or site-packages when installed.
PACKAGES = Path(__file__).resolve().parent.parent
# The course's files: nbgrader_config.py, source/ and release/. They sit at the top of the checkout; an installed
# wheel carries them as the package data autograder/course_files/ (pyproject.toml).
INSTALLED_FILES = Path(__file__).resolve().parent / "course_files"
REPO = INSTALLED_FILES if INSTALLED_FILES.is_dir() else PACKAGES
SOURCE = REPO / "source"
RELEASE = REPO / "release"
REFERENCE = PACKAGES / "babygrad"
# The package's modules that no chapter writes; every other module of babygrad is exported from a chapter notebook.
HAND_WRITTEN = ("__init__.py", "viz.py", "stepper.py")


def chapters(source=SOURCE):
    """The assignment ids, one folder per chapter, in teaching order."""
    return sorted(folder.name for folder in source.iterdir() if any(folder.glob("*.ipynb")))


def chapter_notebooks(folder):
    return sorted(Path(folder).glob("*/*.ipynb"))


def nbgrader(root):
    """nbgrader's Python API for the course folder `root`, configured by the repo's nbgrader_config.py."""
    return nbgrader_for_course(root, config=course_config(REPO))


def course_config(folder):
    """The nbgrader configuration in `folder`/nbgrader_config.py."""
    if not (Path(folder) / "nbgrader_config.py").is_file():
        raise FileNotFoundError(f"{folder} has no nbgrader_config.py: is it a course folder (babygrad-course init)?")
    return PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()


def nbgrader_for_course(root, config=None, db_url=None):
    """nbgrader's Python API for the course folder `root`, configured by `config` (default: the folder's own)."""
    # nbgrader starts `alembic` and the `python` of the kernel by name: find this environment's, even when it
    # was not activated.
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ["PATH"]
    from nbgrader.apps import NbGraderAPI  # seconds to import: only when nbgrader is wanted
    config = config if config is not None else course_config(root)
    config.CourseDirectory.root = str(Path(root).resolve())
    if db_url:
        config.CourseDirectory.db_url = database_url(db_url)
    return NbGraderAPI(config=config)


def database_url(url):
    """A gradebook's URL for SQLAlchemy, with PostgreSQL's in any spelling (postgresql://, postgres://,
    postgresql+psycopg://) through psycopg2, the driver the course installs; any other URL as it is."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme.split("+")[0] in ("postgresql", "postgres"):
        return f"postgresql+psycopg2://{rest}"
    return url


def shown_url(url):
    """A gradebook's URL as a message may show it: without its password."""
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


def set_gradebook(folder, url):
    """Make `url` the gradebook of every command run in the course folder, nbgrader's own included."""
    config = Path(folder) / "nbgrader_config.py"
    text, count = re.subn(r"(?m)^GRADEBOOK = None$", f"GRADEBOOK = {database_url(url)!r}", config.read_text())
    if count != 1:
        raise ValueError(f"{config} has no line `GRADEBOOK = None` to set the gradebook in")
    config.write_text(text)


def succeeded(result, what):
    """Raise with nbgrader's own log when one of its steps failed."""
    if not result["success"]:
        raise RuntimeError(f"{what} failed:\n{result.get('log', '')}\n{result.get('error', '')}")
    return result
