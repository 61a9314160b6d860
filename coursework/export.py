"""Turn a chapter notebook into a module of the babygrad package.

A chapter names its module once, in a cell whose first line is `#| default_exp NAME`, and marks every cell that
belongs to the library with a first line `#| export`. Exporting writes those cells, in order, to
`babygrad/NAME.py`: the notebook stays the only place where the code is written.

Run `python -m coursework.export NOTEBOOK... [--package DIR]` from a terminal, or call `export_notebook` from a cell.
"""
import argparse
import json
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


def module_source(notebook_path, origin):
    """The module's name and text; `origin` is how the header names the notebook."""
    cells = read_cells(notebook_path)
    exported = [exported_code(cell["source"]) for cell in cells
                if cell["cell_type"] == "code" and cell_directive(cell["source"]) == EXPORT]
    header = f"# Generated from {origin} by coursework.export. Edit the notebook, not this file.\n"
    return module_name(cells), header + "\n\n\n".join(exported) + "\n"


def export_notebook(notebook_path, package_dir=None):
    """Write the notebook's module into `package_dir` (the `babygrad` folder next to the chapter's folder by default).

    Returns the module's path, or None when there is no package folder there (as when a grader runs the notebook).
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
    name, text = module_source(notebook_path, origin)
    target = package_dir / f"{name}.py"
    target.write_text(text, encoding="utf-8")
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--package", type=Path, help="the babygrad folder to write to")
    arguments = parser.parse_args(argv)
    for notebook in arguments.notebooks:
        target = export_notebook(notebook, arguments.package)
        if target:
            print(f"{notebook} -> {target}")


if __name__ == "__main__":
    main()
