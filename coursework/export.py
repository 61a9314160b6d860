"""Turn a chapter notebook into a module of the babygrad package.

A chapter names its module once, in a cell whose first line is `#| default_exp NAME`, and marks every cell that
belongs to the library with a first line `#| export`. Exporting writes those cells, in order, to
`babygrad/NAME.py`: the notebook stays the only place where the code is written.

Run `python -m coursework.export NOTEBOOK... [--package DIR]` from a terminal, or call `export_notebook` from a cell.
From a cell of a notebook that loaded `coursework.live`, it writes each export cell as the kernel last ran it, so
what the student ran is what the package gets, saved or not.
"""
import argparse
import ast
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

EXPORT = "#| export"
DEFAULT_EXP = "#| default_exp"
# nbgrader's solution markers: the reference keeps the code between them and drops the marker lines.
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def cell_directive(source):
    """The `#| ...` directive on a cell's first line, or None."""
    first_line = source.lstrip("\n").split("\n", 1)[0].strip()
    return first_line if first_line.startswith("#|") else None


def module_name(cells):
    """The NAME of the notebook's `#| default_exp NAME` cell."""
    for cell in cells:
        directive = cell_directive(cell["source"]) if cell["cell_type"] == "code" else None
        if directive and directive.startswith(DEFAULT_EXP):
            return directive[len(DEFAULT_EXP):].strip()
    raise ValueError("the notebook has no '#| default_exp NAME' cell, so there is no module to export to")


def exported_code(source):
    """A cell's code as it goes into the module: without its directive line and nbgrader's solution markers."""
    lines = source.lstrip("\n").split("\n")[1:]
    kept = [line for line in lines if line.strip() not in SOLUTION_MARKERS]
    return "\n".join(kept).strip("\n")


def defined_names(source):
    """The names a cell binds at its top level: functions, classes and assigned variables."""
    return [name for name, _ in top_level_definitions(source)]


def added_names(source):
    """What a cell adds, as a reader names it: `Tensor.exp` for a method added with `@extend(Tensor)`."""
    return [f"{owner}.{name}" if owner else name for name, owner in top_level_definitions(source)]


def extended_class(definition):
    """The class named in a definition's `@extend(CLASS)` decorator, or None."""
    for decorator in definition.decorator_list:
        if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "extend" and decorator.args:
            return ast.unparse(decorator.args[0])
    return None


def top_level_definitions(source):
    """(name, class it extends or None) for each name a cell binds at its top level."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append((statement.name, extended_class(statement)))
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            found.extend((target.id, None) for target in targets if isinstance(target, ast.Name))
    return found


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


def read_cells(notebook_path):
    """The cells of a notebook, each with its source as one string."""
    path = Path(notebook_path)
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not a valid notebook: {error}") from None
    cells = notebook.get("cells", [])
    for cell in cells:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
    return cells


def export_cells(cells):
    """The cells that go into the module, in order."""
    return [cell for cell in cells if cell["cell_type"] == "code" and cell_directive(cell["source"]) == EXPORT]


def module_text(cells, origin):
    header = f"# Generated from {origin} by coursework.export. Edit the notebook, not this file.\n"
    return header + "\n\n\n".join(exported_code(cell["source"]) for cell in export_cells(cells)) + "\n"


def module_source(notebook_path, origin):
    """The module's name and text; `origin` is how the header names the notebook."""
    cells = read_cells(notebook_path)
    return module_name(cells), module_text(cells, origin)


@dataclass
class Exported:
    """What an export wrote. In a notebook it shows as a sentence naming the module and what it defines."""
    path: Path
    module: str
    names: list
    as_run: bool = False  # written from the cells as the kernel ran them, rather than from the saved file
    not_run: list = field(default_factory=list)  # export cells the kernel has not run: written as last saved
    left_out: list = field(default_factory=list)  # cells run without an id that the saved notebook does not hold
    stubs: list = field(default_factory=list)  # exported functions that still raise NotImplementedError()

    def __str__(self):
        source = "the export cells as this kernel ran them" if self.as_run else "the saved notebook"
        lines = [f"Exported {self.module} to {self.path}, from {source}.",
                 f"It defines: {', '.join(self.names) or 'nothing yet'}."]
        if self.not_run:
            lines.append("Not run in this kernel, so exported as last saved: " + "; ".join(self.not_run) + ".")
        if self.left_out:
            lines.append("Run in this kernel but not in the saved notebook, so not exported (save the notebook and "
                         "export again if they belong in it): " + "; ".join(self.left_out) + ".")
        if self.stubs:
            lines.append(f"Still stubs, raising NotImplementedError: {', '.join(self.stubs)}. "
                         "Fill them in, run their cells, and run this cell again.")
        return "\n".join(lines)

    __repr__ = __str__


def export_notebook(notebook_path, package_dir=None):
    """Write the notebook's module into `package_dir` (the `babygrad` folder next to the chapter's folder by default).

    In a kernel where `coursework.live` follows this notebook's module, each export cell is written as the kernel
    last ran it, saved or not. Returns an `Exported`, or None when there is no package folder there (as when a
    grader runs the notebook).
    """
    notebook_path = Path(notebook_path).resolve()
    if package_dir is None:
        package_dir = notebook_path.parent.parent / "babygrad"
        if not (package_dir / "__init__.py").exists():
            print(f"Not exported: there is no babygrad package at {package_dir}.")
            return None
    package_dir = Path(package_dir)
    try:
        origin = notebook_path.relative_to(package_dir.resolve().parent).as_posix()
    except ValueError:
        origin = notebook_path.name
    cells = read_cells(notebook_path)
    name = module_name(cells)
    live = sys.modules.get("coursework.live")  # loaded by the notebook's first cell, if this is a notebook's kernel
    binding = live.binding_for(name) if live else None
    not_run, left_out = [], []
    if binding:
        cells, not_run, left_out = binding.as_run(cells)
    target = package_dir / f"{name}.py"
    target.write_text(module_text(cells, origin), encoding="utf-8")
    names = [added for cell in export_cells(cells) for added in added_names(cell["source"])]
    return Exported(target, f"babygrad.{name}", list(dict.fromkeys(names)), bool(binding), not_run, left_out,
                    stubs(target))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--package", type=Path, help="the babygrad folder to write to")
    arguments = parser.parse_args(argv)
    for notebook in arguments.notebooks:
        exported = export_notebook(notebook, arguments.package)
        if exported:
            print(exported)


if __name__ == "__main__":
    main()
