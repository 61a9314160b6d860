"""Chapter 3, the backward rules: what is verified of each grade cell (see checks/__init__.py).

Each rule is called as the chapter's tests call it (`backward_of`: a node made by hand from the operation's
forward, then `op.backward(out_grad, node)`), and its gradients must match the reference rule's. From test_sub on,
as in the chapter's tests, the rules run with a correct unbroadcast, so that a wrong one costs only its own cell.
"""
import numpy as np

import babygrad
from autograder.grading.probe import resolve

GRADIENTS = dict(rtol=1e-4, atol=1e-5, dtype=True)


def backward(case, op, params, arrays, what=None, hint="", dtype=np.float64):
    """Expect op(*params).backward on these inputs (and a random out_grad) to give the reference's gradients."""
    arrays = [np.asarray(array, dtype) for array in arrays]
    # The output's shape, from the reference forward: out_grad is drawn with it.
    output = getattr(babygrad.ops, op)(*[resolve(param, {}, {}) for param in params]).forward(*arrays)
    made = case.call(f"lib.ops.{op}", *params)
    inputs = [case.tensor(array) for array in arrays]
    out_grad = case.array(case.rng.normal(size=np.shape(output)), dtype)
    name = what or f"{op}({', '.join(map(shown, params))}).backward on {' and '.join(str(a.shape) for a in arrays)}"
    return case.expect(case.call("backward_of", made, *inputs, out_grad=out_grad), name, hint, **GRADIENTS)


def shown(param):
    """A parameter as the chapter writes it: a tuple of axes as a tuple."""
    return str(tuple(param["tuple"])) if isinstance(param, dict) else str(param)


def shape(case, low=2, high=5, ndim=2):
    return tuple(int(n) for n in case.rng.integers(low, high, size=ndim))


def test_unbroadcast(case):
    rng = case.rng
    a, b, c = shape(case, ndim=3)
    grad = case.tensor(rng.normal(size=(a, b, c)))
    for kind, target in (("a row", (c,)), ("a column", (b, 1)), ("the same shape", (a, b, c)),
                         ("a middle axis of size 1", (a, 1, c)), ("axes of size 1", (1, 1, 1)), ("a 0-d tensor", ()),
                         ("fewer axes, one of size 1", (1, c)), ("the last axes", (b, c))):
        case.expect(case.call("lib.gradients.unbroadcast", grad, {"tuple": list(target)}),
                    f"unbroadcast to {kind}, {(a, b, c)} to {target}", "sum over the axes added in front and the stretched "
                    "ones, and keep stretched axes with size 1 (reshape)")
    ones = case.tensor(np.ones((a, 1, c)))
    case.expect(case.call("lib.gradients.unbroadcast", ones, {"tuple": [a, 1, c]}), "size-1 axes that were not "
                "stretched stay")
    single = case.tensor(rng.normal(size=(a, b, c)), np.float32)
    case.expect(case.call("lib.gradients.unbroadcast", single, {"tuple": [c]}), "unbroadcast keeps float32",
                dtype=True)


def binary(op, make_b=None):
    def check(case):
        rng = case.rng
        rows, columns = shape(case)
        b_of = (lambda size: make_b(rng, size)) if make_b else (lambda size: rng.normal(size=size))
        a_of = (lambda size: rng.uniform(0.5, 2, size=size)) if op == "Pow" else (lambda size: rng.normal(size=size))
        backward(case, op, (), [a_of((rows, columns)), b_of((rows, columns))])
        stretched = "sum the stretched axis, keep it with size 1: unbroadcast"
        both = "both inputs were broadcast: unbroadcast each gradient"
        for kind, a, b, hint in (
                ("a matrix with a row", (rows, columns), (columns,), "sum the broadcast axes: unbroadcast"),
                ("a column with a matrix", (rows, 1), (rows, columns), stretched),
                ("a matrix with a column", (rows, columns), (rows, 1), stretched),
                ("a row with a 3-d array", (columns,), (2, 1, columns), both)):
            backward(case, op, (), [a_of(a), b_of(b)], f"{op}.backward, {kind}, {a} with {b}", hint)
    return check


def test_add_mul(case):
    binary("Add")(case)
    binary("Mul")(case)


