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
    name = what or f"{op}({', '.join(map(str, params))}).backward on {' and '.join(str(a.shape) for a in arrays)}"
    return case.expect(case.call("backward_of", made, *inputs, out_grad=out_grad), name, hint, **GRADIENTS)


def shape(case, low=2, high=5, ndim=2):
    return tuple(int(n) for n in case.rng.integers(low, high, size=ndim))


def test_unbroadcast(case):
    rng = case.rng
    a, b, c = shape(case, ndim=3)
    grad = case.tensor(rng.normal(size=(a, b, c)))
    for target in ((c,), (b, 1), (a, b, c), (a, 1, c), (1, 1, 1), (), (1, c), (b, c)):
        case.expect(case.call("lib.gradients.unbroadcast", grad, {"tuple": list(target)}),
                    f"unbroadcast of {(a, b, c)} to {target}", "sum over the axes added in front and the stretched "
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
        backward(case, op, (), [a_of((rows, columns)), b_of((columns,))], hint="sum the broadcast axes: unbroadcast")
        backward(case, op, (), [a_of((rows, 1)), b_of((rows, columns))], hint="sum the stretched axis, keep it "
                 "with size 1: unbroadcast")
    return check


def test_add_mul(case):
    binary("Add")(case)
    binary("Mul")(case)


def unary(op, positive=False, at_zero=False):
    def check(case):
        for size in (shape(case, ndim=1), shape(case)):
            values = case.rng.uniform(0.5, 2, size=size) if positive else case.rng.normal(size=size)
            backward(case, op, (), [values])
        if at_zero:  # the kink: the rule's value at exactly 0 is the reference's (0, as PyTorch's)
            backward(case, op, (), [np.array([-1.5, 0.0, 2.0])], f"{op}.backward at 0")
    return check


def test_reshape(case):
    rows, columns = shape(case)
    a = case.rng.normal(size=(rows, columns))
    for target in ((columns, rows), (rows * columns,), (1, rows, columns, 1)):
        backward(case, "Reshape", ({"tuple": list(target)},), [a], hint="reshape the gradient back to the input's "
                 "shape")


def test_transpose(case):
    rng = case.rng
    backward(case, "Transpose", (), [rng.normal(size=shape(case))])
    backward(case, "Transpose", (), [rng.normal(size=shape(case, ndim=3))])
    for axes in ((1, 2, 0), (2, 0, 1), (0, 2, 1), (-1, 0, 1)):
        backward(case, "Transpose", ({"tuple": list(axes)},), [rng.normal(size=shape(case, ndim=3))],
                 hint="transpose back with the inverse permutation (np.argsort(axes))")


def test_summation(case):
    x = case.rng.normal(size=shape(case, ndim=3))
    for axes in (None, 0, 1, -1, {"tuple": [0, 2]}, {"tuple": [-1, 0]}):
        backward(case, "Summation", (axes,), [x], hint="put the summed axes back with size 1, then broadcast; an "
                 "axis can be negative")


def test_broadcast_to(case):
    rows, columns = shape(case)
    backward(case, "BroadcastTo", ({"tuple": [rows, columns]},), [case.rng.normal(size=(rows, 1))])
    backward(case, "BroadcastTo", ({"tuple": [2, rows, columns]},), [case.rng.normal(size=columns)])


def test_matmul(case):
    rng = case.rng
    n, k, m = shape(case, ndim=3)
    for a, b in (((n, k), (k, m)), ((2, n, k), (2, k, m)), ((2, 1, n, k), (3, k, m)), ((n, k), (2, k, m)),
                 ((1, n, k), (3, k, 1))):
        backward(case, "MatMul", (), [rng.normal(size=a), rng.normal(size=b)],
                 hint="sum broadcast batch axes with unbroadcast")


def scalar(op):
    def check(case):
        rng = case.rng
        number = float(rng.choice([-1, 1]) * rng.uniform(1.5, 3))
        backward(case, op, (number,), [rng.uniform(0.5, 2, size=shape(case))])
        backward(case, op, (int(rng.integers(-3, 4)) or 2,), [rng.uniform(0.5, 2, size=shape(case, ndim=1))])
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
    "test_tanh": with_correct_unbroadcast(unary("Tanh")),
    "test_sigmoid": with_correct_unbroadcast(unary("Sigmoid")),
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
