"""Chapter 5, training: what is verified of each grade cell of its three notebooks, nn, optim and training (see
checks/__init__.py).

The small Modules the tests define (a Scale, a Pair of them, ...) are built in the probe on the student's Module
(`make_module`). What the tests compare exactly is compared with the reference: a Linear's weight, drawn first from
the generator it is given; the batches of a DataLoader that does not shuffle. What they only bound is judged by
rules, so that the student's generator may be used in any way the tests allow: a Linear's numbers spread over
+-1/sqrt(in_features); a shuffled DataLoader's epochs, each example once in a new order, the same orders from the
same seed. From test_cross_entropy on, the loss runs with a correct log_softmax, as in the chapter's tests.
"""
import numpy as np


def whole(case, low, high):
    """A whole number from low to high - 1."""
    return int(case.rng.integers(low, high))


def method(case, value, name, *args, **kwargs):
    """The step value.name(*args, **kwargs)."""
    return case.call(f"@{value['var']}.{name}", *args, **kwargs)


def called(case, value, *args):
    """The step value(*args)."""
    return case.call(f"@{value['var']}", *args)


def parameter(case, value, dtype=None):
    return case.call("lib.nn.Parameter", case.array(value, dtype))


# --- nn.ipynb --------------------------------------------------------------------------------------------------

def scale(case):
    """(a Scale module of the tests, its factor): x * factor, beside a Tensor that is not a Parameter."""
    factor = parameter(case, case.rng.uniform(0.5, 2, size=1))
    return case.call("make_module", "scale", factor=factor, note=case.tensor([1.0])), factor


def test_module(case):
    first, first_factor = scale(case)
    offset = parameter(case, case.rng.normal(size=1))
    second, second_factor = scale(case)
    pair = case.call("make_module", "pair", first=first, offset=offset, second=second)
    case.expect(called(case, pair, case.tensor(case.rng.normal(size=1))), "calling a module (a Pair of Scales)",
                "__call__ returns self.forward(...)")
    case.expect(case.call("first_items", method(case, pair, "named_parameters")), "Pair().named_parameters() names",
                "own Parameters first (vars(self) order), then each child's, named 'child.parameter'")
    parameters = method(case, pair, "parameters")
    case.expect(case.call("is_a", parameters, "list"), "Pair().parameters() is a list")
    case.expect(case.call("len", parameters), "len(Pair().parameters())")
    case.expect(case.call("positions", parameters, offset, first_factor, second_factor),
                "the parameters themselves (not copies)", "return the Parameter objects")
    case.expect(case.call("is", method(case, pair, "train"), pair), "train() returns the module")
    case.expect(case.call("is", method(case, pair, "eval"), pair), "eval() returns the module")
    case.expect(case.call("attr", pair, "training"), "training after eval()")
    case.expect(case.call("attr", first, "training"), "a child's training after eval()", "set training in every "
                "child too")
    shared, _ = scale(case)
    middle, _ = scale(case)
    twice = case.call("make_module", "in_turn", layers=[shared, middle, shared])
    case.expect(case.call("first_items", method(case, twice, "named_parameters")),
                "named_parameters of a list of modules with one used twice",
                "a list's items are named by position; list a parameter once")
    case.expect(case.call("len", method(case, twice, "parameters")), "len(parameters()) with a shared layer")
    case.expect(called(case, twice, case.tensor(case.rng.normal(size=2))), "calling a module made of a list of modules")
    case.expect(case.call("attr", scale(case)[0], "training"), "a new module's training")
    method(case, twice, "eval")
    case.expect(case.call("attr", middle, "training"), "eval() reaches the modules in a list")
    method(case, twice, "train")
    for name, module in (("a shared module", shared), ("a module", middle), ("the module itself", twice)):
        case.expect(case.call("attr", module, "training"), f"train() after eval(): {name} in a list")
    case.expect(case.call("is", method(case, twice, "train", False), twice), "train(False) returns the module")
    case.expect(case.call("attr", twice, "training"), "training after train(False)")
    inner = case.call("make_module", "pair", first=scale(case)[0], offset=parameter(case, np.zeros(1)),
                      second=scale(case)[0])
    deep = case.call("make_module", None, inner=inner, items={"tuple": [scale(case)[0], "not a module", 3]})
    case.expect(case.call("first_items", method(case, deep, "named_parameters")),
                "named_parameters two levels deep, and a tuple")
    nothing = method(case, case.call("lib.nn.Module"), "parameters")
    case.expect(nothing, "Module().parameters()")
    case.expect(case.call("is_a", nothing, "list"), "Module().parameters() is a list")


