"""nbgrader's OverwriteCells, quiet about the cells it restores as a matter of course.

A test cell in the release lacks its hidden tests, so its checksum never matches the instructor's, and nbgrader
warns "Attribute 'checksum' ... has changed!" for every such cell of every submission, the untouched release too.
nbgrader puts the instructor's cell back either way. This class logs that at debug level when the student's
cell is the released one, and keeps the warning, in plain words, for a cell the student edited.
"""
import os

import nbformat
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import OverwriteCells


class RestoreInstructorCells(OverwriteCells):

    def preprocess(self, nb, resources):
        self.released = self.released_checksums(resources["nbgrader"]["assignment"], resources["nbgrader"]["notebook"])
        return super().preprocess(nb, resources)

    def released_checksums(self, assignment, notebook):
        """{grade_id: checksum} of the locked cells as the release hands them to students."""
        coursedir = CourseDirectory(config=self.config)
        path = os.path.join(coursedir.format_path(coursedir.release_directory, ".", assignment), f"{notebook}.ipynb")
        if not os.path.exists(path):
            return {}
        cells = nbformat.read(path, as_version=nbformat.NO_CONVERT).cells
        return {cell.metadata.nbgrader["grade_id"]: utils.compute_checksum(cell)
                for cell in cells if utils.is_locked(cell) and "grade_id" in cell.metadata.get("nbgrader", {})}

    def report_change(self, name, attr, old, new):
        if attr != "checksum":
            super().report_change(name, attr, old, new)
        elif self.released.get(name) == new:
            self.log.debug("Cell %s is the released one: graded with the instructor's version", name)
        else:
            self.log.warning("Cell %s was edited by the student: graded with the instructor's version", name)
