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

from coursework.export import DEFAULT_EXP, EXPORT, added_names, cell_directive, defined_names, export_cells
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
    (JupyterLab does), otherwise by its text. Never by the names it defines: every backward rule defines `backward`."""
    return cell_id or ("text", source.strip())


class CannotTellCellsApart(Exception):
    """The export cannot tell which cell the kernel ran is which cell of the saved notebook, so it writes nothing."""

    def _render_traceback_(self):
        return [f"Not exported: {self}"]


def description(source):
    """A cell as a student recognises it: the names it adds, or else its first line of code."""
    lines = source.strip().split("\n")
    return ", ".join(added_names(source)) or lines[min(1, len(lines) - 1)]


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

        A cell is matched by its id, else by its text. A cell run without an id (nbclient, the classic notebook) and
        edited since the last save is matched by its position: it takes the place of the one unmatched saved cell
        between the same neighbours. When the counts differ there, nothing tells which is which, and the export
        refuses. A cell with an id that is not in the saved file (added since the last save) follows the cell that
        ran just before it; a cell run without an id and found nowhere in the file is left out, and named."""
        saved = export_cells(cells)
        order = list(self.ran)
        match = {}  # saved index -> key of the ran cell it is
        for index, cell in enumerate(saved):
            if cell.get("id") in self.ran:
                match[index] = cell["id"]
        taken = set(match.values())
        for index, cell in enumerate(saved):
            text = cell_key(None, cell["source"])
            if index not in match and text in self.ran and text not in taken:
                match[index], taken = text, taken | {text}
        at = {key: index for index, key in match.items()}
        unmatched_saved, unmatched_ran = {}, {}  # gap (saved index of the matched cell before, or -1) -> [...]
        for index in range(len(saved)):
            if index not in match:
                unmatched_saved.setdefault(max((i for i in match if i < index), default=-1), []).append(index)
        for position, key in enumerate(order):
            if key not in taken and isinstance(key, tuple):
                before = next((at[other] for other in reversed(order[:position]) if other in at), -1)
                unmatched_ran.setdefault(before, []).append(key)
        left_out = []
        for gap, keys in unmatched_ran.items():
            indices = unmatched_saved.get(gap, [])
            if not indices:
                left_out.extend(description(self.ran[key]) for key in keys)
            elif len(indices) == len(keys):
                match.update(zip(indices, keys))
            else:
                raise CannotTellCellsApart(
                    f"this editor does not say which cell is which, and where the saved notebook has "
                    f"{len(indices)} export cell(s) ({'; '.join(description(saved[i]['source']) for i in indices)}), "
                    f"this kernel ran {len(keys)} others ({'; '.join(description(self.ran[k]) for k in keys)}). "
                    "Save the notebook, restart the kernel, run every cell, then run the export cell again.")
        merged = [(match.get(index), self.ran[match[index]] if index in match else cell["source"])
                  for index, cell in enumerate(saved)]
        not_run = [description(cell["source"]) for index, cell in enumerate(saved) if index not in match]
        placed = {key for key, _ in merged}
        for index, key in enumerate(order):
            if key not in placed and not isinstance(key, tuple):
                earlier = set(order[:index])
                position = max((slot + 1 for slot, (other, _) in enumerate(merged) if other in earlier), default=0)
                merged.insert(position, (key, self.ran[key]))
        return [{"cell_type": "code", "source": source} for _, source in merged], not_run, left_out


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
