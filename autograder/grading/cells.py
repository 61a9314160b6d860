"""A submission's cells checked against the instructor's, before anything runs.

nbgrader trusts the nbgrader metadata a submission carries: a test cell whose grade_id was changed or removed,
a duplicated cell, or `"grade": false` on a test cell ends in `KeyError: 'grade_id'` or "Inconsistent checksums"
from its internals, or in a test that no longer counts. `RestoreInstructorCells` runs first among nbgrader's
sanitizing steps and rebuilds every graded or locked cell from the gradebook, so the notebook is graded with the
instructor's cells, and says at the top of the notebook (and so in the feedback) what it put back.
"""
import fnmatch
import json
import os
import re
import stat
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

NOTE = "**The grader graded this notebook with the instructor's cells:**\n\n"


class RestoreInstructorCells(NbGraderPreprocessor):
    """Every graded or locked cell as the instructor wrote it; the student's text only in solution cells."""

    def preprocess(self, nb, resources):
        notebook, chapter = resources["nbgrader"]["notebook"], resources["nbgrader"]["assignment"]
        with Gradebook(resources["nbgrader"]["db_url"]) as gradebook:
            cells = self.instructor_cells(gradebook.find_notebook(notebook, chapter))
        released = self.released_cells(chapter, notebook)
        order = [name for name in released if name in cells] + [name for name in cells if name not in released]
        reasons = []
        kept, seen = [], set()
        for cell in nb.cells:
            claimed = cell.get("metadata", {}).get("nbgrader")
            if claimed is None:
                kept.append(cell)
                continue
            name = claimed.get("grade_id") if isinstance(claimed, dict) else None
            if name not in cells or name in seen:
                why = "was duplicated" if name in seen else "had nbgrader metadata the instructor did not write"
                reasons.append(f"a cell{f' claiming to be {name!r}' if name else ''} {why}: it ran as a plain cell")
                del cell.metadata["nbgrader"]
                kept.append(cell)
                continue
            seen.add(name)
            kept.append(self.restored(cell, cells[name], released.get(name), reasons))
        for name in order:
            if name not in seen:
                reasons.append(f"cell {name!r} was missing: the instructor's was put back")
                kept.insert(self.place(kept, name, order), cells[name])
                seen.add(name)
        if reasons:
            self.log.warning("%s: %s", resources["nbgrader"]["student"], "; ".join(reasons))
            note = NOTE + "\n".join(f"- {reason}" for reason in reasons)
            kept.insert(0, cell_with_id("grader-note", "markdown", note))
        if nb.get("nbformat_minor", 5) < 5:  # cell ids came with nbformat 4.5
            for cell in kept:
                cell.pop("id", None)
        nb.cells = kept
        return nb, resources

    @staticmethod
    def instructor_cells(instructor):
        """{grade_id: the cell the instructor released, with the metadata nbgrader computed its checksum from}."""
        points = {cell.name: cell.max_score for cell in [*instructor.grade_cells, *instructor.task_cells]}
        grades = {cell.name for cell in instructor.grade_cells}
        tasks = {cell.name for cell in instructor.task_cells}
        solutions = {cell.name for cell in instructor.solution_cells}
        cells = {}
        for source in instructor.source_cells:
            metadata = {"grade": source.name in grades, "grade_id": source.name, "locked": source.locked,
                        "schema_version": 3, "solution": source.name in solutions, "task": source.name in tasks,
                        "checksum": source.checksum}
            if source.name in points:
                metadata["points"] = points[source.name]
            cell = cell_with_id(source.name, source.cell_type, source.source)
            cell.metadata = nbformat.from_dict({"nbgrader": metadata, "editable": not source.locked,
                                                "deletable": False})
            cells[source.name] = cell
        return cells

    @staticmethod
    def restored(cell, instructor, released, reasons):
        """The instructor's cell, holding the student's text when it is a solution cell of the same type."""
        name = instructor.metadata.nbgrader["grade_id"]
        claimed = cell.metadata.nbgrader
        changed = sorted(key for key in ("grade", "solution", "locked", "points", "task")
                         if key in instructor.metadata.nbgrader and claimed.get(key) != instructor.metadata.nbgrader[key])
        if cell.cell_type != instructor.cell_type:
            changed.append("cell type")
        if changed:
            reasons.append(f"cell {name!r} had its {', '.join(changed)} changed: the instructor's were used")
        restored = nbformat.from_dict(instructor)
        if instructor.metadata.nbgrader["solution"] and cell.cell_type == instructor.cell_type:
            restored.source = cell.source
        elif not changed and released is not None and cell.source != released:
            reasons.append(f"cell {name!r} was edited: the instructor's version ran")
        if "id" in cell:
            restored.id = cell.id
        return restored

    def released_cells(self, chapter, notebook):
        """{grade_id: source} of the released notebook, in its order (hidden tests are not in the release)."""
        root = Path(self.config.CourseDirectory.get("root", os.getcwd()))
        path = root / "release" / chapter / f"{notebook}.ipynb"
        if not path.exists():
            return {}
        cells = nbformat.from_dict(json.loads(path.read_text(encoding="utf-8"))).cells
        return {cell.metadata["nbgrader"]["grade_id"]: "".join(cell.source) for cell in cells
                if "grade_id" in cell.metadata.get("nbgrader", {})}

    @staticmethod
    def place(cells, name, order):
        """Where a missing cell goes: after the nearest cell before it in the instructor's order."""
        index = {cell.metadata["nbgrader"]["grade_id"]: position for position, cell in enumerate(cells)
                 if "grade_id" in cell.get("metadata", {}).get("nbgrader", {})}
        for before in reversed(order[:order.index(name)]):
            if before in index:
                return index[before] + 1
        return 0


