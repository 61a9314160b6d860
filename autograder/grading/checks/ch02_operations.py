"""Chapter 2, the operations: what is verified of each grade cell (see checks/__init__.py)."""
import numpy as np


def forward(case, op, params, arrays, what, hint="", **options):
    """Expect `op(*params).forward(*arrays)` to give the reference's array."""
    made = case.call(f"lib.ops.{op}", *params)
    inputs = [case.array(array) for array in arrays]
    return case.expect(case.call(f"@{made['var']}.forward", *inputs), what, hint, **options)


def shape(case, low=1, high=5, ndim=2):
    return tuple(int(n) for n in case.rng.integers(low, high, size=ndim))


def test_function(case):
    rng = case.rng
    twice = case.call("make_op", "Twice", "twice")
    x = case.tensor(rng.normal(size=3))
    y = case.call("@" + case.call(f"@{twice['var']}")["var"], x)
    case.expect(case.call("isinstance_tensor", y), "type(Twice()(x))", "wrap forward's array in a Tensor")
    case.expect(y, "Twice()(x)", "call self.forward with the inputs' .data arrays")
    case.expect(case.call("attr", y, "requires_grad"), "Twice()(x).requires_grad",
                "the input requires grad, so the output does too")
    case.expect(case.call("type_name", case.call("attr", y, "_op")), "type of Twice()(x)._op",
                "remember the operation: output._op = self")
    inputs = case.call("attr", y, "_inputs")
    case.expect(case.call("type_name", inputs), "type of Twice()(x)._inputs", "remember the inputs as a tuple")
    case.expect(case.call("is", case.call("getitem", inputs, 0), x), "Twice()(x)._inputs[0] is x",
                "remember the input tensors themselves")
    quiet = case.call("no_grad_call", case.call(f"@{twice['var']}"), x)
    for name in ("requires_grad", "_op", "_inputs"):
        case.expect(case.call("attr", quiet, name), f"Twice()(x).{name} inside no_grad()",
                    "record nothing when is_grad_enabled() is False")
    constant = case.tensor(rng.normal(size=1), requires_grad=False)
    z = case.call("@" + case.call(f"@{twice['var']}")["var"], constant)
    for name in ("requires_grad", "_op", "_inputs"):
        case.expect(case.call("attr", z, name), f"an op on a constant: {name}",
                    "nothing to record when no input requires grad")
    plus = case.call("make_op", "Plus", "plus")
    mixed = case.call("@" + case.call(f"@{plus['var']}")["var"], constant, x)
    case.expect(case.call("attr", mixed, "requires_grad"), "Plus()(constant, x).requires_grad",
                "requires_grad is True if ANY input requires grad")
    for index, given in enumerate((constant, x)):
        case.expect(case.call("is", case.call("getitem", case.call("attr", mixed, "_inputs"), index), given),
                    f"Plus()(constant, x)._inputs[{index}] is {('the constant', 'x')[index]}")
    case.expect(case.call("is_grad_enabled"), "is_grad_enabled() after a no_grad() block")
    total = case.call("make_op", "Total", "total")
    for dtype in (np.float64, np.float32):
        summed = case.call("@" + case.call(f"@{total['var']}")["var"], case.tensor(rng.normal(size=(2, 3)), dtype))
        data = case.call("attr", summed, "data")
        what = f"an op whose forward returns a NumPy {dtype.__name__} scalar"
        hint = "wrap the scalar without changing its dtype, e.g. np.asarray(data)"
        case.expect(data, what, hint, dtype=True)
        case.expect(case.call("isinstance_ndarray", data), f"{what}: .data is a 0-d array", hint)
    case.expect(case.call("attr", y, "grad"), "a new output's grad")


def elementwise(op, low=None, float32=False, extremes=()):
    """The case of a one-input elementwise operation: random arrays, float64 kept (float32 too when asked)."""
    def check(case):
        rng = case.rng
        for kind, size in (("a row", (1, 3)), ("a 3-d array", shape(case, ndim=3))):
            values = rng.normal(size=size) if low is None else np.abs(rng.normal(size=size)) + low
            forward(case, op, (), [values], f"{op}().forward of {kind} {size}", dtype=True)
        if float32:
            forward(case, op, (), [rng.normal(size=2).astype(np.float32)], f"{op} keeps float32", dtype=True)
        for values in extremes:
            forward(case, op, (), [np.array(values)], f"{op}().forward({values})")
    return check


