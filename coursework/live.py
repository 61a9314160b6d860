"""Let a chapter notebook's `#| export` cells take effect in the babygrad package the moment they run.

Load it in a notebook with `%load_ext coursework.live`. Each time an export cell runs without error, the names it
defines are set on the chapter's module (the one named by `#| default_exp`). Library code that looks a name up in
that module, such as `Tensor.__add__` finding `Add`, then runs the student's newest definition: no restart and no
export needed. The binding also remembers each export cell as it last ran, so that the export cell writes into the
package what the kernel ran, whether or not the notebook was saved since.
"""
import importlib
import sys
import types

from IPython.core.error import UsageError

from coursework.export import DEFAULT_EXP, EXPORT, cell_directive, defined_names, export_cells
from coursework.prerequisites import unfinished_chapters_message

ACTIVE = None  # this kernel's binding, while the extension is loaded


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


def cell_key(cell_id, source):
    """How a cell is recognised between the kernel and the saved notebook: by its id when the front end sends one
    (JupyterLab does), otherwise by the names it defines (or, defining none, by its text)."""
    if cell_id:
        return cell_id
    names = defined_names(source)
    return ("defines", *names) if names else ("text", source.strip())


class LiveExport:
    """Copies what each export cell defines from the notebook onto the chapter's module, and remembers the cell."""

    def __init__(self, shell):
        self.shell = shell
        self.module = None
        self.ran = {}  # cell key -> the export cell's source as it last ran without error; in the order first run

    def after_cell(self, result):
        if not result.success:
            return
        self.follow(result.info.raw_cell, getattr(result.info, "cell_id", None))

    def follow(self, source, cell_id=None):
        directive = cell_directive(source)
        if directive is None:
            return
        if directive.startswith(DEFAULT_EXP):
            module = chapter_module(directive[len(DEFAULT_EXP):].strip())
            if module is not self.module:
                self.module, self.ran = module, {}
        elif directive == EXPORT and self.module is not None:
            for name in defined_names(source):
                setattr(self.module, name, self.shell.user_ns[name])
            self.ran[cell_key(cell_id, source)] = source

    def as_run(self, cells):
        """The saved notebook's export cells, each as this kernel last ran it, and descriptions of those it never ran.

        A cell that ran here but is not in the saved file (added since the last save) follows the cell that ran
        just before it; a cell the kernel never ran stays as saved."""
        merged, not_run = [], []  # merged: (key or None, source)
        for cell in export_cells(cells):
            key = next((key for key in (cell.get("id"), cell_key(None, cell["source"])) if key in self.ran), None)
            merged.append((key, self.ran[key] if key else cell["source"]))
            if key is None:
                lines = cell["source"].strip().split("\n")
                not_run.append(", ".join(defined_names(cell["source"])) or lines[min(1, len(lines) - 1)])
        placed = {key for key, _ in merged}
        order = list(self.ran)
        for index, key in enumerate(order):
            if key not in placed:
                earlier = set(order[:index])
                position = max((at + 1 for at, (other, _) in enumerate(merged) if other in earlier), default=0)
                merged.insert(position, (key, self.ran[key]))
        return [{"cell_type": "code", "source": source} for _, source in merged], not_run


def binding_for(name):
    """This kernel's binding if it follows the module `babygrad.NAME`, else None."""
    if ACTIVE is not None and ACTIVE.module is not None and ACTIVE.module.__name__ == f"babygrad.{name}":
        return ACTIVE
    return None


def load_ipython_extension(shell):
    global ACTIVE
    if ACTIVE is None:  # one hook per kernel, however often the first cell runs
        ACTIVE = LiveExport(shell)
        shell.events.register("post_run_cell", ACTIVE.after_cell)
    # The cell that loads the extension is running now: read its `#| default_exp` before the hook sees it.
    ACTIVE.follow(shell.user_ns["In"][-1] if shell.user_ns.get("In") else "")
    if ACTIVE.module is not None:
        message = unfinished_chapters_message(ACTIVE.module)
        if message:
            raise UsageError(message)


def unload_ipython_extension(shell):
    global ACTIVE
    if ACTIVE is not None:
        shell.events.unregister("post_run_cell", ACTIVE.after_cell)
        ACTIVE = None
