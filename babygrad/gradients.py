# Generated from source/03_gradients/gradients.ipynb by coursework.export. Edit the notebook, not this file.
import numpy as np

from babygrad.tensor import Tensor, extend
from babygrad.ops import (
    Add, AddScalar, Abs, BroadcastTo, Div, DivScalar, Exp, Log, MatMul, Mul, MulScalar, Negate, Pow,
    PowerScalar, Relu, Reshape, Sigmoid, Sqrt, Sub, Summation, Tanh, Transpose,
    absolute, add, add_scalar, broadcast_to, divide, divide_scalar, exp, log, matmul, mul, mul_scalar, negate,
    power, power_scalar, relu, reshape, sigmoid, sqrt, sub, summation, tanh, transpose,
)


def unbroadcast(grad, shape):
    """`grad` summed over the axes that broadcasting added or stretched, so that it has `shape`."""
    if grad is None or grad.shape == tuple(shape):  # not computed (see MatMul), or nothing was broadcast: no work
        return grad
    extra = grad.ndim - len(shape)  # axes that broadcasting put in front
    stretched = tuple(extra + axis for axis, size in enumerate(shape) if size == 1 and grad.shape[extra + axis] != 1)
    summed = summation(grad, tuple(range(extra)) + stretched)
    # Summing drops the stretched axes; reshape puts them back with size 1. Without any (a bias), no reshape.
    return reshape(summed, shape) if stretched else summed


@extend(Add)
def backward(self, out_grad, node):
    """c = a + b: ∂c/∂a = 1, ∂c/∂b = 1 (summed back over broadcast axes)."""
    a, b = node._inputs
    # A constant input (data, a mask) needs no gradient: skipping it saves work. `backward` never reads the
    # gradient of an input that does not require grad, so None is fine there.
    grad_a = unbroadcast(out_grad, a.shape) if a.requires_grad else None
    grad_b = unbroadcast(out_grad, b.shape) if b.requires_grad else None
    return grad_a, grad_b


@extend(Mul)
def backward(self, out_grad, node):
    """c = a · b: ∂c/∂a = b, ∂c/∂b = a."""
    a, b = node._inputs
    grad_a = unbroadcast(mul(out_grad, b), a.shape) if a.requires_grad else None
    grad_b = unbroadcast(mul(out_grad, a), b.shape) if b.requires_grad else None
    return grad_a, grad_b


@extend(Sub)
def backward(self, out_grad, node):
    """c = a - b: ∂c/∂a = 1, ∂c/∂b = -1."""
    a, b = node._inputs
    return unbroadcast(out_grad, a.shape), unbroadcast(negate(out_grad), b.shape)


@extend(Div)
def backward(self, out_grad, node):
    """c = a / b: ∂c/∂a = 1/b, ∂c/∂b = -a/b²."""
    a, b = node._inputs
    grad_a = divide(out_grad, b)
    grad_b = negate(divide(mul(out_grad, a), mul(b, b)))
    return unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape)


@extend(Pow)
def backward(self, out_grad, node):
    """c = a^b: ∂c/∂a = b·a^(b-1), ∂c/∂b = a^b·ln a = c·ln a (for a > 0)."""
    a, b = node._inputs
    grad_a = mul(out_grad, mul(b, power(a, add_scalar(b, -1.0))))
    grad_b = mul(out_grad, mul(node, log(a)))
    return unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape)


@extend(Negate)
def backward(self, out_grad, node):
    """c = -a: ∂c/∂a = -1."""
    return negate(out_grad)


@extend(Log)
def backward(self, out_grad, node):
    """c = ln a: ∂c/∂a = 1/a."""
    return divide(out_grad, node._inputs[0])


@extend(Exp)
def backward(self, out_grad, node):
    """c = e^a: ∂c/∂a = e^a = c."""
    return mul(out_grad, node)


@extend(Sqrt)
def backward(self, out_grad, node):
    """c = √a: ∂c/∂a = 1/(2√a) = 1/(2c)."""
    return divide(out_grad, mul_scalar(node, 2.0))


@extend(Tanh)
def backward(self, out_grad, node):
    """c = tanh a: ∂c/∂a = 1 - tanh² a = 1 - c²."""
    return mul(out_grad, add_scalar(negate(mul(node, node)), 1.0))


@extend(Sigmoid)
def backward(self, out_grad, node):
    """c = σ(a): ∂c/∂a = σ(a)·(1 - σ(a)) = c·(1 - c)."""
    return mul(out_grad, mul(node, add_scalar(negate(node), 1.0)))


@extend(Relu)
def backward(self, out_grad, node):
    """c = max(a, 0): ∂c/∂a = 1 where a > 0, 0 elsewhere (0 at a = 0, as in PyTorch)."""
    # The output is a where a > 0 and 0 elsewhere, so its sign is the mask, already in the gradient's dtype: one
    # NumPy call instead of a comparison and a conversion.
    mask = Tensor(np.sign(node.data), requires_grad=False)
    return mul(out_grad, mask)