def two_inputs(op, make_a, make_b):
    def check(case):
        rng = case.rng
        rows, columns = shape(case)
        a, b = make_a(rng, (rows, columns)), make_b(rng, (rows, columns))
        forward(case, op, (), [a, b], f"{op}().forward(a, b) of {a.shape} arrays", dtype=True)
        # Every way a row or a column broadcasts against a matrix, either side: numpy does it for you.
        for what, first, second in (("a matrix and a row", a, b[0]), ("a row and a matrix", make_a(rng, columns), b),
                                    ("a matrix and a column", a, b[:, :1]),
                                    ("a column and a matrix", make_a(rng, (rows, 1)), b)):
            forward(case, op, (), [first, second], f"{op}().forward of {what}, {first.shape} and {second.shape}",
                    "numpy broadcasts; the order matters", dtype=True)
    return check


def normal(rng, size):
    return rng.normal(size=size)


def positive(rng, size):
    return rng.uniform(0.5, 2, size=size)


def test_pow(case):
    two_inputs("Pow", positive, normal)(case)
    forward(case, "Pow", (), [case.rng.normal(size=3), np.full(3, 2.0)], "Pow of negative numbers to the power 2")


def test_sigmoid(case):
    elementwise("Sigmoid", float32=True, extremes=([-1000.0, 1000.0], [-1e300, 1e300]))(case)
    forward(case, "Sigmoid", (), [case.rng.normal(scale=5, size=(3, 4))], "Sigmoid().forward of a (3, 4) array")
    forward(case, "Sigmoid", (), [np.array([-30.0 - case.rng.uniform(0, 5)])], "Sigmoid of a large negative "
            "number, to full precision", "for a < 0 compute e / (1 + e) rather than 1 - 1 / (1 + e)",
            rtol=1e-7, atol=0.0)


def scalar_op(op, keeps_float32=True):
    def check(case):
        rng = case.rng
        number = float(rng.choice([-1, 1]) * rng.uniform(1.5, 3))
        a = rng.uniform(0.5, 2, size=shape(case))
        forward(case, op, (number,), [a], f"{op}({number:.3g}).forward(a float64 array)", "the number is "
                "self.scalar", dtype=True)
        forward(case, op, (int(rng.integers(2, 4)),), [a], f"{op}(an integer).forward(a)")
        if keeps_float32:
            hint = "use self.scalar (a Python float) so that the array keeps its dtype"
            forward(case, op, (number,), [a.astype(np.float32)], f"{op} on a float32 array", hint, dtype=True)
            forward(case, op, (case.call("np.float64", number),), [a.astype(np.float32)],
                    f"{op}(np.float64(...)) on a float32 array", hint, dtype=True)
    return check


def test_reshape(case):
    rows, columns = shape(case, 2, 5)
    a = case.rng.normal(size=(rows, columns))
    for kind, target in (("to other axes", (columns, rows)), ("to one axis", (rows * columns,)),
                         ("with axes of size 1", (1, rows, 1, columns)), ("with -1", (rows, -1))):
        forward(case, "Reshape", ({"tuple": list(target)},), [a], f"Reshape {kind}: Reshape({target}) of a "
                f"{a.shape} array", "np.reshape(a, self.shape) reads the numbers row by row")
    forward(case, "Reshape", ({"tuple": []},), [case.rng.normal(size=1)], "Reshape(()) of one number")


