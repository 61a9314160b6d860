"""Chapter 1, the Tensor: what is verified of each grade cell (see checks/__init__.py)."""
import numpy as np

AS_ARRAY = "lib.tensor.as_array"


def numbers(case, low=-9, high=10, size=3):
    """A short list of small integers, different for every submission."""
    return [int(n) for n in case.rng.integers(low, high, size=size)]


def test_as_array(case):
    rng = case.rng
    dtype = dict(dtype=True)
    case.expect(case.call(AS_ARRAY, numbers(case)), "as_array(a list of integers)", "lists of numbers become "
                "float32 arrays", **dtype)
    case.expect(case.call(AS_ARRAY, case.array(rng.normal(size=rng.integers(1, 4)))), "as_array(a float64 array)",
                "a float array keeps its own dtype", **dtype)
    case.expect(case.call(AS_ARRAY, int(rng.integers(-9, 10))), "as_array(a number)",
                "a number is a 0-dimensional array", **dtype)
    ragged = [numbers(case, size=2), numbers(case, size=1)]
    case.expect(case.call(AS_ARRAY, ragged), f"as_array({ragged})", "a ragged list has no shape: raise ValueError "
                "with the data in the message", message_contains=(str(ragged),))
    case.expect(case.call(AS_ARRAY, case.array(rng.integers(0, 9, size=3))), "as_array(an integer array)", **dtype)
    case.expect(case.call(AS_ARRAY, [float(x) for x in rng.normal(size=2)]), "as_array(a list of Python floats)",
                "Python floats are float64 to NumPy, but a list still becomes float32", **dtype)
    case.expect(case.call(AS_ARRAY, float(rng.normal())), "as_array(a Python float)", **dtype)
    case.expect(case.call(AS_ARRAY, case.array(rng.integers(0, 2, size=3).astype(bool))), "as_array(a bool array)",
                **dtype)
    case.expect(case.call(AS_ARRAY, numbers(case), dtype="float64"), "as_array(a list, dtype='float64')", **dtype)
    case.expect(case.call(AS_ARRAY, case.array(rng.normal(size=2)), dtype="float32"),
                "as_array(a float64 array, dtype='float32')", "dtype= wins over the array's", **dtype)
    half = case.call("scalar", case.array(rng.normal(), np.float16))
    case.expect(case.call(AS_ARRAY, half), "as_array(a NumPy float16 number)", "it keeps its dtype", **dtype)
    tensor = case.tensor(rng.normal(size=2))
    case.expect(case.call(AS_ARRAY, tensor), "as_array(a float64 Tensor)", "a Tensor keeps its dtype", **dtype)
    word = "".join(rng.choice(list("abcxyz"), size=3))
    for bad in (None, word, word.encode()):
        given = case.call(f"@{case.call('str', word)['var']}.encode") if isinstance(bad, bytes) else bad
        case.expect(case.call(AS_ARRAY, given), f"as_array({bad!r})", "raise TypeError naming what was given",
                    message_contains=(repr(bad),))
    case.expect(case.call(AS_ARRAY, case.call("np.array", [{}, 1], dtype="object")), "as_array(an object array)",
                "only numbers (and booleans) make a Tensor")
    case.expect(case.call(AS_ARRAY, [1, None]), "as_array([1, None])", message_contains=("None",))
    case.expect(case.call(AS_ARRAY, ["a", "b"]), "as_array(a list of strings)")
    case.expect(case.call(AS_ARRAY, [[[1], [2, 3]]]), "as_array(a list ragged deeper down)")
    case.expect(case.call(AS_ARRAY, [1], dtype="int64"), "as_array([1], dtype='int64')",
                message_contains=("int64",))


def test_tensor_init(case):
    rng = case.rng
    t = case.call("lib.Tensor", numbers(case))
    case.expect(case.call("attr", t, "data"), "Tensor(a list).data", "store as_array(data, dtype) in self.data")
    case.expect(case.call("attr", t, "requires_grad"), "Tensor(a list).requires_grad",
                "requires_grad is True unless the caller says otherwise")
    for name in ("grad", "_op", "_inputs"):
        case.expect(case.call("attr", t, name), f"a new leaf's {name}")
    constant = case.call("lib.Tensor", float(rng.normal()), requires_grad=False)
    case.expect(case.call("attr", constant, "requires_grad"), "Tensor(..., requires_grad=False).requires_grad")
    case.expect(case.call("attr", case.call("lib.Tensor", numbers(case), dtype="float64"), "data"),
                "Tensor(a list, dtype='float64').data", "pass dtype on to as_array", dtype=True)
    source = case.tensor(rng.normal(size=3))
    copied = case.call("attr", case.call("lib.Tensor", source), "data")
    case.expect(copied, "Tensor(another_tensor).data", dtype=True)
    case.expect(case.call("isinstance_ndarray", copied), "Tensor(another_tensor).data is an array")


def test_properties(case):
    rng = case.rng
    shape = tuple(int(n) for n in rng.integers(1, 5, size=rng.integers(1, 4)))
    made = {"a tensor": case.tensor(rng.normal(size=shape), np.float32),
            "a scalar tensor": case.call("lib.Tensor", float(rng.normal())),
            "a 0-d tensor of an array": case.tensor(rng.normal()),
            "an empty tensor": case.tensor(np.zeros((0, int(rng.integers(1, 5)))))}
    for what, t in made.items():
        # A Python number's dtype is as_array's business (test_as_array): here only its shape is.
        for name in ("shape", "ndim", "size") if what == "a scalar tensor" else ("shape", "ndim", "dtype", "size"):
            case.expect(case.call("attr", t, name), f"the {name} of {what}", "ask self.data")


