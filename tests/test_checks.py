"""coursework.checks: the messages a student reads when a test fails, and the line when it passes."""
import re

import numpy as np
import pytest

from coursework.checks import check_close, check_equal, passed
from tests.notebooks import notebook, run


def test_check_equal_passes_on_equal_values_and_arrays_and_says_what_differs_otherwise():
    check_equal((2, 3), (2, 3), "shape")
    check_equal(np.array([1, 2]), np.array([1, 2]), "numbers")
    with pytest.raises(AssertionError, match="dtype\n  expected: float32\n  got:      float64\n  hint: keep it"):
        check_equal("float64", "float32", "dtype", "keep it")
    with pytest.raises(AssertionError, match="expected: \\[1 2\\]"):
        check_equal(np.array([1, 2, 3]), np.array([1, 2]), "numbers")          # another shape is not equal


def test_passed_prints_one_line_naming_the_test(capsys):
    passed("test_sub")
    assert capsys.readouterr().out == "✓ test_sub: every check passed\n"


def test_a_failed_check_in_a_kernel_shows_the_test_line_and_the_message_not_the_checks_insides(tmp_path):
    nb = notebook("from coursework.checks import check_close\n"
                  "check_close([1.0], [2.0], 'Sub().forward(a, b)', 'a - b: the first input minus the second')")
    run(nb, tmp_path, allow_errors=True)
    (error,) = [output for output in nb.cells[0].outputs if output.output_type == "error"]
    traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error.traceback))     # without the colours
    assert "hint: a - b" in error.evalue
    assert "check_close([1.0], [2.0]" in traceback                           # the student's line is shown
    assert "checks.py" not in traceback and "def check" not in traceback      # the checks' frames are not
    assert "interactiveshell.py" not in traceback                             # nor IPython's


def test_an_error_in_the_students_code_under_checking_fails_with_what_was_checked_and_the_hint(tmp_path):
    nb = notebook("import numpy as np\nfrom coursework.checks import checking\n"
                  "def forward(x):\n    return x @ np.ones((2, 3))\n"
                  "with checking('Linear(3, 2).forward(x)', 'x @ self.weight.T'):\n    forward(np.ones((2, 3)))")
    run(nb, tmp_path, allow_errors=True)
    (error,) = [output for output in nb.cells[0].outputs if output.output_type == "error"]
    traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error.traceback))
    assert error.ename == "CheckError" and "Linear(3, 2).forward(x)\n  expected: no error" in error.evalue
    assert "got:      ValueError: matmul" in error.evalue and error.evalue.endswith("hint: x @ self.weight.T")
    assert "return x @ np.ones((2, 3))" in traceback                          # where the student's error arose
    assert "interactiveshell.py" not in traceback and "contextlib" not in traceback