def test_transpose(case):
    rng = case.rng
    forward(case, "Transpose", (), [rng.normal(size=shape(case))], "Transpose().forward of a matrix")
    forward(case, "Transpose", (), [rng.normal(size=shape(case, 2, 5, ndim=3))], "Transpose().forward of a batch",
            "axes=None swaps the LAST TWO axes only")
    x = rng.normal(size=shape(case, 2, 5, ndim=3))
    for axes in ((1, 2, 0), (0, 1, 2), (2, 0, 1)):
        forward(case, "Transpose", ({"tuple": list(axes)},), [x], f"Transpose({axes}) of a {x.shape} array",
                "a full permutation: use np.transpose(a, axes)")
    forward(case, "Transpose", ({"tuple": [1, 0]},), [rng.normal(size=shape(case))], "Transpose((1, 0)) of a matrix")
    forward(case, "Transpose", ({"tuple": [2, 0, 1, 3]},), [rng.normal(size=shape(case, 1, 4, ndim=4))],
            "Transpose((2, 0, 1, 3)) of a 4-d array", "a full permutation: use np.transpose(a, axes)")


def test_broadcast_to(case):
    rng = case.rng
    rows, columns = shape(case, 2, 5)
    column = rng.normal(size=(rows, 1))
    out = forward(case, "BroadcastTo", ({"tuple": [rows, columns]},), [column], f"BroadcastTo(({rows}, {columns})) "
                  f"of a ({rows}, 1) column", "np.broadcast_to", dtype=True)
    case.expect(case.call("flags", out), "the result is an ordinary (writable, contiguous) array",
                "np.broadcast_to returns a read-only view: add .copy()")
    forward(case, "BroadcastTo", ({"tuple": [2, rows]},), [rng.normal(size=rows)], "BroadcastTo of a row: axes in "
            "front")
    forward(case, "BroadcastTo", ({"tuple": [2, rows, columns]},), [column], "BroadcastTo of a column to 3-d")
    forward(case, "BroadcastTo", ({"tuple": [2, 2]},), [np.array(rng.normal())], "BroadcastTo of a 0-d array")


def test_summation(case):
    rng = case.rng
    x = rng.normal(size=shape(case, 2, 5, ndim=3))
    for axes in (None, 0, 1, -1, (0, 2), (-1, 0)):
        given = {"tuple": list(axes)} if isinstance(axes, tuple) else axes
        forward(case, "Summation", (given,), [x], f"Summation({axes}) of a {x.shape} array",
                "np.sum(a, axis=self.axes): the summed axes disappear", dtype=True)
    forward(case, "Summation", (), [x.astype(np.float32)], "a float32 full sum", dtype=True)


def test_matmul(case):
    rng = case.rng
    n, k, m = shape(case, 2, 5, ndim=3)
    a, b = rng.normal(size=(n, k)), rng.normal(size=(k, m))
    forward(case, "MatMul", (), [a, b], f"MatMul().forward of {a.shape} and {b.shape}", "np.matmul", dtype=True)
    forward(case, "MatMul", (), [rng.normal(size=(2, n, k)), rng.normal(size=(2, k, m))], "MatMul of batches",
            "one matrix product per batch entry: np.matmul, not np.dot")
    forward(case, "MatMul", (), [rng.normal(size=(2, 1, n, k)), rng.normal(size=(3, k, m))],
            "MatMul of (2, 1, n, k) and (3, k, m)", "batch axes broadcast: np.matmul handles it")
    forward(case, "MatMul", (), [a.astype(np.float32), b.astype(np.float32)], "MatMul of float32", dtype=True)


def own_forward(case, op, params, *arrays):
    """The student's own `op(*params).forward(...)`: operators are graded against it, so that a wrong operation
    costs only its own cell."""
    made = case.call(f"lib.ops.{op}", *params)
    return case.call(f"@{made['var']}.forward", *arrays)


def operator(case, expression, result, op, like=None):
    case.expect(case.call("isinstance_tensor", result), f"type of {expression}")
    data = case.call("attr", result, "data")
    if like is None:
        case.expect(data, expression)
    else:
        case.expect(data, expression, like=like)
    case.expect(case.call("type_name", case.call("attr", result, "_op")), f"({expression})._op",
                f"{op}: a number goes to the scalar operation, a tensor to the tensor operation")


