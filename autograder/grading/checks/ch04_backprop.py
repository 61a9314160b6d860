"""Chapter 4, backpropagation: what is verified of each grade cell (see checks/__init__.py).

build_topo may give any valid order, so its answers are judged by rules (every tensor once, inputs first, the root
last) rather than against the reference's order. From test_backward_simple on, backward runs with a correct
build_topo, as in the chapter's tests, so that a wrong build_topo costs only its own cell.
"""
import numpy as np

CHAIN = 100_000  # as deep as the chapter's tests: deeper than any recursion a raised limit lets through


def topological(edges, count, constants):
    """A rule: the positions of the named tensors in build_topo's list make a valid order of `count` tensors, the
    last named one its root; `edges` are (input, result) index pairs; the `constants` must be left out."""
    def rule(where, length):
        if not isinstance(where, list):
            return "not a list of the graph's tensors"
        if length != count:
            return f"{length} tensors instead of {count}: each tensor once, constants left out"
        for index, position in enumerate(where):
            if index in constants and position != -1:
                return "a constant (requires_grad=False) in the order"
            if index not in constants and position == -1:
                return "a tensor of the graph is missing"
        if where[-1] != count - 1:
            return "the root is not last"
        if any(where[a] >= where[b] for a, b in edges):
            return "a tensor comes before an input it was made from"
        return None
    return rule


def order_of(case, root, named, what, edges, count, constants=()):
    order = case.call("lib.backprop.build_topo", root)
    case.expect(case.call("is_a", order, "list"), f"type of build_topo({what})", "return a list")
    case.expect(case.call("positions", order, *named), f"build_topo({what})",
                "visit all inputs before appending the node; each tensor once (a set of visited id(node)); "
                "skip inputs that do not require grad", rule=topological(edges, count, constants),
                rule_also=case.call("len", order))


def tensor(case, size=None, **kwargs):
    return case.tensor(case.rng.uniform(0.5, 2, size=size), **kwargs)