def unary(op, positive=False, at_zero=False, extremes=False):
    def check(case):
        for kind, size in (("a vector", shape(case, ndim=1)), ("a matrix", shape(case))):
            values = case.rng.uniform(0.5, 2, size=size) if positive else case.rng.normal(size=size)
            backward(case, op, (), [values], f"{op}.backward on {kind} {size}")
        if at_zero:  # the kink: the rule's value at exactly 0 is the reference's (0, as PyTorch's)
            backward(case, op, (), [np.array([-1.5, 0.0, -0.0, 1e-300, 2.0])], f"{op}.backward at 0")
        if extremes:  # exp of them overflows: a warning is an error here, as in the chapter's test
            case.call("np.seterr", over="raise", divide="raise", invalid="raise")
            backward(case, op, (), [np.array([-1000.0, 1000.0])], f"{op}.backward at -1000 and 1000, without a "
                     "warning", "never compute exp of a large number: use the output, or exp(-abs(x))")
            case.call("np.seterr", over="warn", divide="warn", invalid="warn")
    return check


def test_reshape(case):
    rows, columns = shape(case)
    a = case.rng.normal(size=(rows, columns))
    hint = "reshape the gradient back to the input's shape"
    for kind, target in (("to other axes", (columns, rows)), ("to one axis", (rows * columns,)),
                         ("with axes of size 1", (1, rows, columns, 1))):
        backward(case, "Reshape", ({"tuple": list(target)},), [a], f"Reshape {kind}: Reshape({target}).backward", hint)
    backward(case, "Reshape", ({"tuple": [1, rows, 1, columns]},), [a.ravel()], "Reshape of a vector with axes of "
             f"size 1: Reshape({(1, rows, 1, columns)}).backward", hint)
    backward(case, "Reshape", ({"tuple": []},), [case.rng.normal(size=(1, 1))], "Reshape(()).backward", hint)


def test_transpose(case):
    rng = case.rng
    for kind, ndim in (("a matrix", 2), ("a 3-d batch", 3)):
        backward(case, "Transpose", (), [rng.normal(size=shape(case, ndim=ndim))], f"Transpose().backward of {kind}",
                 "axes=None swaps the last two axes only")
    for axes in ((1, 2, 0), (2, 0, 1), (0, 2, 1), (-1, 0, 1), (0, -1, 1)):
        backward(case, "Transpose", ({"tuple": list(axes)},), [rng.normal(size=shape(case, ndim=3))],
                 hint="transpose back with the inverse permutation (np.argsort(axes)); negative axes: axis % ndim")
    backward(case, "Transpose", ({"tuple": [3, 1, 0, 2]},), [rng.normal(size=shape(case, 1, 4, ndim=4))],
             hint="transpose back with the inverse permutation (np.argsort(axes))")
    backward(case, "Transpose", (), [rng.normal(size=shape(case, 1, 4, ndim=4))], "Transpose().backward of a 4-d "
             "batch", "axes=None swaps the last two axes only")


def test_summation(case):
    x = case.rng.normal(size=shape(case, ndim=3))
    hint = "put the summed axes back with size 1, then broadcast; an axis can be negative"
    for axes in (None, 0, 1, -1, (0, 2), (-1, 0), (2, 0), (-1, -3), (0, 1, 2)):
        backward(case, "Summation", ({"tuple": list(axes)} if isinstance(axes, tuple) else axes,), [x], hint=hint)
    rows, columns = shape(case)
    backward(case, "Summation", (1,), [case.rng.normal(size=(rows, 1, columns))], "Summation(1).backward over an "
             "axis of size 1", hint)
    backward(case, "Summation", (), [case.rng.normal(size=())], "Summation().backward of a 0-d tensor", hint)
    backward(case, "Summation", (0,), [np.ones((rows, columns))], "Summation.backward keeps float32",
             dtype=np.float32)


def test_broadcast_to(case):
    rng = case.rng
    rows, columns = shape(case)
    for kind, target, size in (
            ("a column", (rows, columns), (rows, 1)), ("a row to 3-d", (2, rows, columns), (columns,)),
            ("a row", (rows, columns), (columns,)), ("a column to 3-d", (2, rows, columns), (rows, 1)),
            ("axes added and stretched", (3, rows, 2, columns), (rows, 1, columns)), ("a 0-d tensor", (2, 2), ()),
            ("the same shape", (rows, columns), (rows, columns))):
        backward(case, "BroadcastTo", ({"tuple": list(target)},), [rng.normal(size=size)],
                 f"BroadcastTo of {kind}: BroadcastTo({target}).backward of {size}",
                 "sum the gradient over the axes the broadcast added or stretched: unbroadcast")


def test_matmul(case):
    rng = case.rng
    n, k, m = shape(case, ndim=3)
    for kind, a, b in (("matrices", (n, k), (k, m)), ("batched", (2, n, k), (2, k, m)),
                       ("batch axes broadcast", (2, 1, n, k), (3, k, m)), ("a matrix with a batch", (n, k), (2, k, m)),
                       ("batch axes of size 1", (1, n, k), (3, k, 1))):
        backward(case, "MatMul", (), [rng.normal(size=a), rng.normal(size=b)], f"MatMul.backward, {kind}, {a} @ {b}",
                 hint="sum broadcast batch axes with unbroadcast")