def test_tensor_operators(case):
    rng = case.rng
    a = case.tensor(rng.uniform(0.5, 2, size=3))
    b = case.tensor(rng.uniform(0.5, 2, size=3))
    ad, bd = case.call("attr", a, "data"), case.call("attr", b, "data")
    n = float(rng.integers(2, 5))
    for verb, op in (("sub", "Sub"), ("truediv", "Div"), ("pow", "Pow")):
        operator(case, f"a {verb} b", case.call(verb, a, b), op, own_forward(case, op, (), ad, bd))
    operator(case, "a * b", case.call("mul", a, b), "Mul")
    operator(case, "-a", case.call("neg", a), "Negate", own_forward(case, "Negate", (), ad))
    operator(case, "a * n", case.call("mul", a, n), "MulScalar", own_forward(case, "MulScalar", (n,), ad))
    operator(case, "a / n", case.call("truediv", a, n), "DivScalar", own_forward(case, "DivScalar", (n,), ad))
    operator(case, "a ** n", case.call("pow", a, n), "PowerScalar", own_forward(case, "PowerScalar", (n,), ad))
    operator(case, "a - n", case.call("sub", a, n), "AddScalar")
    case.expect(case.call("attr", case.call("mul", n, a), "data"), "n * a", "__rmul__",
                like=own_forward(case, "MulScalar", (n,), ad))
    negated = own_forward(case, "Negate", (), ad)
    case.expect(case.call("attr", case.call("sub", n, a), "data"), "n - a", "__rsub__: the number comes first",
                like=own_forward(case, "AddScalar", (n,), negated))
    inverse = own_forward(case, "PowerScalar", (-1,), ad)
    case.expect(case.call("attr", case.call("truediv", n, a), "data"), "n / a", "__rtruediv__",
                like=own_forward(case, "MulScalar", (n,), inverse))
    m, ones = case.tensor(rng.normal(size=(2, 2))), case.tensor(np.ones((2, 3)))
    case.expect(case.call("attr", case.call("matmul", m, ones), "data"), "m @ ones((2, 3))", "__matmul__ uses MatMul",
                like=own_forward(case, "MatMul", (), case.call("attr", m, "data"), case.call("attr", ones, "data")))
    bias, batch = case.tensor(rng.normal(size=3)), case.tensor(rng.normal(size=(4, 3)))
    case.expect(case.call("add", batch, bias), "(4, 3) + (3,): broadcasting")
    case.expect(case.call("mul", bias, batch), "(3,) * (4, 3)")
    bias_data, batch_data = case.call("attr", bias, "data"), case.call("attr", batch, "data")
    case.expect(case.call("attr", case.call("sub", batch, bias), "data"), "(4, 3) - (3,)",
                like=own_forward(case, "Sub", (), batch_data, bias_data))
    case.expect(case.call("attr", case.call("sub", bias, batch), "data"), "(3,) - (4, 3)",
                like=own_forward(case, "Sub", (), bias_data, batch_data))
    case.expect(case.call("add", a, [1, 1, 1]), "a + a list")
    case.expect(case.call("mul", a, case.array(rng.normal(size=3))), "a * a NumPy array")
    by_numpy = case.call("mul", case.call("np.float64", n), a)
    case.expect(case.call("isinstance_tensor", by_numpy), "type of np.float64(n) * a", "a NumPy number must leave "
                "the product to the Tensor: __array_ufunc__ = None")
    case.expect(case.call("attr", by_numpy, "data"), "np.float64(n) * a", like=own_forward(case, "MulScalar", (n,), ad))
    chained = case.call("sub", case.call("sub", a, b), 1)
    case.expect(case.call("attr", chained, "data"), "a - b - 1",
                like=own_forward(case, "AddScalar", (-1,), own_forward(case, "Sub", (), ad, bd)))
    # The operators must not upcast on their way to the scalar operations (whose own dtypes are their own cells').
    f32 = case.tensor(rng.uniform(0.5, 2, size=2), np.float32)
    fd = case.call("attr", f32, "data")
    negated, inverse = own_forward(case, "Negate", (), fd), own_forward(case, "PowerScalar", (-1,), fd)
    for expression, verb, left, right, same_as in (
            ("f32 * 2", "mul", f32, 2, own_forward(case, "MulScalar", (2,), fd)),
            ("2 - f32", "sub", 2, f32, own_forward(case, "AddScalar", (2,), negated)),
            ("3 / f32", "truediv", 3, f32, own_forward(case, "MulScalar", (3,), inverse)),
            ("f32 ** 2", "pow", f32, 2, own_forward(case, "PowerScalar", (2,), fd)),
            ("f32 + np.float64(1)", "add", f32, case.call("np.float64", 1.0), own_forward(case, "AddScalar", (1,), fd)),
            ("f32 - 0.5", "sub", f32, 0.5, own_forward(case, "AddScalar", (-0.5,), fd))):
        case.expect(case.call("attr", case.call(verb, left, right), "dtype"), f"dtype of {expression}",
                    "numbers adapt to the tensor", like=case.call("attr", same_as, "dtype"))
    for expression, verb, left, right in (("a - 1", "sub", a, 1), ("2 - a", "sub", 2, a), ("2 / a", "truediv", 2, a),
                                          ("m @ m", "matmul", m, m)):
        case.expect(case.call("attr", case.call(verb, left, right), "dtype"), f"dtype of {expression} on float64")
    constant = case.tensor([1.0, 2.0], requires_grad=False)
    case.expect(case.call("attr", case.call("mul", constant, 2), "requires_grad"), "(constant * 2).requires_grad")
    reversed_sub = case.call("sub", 2, a)
    case.expect(case.call("attr", reversed_sub, "requires_grad"), "(2 - a).requires_grad")
    case.expect(case.call("is", case.call("attr", reversed_sub, "_op"), None), "(2 - a)._op is None",
                "2 - a records its operation, like any other")


