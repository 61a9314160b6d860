"""Which earlier chapter is missing from the package: said by the first cell, before a stub fails deep inside it.

A student's package starts as stubs, every method raising `NotImplementedError()` until its chapter is exported.
Chapter 2 builds on chapter 1's `Tensor`, so with chapter 1 unexported its first test would stop inside
`babygrad/tensor.py` with a bare NotImplementedError. Checking the earlier chapters' modules up front names the
chapter to finish and the functions still missing.
"""
import ast
import re
import sys
from pathlib import Path

from coursework.export import extended_class

# The first line that coursework.export writes: "# Generated from [source/]01_tensor/tensor.ipynb by ...".
HEADER = re.compile(r"# Generated from (?:.*/)?(\d+)_[^/]+/\S+\.ipynb ")


def chapter_of(module_path):
    """(chapter number, 'NN_name/notebook.ipynb') of an exported module, or None for a module written by hand."""
    try:
        first_line = Path(module_path).read_text(encoding="utf-8").split("\n", 1)[0]
    except OSError:
        return None
    match = HEADER.match(first_line)
    if not match:
        return None
    notebook = first_line[len("# Generated from "):].split(" ", 1)[0]
    return int(match[1]), "/".join(notebook.split("/")[-2:])


def is_stub(function):
    """A function whose body raises nbgrader's placeholder, `NotImplementedError()` with no message."""
    for statement in function.body:
        if isinstance(statement, ast.Raise) and statement.exc is not None:
            error = statement.exc
            if isinstance(error, ast.Call) and not error.args and not error.keywords:
                error = error.func
            if isinstance(error, ast.Name) and error.id == "NotImplementedError":
                return True
    return False


def stubs(module_path):
    """The functions of a module that are still stubs, named as a reader would: `as_array`, `Tensor.shape`."""
    tree = ast.parse(Path(module_path).read_text(encoding="utf-8"))
    found = []
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef) and is_stub(statement):
            owner = extended_class(statement)
            found.append(f"{owner}.{statement.name}" if owner else statement.name)
        elif isinstance(statement, ast.ClassDef):
            found.extend(f"{statement.name}.{method.name}" for method in statement.body
                         if isinstance(method, ast.FunctionDef) and is_stub(method))
    return found


def current_chapter(module):
    """The chapter number of the notebook that follows `module`: from its exported file, else the folder we run in."""
    chapter = chapter_of(getattr(module, "__file__", None) or "")
    if chapter:
        return chapter[0]
    match = re.match(r"(\d+)_", Path.cwd().name)
    return int(match[1]) if match else None


def unfinished_chapters_message(module):
    """What to do first, when a chapter before `module`'s still has stubs in the package; None when all is there."""
    chapter = current_chapter(module)
    package = sys.modules.get("babygrad")
    if chapter is None or package is None:
        return None
    missing = []
    for path in sorted(Path(package.__path__[0]).glob("*.py")):
        earlier = chapter_of(path)
        if earlier and earlier[0] < chapter:
            names = stubs(path)
            if names:
                missing.append((earlier, path, names))
    if not missing:
        return None
    lines = []
    for (number, notebook), path, names in missing:
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        lines.append(f"Chapter {number:02d} is missing from your babygrad package: {shown} in {path.name} "
                     f"still raise NotImplementedError.\n  Finish chapter {number:02d} ({notebook}) and run its "
                     "export cell (its last cell) first, then run this cell again.")
    return "\n".join(lines)
