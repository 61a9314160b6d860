# Generated from source/02_operations/operations.ipynb by coursework.export. Edit the notebook, not this file.
import contextlib
import functools

import numpy as np

from babygrad.tensor import NDArray, Tensor, extend


class _GradMode:
    """The library-wide switch: do operations record the graph? One place, so every module sees the same."""
    enabled = True


def is_grad_enabled():
    """True when operations record their inputs, so that gradients can flow back through them."""
    return _GradMode.enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """`with set_grad_enabled(mode):` records the graph inside the block only if `mode` is true."""

    def __init__(self, mode):
        self.mode = bool(mode)

    def __enter__(self):
        self.previous = _GradMode.enabled
        _GradMode.enabled = self.mode
        return self

    def __exit__(self, *error):
        _GradMode.enabled = self.previous
        return False


class no_grad(set_grad_enabled):
    """`with no_grad():` (or `@no_grad()` on a function) computes without recording the graph."""

    def __init__(self):
        super().__init__(False)


class Function:
    """An operation on tensors. Subclasses define `forward` (and, in Chapter 3, `backward`)."""

    # One of these objects is made for every operation of every training step. `__slots__` lists
    # the attributes it may have (none here): then it needs no `__dict__`, and it is smaller and quicker
    # to make. Every operation class below repeats the line with its own attributes.
    __slots__ = ()

    def __call__(self, *inputs):
        """Apply the operation to tensors: compute with `forward`, return a Tensor that remembers its history."""
        # This runs for every operation of every training step, so the usual one or two inputs are unpacked by
        # name: on small arrays a list comprehension and any() would cost more than forward's arithmetic.
        if len(inputs) == 1:
            (a,) = inputs
            data = self.forward(a.data)
            any_requires_grad = a.requires_grad
        elif len(inputs) == 2:
            a, b = inputs
            data = self.forward(a.data, b.data)
            any_requires_grad = a.requires_grad or b.requires_grad
        else:
            data = self.forward(*[tensor.data for tensor in inputs])
            any_requires_grad = any(tensor.requires_grad for tensor in inputs)
        if type(data) is not np.ndarray:
            data = np.asarray(data)  # a full reduction returns a NumPy scalar; keep its dtype
        requires_grad = _GradMode.enabled and any_requires_grad  # is_grad_enabled() without the call's cost
        # Build the output without Tensor.__init__: its checks are for user input, and forward gave a float array.
        output = Tensor.__new__(Tensor)
        output.data = data
        output.requires_grad = requires_grad
        output.grad = None
        if requires_grad:
            output._op = self
            output._inputs = inputs
        else:
            output._op = None
            output._inputs = ()
        return output

    def forward(self, *arrays):
        """The result, as a NumPy array, of the operation on the inputs' arrays."""
        raise NotImplementedError(f"{type(self).__name__} has no forward yet")

    def backward(self, out_grad, node):
        """The gradient for each input, given `out_grad` (the gradient for `node`, the output)."""
        raise NotImplementedError(f"{type(self).__name__} has no backward yet (Chapter 3)")


class Add(Function):
    """a + b, elementwise (with broadcasting)."""
    __slots__ = ()

    def forward(self, a, b):
        return a + b


def add(a, b):
    return Add()(a, b)


class Mul(Function):
    """a * b, elementwise (with broadcasting)."""
    __slots__ = ()

    def forward(self, a, b):
        return a * b


def mul(a, b):
    return Mul()(a, b)


class Sub(Function):
    """a - b, elementwise (with broadcasting)."""
    __slots__ = ()

    def forward(self, a, b):
        return a - b


def sub(a, b):
    return Sub()(a, b)


class Div(Function):
    """a / b, elementwise (with broadcasting)."""
    __slots__ = ()

    def forward(self, a, b):
        return a / b


def divide(a, b):
    return Div()(a, b)


class Pow(Function):
    """a^b, elementwise (with broadcasting), the exponent a tensor too."""
    __slots__ = ()

    def forward(self, a, b):
        return a ** b


def power(a, b):
    return Pow()(a, b)


class Negate(Function):
    """-a, elementwise."""
    __slots__ = ()

    def forward(self, a):
        return -a


def negate(a):
    return Negate()(a)


class Log(Function):
    """ln a, the natural logarithm, elementwise (for a > 0)."""
    __slots__ = ()

    def forward(self, a):
        return np.log(a)


def log(a):
    return Log()(a)


class Exp(Function):
    """e^a, elementwise."""
    __slots__ = ()

    def forward(self, a):
        return np.exp(a)


def exp(a):
    return Exp()(a)


@functools.lru_cache(maxsize=1024)
def constant(number, dtype):
    """`number` as a 0-d array of `dtype`: NumPy computes with it faster than with a Python number."""
    array = np.array(number, dtype)
    array.flags.writeable = False  # every caller gets this same array: nobody may change it
    return array


class Relu(Function):
    """max(a, 0), elementwise: negative numbers become 0."""
    __slots__ = ()

    def forward(self, a):
        return np.maximum(a, constant(0.0, a.dtype))