def test_tensor_methods(case):
    rng = case.rng
    t = case.tensor(rng.normal(size=(2, 3)))
    p = case.tensor(rng.uniform(0.5, 4, size=(2, 2)))
    td, pd = case.call("attr", t, "data"), case.call("attr", p, "data")
    transposed = own_forward(case, "Transpose", (), td)
    for name, tensor, data, method, args, op in (
            ("t", t, td, "sum", (), "Summation"), ("t", t, td, "sum", (0,), "Summation"),
            ("t", t, td, "sum", ((0, 1),), "Summation"), ("t", t, td, "sum", (-1,), "Summation"),
            ("t", t, td, "reshape", ((3, 2),), "Reshape"), ("t", t, td, "transpose", (), "Transpose"),
            ("t", t, td, "transpose", ((1, 0),), "Transpose"),
            ("t", t, td, "broadcast_to", ((4, 2, 3),), "BroadcastTo"),
            ("t", t, td, "relu", (), "Relu"), ("t", t, td, "abs", (), "Abs"), ("p", p, pd, "exp", (), "Exp"),
            ("p", p, pd, "log", (), "Log"), ("p", p, pd, "sqrt", (), "Sqrt"), ("p", p, pd, "tanh", (), "Tanh"),
            ("p", p, pd, "sigmoid", (), "Sigmoid")):
        given = [{"tuple": list(arg)} if isinstance(arg, tuple) else arg for arg in args]
        result = case.call(f"@{tensor['var']}.{method}", *given)
        operator(case, f"{name}.{method}({', '.join(map(str, args))})", result, op,
                 own_forward(case, op, given, data))
    # The dtype and shape of a full sum are Function's and Summation's business: the method passes them on.
    f32 = case.tensor(rng.normal(size=3), np.float32)
    for name, tensor in (("t", t), ("f32", f32)):
        by_method, by_op = case.call(f"@{tensor['var']}.sum"), case.call("@" + case.call("lib.ops.Summation")["var"],
                                                                          tensor)
        for attribute in ("dtype", "shape"):
            case.expect(case.call("attr", by_method, attribute), f"{attribute} of {name}.sum()",
                        like=case.call("attr", by_op, attribute))
    product = case.call(f"@{t['var']}.matmul", case.call(f"@{t['var']}.transpose"))
    operator(case, "t.matmul(t.transpose())", product, "MatMul", own_forward(case, "MatMul", (), td, transposed))
    operator(case, "abs(t)", case.call("abs", t), "Abs", own_forward(case, "Abs", (), td))


