"""The whole grading pipeline on a sample class, in one command: `babygrad-course demo [--work DIR]`.

It builds the student release from `source/`, writes a class of sample submissions, autogrades them with nbgrader
into a fresh gradebook, writes feedback pages and a grades CSV, and prints the scores and where the class lost
points. Everything happens in the work folder; the repository is only read.
"""
import argparse
import csv
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

from sqlalchemy.exc import SAWarning

from autograder.classroom import STUDENTS, make_class
from autograder.course import SOURCE, chapters, nbgrader, succeeded
from autograder.grading.autograde import autograde, struggles
from autograder.grading.feedback import ungradable_submissions, write_ungradable_feedback


def say(message):
    print(message, flush=True)


def build_release(course):
    shutil.copytree(SOURCE, course / "source")
    api = nbgrader(course)
    course_chapters = chapters(course / "source")
    for chapter in course_chapters:
        succeeded(api.generate_assignment(chapter), f"nbgrader generate_assignment {chapter}")
    return api, course_chapters


def grade_class(api, course_chapters):
    results = []
    jobs = [(student, chapter) for student in STUDENTS for chapter in course_chapters]
    for number, (student, chapter) in enumerate(jobs, start=1):
        result = autograde(api, chapter, student)
        outcome = f"{result.score:g}/{result.max_score:g}" + (f"  ({result.problem})" if result.problem else "")
        say(f"  [{number:2}/{len(jobs)}] {student:<13} {chapter:<15} {outcome}  {result.seconds:.1f} s")
        results.append(result)
    return results


def write_feedback(api, results):
    """A page for every student: nbgrader's for a graded submission, one saying why for one it could not grade."""
    graded = {(result.chapter, result.student) for result in results} - \
        {(chapter, student) for chapter, student, _ in ungradable_submissions(api.coursedir.root, api.coursedir.db_url)}
    for chapter, student in sorted(graded):
        succeeded(api.generate_feedback(chapter, student), f"feedback for {student}")
    write_ungradable_feedback(api.coursedir.root, api.coursedir.db_url)


def write_csv(path, results):
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "chapter", "score", "max_score", "problem"])
        for result in results:
            writer.writerow([result.student, result.chapter, result.score, result.max_score, result.problem])


def score_table(results, course_chapters):
    scores = {(result.student, result.chapter): result for result in results}
    lines = [f"{'student':<13}" + "".join(f"{chapter:>16}" for chapter in course_chapters) + "   notes"]
    for student, description in STUDENTS.items():
        row = [scores[student, chapter] for chapter in course_chapters]
        problems = sorted({result.problem for result in row if result.problem})
        notes = "; ".join(problems) if problems else description
        lines.append(f"{student:<13}" + "".join(f"{result.score:>16g}" for result in row) + f"   {notes}")
    return "\n".join(lines)


def struggles_report(api, course_chapters, top=3):
    lines = []
    for chapter in course_chapters:
        hardest = [f"{cell} ({count} of {len(STUDENTS)})" for cell, count in struggles(api, chapter)[:top] if count]
        lines.append(f"  {chapter:<15} " + ", ".join(hardest))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Autograde a sample class with nbgrader.")
    parser.add_argument("--work", type=Path, help="folder for the course run (default: a new temporary folder)")
    arguments = parser.parse_args(argv)
    course = (arguments.work or Path(tempfile.mkdtemp(prefix="babygrad-demo-"))).resolve()
    if course.exists() and any(course.iterdir()):
        sys.exit(f"{course} is not empty: give --work a new or empty folder, so that no earlier grade is overwritten")
    course.mkdir(parents=True, exist_ok=True)
    # nbgrader's database layer warns about its own sessions: not the student's problem, nor the teacher's.
    warnings.filterwarnings("ignore", category=SAWarning)
    started = time.perf_counter()

    say(f"1. Building the release from source/ in {course}")
    api, course_chapters = build_release(course)
    say(f"2. Writing sample submissions for {len(STUDENTS)} students")
    make_class(course, course_chapters)
    say("3. Autograding with nbgrader")
    results = grade_class(api, course_chapters)
    say("4. Writing feedback and grades")
    write_feedback(api, results)
    write_csv(course / "grades.csv", results)

    say("\nScores\n" + score_table(results, course_chapters))
    say("\nTests most students failed\n" + struggles_report(api, course_chapters))
    say(f"\nGradebook:  {course / 'gradebook.db'}\nGrades CSV: {course / 'grades.csv'}\n"
        f"Feedback:   {course / 'feedback'}\nDone in {time.perf_counter() - started:.0f} s.")
    return results


if __name__ == "__main__":
    main()