def scalar(op):
    def check(case):
        rng = case.rng
        number = float(rng.choice([-1, 1]) * rng.uniform(1.5, 3))
        backward(case, op, (number,), [rng.uniform(0.5, 2, size=shape(case))], f"{op}({number:.3g}).backward on a "
                 "matrix")
        whole = -int(rng.integers(1, 4))
        backward(case, op, (whole,), [rng.uniform(0.5, 2, size=shape(case, ndim=1))], f"{op}({whole}).backward, a "
                 "negative integer, on a vector")
        backward(case, op, (3,), [np.ones(2)], f"{op}.backward keeps float32", dtype=np.float32)
    return check


def with_correct_unbroadcast(check):
    def checked(case):
        case.call("use_reference_unbroadcast")
        check(case)
    return checked


CELLS = {
    "test_unbroadcast": test_unbroadcast,
    "test_add_mul": test_add_mul,
    "test_sub": with_correct_unbroadcast(binary("Sub")),
    "test_div": with_correct_unbroadcast(binary("Div", lambda rng, size: rng.uniform(0.5, 2, size=size))),
    "test_pow": with_correct_unbroadcast(binary("Pow")),
    "test_negate": with_correct_unbroadcast(unary("Negate")),
    "test_log": with_correct_unbroadcast(unary("Log", positive=True)),
    "test_exp": with_correct_unbroadcast(unary("Exp")),
    "test_sqrt": with_correct_unbroadcast(unary("Sqrt", positive=True)),
    "test_tanh": with_correct_unbroadcast(unary("Tanh", extremes=True)),
    "test_sigmoid": with_correct_unbroadcast(unary("Sigmoid", extremes=True)),
    "test_relu": with_correct_unbroadcast(unary("Relu", at_zero=True)),
    "test_abs": with_correct_unbroadcast(unary("Abs", at_zero=True)),
    "test_reshape": with_correct_unbroadcast(test_reshape),
    "test_transpose": with_correct_unbroadcast(test_transpose),
    "test_summation": with_correct_unbroadcast(test_summation),
    "test_broadcast_to": with_correct_unbroadcast(test_broadcast_to),
    "test_matmul": with_correct_unbroadcast(test_matmul),
    "test_mulscalar": with_correct_unbroadcast(scalar("MulScalar")),
    "test_divscalar": with_correct_unbroadcast(scalar("DivScalar")),
    "test_powerscalar": with_correct_unbroadcast(scalar("PowerScalar")),
}


def binary_map(op, *pairs):
    """The hidden tests' check_backward(op, ...) of these (shapes, kind) pairs."""
    return {f"{op}.backward, {shapes}": f"{op}.backward, {kind}" for shapes, kind in pairs}


def unary_map(op, matrix_call):
    return {f"check_backward({op}(), {matrix_call})": f"{op}.backward on a matrix",
            f"{op}.backward on a (4,) tensor": f"{op}.backward on a vector"}


def extremes_map(op, what):
    named = f"{op}.backward at -1000 and 1000, without a warning"
    return {f"backward_of({op}(), np.array([-1000.0, 1000.0]), out_grad=np.ones(2))": named, what: named}


def scalar_map(op):
    return {f"check_backward({op}(2.5), rng.uniform(0.5, 2, size=(2, 3)))": f"{op}(*).backward on a matrix",
            f"{op}(-3).backward": f"{op}(*).backward, a negative integer", f"{op}.backward keeps float32": f"{op}.backward keeps float32"}


