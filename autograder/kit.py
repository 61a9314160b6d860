"""The folder a student works in: `babygrad-course kit DIR`.

It holds the release notebooks, the `coursework` tools they load, and a `babygrad` package made from the release
(every method a stub) plus the library's hand-written parts. As the student fills in cells and exports them, the
package becomes theirs: `import babygrad` in that folder runs their code.
"""
import argparse
import shutil
from pathlib import Path

from autograder.course import HAND_WRITTEN, REFERENCE, RELEASE, REPO, chapter_notebooks
from coursework.export import export_notebook


def make_kit(folder):
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty: choose a new folder, so that no student work is overwritten")
    shutil.copytree(RELEASE, folder, dirs_exist_ok=True)
    shutil.copytree(REPO / "coursework", folder / "coursework", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "babygrad").mkdir()
    for name in HAND_WRITTEN:
        shutil.copy(REFERENCE / name, folder / "babygrad" / name)
    for notebook in chapter_notebooks(folder):
        export_notebook(notebook)
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    folder = make_kit(parser.parse_args(argv).folder)
    print(f"Student kit in {folder}: open it with `jupyter lab {folder}`.")


if __name__ == "__main__":
    main()
