"""Make what is generated from `source/`: the reference package `babygrad/` and the student notebooks `release/`.

    babygrad-course build            write both
    babygrad-course build --check    write nothing; list what differs and exit 1 if anything does
"""
import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from autograder.course import REFERENCE, RELEASE, REPO, SOURCE, chapter_notebooks, chapters, nbgrader, succeeded
from coursework.export import module_source


def reference_modules():
    """Each chapter's module as exported from its instructor notebook: {path in repo: text}."""
    modules = {}
    for notebook in chapter_notebooks(SOURCE):
        name, text = module_source(notebook, notebook.relative_to(REPO).as_posix())
        modules[REFERENCE / f"{name}.py"] = text
    return modules


def release_notebooks():
    """The student notebooks as `nbgrader generate_assignment` makes them: {path in repo: text}."""
    with tempfile.TemporaryDirectory() as course:
        course = Path(course)
        shutil.copytree(SOURCE, course / "source")
        api = nbgrader(course)
        for chapter in chapters(course / "source"):
            succeeded(api.generate_assignment(chapter), f"nbgrader generate_assignment {chapter}")
        return {RELEASE / path.relative_to(course / "release"): path.read_text(encoding="utf-8")
                for path in chapter_notebooks(course / "release")}


def generated_files():
    return {**reference_modules(), **release_notebooks()}


def differences(expected):
    """Paths whose text differs from `expected`, and release notebooks that nothing generates."""
    stale = [path for path, text in expected.items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    orphans = [path for path in chapter_notebooks(RELEASE) if path not in expected]
    return stale + orphans


def write(expected):
    for path in chapter_notebooks(RELEASE):
        if path not in expected:
            path.unlink()
    for path, text in expected.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Regenerate babygrad/ and release/ from source/.")
    parser.add_argument("--check", action="store_true", help="only report what is out of date")
    arguments = parser.parse_args(argv)
    expected = generated_files()
    changed = differences(expected)
    for path in changed:
        print(f"{'out of date' if arguments.check else 'wrote'}: {path.relative_to(REPO)}")
    if arguments.check:
        return 1 if changed else 0
    write(expected)
    return 0


if __name__ == "__main__":
    sys.exit(main())
