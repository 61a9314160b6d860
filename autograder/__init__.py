"""The course's tools. `grading/` is the trusted grader; the modules beside it build the course and its samples."""
import sys

# jsonschema, which nbformat imports, also imports rfc3987-syntax when it is installed, and that package builds a
# grammar for IRIs at import: seconds of every start of the grader, for a format no notebook schema uses. Marked
# as absent, it is not imported (jsonschema then leaves that one format unchecked).
sys.modules.setdefault("rfc3987_syntax", None)
