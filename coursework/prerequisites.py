"""Which earlier chapter is missing from the package: said by the first cell, before a stub fails deep inside it.

A student's package starts as stubs, every method raising `NotImplementedError()` until its chapter is exported.
Chapter 2 builds on chapter 1's `Tensor`, so with chapter 1 unexported its first test would stop inside
`babygrad/tensor.py` with a bare NotImplementedError. Checking the earlier chapters' modules up front names the
chapter to finish and the functions still missing.
"""
import re
import sys
from collections import Counter
from pathlib import Path

from coursework.export import added_names, export_cells, read_cells, stubs

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


def current_chapter(module):
    """The chapter number of the notebook that follows `module`: from its exported file, else the folder we run in."""
    chapter = chapter_of(getattr(module, "__file__", None) or "")
    if chapter:
        return chapter[0]
    match = re.match(r"(\d+)_", Path.cwd().name)
    return int(match[1]) if match else None


def not_the_students(module_path, notebook_path):
    """What in an exported module its notebook does not account for: names defined more than once, and names the
    notebook's export cells define that the module lacks (as when an export wrote one cell in place of others)."""
    written = added_names(Path(module_path).read_text(encoding="utf-8"))
    problems = [f"{name} is defined {count} times" for name, count in Counter(written).items() if count > 1]
    if Path(notebook_path).exists():
        expected = [name for cell in export_cells(read_cells(notebook_path)) for name in added_names(cell["source"])]
        missing = [name for name in dict.fromkeys(expected) if name not in written]
        if missing:
            problems.append(f"{', '.join(missing[:6])}{' and more' if len(missing) > 6 else ''} "
                            f"{'is' if len(missing) == 1 else 'are'} not in it")
    return problems


def unfinished_chapters_message(module):
    """What to do first, when a chapter before `module`'s still has stubs in the package; None when all is there."""
    chapter = current_chapter(module)
    package = sys.modules.get("babygrad")
    if chapter is None or package is None:
        return None
    missing, lines = [], []
    for path in sorted(Path(package.__path__[0]).glob("*.py")):
        earlier = chapter_of(path)
        if earlier and earlier[0] < chapter:
            names = stubs(path)
            if names:
                missing.append((earlier, path, names))
            problems = not_the_students(path, path.parent.parent / earlier[1])
            if problems and not names:
                lines.append(f"Your babygrad/{path.name} is not what chapter {earlier[0]:02d} ({earlier[1]}) defines: "
                             f"{'; '.join(problems)}.\n  Open chapter {earlier[0]:02d}, run every cell, then its "
                             "export cell (its last cell), then run this cell again.")
    for (number, notebook), path, names in missing:
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        lines.append(f"Chapter {number:02d} is missing from your babygrad package: {shown} in {path.name} "
                     f"still raise NotImplementedError.\n  Finish chapter {number:02d} ({notebook}) and run its "
                     "export cell (its last cell) first, then run this cell again.")
    return "\n".join(lines) or None