def uniform_within(bound, reaching=0.0):
    """A rule: numbers drawn uniformly from +-bound, none outside it and spread over it, the largest at least
    `reaching` * bound (as many numbers as a large layer's weights come that close to the bound)."""
    def rule(numbers, _):
        if not isinstance(numbers, np.ndarray) or numbers.size < 2:
            return "not an array of numbers"
        if np.abs(numbers).max() > bound * (1 + 1e-6):
            return f"numbers outside +-{bound:.4g} (1/sqrt(in_features))"
        if numbers.std() <= bound / 5 or np.abs(numbers).max() <= reaching * bound:
            return f"numbers that do not fill +-{bound:.4g} (1/sqrt(in_features))"
        return None
    return rule


def test_linear(case):
    in_features, out_features = whole(case, 2, 7), whole(case, 2, 7)
    layer = case.call("lib.nn.Linear", in_features, out_features, rng=case.call("rng", whole(case, 0, 2 ** 31)))
    weight, bias = case.call("attr", layer, "weight"), case.call("attr", layer, "bias")
    hint = "wrap the arrays in Parameter(...)"
    case.expect(case.call("is_a", weight, "Parameter"), "Linear's weight is a Parameter", hint)
    case.expect(case.call("is_a", bias, "Parameter"), "Linear's bias is a Parameter", hint)
    case.expect(weight, f"Linear({in_features}, {out_features}, rng=default_rng(seed)).weight", "rng.uniform(-k, k, "
                "(out_features, in_features)) with k = 1/sqrt(in_features), drawn first, in float32", dtype=True)
    case.expect(case.call("attr", bias, "shape"), f"Linear({in_features}, {out_features}).bias.shape")
    given = case.call("linear_with", case.array(case.rng.normal(size=(out_features, in_features)), np.float32),
                      case.array(case.rng.normal(size=out_features), np.float32))
    x = case.tensor(case.rng.normal(size=(whole(case, 1, 5), in_features)), np.float32, requires_grad=False)
    case.expect(method(case, given, "forward", x), "Linear.forward(x)", "x @ self.weight.T + self.bias")
    big_in, big_out = whole(case, 100, 401), whole(case, 30, 61)
    big = case.call("lib.nn.Linear", big_in, big_out, rng=case.call("rng", whole(case, 0, 2 ** 31)))
    bound = 1 / np.sqrt(big_in)
    case.expect(case.call("attr", big, "weight"), f"the weights of Linear({big_in}, {big_out})",
                rule=uniform_within(bound, reaching=0.8))
    case.expect(case.call("attr", big, "bias"), f"the bias of Linear({big_in}, {big_out})", rule=uniform_within(bound))
    without_bias = case.call("lib.nn.Linear", 4, 3, bias=False, rng=case.call("rng", whole(case, 0, 2 ** 31)))
    case.expect(case.call("attr", without_bias, "bias"), "Linear(4, 3, bias=False).bias")
    unbiased = case.call("linear_with", case.array(case.rng.normal(size=(3, 4)), np.float32), None)
    ones = case.tensor(np.ones((5, 4)), np.float32, requires_grad=False)
    case.expect(method(case, unbiased, "forward", ones), "Linear without bias, forward")
    double = case.call("lib.nn.Linear", 2, 2, dtype=case.call("np.dtype", "float64"),
                       rng=case.call("rng", whole(case, 0, 2 ** 31)))
    case.expect(case.call("str", case.call("attr", case.call("attr", double, "weight"), "dtype")),
                "Linear(..., dtype=np.float64).weight.dtype")
    case.expect(case.call("str", case.call("attr", case.call("attr", double, "bias"), "dtype")),
                "Linear(..., dtype=np.float64).bias.dtype")
    wide = case.call("linear_with", case.array(case.rng.normal(size=(2, 2))), case.array(case.rng.normal(size=2)))
    case.expect(method(case, wide, "forward", case.tensor(case.rng.normal(size=2), requires_grad=False)),
                "Linear on one 1-D input")
    out = method(case, wide, "forward", case.tensor(case.rng.normal(size=(1, 2))))
    case.expect(case.call("backward_and_grad", method(case, out, "sum"), of=case.call("attr", wide, "weight")),
                "the weight's gradient through Linear")


