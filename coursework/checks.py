"""Checks for the chapter notebooks whose failure messages teach: what was expected, what came back, and a hint.

A failed check raises `CheckError`, which IPython (JupyterLab, nbclient, the feedback page) shows as the lines of
the student's cell that led to it and the message, without the frames of this module or of IPython's own machinery
(`interactiveshell.py ... run_code`). Every check also sets `__tracebackhide__`, so that pytest and debuggers skip
its frames too. Code under `with checking(what, hint):` that raises (a matmul of the wrong shapes, a None gradient)
fails as a check too: what was being checked, the error and the hint, after the lines the error came from.
"""
import contextlib
import traceback
from pathlib import Path

import IPython
import numpy as np

# Frames that are not the student's: this module's and IPython's own (`interactiveshell.py ... run_code`).
NOT_SHOWN = (Path(__file__).resolve(), Path(IPython.__file__).resolve().parent)


def shown(frame):
    path = Path(frame.filename).resolve()
    return not any(path == hidden or hidden in path.parents for hidden in NOT_SHOWN)


def in_a_cell(frame):
    """Whether a frame runs the code of a notebook cell, which the kernel compiles into files of a folder of its own."""
    return Path(frame.filename).parent.name.startswith("ipykernel_")


class CheckError(AssertionError):
    """A check that failed; its message says what was expected, what came back, and a hint."""

    def _render_traceback_(self):
        """What IPython shows instead of the full traceback: the student's frames, then the message. For an error
        the student's code raised inside `checking`, the frames are those that led to that error."""
        origin = self.__cause__ or self
        frames = [frame for frame in traceback.extract_tb(origin.__traceback__) if shown(frame)]
        in_cells = [index for index, frame in enumerate(frames) if in_a_cell(frame)]
        if in_cells:  # the line of the notebook that went wrong, not the library's insides below it
            frames = frames[:in_cells[-1] + 1]
        return [*traceback.format_list(frames), f"{type(self).__name__}: {self}"]


def as_numbers(value):
    """The numbers inside a Tensor, an array or a Python number, as a numpy array."""
    return np.asarray(getattr(value, "data", value))


def explain(what, expected, got, hint):
    message = f"{what}\n  expected: {expected}\n  got:      {got}"
    return message + (f"\n  hint: {hint}" if hint else "")


def check(condition, what, expected, got, hint=""):
    """Fail with a teaching message unless `condition` holds."""
    __tracebackhide__ = True
    if not condition:
        raise CheckError(explain(what, expected, got, hint))


def check_equal(actual, expected, what, hint=""):
    """`actual` equals `expected` exactly: a shape, a dtype, a name, or arrays with the same shape and numbers."""
    __tracebackhide__ = True
    if isinstance(actual, np.ndarray) or isinstance(expected, np.ndarray):
        equal = np.shape(actual) == np.shape(expected) and np.array_equal(actual, expected)
    else:
        equal = actual == expected
    check(bool(equal), what, expected, actual, hint)


def check_close(actual, expected, what, hint="", rtol=1e-5, atol=1e-6):
    """`actual` has `expected`'s shape and, within tolerance, its values."""
    __tracebackhide__ = True
    actual_numbers, expected_numbers = as_numbers(actual), as_numbers(expected)
    check(actual_numbers.shape == expected_numbers.shape, f"{what}: wrong shape",
          expected_numbers.shape, actual_numbers.shape, hint)
    check(np.allclose(actual_numbers, expected_numbers, rtol=rtol, atol=atol), f"{what}: wrong values",
          np.array2string(expected_numbers, precision=5), np.array2string(actual_numbers, precision=5), hint)


def check_raises(error_type, action, what, hint=""):
    """`action()` raises `error_type`; returns the error so its message can be checked too."""
    __tracebackhide__ = True
    try:
        action()
    except error_type as error:
        return error
    except Exception as error:
        raise CheckError(explain(what, error_type.__name__, f"{type(error).__name__}: {error}", hint)) from None
    raise CheckError(explain(what, error_type.__name__, "no error", hint))


@contextlib.contextmanager
def checking(what, hint=""):
    """Run the code a check is about: an error it raises fails the check with `what` and `hint`, not bare."""
    __tracebackhide__ = True
    try:
        yield
    except CheckError:
        raise
    except Exception as error:
        raise CheckError(explain(what, "no error", f"{type(error).__name__}: {error}", hint)) from error


def passed(test):
    """One line at the end of a test cell: a cell that prints nothing leaves a student unsure it ran at all."""
    print(f"✓ {test}: every check passed")


def numeric_gradient(function, *arrays, epsilon=1e-6):
    """Central differences of `sum(function(*arrays))` with respect to each array, in float64."""
    arrays = [np.array(array, dtype=np.float64) for array in arrays]
    gradients = []
    for array in arrays:
        gradient = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            original = array[index]
            array[index] = original + epsilon
            above = np.sum(function(*arrays))
            array[index] = original - epsilon
            below = np.sum(function(*arrays))
            array[index] = original
            gradient[index] = (above - below) / (2 * epsilon)
        gradients.append(gradient)
    return gradients
