# Generated from source/04_backprop/backprop.ipynb by coursework.export. Edit the notebook, not this file.
import numpy as np

import babygrad.gradients  # noqa: F401 (every operation's backward rule, from Chapter 3)
from babygrad.ops import set_grad_enabled
from babygrad.tensor import Tensor, extend


def build_topo(root):
    """Every tensor `root` was computed from (that requires grad), inputs before results, `root` last."""
    order = []
    visited = set()
    stack = [(root, False)]  # an explicit stack instead of recursion: deep graphs must not hit the recursion limit
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in node._inputs:
            if parent.requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    return order


@extend(Tensor)
def backward(self, grad=None, create_graph=False):
    """Store in `.grad` of every tensor this one depends on the gradient of (the sum of) grad * self."""
    if not self.requires_grad:
        raise RuntimeError("backward() needs a tensor that requires grad; this one has no graph to walk back")
    if grad is None:
        grad = Tensor(np.ones_like(self.data), requires_grad=False)
    elif not isinstance(grad, Tensor):
        grad = Tensor(grad, dtype=self.dtype, requires_grad=False)
    if grad.shape != self.shape:
        raise ValueError(f"grad has shape {grad.shape} but the tensor has shape {self.shape}: they must match")
    grads = {id(self): grad}  # the ledger: gradients waiting for their tensor's turn
    with set_grad_enabled(create_graph):  # record the gradients' own graph only when asked to
        for node in reversed(build_topo(self)):
            out_grad = grads.pop(id(node))  # complete: everything computed from node has passed its share
            node.grad = out_grad
            if node._op is None:
                continue
            input_grads = node._op.backward(out_grad, node)
            if isinstance(input_grads, Tensor):
                input_grads = (input_grads,)
            for parent, parent_grad in zip(node._inputs, input_grads):
                if not parent.requires_grad:
                    continue
                key = id(parent)
                grads[key] = grads[key] + parent_grad if key in grads else parent_grad