def cell_with_id(name, cell_type, source):
    """A new cell whose id follows from `name`: sanitizing the same notebook twice gives the same notebook."""
    cell = nbformat.from_dict({"id": re.sub(r"[^A-Za-z0-9_-]", "-", name)[:64] or "cell", "cell_type": cell_type,
                               "metadata": {}, "source": source})
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


class RefuseLinkedFiles(NbGraderPreprocessor):
    """A submission holding a symbolic link or a special file, or a notebook outside its folder, is not graded.

    A link could hand in another file as the student's (a classmate's notebook, the instructor's answers), and
    nbgrader would read and copy what it points to; a FIFO or a device (a link to /dev/zero) would never end.
    """

    def preprocess(self, nb, resources):
        folder = Path(resources["metadata"]["path"])
        if folder.resolve() != folder.absolute():
            raise LinkedSubmissionError(f"{folder} is a symbolic link: {ONLY_REGULAR_FILES}")
        for _ in submission_files(folder, read=lambda path: None):
            pass
        return nb, resources


class LinkedSubmissionError(Exception):
    """A submission that points outside itself, or holds a file that is not a regular one."""


ONLY_REGULAR_FILES = "the grader grades only regular files inside the submission's folder"


def refused_submissions(root, chapter="*"):
    """{student: why} for each submission of `chapter` in `root`/submitted holding a link or a special file.

    nbgrader copies a submission's files, following links, before any step of ours runs: a link to /dev/zero
    would fill the disk, and a FIFO would block it for ever. Serial nbgrader leaves these students out
    (`CourseDirectory.student_id_exclude`, set in nbgrader_config.py) and says why; parallel grading refuses them
    as it reads them."""
    refused = {}
    for folder in sorted(Path(root, "submitted").glob(f"*/{chapter}")):
        try:
            if folder.parent.is_symlink() or folder.is_symlink():
                raise LinkedSubmissionError(f"{folder} is a symbolic link: {ONLY_REGULAR_FILES}")
            for _ in submission_files(folder, read=lambda path: None):
                pass
        except (LinkedSubmissionError, OSError) as error:
            refused[folder.parent.name] = f"{type(error).__name__}: {error}"
    return refused


def submission_files(folder, ignore=(), read=None, max_bytes=None):
    """(path inside `folder`, what `read` gives for it) for each regular file that no `ignore` glob names.

    Nothing is followed and nothing blocks: a symbolic link or a special file (a FIFO, a device, a socket) anywhere
    raises LinkedSubmissionError, as does a file past `max_bytes`. `read(path)` defaults to the file's bytes."""
    read = read or (lambda path: read_regular_file(path, max_bytes))
    pending = [Path(folder)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in sorted(entries, key=lambda entry: entry.name):
                path = Path(entry.path)
                if entry.is_symlink():
                    raise LinkedSubmissionError(f"{path} is a symbolic link: {ONLY_REGULAR_FILES}")
                if any(fnmatch.fnmatch(entry.name, pattern) for pattern in ignore):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    pending.append(path)
                elif entry.is_file(follow_symlinks=False):
                    yield path.relative_to(folder).as_posix(), read(path)
                else:
                    raise LinkedSubmissionError(f"{path} is not a regular file: {ONLY_REGULAR_FILES}")


def read_regular_file(path, max_bytes=None):
    """The bytes of `path`, opened without following a link and without blocking; only a regular file is read."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(descriptor, "rb") as file:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise LinkedSubmissionError(f"{path} is not a regular file: {ONLY_REGULAR_FILES}")
        data = file.read() if max_bytes is None else file.read(max_bytes + 1)
        if max_bytes is not None and len(data) > max_bytes:
            raise LinkedSubmissionError(f"{path} is larger than the grader reads ({max_bytes // 1000} kB, "
                                        "CourseDirectory.max_file_size)")
        return data