def relu(a):
    return Relu()(a)


class Tanh(Function):
    """tanh a = (e^a - e^-a) / (e^a + e^-a), elementwise: every number squashed into (-1, 1)."""
    __slots__ = ()

    def forward(self, a):
        return np.tanh(a)


def tanh(a):
    return Tanh()(a)


class Sqrt(Function):
    """√a, elementwise (for a ≥ 0)."""
    __slots__ = ()

    def forward(self, a):
        return np.sqrt(a)


def sqrt(a):
    return Sqrt()(a)


class Abs(Function):
    """|a|, elementwise."""
    __slots__ = ()

    def forward(self, a):
        return np.abs(a)


def absolute(a):
    return Abs()(a)


class Sigmoid(Function):
    """σ(a) = 1 / (1 + e^-a), elementwise: every number squashed into (0, 1)."""
    __slots__ = ()

    def forward(self, a):
        e = np.exp(-np.abs(a))  # never overflows: the exponent is <= 0
        return np.where(a >= 0, 1.0, e) / (1.0 + e)


def sigmoid(a):
    return Sigmoid()(a)


class ScalarFunction(Function):
    """An operation between one tensor and a constant number, kept as a Python float (it adapts to any dtype)."""
    __slots__ = ("scalar",)

    def __init__(self, scalar):
        self.scalar = float(scalar)


class AddScalar(ScalarFunction):
    """a + scalar."""
    __slots__ = ()

    def forward(self, a):
        return a + constant(self.scalar, a.dtype)


def add_scalar(a, scalar):
    return AddScalar(scalar)(a)


class MulScalar(ScalarFunction):
    """a * s, with s the number self.scalar."""
    __slots__ = ()

    def forward(self, a):
        return a * constant(self.scalar, a.dtype)


def mul_scalar(a, scalar):
    return MulScalar(scalar)(a)


class DivScalar(ScalarFunction):
    """a / s, with s the number self.scalar."""
    __slots__ = ()

    def forward(self, a):
        return a / constant(self.scalar, a.dtype)


def divide_scalar(a, scalar):
    return DivScalar(scalar)(a)


class PowerScalar(ScalarFunction):
    """a^s, with s the number self.scalar as the exponent."""
    __slots__ = ()

    def forward(self, a):
        return a ** constant(self.scalar, a.dtype)


def power_scalar(a, scalar):
    return PowerScalar(scalar)(a)


class Reshape(Function):
    """The same numbers read into another shape, row by row: a.reshape(shape)."""
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        return a.reshape(self.shape)  # the method: np.reshape is a Python wrapper around it, slower on small arrays


def reshape(a, shape):
    return Reshape(shape)(a)


class Transpose(Function):
    """Axes reordered: the last two swapped (axes=None), or axis i of the result is axis axes[i] of a."""
    __slots__ = ("axes",)

    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes)

    def forward(self, a):
        if self.axes is None:
            return a.swapaxes(-1, -2)  # the method: np.swapaxes is a Python wrapper around it
        return np.transpose(a, self.axes)


def transpose(a, axes=None):
    return Transpose(axes)(a)


class BroadcastTo(Function):
    """a stretched to `shape` by NumPy's rules: missing axes added in front, axes of size 1 repeated."""
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        # An ordinary contiguous array, filled by broadcasting `a` into it: np.broadcast_to gives a read-only view
        # with stride-0 axes, and copying that view costs several times more on small arrays.
        if a.ndim > len(self.shape):  # filling would drop leading axes of size 1, which np.broadcast_to refuses
            raise ValueError(f"cannot broadcast shape {a.shape} to {self.shape}: it has fewer axes")
        out = np.empty(self.shape, a.dtype)
        out[...] = a
        return out


def broadcast_to(a, shape):
    return BroadcastTo(shape)(a)


class Summation(Function):
    """Σ a over `axes` (all of them when None): the summed axes leave the shape."""
    __slots__ = ("axes",)

    def __init__(self, axes=None):
        self.axes = tuple(axes) if isinstance(axes, (list, tuple)) else axes

    def forward(self, a):
        return a.sum(axis=self.axes)  # the method: np.sum's Python wrapper costs a third more on small arrays


def summation(a, axes=None):
    return Summation(axes)(a)


class MatMul(Function):
    """C = A @ B, C_ij = Σ_k A_ik B_kj, for every matrix of the (broadcast) batch axes."""
    __slots__ = ()

    def forward(self, a, b):
        return np.matmul(a, b)


def matmul(a, b):
    return MatMul()(a, b)


SCALAR_TYPES = (int, float, np.integer, np.floating)


def is_scalar(value):
    """A plain number (Python's or NumPy's): it goes to the scalar form of an operation."""
    return isinstance(value, SCALAR_TYPES)


def as_tensor(value, like):
    """`value` itself if it is a Tensor, otherwise a constant Tensor of its numbers with `like`'s dtype."""
    if isinstance(value, Tensor):
        return value
    return Tensor(value, dtype=like.dtype, requires_grad=False)