def test_sequential(case):
    x = case.tensor(case.rng.normal(size=whole(case, 2, 6)))
    case.expect(method(case, case.call("lib.nn.ReLU"), "forward", x), "ReLU().forward(x)", "x.relu()")
    add_one, double = case.call("make_module", "add_one"), case.call("make_module", "double")
    net = case.call("lib.nn.Sequential", add_one, double)
    layers = case.call("attr", net, "layers")
    hint = "keep the modules in a list, self.layers"
    case.expect(case.call("is_a", layers, "list"), "Sequential(a, b).layers is a list", hint)
    case.expect(case.call("len", layers), "len(Sequential(a, b).layers)", hint)
    case.expect(method(case, net, "forward", x), "Sequential(AddOne(), Double()).forward(x)",
                "apply the modules in order: (x + 1) * 2")
    case.expect(method(case, case.call("lib.nn.Sequential", double, add_one), "forward", x),
                "Sequential(Double(), AddOne()): the order")
    case.expect(method(case, case.call("lib.nn.Sequential"), "forward", x), "an empty Sequential returns its input")
    relu = case.call("lib.nn.ReLU")
    case.expect(method(case, case.call("lib.nn.Sequential", relu, double, relu), "forward", x), "three modules")
    single = case.tensor(case.rng.normal(size=3), np.float32)
    case.expect(method(case, relu, "forward", single), "ReLU keeps float32", dtype=True)
    signed = case.tensor(case.rng.normal(size=whole(case, 2, 6)))
    case.expect(case.call("backward_and_grad", method(case, called(case, relu, signed), "sum"), of=signed),
                "the gradient through ReLU", "x.relu(): ReLU computed on x.data is outside the graph")
    size = whole(case, 2, 6)
    first, last = parameter(case, case.rng.normal(size=size)), parameter(case, case.rng.normal(size=size))
    chain = case.call("lib.nn.Sequential", case.call("make_module", "scale", factor=first), relu,
                      case.call("make_module", "scale", factor=last))
    out = called(case, chain, case.tensor(case.rng.normal(size=size), requires_grad=False))
    case.expect(case.call("backward_and_grad", method(case, out, "sum"), of=first),
                "the first layer's gradient in Sequential(Scale, ReLU, Scale)",
                "x = layer(x) for each layer in turn: the gradient flows back through every one")
    case.expect(case.call("attr", last, "grad"), "the last layer's gradient in Sequential(Scale, ReLU, Scale)")


def log_softmax(case, x, **kwargs):
    return case.call("lib.nn.log_softmax", x, **kwargs)


def huge_logits(case, size):
    """Logits of thousands, some positive and some negative: exp of them overflows."""
    return case.rng.uniform(5e3, 2e4, size=size) * case.rng.choice([-1.0, 1.0], size=size)


def test_log_softmax(case):
    x = case.tensor(3 * case.rng.normal(size=(whole(case, 2, 5), whole(case, 2, 6))))
    case.expect(log_softmax(case, x), "log_softmax of a few rows", "x - x.logsumexp(axis, keepdims=True)")
    hint = "use logsumexp, which takes the largest number out first; never exp(x) itself"
    case.expect(log_softmax(case, case.tensor(huge_logits(case, (2, 3)))), "log_softmax of logits of thousands", hint)
    columns = case.tensor(case.rng.normal(size=(3, 2)))
    case.expect(log_softmax(case, columns, axis=0), "log_softmax(x, axis=0)", "use the axis argument")
    case.expect(log_softmax(case, case.tensor(case.rng.normal(size=(1, 3)), np.float32)), "log_softmax keeps float32",
                dtype=True)
    z = case.tensor(case.rng.normal(size=(1, 4)))
    picked = case.tensor(np.eye(4)[[whole(case, 0, 4)]], requires_grad=False)
    loss = method(case, case.call("mul", log_softmax(case, z), picked), "sum")
    case.expect(case.call("backward_and_grad", loss, of=z), "the gradient of log_softmax")
    big = case.tensor(huge_logits(case, (1, 2)))
    case.expect(case.call("backward_and_grad", method(case, log_softmax(case, big), "sum"), of=big),
                "the gradient of log_softmax of logits of thousands", hint)


def finite(numbers, _):
    """A rule: numbers, none of them infinite or NaN."""
    if not isinstance(numbers, np.ndarray):
        return "not an array of numbers"
    return None if np.all(np.isfinite(numbers)) else "numbers that are not finite"


