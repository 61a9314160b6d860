"""The course's tools. `grading/` is the trusted grader; the modules beside it build the course and its samples."""