# Each assertion of the hidden tests (checks.hidden_assertions), and the expectations above that check it. A
# check_backward of the chapter compares with numeric gradients and checks each gradient's type, shape and dtype;
# here the same gradients are compared with the reference's, as Tensors of the same shape and dtype.
HIDDEN = {
    "test_unbroadcast": {
        "unbroadcast to the same shape": "unbroadcast to the same shape",
        "unbroadcast to (2, 1, 3)": "unbroadcast to a middle axis of size 1",
        "unbroadcast to (1, 1, 1)": "unbroadcast to axes of size 1",
        "unbroadcast to () (a 0-d tensor)": "unbroadcast to a 0-d tensor",
        "unbroadcast to (1, 3)": "unbroadcast to fewer axes, one of size 1",
        "unbroadcast to (4, 3)": "unbroadcast to the last axes",
        "size-1 axes that were not stretched stay": "size-1 axes that were not stretched stay",
        "unbroadcast keeps float32": "unbroadcast keeps float32",
    },
    "test_add_mul": binary_map("Mul", ("(2, 3) * (2, 1)", "a matrix with a column")),
    "test_div": binary_map("Div", ("(2, 3) with (3,)", "a matrix with a row"),
                           ("(2, 1) with (2, 3)", "a column with a matrix"),
                           ("(3,) with (2, 1, 3)", "a row with a 3-d array")),
    "test_pow": binary_map("Pow", ("(2, 3) with (3,)", "a matrix with a row"),
                           ("(2, 1) with (2, 3)", "a column with a matrix"),
                           ("(3,) with (2, 1, 3)", "a row with a 3-d array")),
    "test_negate": unary_map("Negate", "rng.normal(size=(2, 3))"),
    "test_log": unary_map("Log", "rng.uniform(0.5, 3, size=(2, 3))"),
    "test_exp": unary_map("Exp", "rng.normal(size=(2, 3))"),
    "test_sqrt": unary_map("Sqrt", "rng.uniform(0.5, 3, size=(2, 3))"),
    "test_tanh": {**unary_map("Tanh", "rng.normal(size=(2, 3))"), **extremes_map("Tanh", "Tanh.backward at +-1000")},
    "test_sigmoid": {**unary_map("Sigmoid", "rng.normal(scale=3, size=(2, 3))"),
                     **extremes_map("Sigmoid", "Sigmoid.backward at -1000 and 1000")},
    "test_relu": {"backward_of(Relu(), np.array([0.0, -0.0, 1e-300]), out_grad=np.ones(3))": "Relu.backward at 0",
                  "Relu.backward at 0": "Relu.backward at 0", "check_backward(Relu(), x)": "Relu.backward on a matrix"},
    "test_abs": {"backward_of(Abs(), np.array([0.0]), out_grad=np.ones(1))": "Abs.backward at 0",
                 "Abs.backward at 0": "Abs.backward at 0", "check_backward(Abs(), x)": "Abs.backward on a matrix"},
    "test_reshape": {"Reshape((6,)).backward": "Reshape to one axis",
                     "Reshape((1, 2, 1, 3)).backward": "Reshape of a vector with axes of size 1",
                     "Reshape(()).backward": "Reshape(()).backward"},
    "test_transpose": {
        "Transpose().backward of a (3, 2, 5) batch": "Transpose().backward of a 3-d batch",
        "Transpose((1, 2, 0)).backward": "Transpose((1, 2, 0)).backward",
        "Transpose((2, 0, 1)).backward": "Transpose((2, 0, 1)).backward",
        "Transpose((0, -1, 1)).backward": "Transpose((0, -1, 1)).backward",
        "Transpose((3, 1, 0, 2)).backward": "Transpose((3, 1, 0, 2)).backward",
        "Transpose().backward of a (2, 1, 3, 4) batch": "Transpose().backward of a 4-d batch",
    },
    "test_summation": {
        "f'Summation({axes}).backward on a (2, 3, 4) input'": tuple(
            f"Summation({axes}).backward on (" for axes in ("None", "1", "-1", "(0, 2)", "(2, 0)", "(-1, -3)",
                                                              "(0, 1, 2)")),
        "Summation(1).backward over an axis of size 1": "Summation(1).backward over an axis of size 1",
        "Summation().backward of a 0-d tensor": "Summation().backward of a 0-d tensor",
        "Summation.backward keeps float32": "Summation.backward keeps float32",
    },
    "test_broadcast_to": {
        "BroadcastTo((2, 3)).backward of (3,): prepending": "BroadcastTo of a row:",
        "BroadcastTo((2, 3, 4)).backward of (3, 1)": "BroadcastTo of a column to 3-d",
        "BroadcastTo((5, 2, 4, 3)) of (2, 1, 3)": "BroadcastTo of axes added and stretched",
        "BroadcastTo((2, 2)).backward of a 0-d tensor": "BroadcastTo of a 0-d tensor",
        "BroadcastTo to its own shape": "BroadcastTo of the same shape",
    },
    "test_matmul": {
        "check_backward(MatMul(), a, b)": "MatMul.backward, matrices",
        "MatMul.backward, batched": "MatMul.backward, batched",
        "MatMul.backward, (2, 1, 3, 4) @ (5, 4, 2)": "MatMul.backward, batch axes broadcast",
        "MatMul.backward, (3, 4) @ (2, 4, 2)": "MatMul.backward, a matrix with a batch",
        "MatMul.backward, (1, 2, 3) @ (3, 3, 1)": "MatMul.backward, batch axes of size 1",
    },
    "test_mulscalar": scalar_map("MulScalar"),
    "test_divscalar": scalar_map("DivScalar"),
    "test_powerscalar": scalar_map("PowerScalar"),
}