def test_cross_entropy(case):
    case.call("use_reference_log_softmax")
    loss_of = case.call("lib.nn.CrossEntropyLoss")
    rows, classes = whole(case, 2, 6), whole(case, 2, 6)
    logits = case.tensor(case.rng.normal(size=(rows, classes)))
    loss = method(case, loss_of, "forward", logits, case.array(case.rng.integers(0, classes, rows)))
    case.expect(case.call("attr", loss, "shape"), "the shape of the loss", "sum everything, then divide")
    case.expect(loss, "CrossEntropyLoss of a few rows", "the mean over rows of -log_softmax(logits)[row, target]")
    case.expect(case.call("backward_and_grad", loss, of=logits), "the gradient of the loss for the logits",
                "softmax minus one-hot, over N; make the one-hot a constant Tensor")
    wild = case.tensor(huge_logits(case, (2, 3)), np.float32)
    wild_loss = method(case, loss_of, "forward", wild, case.array(case.rng.integers(0, 3, 2)))
    case.expect(wild_loss, "the loss of logits of thousands", rtol=1e-4, dtype=True)
    case.expect(case.call("backward_and_grad", wild_loss, of=wild), "gradients for logits of thousands", rule=finite)
    many = case.tensor(case.rng.normal(size=(7, 5)))
    labels = case.rng.integers(0, 5, 7)
    case.expect(method(case, loss_of, "forward", many, case.array(labels)), "the loss of 7 rows, 5 classes")
    case.expect(method(case, loss_of, "forward", many, [int(label) for label in labels]), "targets as a list")
    case.expect(method(case, loss_of, "forward", many, case.array(labels, np.float64)), "float targets")
    case.expect(method(case, loss_of, "forward", many, case.array(labels[:3])), "too few targets")
    case.expect(method(case, loss_of, "forward", many, case.array(labels + 5)), "a target out of range")


def layer(case, rows, columns):
    """A module of the state_dict tests: a float32 weight and bias."""
    weight = parameter(case, case.rng.normal(size=(rows, columns)), np.float32)
    bias = parameter(case, case.rng.normal(size=rows), np.float32)
    return case.call("make_module", None, weight=weight, bias=bias), weight, bias


def net(case, rows, columns):
    """(a module with a list of two layers, the first layer's weight and bias, the second's bias)."""
    (first, weight, bias), (second, _, last_bias) = layer(case, rows, columns), layer(case, rows, columns)
    return case.call("make_module", None, layers=[first, second]), weight, bias, last_bias


def test_state_dict(case):
    rows, columns = whole(case, 1, 4), whole(case, 2, 5)
    model, weight, _, _ = net(case, rows, columns)
    state = method(case, model, "state_dict")
    case.expect(case.call("sorted", state), "the keys of state_dict()", "the names of named_parameters()")
    case.expect(case.call("isinstance_ndarray", case.call("getitem", state, "layers.0.weight")),
                "a value of state_dict() is a NumPy array")
    case.call("setitem", case.call("attr", weight, "data"), {"tuple": [0, 0]}, 100.0)
    case.expect(case.call("getitem", state, "layers.0.weight"), "state_dict() is a snapshot", "copy each array "
                "(.copy())")
    other, other_weight, other_bias, other_last_bias = net(case, rows, columns)
    changed = case.array(case.rng.normal(size=rows))
    method(case, other, "load_state_dict", case.call("merged", state, {"layers.1.bias": changed}))
    case.expect(other_last_bias, "load_state_dict sets the numbers, in the parameter's dtype", dtype=True)
    wrong = (rows + 1, columns)
    case.expect(method(case, other, "load_state_dict", case.call("merged", state, {
        "layers.0.weight": case.array(np.ones(wrong))})), "load_state_dict with a weight of the wrong shape",
        "name the parameter and both shapes", message_contains=("layers.0.weight", str(wrong), str((rows, columns))))
    case.expect(method(case, other, "load_state_dict", case.call("without", state, "layers.1.weight")),
                "load_state_dict with a missing key", message_contains=("layers.1.weight",))
    case.expect(method(case, other, "load_state_dict", case.call("merged", state, {"extra": case.array(np.ones(1))})),
                "load_state_dict with an unexpected key", message_contains=("extra",))
    failed = method(case, other, "load_state_dict", case.call("merged", state, {
        "layers.0.bias": case.array(np.ones(rows)), "layers.1.weight": case.array(np.ones(columns + 1))}))
    case.expect(failed, "load_state_dict with one shape of two wrong", "raise ValueError")
    case.expect(case.call("np.array", case.call("attr", other_bias, "data")), "a failed load changes nothing",
                "check every shape before setting any")
    for dtype in (np.float64, np.float32):  # np.asarray would copy the first and share the second
        source = case.call("np.array", case.array(case.rng.normal(size=(rows, columns)), dtype))
        method(case, other, "load_state_dict", case.call("merged", state, {"layers.0.weight": source}))
        case.call("setitem", source, {"tuple": [0, 0]}, -1.0)
        case.expect(case.call("np.array", case.call("attr", other_weight, "data")),
                    f"load_state_dict copies the numbers of a {np.dtype(dtype)} array",
                    "np.array(..., dtype=...) copies, np.asarray of an array that has the dtype already is that array")
    empty = method(case, case.call("lib.nn.Module"), "state_dict")
    case.expect(case.call("is_a", empty, "dict"), "the state of a module without parameters is a dict")
    case.expect(case.call("len", empty), "the state of a module without parameters")