def test_build_topo(case):
    a = tensor(case, 2)
    b = case.call("mul", a, 2)
    c = case.call("add", b, 1)
    order_of(case, c, [a, b, c], "a chain a -> b -> c", [(0, 1), (1, 2)], 3)
    square = case.call("mul", a, a)
    order_of(case, square, [a, square], "a * a", [(0, 1)], 2)
    constant = tensor(case, 2, requires_grad=False)
    scaled = case.call("mul", a, constant)
    order_of(case, scaled, [constant, a, scaled], "a * constant", [(1, 2)], 2, constants=(0,))
    x = tensor(case, 1)
    left, right = case.call("mul", x, 2), case.call("mul", x, 3)
    top = case.call("mul", left, right)
    order_of(case, top, [x, left, right, top], "a diamond", [(0, 1), (0, 2), (1, 3), (2, 3)], 4)
    twice = case.call("add", x, x)
    order_of(case, twice, [x, twice], "x + x", [(0, 1)], 2)
    near = case.call("mul", a, 3)
    further = case.call("mul", near, 2)
    far = case.call("add", further, a)
    order_of(case, far, [a, near, further, far], "a * 3 * 2 + a, where a short and a long path reach a",
             [(0, 1), (1, 2), (2, 3), (0, 3)], 4)
    order_of(case, x, [x], "a leaf", [], 1)
    product = case.call("mul", x, constant)
    mixed = method(case, product, "sum")
    order_of(case, mixed, [constant, x, product, mixed], "(x * constant).sum()", [(1, 2), (2, 3)], 3,
             constants=(0,))
    w = tensor(case, (3, 2))
    h = case.call("matmul", tensor(case, (4, 3), requires_grad=False), w)
    r = method(case, h, "relu")
    s1 = method(case, r, "sum")
    ww = case.call("mul", w, w)
    s2 = method(case, ww, "sum")
    layers = case.call("add", s1, s2)
    order_of(case, layers, [w, h, r, s1, ww, s2, layers], "a small network",
             [(0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (3, 6), (5, 6)], 7)
    chain = case.call("chain", tensor(case, 1), CHAIN, "__add__", 1.0)
    order = case.call("lib.backprop.build_topo", chain)
    case.expect(case.call("len", order), f"build_topo of a chain of {CHAIN:,} operations",
                "use an explicit stack (a list) instead of a recursive function")
    case.expect(case.call("is", case.call("getitem", order, -1), chain), "the last tensor of a long chain's order")


def method(case, value, name, *args):
    """The step value.name(*args)."""
    return case.call(f"@{value['var']}.{name}", *args)


def grad(case, root, of, *args, **kwargs):
    return case.call("backward_and_grad", root, *args, of=of, **kwargs)


def test_backward_simple(case):
    case.call("use_reference_build_topo")
    x = tensor(case, 3)
    y = method(case, case.call("mul", x, x), "sum")
    case.expect(grad(case, y, x), "x.grad of (x * x).sum()", "d(x*x)/dx = 2x: both inputs of Mul are x; add them up")
    case.expect(case.call("isinstance_tensor", case.call("attr", x, "grad")), "type of x.grad")
    case.expect(case.call("attr", y, "grad"), "y.grad of the output itself", "set .grad on every tensor of the "
                "order, not only on the leaves; the starting gradient is ones")
    w, b = case.tensor(case.rng.normal(size=(2, 2))), case.tensor(case.rng.normal(size=2))
    inputs = case.tensor(case.rng.normal(size=(3, 2)), requires_grad=False)
    hidden = case.call("add", case.call("matmul", inputs, w), b)
    loss = method(case, method(case, hidden, "tanh"), "sum")
    case.expect(grad(case, loss, w), "w.grad of a small layer", dtype=True)
    case.expect(case.call("attr", b, "grad"), "b.grad of a small layer (bias broadcast over the batch)")
    case.expect(case.call("attr", hidden, "grad"), "hidden.grad: an intermediate tensor gets .grad too")
    case.expect(case.call("attr", inputs, "grad"), "the grad of a constant input", "skip inputs that do not "
                "require grad")
    f = tensor(case, 2, dtype=np.float32)
    case.expect(grad(case, method(case, case.call("mul", f, f), "sum"), f), "float32 gradients stay float32",
                dtype=True)
    s = case.tensor(case.rng.uniform(0.5, 2))
    case.expect(grad(case, case.call("mul", s, s), s), "the gradient of a 0-d tensor")


def test_backward_paths(case):
    case.call("use_reference_build_topo")
    x = tensor(case, 1)
    y = case.call("add", case.call("mul", x, x), x)
    case.expect(grad(case, y, x), "x.grad of x * x + x", "gradients arriving on several paths are added: 2x + 1")
    case.expect(case.call("attr", y, "grad"), "y.grad of y = x * x + x, after x's gradients were added up",
                "add with a + b, which makes a new tensor: += changes in place a gradient that other tensors share")
    numbers = case.rng.normal(size=2)
    p, q = case.tensor(numbers), case.tensor(numbers)
    ledger = "key the ledger by id(tensor): two different tensors can hold equal numbers"
    case.expect(grad(case, method(case, case.call("mul", p, q), "sum"), p), "p.grad of (p * q).sum(), p and q equal",
                ledger)
    case.expect(case.call("attr", q, "grad"), "q.grad of (p * q).sum(), p and q equal", ledger)
    a = case.tensor(case.rng.normal(size=2))
    case.expect(grad(case, case.call("add", a, a), a), "a.grad of a + a")
    diamond = case.call("mul", case.call("mul", a, 2), case.call("mul", a, 3))
    case.expect(grad(case, diamond, a), "a.grad of a diamond (2a) * (3a)", "both paths add up: 12a")
    p = tensor(case, 2)
    q = method(case, p, "sigmoid")
    r = case.call("add", case.call("mul", q, p), case.call("truediv", method(case, q, "exp"), p))
    case.expect(grad(case, method(case, r, "sum"), p), "p.grad of a graph with shared tensors", rtol=1e-4)
    deep = tensor(case, 1)
    case.expect(grad(case, case.call("chain", deep, CHAIN, "__mul__", 1.0), deep),
                f"the gradient through a chain of {CHAIN:,} operations")


def test_backward_explicit_grad(case):
    case.call("use_reference_build_topo")
    x = tensor(case, 3)
    case.expect(grad(case, case.call("mul", x, 2), x, case.tensor(case.rng.normal(size=3))),
                "x.grad of x * 2 with a given grad", "start from the given grad, not ones")
    case.expect(grad(case, case.call("mul", x, x), x), "x.grad of x * x with the default grad on a non-scalar output",
                "the default grad is ones of the output's shape")
    m = tensor(case, (2, 3))
    case.expect(grad(case, method(case, m, "sum", 1), m, case.array(case.rng.normal(size=2))),
                "m.grad of m.sum(1) with a NumPy grad")


def test_backward_fresh(case):
    case.call("use_reference_build_topo")
    x = tensor(case, 2)
    y = case.call("mul", x, 3)
    method(case, y, "backward")
    case.expect(grad(case, y, x), "x.grad after calling y.backward() twice", "each backward sets .grad afresh")
    z = case.call("add", case.call("mul", y, 2), y)
    case.expect(grad(case, z, x), "x.grad after reusing y (already backwarded) in a new graph")
    case.expect(case.call("attr", y, "grad"), "y.grad of z = y * 2 + y")
    case.expect(grad(case, method(case, x, "sum"), x), "x.grad after a third, unrelated backward")


def test_backward_no_graph(case):
    case.call("use_reference_build_topo")
    x = tensor(case, 2)
    first = grad(case, method(case, case.call("mul", x, x), "sum"), x)
    hint = "compute the gradients inside set_grad_enabled(create_graph)"
    case.expect(case.call("attr", first, "_op"), "x.grad._op after a plain backward()", hint)
    case.expect(case.call("attr", first, "requires_grad"), "x.grad.requires_grad after a plain backward()", hint)
    case.expect(case.call("is_grad_enabled"), "grad mode after backward()", "use the with statement so the mode is "
                "restored")
    h = tensor(case, (2, 2))
    relu = method(case, case.call("matmul", h, h), "relu")
    second = grad(case, case.call("mul", method(case, relu, "sum"), 2), h)
    case.expect(case.call("attr", second, "_inputs"), "h.grad._inputs of a matmul graph", hint)
    case.expect(case.call("attr", second, "requires_grad"), "h.grad.requires_grad of a matmul graph", hint)


def test_create_graph(case):
    case.call("use_reference_build_topo")
    x = case.tensor(case.rng.uniform(0.5, 2))
    first = grad(case, case.call("pow", x, 3), x, create_graph=True)
    hint = "with create_graph=True, record the gradients' graph"
    case.expect(first, "dy/dx of x ** 3", "3x^2")
    case.expect(case.call("attr", first, "requires_grad"), "x.grad.requires_grad with create_graph=True", hint)
    case.expect(grad(case, first, x), "d2y/dx2 of x ** 3 (backward of the first gradient)", hint)
    t = case.tensor(case.rng.normal(size=2))
    once = grad(case, method(case, method(case, t, "tanh"), "sum"), t,
                create_graph=True)
    case.expect(grad(case, method(case, once, "sum"), t), "second derivative of tanh", hint)
    s = tensor(case, 2)
    product = case.call("mul", s, method(case, s, "exp"))
    again = grad(case, method(case, product, "sum"), s, create_graph=True)
    case.expect(grad(case, method(case, again, "sum"), s), "second derivative of x * exp(x)", hint)


CELLS = {
    "test_build_topo": test_build_topo,
    "test_backward_simple": test_backward_simple,
    "test_backward_paths": test_backward_paths,
    "test_backward_explicit_grad": test_backward_explicit_grad,
    "test_backward_fresh": test_backward_fresh,
    "test_backward_no_graph": test_backward_no_graph,
    "test_create_graph": test_create_graph,
}


# Each assertion of the hidden tests (checks.hidden_assertions), and the expectations above that check it.
HIDDEN = {
    "test_build_topo": {
        **{what: (f"type of build_topo({what})", f"build_topo({what})")
           for what in ("a diamond", "x + x", "a leaf", "(x * constant).sum()", "a small network")},
        "a constant in the order": "build_topo((x * constant).sum())",
        "build_topo of a chain of 100,000 operations: RecursionError": "build_topo of a chain of 100,000 operations",
        "build_topo of a chain of 100,000 operations": ("build_topo of a chain of 100,000 operations",
                                                        "the last tensor of a long chain's order"),
    },
    "test_backward_paths": {
        "a.grad of a + a": "a.grad of a + a",
        "a.grad of a diamond (2a) * (3a)": "a.grad of a diamond (2a) * (3a)",
        "p.grad of a graph with shared tensors": "p.grad of a graph with shared tensors",
        "the gradient through a chain of 100,000 operations": "the gradient through a chain of 100,000 operations",
    },
    "test_backward_explicit_grad": {
        "x.grad of x * x with the default grad on a non-scalar output":
            "x.grad of x * x with the default grad on a non-scalar output",
        "m.grad of m.sum(1) with grad [1, 2]": "m.grad of m.sum(1) with a NumPy grad",
    },
    "test_backward_fresh": {
        "x.grad after reusing y (already backwarded) in a new graph":
            "x.grad after reusing y (already backwarded) in a new graph",
        "y.grad of z = y * 2 + y": "y.grad of z = y * 2 + y",
        "x.grad after a third, unrelated backward": "x.grad after a third, unrelated backward",
    },
    "test_backward_no_graph": {
        "grad mode after backward()": "grad mode after backward()",
        "h.grad of a matmul graph": ("h.grad._inputs of a matmul graph", "h.grad.requires_grad of a matmul graph"),
    },
    "test_create_graph": {
        "second derivative of tanh": "second derivative of tanh",
        "second derivative of x * exp(x)": "second derivative of x * exp(x)",
    },
}