@extend(Abs)
def backward(self, out_grad, node):
    """c = |a|: ∂c/∂a = sign(a) (0 at a = 0, as in PyTorch)."""
    a = node._inputs[0]
    return mul(out_grad, Tensor(np.sign(a.data), requires_grad=False))  # a constant: the sign of each input


@extend(Reshape)
def backward(self, out_grad, node):
    """c = a.reshape(shape): each number's gradient is out_grad's, read back into a's shape."""
    return reshape(out_grad, node._inputs[0].shape)


@extend(Transpose)
def backward(self, out_grad, node):
    """c = a with its axes reordered: the gradient is out_grad with the order undone (the inverse permutation)."""
    if self.axes is None:
        return transpose(out_grad)
    ndim = len(self.axes)
    inverse = np.argsort([axis % ndim for axis in self.axes])
    return transpose(out_grad, tuple(int(axis) for axis in inverse))


@extend(Summation)
def backward(self, out_grad, node):
    """c = Σ a over axes: ∂c/∂a = 1 for every number, so out_grad is copied back along the summed axes."""
    shape = node._inputs[0].shape
    if self.axes is None:
        summed = range(len(shape))
    elif isinstance(self.axes, tuple):
        summed = [axis % len(shape) for axis in self.axes]
    else:
        summed = [self.axes % len(shape)]
    kept = tuple(1 if axis in summed else size for axis, size in enumerate(shape))
    return broadcast_to(reshape(out_grad, kept), shape)


@extend(BroadcastTo)
def backward(self, out_grad, node):
    """c = a copied along new or size-1 axes: a's gradient is out_grad summed over the copies."""
    return unbroadcast(out_grad, node._inputs[0].shape)


def vector_matmul_backward(out_grad, a, b):
    """MatMul's gradients when `a` or `b` is 1-D: as for matrices of one row (a) or one column (b)."""
    a_matrix = reshape(a, (1,) + a.shape) if a.ndim == 1 else a
    b_matrix = reshape(b, b.shape + (1,)) if b.ndim == 1 else b
    if b.ndim == 1:
        out_grad = reshape(out_grad, out_grad.shape + (1,))
    if a.ndim == 1:
        out_grad = reshape(out_grad, out_grad.shape[:-1] + (1,) + out_grad.shape[-1:])
    grad_a = grad_b = None
    if a.requires_grad:
        grad_a = reshape(unbroadcast(matmul(out_grad, transpose(b_matrix)), a_matrix.shape), a.shape)
    if b.requires_grad:
        grad_b = reshape(unbroadcast(matmul(transpose(a_matrix), out_grad), b_matrix.shape), b.shape)
    return grad_a, grad_b


@extend(MatMul)
def backward(self, out_grad, node):
    """C = A @ B: ∂L/∂A = out_grad @ Bᵀ, ∂L/∂B = Aᵀ @ out_grad (summed over broadcast batch axes)."""
    a, b = node._inputs
    if a.ndim == 1 or b.ndim == 1:  # a vector operand: the given rule above
        return vector_matmul_backward(out_grad, a, b)
    # A matmul is the costliest operation: skip the gradient of an input that needs none, such as the data x in
    # x @ w (unbroadcast passes None on).
    grad_a = matmul(out_grad, transpose(b)) if a.requires_grad else None
    grad_b = matmul(transpose(a), out_grad) if b.requires_grad else None
    return unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape)


@extend(AddScalar)
def backward(self, out_grad, node):
    """c = a + s: ∂c/∂a = 1."""
    return out_grad


@extend(MulScalar)
def backward(self, out_grad, node):
    """c = a · s: ∂c/∂a = s."""
    return mul_scalar(out_grad, self.scalar)


@extend(DivScalar)
def backward(self, out_grad, node):
    """c = a / s: ∂c/∂a = 1/s."""
    return divide_scalar(out_grad, self.scalar)


@extend(PowerScalar)
def backward(self, out_grad, node):
    """c = a^s: ∂c/∂a = s·a^(s-1) (the power rule)."""
    return mul(out_grad, mul_scalar(power_scalar(node._inputs[0], self.scalar - 1), self.scalar))


from babygrad.ops import LogSumExp, kept_shape  # noqa: E402 (Chapter 5's operation, after the others)


@extend(LogSumExp)
def backward(self, out_grad, node):
    """c = log Σ exp(a): ∂c/∂a = exp(a - c), the softmax of a."""
    shape = kept_shape(node._inputs[0].shape, self.axes)  # the summed axes back, with size 1, to broadcast
    return mul(reshape(out_grad, shape), exp(sub(node._inputs[0], reshape(node, shape))))