# --- optim.ipynb -----------------------------------------------------------------------------------------------

def optimised(case, optimizer, parameter, gradients):
    """The step: `parameter` after optimizer.step() with each of `gradients` in turn as its gradient."""
    return case.call("optimise", optimizer, parameter, case.array(gradients))


def steps_on_a_sum(case, optimizer, a, b, count, what):
    """`count` rounds of zero_grad, (a + b).sum().backward() (a.grad is b.grad) and step; a.grad after each."""
    for _ in range(count):
        method(case, optimizer, "zero_grad")
        method(case, method(case, case.call("add", a, b), "sum"), "backward")
        method(case, optimizer, "step")
        case.expect(case.call("attr", a, "grad"), f"a.grad after a step of {what} (shared with b.grad)",
                    "never change a gradient in place")


def test_sgd(case):
    size = whole(case, 1, 5)
    lr, momentum = case.rng.uniform(0.01, 0.5), case.rng.uniform(0.5, 0.95)
    w = case.tensor(case.rng.normal(size=size))
    case.expect(optimised(case, case.call("lib.optim.SGD", [w], lr=lr), w, case.rng.normal(size=(1, size))),
                "w after one SGD step", "p.data -= lr * grad")
    v = case.tensor(case.rng.normal(size=size))
    twice = np.repeat(case.rng.normal(size=(1, size)), 2, axis=0)
    case.expect(optimised(case, case.call("lib.optim.SGD", [v], lr=lr, momentum=momentum), v, twice),
                "v after two steps of SGD with momentum, the same gradient each time",
                "the first velocity is the gradient, then v = momentum * v + grad")
    start = case.rng.normal(size=size)
    a, b = case.tensor(start), case.tensor(start)
    steps_on_a_sum(case, case.call("lib.optim.SGD", [a, b], lr=lr, momentum=momentum), a, b, 3, "SGD with momentum")
    case.expect(b, "two parameters with the same gradients move alike", "keep each velocity your own array", like=a)
    case.expect(a, "a after three steps of SGD with momentum")
    p, q = case.tensor(case.rng.normal(size=size)), case.tensor(case.rng.normal(size=size))
    case.call("set", p, "grad", case.tensor(case.rng.normal(size=size), requires_grad=False))
    case.expect(method(case, case.call("lib.optim.SGD", [p, q], lr=lr, momentum=momentum), "step"),
                "SGD.step() where a parameter's grad is None", "a parameter that took no part in the loss has grad "
                "None: skip it")
    case.expect(p, "an SGD step of one parameter of two")
    case.expect(q, "a parameter whose grad is None is left alone")
    x = case.tensor(case.rng.normal(size=size))
    case.expect(optimised(case, case.call("lib.optim.SGD", [x], lr=lr, momentum=momentum), x,
                          case.rng.normal(size=(4, size))), "four SGD steps with momentum and changing gradients")
    f32 = case.tensor(case.rng.normal(size=size), np.float32)
    case.expect(optimised(case, case.call("lib.optim.SGD", [f32], lr=lr, momentum=momentum), f32,
                          case.rng.normal(size=(1, size)).astype(np.float32)), "SGD keeps float32 parameters float32",
                dtype=True)
    shared = case.tensor(case.rng.normal(size=size), requires_grad=False)
    c, d = case.tensor(np.zeros(size)), case.tensor(np.zeros(size))
    case.call("set", c, "grad", shared)
    case.call("set", d, "grad", shared)
    sgd = case.call("lib.optim.SGD", [c, d], lr=lr, momentum=momentum)
    method(case, sgd, "step")
    method(case, sgd, "step")
    case.expect(shared, "a gradient shared by two parameters, after two momentum steps",
                "never change a gradient in place")
    case.expect(c, "c after two momentum steps with a shared gradient")
    case.expect(d, "d after two momentum steps with a shared gradient", "keep each velocity your own array")