# NumPy must not treat a Tensor as a number: then `np.float64(2) * t` falls back to `t.__rmul__`.
Tensor.__array_ufunc__ = None


@extend(Tensor)
def __add__(self, other):
    # A tensor, the usual case, is checked first: it needs neither is_scalar nor as_tensor, and every `+` of every
    # training step comes here. The other operators do the same.
    if isinstance(other, Tensor):
        return Add()(self, other)
    if is_scalar(other):
        return AddScalar(other)(self)
    return Add()(self, as_tensor(other, self))


@extend(Tensor)
def __radd__(self, other):
    return self.__add__(other)


@extend(Tensor)
def __sub__(self, other):
    if isinstance(other, Tensor):  # the usual case first, as in __add__
        return Sub()(self, other)
    if is_scalar(other):
        return AddScalar(-other)(self)
    return Sub()(self, as_tensor(other, self))


@extend(Tensor)
def __rsub__(self, other):
    if is_scalar(other):
        return AddScalar(other)(Negate()(self))
    return Sub()(as_tensor(other, self), self)


@extend(Tensor)
def __mul__(self, other):
    if isinstance(other, Tensor):  # the usual case first, as in __add__
        return Mul()(self, other)
    if is_scalar(other):
        return MulScalar(other)(self)
    return Mul()(self, as_tensor(other, self))


@extend(Tensor)
def __rmul__(self, other):
    return self.__mul__(other)


@extend(Tensor)
def __truediv__(self, other):
    if isinstance(other, Tensor):  # the usual case first, as in __add__
        return Div()(self, other)
    if is_scalar(other):
        return DivScalar(other)(self)
    return Div()(self, as_tensor(other, self))


@extend(Tensor)
def __rtruediv__(self, other):
    if is_scalar(other):
        return MulScalar(other)(PowerScalar(-1)(self))
    return Div()(as_tensor(other, self), self)


@extend(Tensor)
def __pow__(self, other):
    if is_scalar(other):
        return PowerScalar(other)(self)
    return Pow()(self, as_tensor(other, self))


@extend(Tensor)
def __neg__(self):
    return Negate()(self)


@extend(Tensor)
def __matmul__(self, other):
    return MatMul()(self, as_tensor(other, self))


@extend(Tensor)
def matmul(self, other):
    return self.__matmul__(other)


@extend(Tensor)
def sum(self, axes=None, keepdims=False):
    if keepdims:  # NumPy's keepdims: sum, then put the summed axes back with size 1
        return self.sum(axes).reshape(kept_shape(self.shape, axes))
    return Summation(axes)(self)


@extend(Tensor)
def broadcast_to(self, shape):
    return BroadcastTo(shape)(self)


@extend(Tensor)
def reshape(self, *shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):  # t.reshape((2, 3)) as well as t.reshape(2, 3)
        shape = shape[0]
    return Reshape(shape)(self)


@extend(Tensor)
def transpose(self, axes=None):
    return Transpose(axes)(self)


@extend(Tensor)
def exp(self):
    return Exp()(self)


@extend(Tensor)
def log(self):
    return Log()(self)


@extend(Tensor)
def relu(self):
    return Relu()(self)


@extend(Tensor)
def sigmoid(self):
    return Sigmoid()(self)


@extend(Tensor)
def tanh(self):
    return Tanh()(self)


@extend(Tensor)
def sqrt(self):
    return Sqrt()(self)


@extend(Tensor)
def abs(self):
    return Abs()(self)


@extend(Tensor)
def __abs__(self):
    return Abs()(self)


def kept_shape(shape, axes):
    """`shape` with the `axes` (None: every axis) set to 1: the shape of a sum with keepdims=True."""
    if axes is None:
        return (1,) * len(shape)
    axes = [axis % len(shape) for axis in (axes if isinstance(axes, (list, tuple)) else (axes,))]
    return tuple(1 if axis in axes else size for axis, size in enumerate(shape))


class LogSumExp(Function):
    """log(sum(exp(a))) along `axes`, without overflow: the largest number is taken out first."""
    __slots__ = ("axes", "keepdims")

    def __init__(self, axes=None, keepdims=False):
        self.axes = tuple(axes) if isinstance(axes, (list, tuple)) else axes
        self.keepdims = keepdims

    def forward(self, a):
        largest = a.max(axis=self.axes, keepdims=True)
        out = np.log(np.exp(a - largest).sum(axis=self.axes, keepdims=True)) + largest
        return out if self.keepdims else out.squeeze(axis=self.axes)


def logsumexp(a, axes=None, keepdims=False):
    return LogSumExp(axes, keepdims)(a)


@extend(Tensor)
def logsumexp(self, axes=None, keepdims=False):
    return LogSumExp(axes, keepdims)(self)


@extend(Tensor)
@property
def T(self):
    return Transpose(tuple(reversed(range(self.ndim))))(self)


@extend(Tensor)
def __rpow__(self, other):
    return Pow()(as_tensor(other, self), self)
