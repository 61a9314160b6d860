# Generated from source/01_tensor/tensor.ipynb by coursework.export. Edit the notebook, not this file.
import numpy as np

NDArray = np.ndarray
FLOAT_TYPES = (np.float16, np.float32, np.float64)


def as_array(data, dtype=None):
    """The numbers of `data` as a floating-point NumPy array, or a clear error naming what is wrong."""
    if type(data) is np.ndarray and dtype is None and data.dtype.type in FLOAT_TYPES:
        return data  # already what a Tensor holds (the usual case inside the library): nothing to check or convert
    if isinstance(data, Tensor):
        data = data.data
    if data is None or isinstance(data, (str, bytes)):
        raise TypeError(f"a Tensor holds numbers, not {data!r}")
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.type not in FLOAT_TYPES:
            raise ValueError(f"babygrad tensors hold floating-point numbers; dtype={dtype} is not one")
    try:
        array = np.asarray(data)
    except ValueError:
        raise ValueError(f"the rows of {data!r} have different lengths, so it has no shape") from None
    if array.dtype.kind not in "fiub":
        raise TypeError(f"a Tensor holds numbers, but {data!r} holds {array.dtype} values")
    if dtype is None:
        keeps_its_dtype = isinstance(data, (np.ndarray, np.generic)) and array.dtype.type in FLOAT_TYPES
        dtype = array.dtype if keeps_its_dtype else np.float32
    return array.astype(dtype, copy=False)


class Tensor:
    """An array of numbers that remembers the operation and the inputs that produced it."""

    __slots__ = ("data", "requires_grad", "grad", "_op", "_inputs", "__weakref__")

    def __init__(self, data, dtype=None, requires_grad=True):
        self.data = as_array(data, dtype)
        self.requires_grad = requires_grad
        self.grad = None
        self._op = None
        self._inputs = ()


import builtins


def extend(cls):
    """Decorator: add the function (or property) below it to `cls`, under the function's own name."""
    def attach(member):
        function = member.fget if isinstance(member, property) else member
        setattr(cls, function.__name__, member)
        # What a decorator returns is what the name gets in the module: give back what the name meant before (the
        # module's own function `exp`, Python's `sum`), so adding the method `exp` to `cls` leaves them alone.
        return function.__globals__.get(function.__name__, getattr(builtins, function.__name__, member))
    return attach


@extend(Tensor)
@property
def shape(self):
    return self.data.shape


@extend(Tensor)
@property
def ndim(self):
    return self.data.ndim


@extend(Tensor)
@property
def dtype(self):
    return self.data.dtype


@extend(Tensor)
@property
def size(self):
    return self.data.size


@extend(Tensor)
def __repr__(self):
    numbers = np.array2string(self.data, prefix="Tensor(")
    return f"Tensor({numbers}, requires_grad={self.requires_grad})"


@extend(Tensor)
def numpy(self):
    return self.data


@extend(Tensor)
def item(self):
    if self.data.size != 1:
        raise ValueError(f"item() needs a tensor with one element; this one has shape {self.shape}")
    return float(self.data.reshape(()))


@extend(Tensor)
def detach(self):
    return Tensor(self.data, requires_grad=False)