def gradients_of_every_size(case, shape):
    """Gradients from about 0.001 to about 100: Adam's steps must not depend on their size."""
    return case.rng.normal(size=shape) * 10 ** case.rng.uniform(-3, 2, size=shape)


def test_adam(case):
    size = whole(case, 2, 5)
    lr = case.rng.uniform(0.01, 0.5)
    w = case.tensor(case.rng.normal(size=size))
    adam = case.call("lib.optim.Adam", [w], lr=lr)
    case.expect(optimised(case, adam, w, gradients_of_every_size(case, (1, size))), "w after Adam's first step",
                "the first step is about lr whatever the gradient's size: m_hat = g and v_hat = g**2 after bias "
                "correction", rtol=1e-4)
    case.expect(case.call("equals", case.call("attr", adam, "t"), 1), "adam.t == 1 after one step",
                "count the steps in self.t")
    shape = (whole(case, 1, 4), whole(case, 1, 4))
    x = case.tensor(case.rng.normal(size=shape))
    betas = {"tuple": [case.rng.uniform(0.7, 0.95), case.rng.uniform(0.95, 0.999)]}
    adam = case.call("lib.optim.Adam", [x], lr=lr, betas=betas, eps=1e-6)
    case.expect(optimised(case, adam, x, gradients_of_every_size(case, (5, *shape))),
                "five Adam steps with other betas and eps", rtol=1e-6, atol=1e-9)
    y, z = case.tensor(case.rng.normal(size=1)), case.tensor(case.rng.normal(size=1))
    case.call("set", y, "grad", case.tensor(gradients_of_every_size(case, 1), requires_grad=False))
    method(case, case.call("lib.optim.Adam", [y, z], lr=lr), "step")
    case.expect(z, "a parameter without a gradient is left alone")
    case.expect(y, "Adam's first step of one parameter of two", rtol=1e-6)
    start = case.rng.normal(size=size)
    a, b = case.tensor(start), case.tensor(start)
    steps_on_a_sum(case, case.call("lib.optim.Adam", [a, b], lr=lr), a, b, 3, "Adam")
    case.expect(a, "three Adam steps with a shared gradient", rtol=1e-6)
    case.expect(b, "two parameters with the same gradients move alike", like=a)
    f32 = case.tensor(case.rng.normal(size=1), np.float32)
    case.expect(optimised(case, case.call("lib.optim.Adam", [f32]), f32,
                          case.rng.normal(size=(1, 1)).astype(np.float32)), "Adam keeps float32 parameters float32",
                dtype=True)


# --- training.ipynb --------------------------------------------------------------------------------------------

def shuffled(inputs, targets):
    """A rule: an epoch of a shuffled DataLoader of (inputs, targets) with distinct targets: every example once,
    not in their order, each batch's inputs those of its targets; and, when given one, not the order of `before`."""
    row_of = {target: row for row, target in enumerate(targets)}

    def rule(batches, before):
        seen = np.concatenate([batch_targets for _, batch_targets in batches])
        if sorted(seen) != sorted(targets):
            return "not every example once"
        if list(seen) == list(targets):
            return "the examples in their order: not shuffled"
        if any(not np.array_equal(batch_inputs, inputs[[row_of[target] for target in batch_targets]])
               for batch_inputs, batch_targets in batches):
            return "inputs apart from their targets: index every array with the same rows"
        if before and list(seen) == list(np.concatenate([batch_targets for _, batch_targets in before])):
            return "the same order as the epoch before: draw a new permutation in every __iter__"
        return None
    return rule


def loader(case, dataset, **options):
    return case.call("lib.data.DataLoader", {"tuple": dataset}, **options)


