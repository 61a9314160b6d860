"""babygrad: a small deep-learning library with automatic differentiation, written chapter by chapter.

Each module is exported from a chapter notebook in `source/`: `tensor` holds the numbers, `ops` the operations
and their forward computation, `gradients` their backward rules, `backprop` `Tensor.backward`. Importing the
package loads the chapters in order, each adding to the classes of the one before. A chapter whose module has
not been exported yet (a student part-way through the course) ends the loading there: the chapters after it
build on it.
"""
import importlib
import importlib.util

from babygrad.tensor import Tensor

CHAPTERS = ("ops", "gradients", "backprop")

for _chapter in CHAPTERS:
    if importlib.util.find_spec(f"babygrad.{_chapter}") is None:
        break
    importlib.import_module(f"babygrad.{_chapter}")
del _chapter

try:
    from babygrad import ops
    from babygrad.ops import is_grad_enabled, no_grad, set_grad_enabled
except ImportError:  # Chapter 2 is not exported yet
    pass
