"""babygrad: a small deep-learning library with automatic differentiation, written chapter by chapter.

Each module is exported from a chapter notebook in `source/`: `tensor` holds the numbers. Importing the package
loads the chapters in order, each adding to the classes of the one before.
"""
from babygrad.tensor import Tensor
