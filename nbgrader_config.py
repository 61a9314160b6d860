"""nbgrader's configuration for the babygrad course: every grading option in one place.

nbgrader reads this file when it runs in this folder. The course tools (`babygrad-course`: build, init, grade, the
class demo) load it too and only change where the course folder is.
"""
import sys

c = get_config()  # noqa: F821 (nbgrader provides it)

c.CourseDirectory.course_id = "babygrad"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"

# The gradebook. Left at None, it is nbgrader's SQLite file gradebook.db in the course folder. `babygrad-course init
# DIR --db URL` writes URL here, so that every command run in the folder (babygrad-course's, and nbgrader's
# autograde, generate_feedback, release_feedback, export and formgrader) uses it; `--db` on one babygrad-course
# command overrides it. A PostgreSQL URL in any spelling (postgresql://USER@HOST/DB) goes through psycopg2.
GRADEBOOK = None
if GRADEBOOK:
    from autograder.course import database_url

    c.CourseDirectory.db_url = database_url(GRADEBOOK)

# Only notebooks travel from a submission to the grader. A student's copy of the babygrad package (or any other
# .py file) stays behind, so every module a graded notebook imports is the trusted reference.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.py", "babygrad", ".graded"]

# A grading run killed at any moment is finished by running `nbgrader autograde` again: a submission whose grading
# finished is marked, and one that was not is graded again from the start (autograder/grading/resume.py).
c.Autograde.post_convert_hook = "autograder.grading.resume.mark_graded"
if sys.argv[1:2] == ["autograde"]:
    from autograder.grading.cells import refused_submissions
    from autograder.grading.resume import forget_unfinished

    forget_unfinished(".")
    # A submission holding a link or a special file (a FIFO, a device) is left out, with the reason: nbgrader would
    # follow or block on it before any check runs (autograder/grading/cells.py).
    refused = refused_submissions(".", next((word for word in sys.argv[2:] if not word.startswith("-")), "*"))
    for student, why in refused.items():
        print(f"[babygrad] {student} is not graded: {why}", file=sys.stderr)
    c.CourseDirectory.student_id_exclude = ",".join(refused)

# Before anything runs, a submission holding a symbolic link is refused, and every graded or locked cell is rebuilt from the gradebook: a submission whose nbgrader
# metadata was edited, or whose cells were deleted or duplicated, is graded with the instructor's cells and a note
# at its top saying what was put back (autograder/grading/cells.py).
c.Autograde.sanitize_preprocessors = [
    "autograder.grading.cells.RefuseLinkedFiles",
    "autograder.grading.cells.RestoreInstructorCells",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Student code is hostile input. Each notebook runs in a kernel whose library holds the reference only for the
# chapters before the graded one, inside a closed bubblewrap sandbox: its own processes, an unprivileged user, no
# network, its own folder the only writable one, limits on memory, CPU, processes, files and output (see
# autograder/grading/sandbox.py). Without bubblewrap grading refuses to run, unless the instructor accepts the risk:
# c.SandboxedKernelManager.allow_unsandboxed_grading_at_my_own_risk = True
c.Autograde.autograde_preprocessors = [
    "autograder.grading.sandbox.SandboxedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    # Every grade cell checked again outside the kernel, before any score is saved: the lower score counts, a
    # higher in-kernel one is flagged, and a notebook whose checking fails scores 0 in every grade cell.
    "autograder.grading.verified_scores.VerifyScores",
    "nbgrader.preprocessors.SaveAutoGrades",
    "autograder.grading.verified_scores.FlagComments",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# What each sandbox may use (the defaults of autograder.grading.sandbox.Limits); a limit that stops a cell is named
# in the student's feedback.
c.SandboxedKernelManager.memory = 2048 * 1024 * 1024
c.SandboxedKernelManager.cpu_seconds = 300
c.SandboxedKernelManager.processes = 256
c.SandboxedKernelManager.file_size = 64 * 1024 * 1024
c.SandboxedKernelManager.open_files = 256
c.SandboxedKernelManager.disk = 128 * 1024 * 1024
# nbgrader keeps 1000 lines of each output and 100 of each traceback; the grader keeps 1 MiB of output per cell and
# 16 MiB per notebook (an error is always kept, cut to size), and gives a whole notebook 600 seconds.
c.SandboxedExecute.max_output_bytes = 1024 * 1024
c.SandboxedExecute.max_notebook_output_bytes = 16 * 1024 * 1024
c.SandboxedExecute.notebook_seconds = 600

# Each cell gets 60 seconds; a cell that loops forever is interrupted and the rest of the notebook still runs.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
# The kernel keeps no history file, and keeps its own start-up notices (not the student's) out of the log. Its
# tracebacks are Python's plain ones (each frame's line, no surrounding code), which is all the instructor needs in
# the autograded notebook (feedback shows only the error itself), and a notebook full of errors grades in half the
# time (IPython's default takes some 45 ms to draw each one).
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR",
                             "--InteractiveShell.xmode=Plain"]

# A submission that lost grade cells, or whose test cells were edited, is graded with the instructor's cells.
c.OverwriteCells.add_missing_cells = True
# nbgrader gives no points to a test cell that wrote anything on stderr. Warnings are not failures: drop them.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?m)^.*Warning: "

# Feedback shows each test's points and message but not the hidden tests' code (nbgrader shows it by default),
# nor anything a student printed to leak them or the grader's environment, nor HTML or scripts from student cells.
# A page loads nothing: its maths is typeset by an inlined MathJax, its pictures are in it (feedback.py).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.grading.feedback.SafeOutputs",
    "autograder.grading.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# Formgrader shows a submission as nbconvert's HTML: the student's markdown as text and no output that would run.
c.HTMLExporter.preprocessors = ["autograder.grading.feedback.FormgraderSafeOutputs"]
# A submission nbgrader could not grade (not a notebook, or not runnable) gets a page too, saying why it scored 0 and
# what to hand in instead, which `nbgrader release_feedback` delivers like the others. And nbgrader's commands that
# read grades say so when their gradebook holds none while `babygrad-course grade` graded here (it wrote elsewhere).
if sys.argv[1:2] in (["generate_feedback"], ["export"]):
    from autograder.grading.feedback import write_ungradable_feedback
    from autograder.report import warn_if_elsewhere

    URL = c.CourseDirectory.db_url if "db_url" in c.CourseDirectory else "sqlite:///gradebook.db"
    warn_if_elsewhere(".", URL)
    if sys.argv[1] == "generate_feedback":
        write_ungradable_feedback(".", URL)