def test_repr(case):
    rng = case.rng
    hint = "line the rows up under the first one: np.array2string(self.data, prefix='Tensor(')"
    for shape, requires_grad in (((3,), True), ((2, 2), False), ((int(rng.integers(2, 4)), 2), True)):
        t = case.call("lib.Tensor", case.array(rng.integers(0, 9, size=shape)), requires_grad=requires_grad)
        case.expect(case.call("repr", t), f"repr of a {shape} tensor (requires_grad={requires_grad})", hint)
    rows = [numbers(case, 0, 10, 2) for _ in range(2)]
    case.expect(case.call("repr", case.call("lib.Tensor", rows, requires_grad=False)),
                "repr of a matrix made from a list (requires_grad=False)", hint)


def test_leaving(case):
    rng = case.rng
    t = case.tensor(rng.normal(size=3), np.float32)
    case.expect(case.call("is", case.call("@" + t["var"] + ".numpy"), case.call("attr", t, "data")),
                "t.numpy() is t.data", "return the array, no copy")
    number = float(rng.integers(-9, 10)) + 0.5
    case.expect(case.call("@" + case.tensor([[number]])["var"] + ".item"), "Tensor([[x]]).item()",
                "a Python number: convert with float(...)")
    one = case.call("@" + case.tensor([int(rng.integers(-9, 10))])["var"] + ".item")
    case.expect(one, "Tensor([n]).item()", "a Python number: convert with float(...)")
    case.expect(case.call("@" + t["var"] + ".item"), "Tensor of shape (3,).item()",
                "three numbers are not one number: raise ValueError naming the shape", message_contains=("(3,)",))
    detached = case.call("@" + t["var"] + ".detach")
    case.expect(case.call("attr", detached, "requires_grad"), "t.detach().requires_grad",
                "return a new Tensor of the same data, with requires_grad=False")
    case.expect(case.call("shares_memory", case.call("attr", detached, "data"), case.call("attr", t, "data")),
                "t.detach() shares the data", "Tensor(self.data, ...) with a float array does not copy")
    for name in ("_op", "_inputs", "grad", "dtype"):
        case.expect(case.call("attr", detached, name), f"t.detach().{name}", "a detached tensor is a new leaf")
    wide = case.call("@" + case.tensor(np.ones((1, 1)))["var"] + ".detach")
    case.expect(case.call("attr", wide, "dtype"), "the dtype of a float64 tensor's detach()")


CELLS = {"test_as_array": test_as_array, "test_tensor_init": test_tensor_init, "test_properties": test_properties,
         "test_repr": test_repr, "test_leaving": test_leaving}


# Each assertion of the hidden tests (checks.hidden_assertions), and the expectations above that check it.
HIDDEN = {
    "test_as_array": {
        "integer arrays": "as_array(an integer array)",
        "a list of Python floats": "as_array(a list of Python floats)",
        "a Python float": "as_array(a Python float)",
        "boolean arrays": "as_array(a bool array)",
        "dtype='float64'": "as_array(a list, dtype='float64')",
        "dtype= wins over the array's": "as_array(a float64 array, dtype='float32')",
        "a NumPy float scalar keeps its dtype": "as_array(a NumPy float16 number)",
        "a Tensor keeps its dtype": "as_array(a float64 Tensor)",
        "f'as_array({bad!r})'": ("as_array(None)", "as_array('", "as_array(b'"),
        "the message names what was given": ("as_array(None)", "as_array('", "as_array(b'"),
        "as_array([1, None])": "as_array([1, None])",
        "the message names what was given (2)": "as_array([1, None])",
        "an object array": "as_array(an object array)",
        "a list of strings": "as_array(a list of strings)",
        "a ragged list deeper down": "as_array(a list ragged deeper down)",
        "dtype='int64'": "as_array([1], dtype='int64')",
        "the message names the dtype": "as_array([1], dtype='int64')",
    },
    "test_tensor_init": {
        "requires_grad=False": "Tensor(..., requires_grad=False).requires_grad",
        "the dtype argument": "Tensor(a list, dtype='float64').data",
        "Tensor(another_tensor)": "Tensor(another_tensor).data",
        "Tensor(another_tensor).data is an array": "Tensor(another_tensor).data is an array",
    },
    "test_properties": {
        "a scalar tensor's shape, ndim, size": ("the shape of a scalar tensor", "the ndim of a scalar tensor",
                                                "the size of a scalar tensor"),
        "an empty tensor": ("the shape of an empty tensor", "the size of an empty tensor",
                            "the dtype of an empty tensor"),
    },
    "test_repr": {"the repr of a matrix": "repr of a matrix made from a list (requires_grad=False)"},
    "test_leaving": {
        "type of item()": "Tensor([n]).item()",
        "detach shares the data": "t.detach() shares the data",
        "a detached tensor is a leaf": ("t.detach()._op", "t.detach()._inputs", "t.detach().grad"),
        "detach keeps the dtype": "t.detach().dtype",
        "detach of float64": "the dtype of a float64 tensor's detach()",
    },
}
