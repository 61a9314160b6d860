"""Let a chapter notebook's `#| export` cells take effect in the babygrad package the moment they run.

Load it in a notebook with `%load_ext coursework.live`. Each time an export cell runs without error, the names it
defines are set on the chapter's module (the one named by `#| default_exp`). Library code that looks a name up in
that module, such as `Tensor.__add__` finding `Add`, then runs the student's newest definition: no restart and no
export needed.
"""
import ast
import importlib
import sys
import types

from coursework.export import DEFAULT_EXP, EXPORT, cell_directive


def defined_names(source):
    """The names a cell binds at its top level: functions, classes and assigned variables."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(statement.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names.extend(target.id for target in targets if isinstance(target, ast.Name))
    return names


def chapter_module(name):
    """The module `babygrad.NAME`, made empty if the package does not have it yet."""
    full_name = f"babygrad.{name}"
    try:
        return importlib.import_module(full_name)
    except ModuleNotFoundError as error:
        if error.name != full_name:
            raise
    module = types.ModuleType(full_name)
    sys.modules[full_name] = module
    setattr(importlib.import_module("babygrad"), name, module)
    return module


class LiveExport:
    """Copies what each export cell defines from the notebook onto the chapter's module."""

    def __init__(self, shell):
        self.shell = shell
        self.module = None

    def after_cell(self, result):
        if not result.success:
            return
        self.follow(result.info.raw_cell)

    def follow(self, source):
        directive = cell_directive(source)
        if directive is None:
            return
        if directive.startswith(DEFAULT_EXP):
            self.module = chapter_module(directive[len(DEFAULT_EXP):].strip())
        elif directive == EXPORT and self.module is not None:
            for name in defined_names(source):
                setattr(self.module, name, self.shell.user_ns[name])


def load_ipython_extension(shell):
    live = LiveExport(shell)
    # The cell that loads the extension is running now: read its `#| default_exp` before the hook exists.
    live.follow(shell.user_ns["In"][-1] if shell.user_ns.get("In") else "")
    shell.events.register("post_run_cell", live.after_cell)