CELLS = {
    "test_function": test_function,
    "test_sub": two_inputs("Sub", normal, normal),
    "test_div": two_inputs("Div", normal, positive),
    "test_pow": test_pow,
    "test_negate": elementwise("Negate"),
    "test_log": elementwise("Log", low=0.1),
    "test_exp": elementwise("Exp"),
    "test_relu": elementwise("Relu", float32=True),
    "test_tanh": elementwise("Tanh", float32=True, extremes=([-1000.0, 0.5, 1000.0],)),
    "test_sqrt": elementwise("Sqrt", low=0.1),
    "test_abs": elementwise("Abs"),
    "test_sigmoid": test_sigmoid,
    "test_mulscalar": scalar_op("MulScalar"),
    "test_divscalar": scalar_op("DivScalar"),
    "test_powerscalar": scalar_op("PowerScalar"),
    "test_reshape": test_reshape,
    "test_transpose": test_transpose,
    "test_broadcast_to": test_broadcast_to,
    "test_summation": test_summation,
    "test_matmul": test_matmul,
    "test_tensor_operators": test_tensor_operators,
    "test_tensor_methods": test_tensor_methods,
}


def elementwise_map(op, float32=False):
    covered = {f"{op}().forward of a (2, 3, 4) array": f"{op}().forward of a 3-d array",
               f"dtype of {op} on float64": f"{op}().forward of a 3-d array"}
    return {**covered, f"{op} keeps float32": f"{op} keeps float32"} if float32 else covered


def scalar_map(op):
    return {f"{op} on a float32 array": f"{op}(np.float64(...)) on a float32 array",
            f"{op} on a float64 array": f"{op}(*).forward(a float64 array)", f"{op}(2).forward(a)": f"{op}(an integer).forward(a)"}


