"""babygrad: a small deep-learning library with automatic differentiation, written chapter by chapter.

Each module is exported from a chapter notebook in `source/`: `tensor` holds the numbers, `ops` the operations
and their forward computation, `gradients` their backward rules, `backprop` `Tensor.backward`; then `nn` the
layers and the loss, `optim` the optimisers, `data` batches and checkpoints. Importing the package loads the
chapters in that order, each adding to the classes of the one before.
"""
from babygrad.tensor import Tensor
from babygrad import ops, gradients, backprop  # noqa: F401 (imported for what they add to Tensor and the ops)
from babygrad.ops import is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from babygrad import nn, optim, data  # noqa: F401
from babygrad.data import load, save  # noqa: F401