def test_data_loader(case):
    batch_size = whole(case, 3, 7)
    count = whole(case, 10, 25)
    if count % batch_size == 0:  # a last batch smaller than the others
        count += 1
    features = case.rng.normal(size=(count, whole(case, 1, 4)))
    targets = case.rng.permutation(count) + whole(case, 0, 100)
    dataset = [case.array(features), case.array(targets)]
    batches = case.call("epoch", loader(case, dataset, batch_size=batch_size))
    case.expect(batches, f"the batches of {count} examples, batch_size={batch_size}, without shuffling",
                "rows in order; the last batch may be smaller")
    case.expect(case.call("is_a", case.call("getitem", batches, 0), "tuple"), "a batch is a tuple (inputs, targets)")
    case.expect(case.call("len", loader(case, dataset, batch_size=batch_size)),
                f"len(DataLoader({count} examples, batch_size={batch_size}))", "a smaller last batch counts too: "
                "round up")
    seed = whole(case, 0, 2 ** 31)
    mixing = loader(case, dataset, batch_size=batch_size, shuffle=True, seed=seed)
    first = case.call("epoch", mixing)
    rule = shuffled(features, targets)
    case.expect(first, "a shuffled epoch", "draw a new permutation in every __iter__", rule=rule)
    case.expect(case.call("epoch", mixing), "a second shuffled epoch", "draw a new permutation in every __iter__",
                rule=rule, rule_also=first)
    again = case.call("epoch", loader(case, dataset, batch_size=batch_size, shuffle=True, seed=seed))
    case.expect(again, "the same seed gives the same order", "use self.rng.permutation(n)", like=first)
    dropping = loader(case, dataset, batch_size=batch_size, drop_last=True)
    case.expect(case.call("len", case.call("epoch", dropping)), "the batches of drop_last=True")
    case.expect(case.call("len", dropping), "len() with drop_last=True")
    fitting = [case.array(features[:batch_size * 2]), case.array(targets[:batch_size * 2])]
    case.expect(case.call("len", case.call("epoch", loader(case, fitting, batch_size=batch_size, drop_last=True))),
                "drop_last when batches fit")
    case.expect(case.call("len", case.call("epoch", loader(case, dataset, batch_size=count + 5))),
                "one batch larger than the data")
    case.expect(case.call("len", loader(case, dataset[:1], batch_size=1)), "batch_size=1")
    case.expect(case.call("epoch", loader(case, dataset[:1], batch_size=batch_size)), "a dataset of one array")
    case.expect(loader(case, [dataset[0], case.array(targets[:count // 2])]), "arrays of different lengths")
    case.expect(loader(case, dataset, batch_size=0), "batch_size=0")


def saved(case, state, name):
    """(the files save(state, name) wrote in a fresh folder, what load(name) gave back)."""
    trip = case.call("save_and_load", state, name)
    return case.call("getitem", trip, 0), case.call("getitem", trip, 1)


def test_save_load(case):
    rows, columns = whole(case, 1, 4), whole(case, 1, 5)
    state = {"layers.0.weight": case.array(case.rng.normal(size=(rows, columns)), np.float32),
             "layers.0.bias": case.array(case.rng.normal(size=rows))}
    files, loaded = saved(case, state, "model.npz")
    case.expect(files, "the files save() writes", "write to exactly the given path")
    case.expect(case.call("is_a", loaded, "dict"), "load() returns a dict", "a dict of name: array")
    case.expect(case.call("sorted", loaded), "the keys load() returns")
    case.expect(case.call("getitem", loaded, "layers.0.weight"), "a loaded float32 array", dtype=True)
    case.expect(case.call("getitem", loaded, "layers.0.bias"), "float64 stays float64", dtype=True)
    files, loaded = saved(case, {"w": case.tensor(case.rng.normal(size=(2, 2)))}, "checkpoint")
    case.expect(files, "save to a name without .npz", "np.savez adds .npz to a name: give it an open file")
    case.expect(case.call("getitem", loaded, "w"), "saving a Tensor saves its numbers")
    case.expect(case.call("load_pickled"), "load() of a file that holds a pickled object",
                "np.load(path, allow_pickle=False)")
    _, empty = saved(case, {}, "empty.npz")
    case.expect(case.call("is_a", empty, "dict"), "load() of an empty state is a dict")
    case.expect(case.call("len", empty), "an empty state")


CELLS = {
    "test_module": test_module,
    "test_linear": test_linear,
    "test_sequential": test_sequential,
    "test_log_softmax": test_log_softmax,
    "test_cross_entropy": test_cross_entropy,
    "test_state_dict": test_state_dict,
    "test_sgd": test_sgd,
    "test_adam": test_adam,
    "test_data_loader": test_data_loader,
    "test_save_load": test_save_load,
}


# Each assertion of the hidden tests (checks.hidden_assertions), and the expectations above that check it.
HIDDEN = {
    "test_module": {
        "named_parameters of a list of modules with one used twice":
            "named_parameters of a list of modules with one used twice",
        "len(parameters()) with a shared layer": "len(parameters()) with a shared layer",
        "calling a module made of a list of modules": "calling a module made of a list of modules",
        "a new module's training": "a new module's training",
        "eval() reaches the modules in a list": "eval() reaches the modules in a list",
        "train() after eval()": ("train() after eval(): a shared module", "train() after eval(): a module in",
                                 "train() after eval(): the module itself"),
        "train(False)": ("train(False) returns the module", "training after train(False)"),
        "named_parameters two levels deep, and a tuple": "named_parameters two levels deep, and a tuple",
        "Module().parameters()": ("Module().parameters()", "Module().parameters() is a list"),
    },
    "test_linear": {
        "the weights of Linear(400, 50) lie in +-1/sqrt(400)": "the weights of Linear(",
        "the bias of Linear(400, 50)": "the bias of Linear(",
        "Linear(4, 3, bias=False).bias": "Linear(4, 3, bias=False).bias",
        "Linear without bias, forward": "Linear without bias, forward",
        "Linear(..., dtype=np.float64)": ("Linear(..., dtype=np.float64).weight.dtype",
                                          "Linear(..., dtype=np.float64).bias.dtype"),
        "Linear on one 1-D input": "Linear on one 1-D input",
        "the weight's gradient through Linear": "the weight's gradient through Linear",
    },
    "test_sequential": {
        "Sequential(Double(), AddOne()): the order": "Sequential(Double(), AddOne()): the order",
        "an empty Sequential returns its input": "an empty Sequential returns its input",
        "three modules": "three modules",
        "ReLU keeps float32": "ReLU keeps float32",
    },
    "test_log_softmax": {
        "log_softmax(x, axis=0)": "log_softmax(x, axis=0)",
        "log_softmax keeps float32": "log_softmax keeps float32",
        "the gradient of log_softmax": "the gradient of log_softmax",
        "the gradient of log_softmax of [-1e4, 1e4] is finite": "the gradient of log_softmax of logits of thousands",
    },
    "test_state_dict": {
        "load_state_dict with a missing key": "load_state_dict with a missing key",
        "the KeyError names the missing parameter": "load_state_dict with a missing key",
        "load_state_dict with an unexpected key": "load_state_dict with an unexpected key",
        "the KeyError names the unexpected entry": "load_state_dict with an unexpected key",
        "a bad shape": ("load_state_dict with a weight of the wrong shape", "load_state_dict with one shape of two"),
        "a failed load changes nothing": "a failed load changes nothing",
        "load_state_dict copies the numbers": "load_state_dict copies the numbers of a float64 array",
        "the state of a module without parameters": ("the state of a module without parameters is a dict",
                                                     "the state of a module without parameters"),
    },
    "test_sgd": {
        "SGD step with lr=1": "an SGD step of one parameter of two",
        "a parameter whose grad is None is left alone": "a parameter whose grad is None is left alone",
        "four SGD steps with momentum 0.8 and changing gradients": "four SGD steps with momentum",
        "SGD keeps float32 parameters float32": "SGD keeps float32 parameters float32",
        "a gradient shared by two parameters, after two momentum steps":
            "a gradient shared by two parameters, after two momentum steps",
        "c after two momentum steps with a shared gradient": "c after two momentum steps with a shared gradient",
        "d after two momentum steps with a shared gradient": "d after two momentum steps with a shared gradient",
    },
    "test_adam": {
        "five Adam steps with betas (0.8, 0.99)": "five Adam steps with other betas and eps",
        "a parameter without a gradient is left alone": "a parameter without a gradient is left alone",
        "Adam's first step with lr=0.5": "Adam's first step of one parameter of two",
        "a gradient shared by two parameters, after an Adam step": "a.grad after a step of Adam",
        "three Adam steps with a shared gradient": "three Adam steps with a shared gradient",
        "two parameters with the same gradients move alike": "two parameters with the same gradients move alike",
        "Adam keeps float32 parameters float32": "Adam keeps float32 parameters float32",
    },
    "test_data_loader": {
        "a shuffled batch keeps inputs and targets together": ("a shuffled epoch", "a second shuffled epoch"),
        "drop_last with 10 examples and batch_size=4": ("the batches of drop_last=True", "len() with drop_last=True"),
        "drop_last when batches fit": "drop_last when batches fit",
        "one batch larger than the data": "one batch larger than the data",
        "batch_size=1": "batch_size=1",
        "a dataset of one array": "a dataset of one array",
        "arrays of different lengths": "arrays of different lengths",
        "batch_size=0": "batch_size=0",
    },
    "test_save_load": {
        "save to a name without .npz": "save to a name without .npz",
        "saving a Tensor saves its numbers": "saving a Tensor saves its numbers",
        "load() of a file that holds a pickled object": "load() of a file that holds a pickled object",
        "float64 stays float64": "float64 stays float64",
        "an empty state": ("load() of an empty state is a dict", "an empty state"),
    },
}