# Each assertion of the hidden tests (checks.hidden_assertions), and the expectations above that check it.
HIDDEN = {
    "test_function": {
        "an op on a constant": "an op on a constant: ",
        "Plus()(constant, x)": ("Plus()(constant, x).requires_grad", "Plus()(constant, x)._inputs[0] is the constant",
                                "Plus()(constant, x)._inputs[1] is x"),
        "Twice()(x) inside no_grad()": ("Twice()(x).requires_grad inside", "Twice()(x)._op inside",
                                        "Twice()(x)._inputs inside"),
        "is_grad_enabled() after the with block": "is_grad_enabled() after a no_grad() block",
        "f'an op whose forward returns a NumPy {dtype.__name__} scalar'": (
            "an op whose forward returns a NumPy float64 scalar", "an op whose forward returns a NumPy float32 scalar",
            "an op whose forward returns a NumPy float64 scalar: .data is a 0-d array",
            "an op whose forward returns a NumPy float32 scalar: .data is a 0-d array"),
        "a new output's grad": "a new output's grad",
    },
    "test_sub": {"Sub().forward of (2, 3) and (3,)": "Sub().forward of a matrix and a row",
                 "Sub().forward of (3,) and (2, 3)": "Sub().forward of a row and a matrix",
                 "dtype of Sub on float64": "Sub().forward(a, b)"},
    "test_div": {"Div().forward of (2, 3) and (2, 1)": "Div().forward of a matrix and a column",
                 "dtype of Div on float64": "Div().forward(a, b)"},
    "test_pow": {"Pow().forward of (2, 3) and (3,)": "Pow().forward of a matrix and a row",
                 "Pow of negative numbers to the power 2": "Pow of negative numbers to the power 2"},
    "test_negate": elementwise_map("Negate"),
    "test_log": elementwise_map("Log"),
    "test_exp": elementwise_map("Exp"),
    "test_relu": elementwise_map("Relu", float32=True),
    "test_tanh": elementwise_map("Tanh", float32=True),
    "test_sqrt": elementwise_map("Sqrt"),
    "test_abs": elementwise_map("Abs"),
    "test_sigmoid": {
        "Sigmoid().forward of a (3, 4) array": ("Sigmoid().forward of a (3, 4) array",
                                                "Sigmoid().forward of a 3-d array"),
        "dtype of Sigmoid on float64": "Sigmoid().forward of a 3-d array",
        "Sigmoid().forward([-30]) to full precision": "Sigmoid of a large negative number, to full precision",
        "Sigmoid keeps float32": "Sigmoid keeps float32",
        "Sigmoid at +-1e300": "Sigmoid().forward([-1e+300, 1e+300])",
    },
    "test_mulscalar": scalar_map("MulScalar"),
    "test_divscalar": scalar_map("DivScalar"),
    "test_powerscalar": scalar_map("PowerScalar"),
    "test_reshape": {"Reshape((2, -1)): -1 means 'whatever is left'": "Reshape with -1",
                     "Reshape((12,))": "Reshape to one axis", "Reshape((1, 3, 1, 4))": "Reshape with axes of size 1",
                     "Reshape(()) of one number": "Reshape(()) of one number"},
    "test_transpose": {"Transpose((1, 2, 0)) of a (3, 2, 5) array": "Transpose((1, 2, 0))",
                       "Transpose((0, 1, 2)) changes nothing": "Transpose((0, 1, 2))",
                       "Transpose((1, 0)) of a matrix": "Transpose((1, 0)) of a matrix",
                       "Transpose((2, 0, 1, 3)) of a 4-d array": "Transpose((2, 0, 1, 3)) of a 4-d array"},
    "test_broadcast_to": {"BroadcastTo((2, 3)) of a (3,) row: axes in front": "BroadcastTo of a row: axes in front",
                          "BroadcastTo((2, 3, 4)) of (3, 1)": "BroadcastTo of a column to 3-d",
                          "BroadcastTo((2, 2)) of a 0-d array": "BroadcastTo of a 0-d array",
                          "BroadcastTo keeps float64": "BroadcastTo((*)) of a (*, 1) column"},
    "test_summation": {"Summation((0, 2)) of a (2, 3, 4) array": "Summation((0, 2))", "Summation(-1)": "Summation(-1)",
                       "Summation((-1, 0))": "Summation((-1, 0))", "a float64 full sum": "Summation(None)",
                       "a float32 full sum": "a float32 full sum"},
    "test_matmul": {"MatMul().forward of (2, 1, 3, 4) and (5, 4, 2)": "MatMul of (2, 1, n, k) and (3, k, m)",
                    "MatMul of float32": "MatMul of float32"},
    "test_tensor_operators": {
        "(4, 3) + (3,): broadcasting": "(4, 3) + (3,): broadcasting", "(3,) * (4, 3)": "(3,) * (4, 3)",
        "(4, 3) - (3,)": "(4, 3) - (3,)", "(3,) - (4, 3)": "(3,) - (4, 3)", "a + a list": "a + a list",
        "a * a NumPy array": "a * a NumPy array", "np.float64(2) * a": ("type of np.float64(n) * a", "np.float64(n) * a"),
        "a ** tensor": "a pow b", "1 - a": "n - a", "a - b - 1": "a - b - 1",
        "f'dtype of {expression}'": ("dtype of f32 * 2", "dtype of 2 - f32", "dtype of 3 / f32", "dtype of f32 ** 2",
                                     "dtype of f32 + np.float64(1)", "dtype of f32 - 0.5"),
        "f'dtype of {expression} on float64'": ("dtype of a - 1 on", "dtype of 2 - a on", "dtype of 2 / a on",
                                                "dtype of m @ m on"),
        "(constant * 2).requires_grad": "(constant * 2).requires_grad",
        "2 - a records its operation": ("(2 - a).requires_grad", "(2 - a)._op is None"),
    },
    "test_tensor_methods": {
        "expression": ("p.exp()", "p.log()", "p.sqrt()", "p.tanh()", "p.sigmoid()", "t.sum((0, 1))", "t.sum(-1)",
                       "t.transpose((1, 0))"),
        "f'({expression})._op'": ("(p.exp())._op", "(p.log())._op", "(p.sqrt())._op", "(p.tanh())._op",
                                  "(p.sigmoid())._op", "(t.sum((0, 1)))._op", "(t.sum(-1))._op",
                                  "(t.transpose((1, 0)))._op"),
        "f'dtype and shape of {expression}'": ("dtype of t.sum()", "shape of t.sum()", "dtype of f32.sum()",
                                               "shape of f32.sum()"),
    },
}
