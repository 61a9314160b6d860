"""The probe: the one script that runs a student's library, in a sandboxed process of its own.

`python -I -S -B probe.py LIBRARY FOLDER` imports `babygrad` from LIBRARY (the reference for the chapters before
the graded one, the student's module for it) and the arrays of FOLDER/inputs.npz, then answers the grade cells'
cases one at a time: each arrives as one line of JSON on standard input, {"index": N, "steps": [...], "report":
[...]}, and its answer goes to FOLDER/reply-N.json (plain values) and reply-N.npz (the arrays it returned). The
grader sends a case only once the one before is answered, so no code of the student's ever sees a case before its
own turn: a correct piece that a later cell needs (see `install`) comes with that cell. The probe decides nothing:
the trusted grader reads the replies as data and judges them. The grader also runs the same steps on the
reference library, in its own process, with `run_steps`.

Student code shares this interpreter, so the probe answers with a private copy of its own functions, made before
the student's library is imported: replacing this module's names, or builtins, changes nothing the probe does.

A step is {"name", "call", "args", "kwargs"}. `call` names what to call: "lib.ops.Sub" (an attribute of the
babygrad package), "np.float16", "@x.sum" (a method of the value named x), or one of the small verbs in VERBS.
An argument {"var": "x"} is the value of an earlier step, {"input": "k"} a fresh copy of an input array,
{"tuple": [...]} a tuple, anything else the JSON value itself.
"""
import builtins
import gc
import json
import os
import sys
import sysconfig
import tempfile

if __name__ == "__main__":  # started with -S: find the library, then this environment's packages (no .pth files)
    sys.path[:0] = [sys.argv[1]]
    # -S also skips switching to a virtual environment: its packages first, then the base Python's.
    venv = os.path.dirname(os.path.dirname(sys.executable))
    if os.path.isfile(os.path.join(venv, "pyvenv.cfg")):
        sys.path.append(sysconfig.get_paths("venv", vars={"base": venv, "platbase": venv})["purelib"])
    sys.path.append(sysconfig.get_paths()["purelib"])

import numpy as np  # noqa: E402 (after the path is set)

# What decides how a value is described, taken from NumPy before any student code runs (the private copy keeps
# these even if the student's code replaces NumPy's names).
NDARRAY, GENERIC, ASARRAY, SHARES_MEMORY = np.ndarray, np.generic, np.asarray, np.shares_memory

MAX_TEXT = 2000     # characters kept of a string or an error message
MAX_ITEMS = 64      # items described of a list or tuple
MAX_ARRAY = 1 << 20  # numbers kept of one array


def backward_of(op, *inputs, out_grad):
    """What `op.backward` returns for a node made by hand from `op.forward`, as the chapter's tests build it."""
    lib = sys.modules["babygrad"]
    node = lib.Tensor(op.forward(*[tensor.data for tensor in inputs]))
    node._op, node._inputs = op, tuple(inputs)
    grads = op.backward(lib.Tensor(out_grad, requires_grad=False), node)
    return (grads,) if isinstance(grads, lib.Tensor) else tuple(grads) if isinstance(grads, list) else grads


def chain(start, length, method, *args):
    """`start` after `length` applications of `method` (a graph too deep for recursion)."""
    for _ in range(length):
        start = getattr(start, method)(*args)
    return start


def positions(sequence, *named):
    """Where each of `named` sits in `sequence` (by identity), -1 where it is missing."""
    where = {id(item): index for index, item in enumerate(sequence)}
    return [where.get(id(item), -1) for item in named]


def make_op(name, body):
    """A small Function subclass defined by a test (one line of forward)."""
    lib = sys.modules["babygrad"]
    forwards = {"twice": lambda self, a: 2 * a, "plus": lambda self, a, b: a + b, "total": lambda self, a: np.sum(a)}
    return type(name, (lib.ops.Function,), {"__slots__": (), "forward": forwards[body]})


def no_grad_call(function, *args):
    with sys.modules["babygrad"].ops.no_grad():
        return function(*args)


def backward_and_grad(tensor, *args, of, **kwargs):
    """Call tensor.backward(...), then return the .grad of `of`."""
    tensor.backward(*args, **kwargs)
    return of.grad


# The forward computations of the small Modules the chapter-5 tests define.
FORWARDS = {
    "scale": lambda self, x: x * self.factor,
    "pair": lambda self, x: self.second(self.first(x)) + self.offset,
    "in_turn": lambda self, x: in_turn(self.layers, x),
    "add_one": lambda self, x: x + 1.0,
    "double": lambda self, x: x * 2.0,
}


def in_turn(layers, x):
    for layer in layers:
        x = layer(x)
    return x


def make_module(forward=None, **attributes):
    """A Module as a test defines one: an __init__ that sets these attributes (in this order), a forward of FORWARDS."""
    nn = sys.modules["babygrad"].nn
    members = {"__init__": lambda self: None}
    if forward:
        members["forward"] = FORWARDS[forward]
    module = type("TestModule", (nn.Module,), members)()
    for name, value in attributes.items():
        setattr(module, name, value)
    return module


def linear_with(weight, bias):
    """A Linear whose parameters hold these numbers (no bias for None): its forward, apart from its initialisation."""
    nn = sys.modules["babygrad"].nn
    out_features, in_features = weight.shape
    layer = nn.Linear(in_features, out_features, bias=bias is not None, dtype=weight.dtype)
    layer.weight = nn.Parameter(weight, dtype=weight.dtype)
    layer.bias = None if bias is None else nn.Parameter(bias, dtype=bias.dtype)
    return layer


def optimise(optimizer, parameter, gradients):
    """`parameter` after one optimizer.step() per gradient of `gradients` (an array of them, one per row)."""
    lib = sys.modules["babygrad"]
    for gradient in gradients:
        parameter.grad = lib.Tensor(gradient, requires_grad=False)
        optimizer.step()
    return parameter


def is_a(value, kind):
    """isinstance(value, kind), for the kinds the tests ask about."""
    kinds = {"list": list, "tuple": tuple, "dict": dict, "Parameter": sys.modules["babygrad"].nn.Parameter}
    return isinstance(value, kinds[kind])


def save_and_load(state, name):
    """data.save(state) to the file `name` of a fresh folder, then data.load of it: (the names of the files in the
    folder, what load gave back or the error it raised)."""
    data = sys.modules["babygrad"].data
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        data.save(state, path)
        files = sorted(os.listdir(folder))
        try:
            loaded = data.load(path)
        except Exception as error:  # an answer too: the file is not where it should be
            loaded = error
    return files, loaded


def load_pickled():
    """What data.load does with a file that holds a pickled object rather than numbers."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "pickled.npz")
        np.savez(path, thing=np.array([{"not": "numbers"}], dtype=object))
        return sys.modules["babygrad"].data.load(path)


def install(module, name, source):
    """Put a correct piece, sent by the grader with the cell that needs it, in place of the student's."""
    namespace = {"np": np, "sys": sys}
    exec(source, namespace)
    setattr(getattr(sys.modules["babygrad"], module), name, namespace[name])


def array(value):
    """`value` if it is a NumPy array itself: the flags and memory a check asks about are the array's own, not what
    an object of the student's says they are."""
    if type(value) is not NDARRAY:
        raise TypeError(f"not a NumPy array but a {type(value).__name__}")
    return value


def setitem(container, index, value):
    container[index] = value


VERBS = {
    "attr": getattr, "is": lambda a, b: a is b, "len": len, "getitem": lambda a, i: a[i], "repr": repr,
    "str": str, "type_name": lambda a: type(a).__name__, "abs": abs, "scalar": lambda a: a[()],
    "flags": lambda a: [bool(array(a).flags.writeable), bool(array(a).flags.c_contiguous)],
    "shares_memory": lambda a, b: bool(SHARES_MEMORY(array(a), array(b))), "is_grad_enabled": None,
    "backward_of": backward_of, "chain": chain, "positions": positions, "make_op": make_op,
    "no_grad_call": no_grad_call, "backward_and_grad": backward_and_grad,
    "install": install,
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "truediv": lambda a, b: a / b, "pow": lambda a, b: a ** b, "neg": lambda a: -a, "matmul": lambda a, b: a @ b,
    "isinstance_tensor": lambda a: isinstance(a, sys.modules["babygrad"].Tensor),
    "isinstance_ndarray": lambda a: isinstance(a, NDARRAY),
    "is_a": is_a, "equals": lambda a, b: bool(a == b), "set": setattr, "setitem": setitem,
    "rng": np.random.default_rng, "sorted": sorted, "first_items": lambda pairs: [first for first, _ in pairs],
    "merged": lambda a, b: {**a, **b}, "without": lambda a, key: {k: v for k, v in a.items() if k != key},
    "make_module": make_module, "linear_with": linear_with,
    "optimise": optimise, "epoch": list, "save_and_load": save_and_load, "load_pickled": load_pickled,
}


def resolve(argument, values, inputs):
    if isinstance(argument, dict):
        if "var" in argument:
            value = values[argument["var"]]
            if isinstance(value, BaseException):
                raise value  # a step that needs a failed one fails with the same error
            return value
        if "input" in argument:
            return np.array(inputs[argument["input"]])
        if "tuple" in argument:
            return tuple(resolve(item, values, inputs) for item in argument["tuple"])
        return {key: resolve(item, values, inputs) for key, item in argument.items()}
    if isinstance(argument, list):
        return [resolve(item, values, inputs) for item in argument]
    return argument


def callee(name, values, lib):
    if name.startswith("lib."):
        target = lib
        for part in name.split(".")[1:]:
            target = getattr(target, part)
        return target
    if name.startswith("np."):
        return getattr(np, name[3:])
    if name.startswith("@"):
        variable, _, method = name[1:].partition(".")
        value = values[variable]
        if isinstance(value, BaseException):
            raise value
        return getattr(value, method) if method else value
    if name == "is_grad_enabled":
        return lib.ops.is_grad_enabled
    return VERBS[name]


def run_steps(steps, inputs, lib):
    """{step name: its value, or the exception it raised}, the steps run in order on the library `lib`."""
    values = {}
    for step in steps:
        try:
            function = callee(step["call"], values, lib)
            args = [resolve(argument, values, inputs) for argument in step.get("args", [])]
            kwargs = {key: resolve(value, values, inputs) for key, value in step.get("kwargs", {}).items()}
            values[step["name"]] = function(*args, **kwargs)
        except Exception as error:  # the student's error is an answer too
            values[step["name"]] = error
    return values


def describe(value, arrays, depth=0):
    """`value` as plain JSON data; arrays go into `arrays` and are named in the description."""
    lib = sys.modules.get("babygrad")
    if isinstance(value, BaseException):
        return {"kind": "error", "types": [cls.__name__ for cls in type(value).__mro__][:MAX_ITEMS],
                "message": _text(value)}
    if value is None or type(value) in (bool, int, float, str):
        return {"kind": type(value).__name__, "value": value[:MAX_TEXT] if type(value) is str else value}
    if type(value) is NDARRAY or isinstance(value, GENERIC):
        key = f"a{len(arrays)}"
        array = ASARRAY(value)
        if array.dtype.kind not in "biuf" or array.size > MAX_ARRAY:
            return {"kind": "object", "type": f"array of {array.dtype} with {array.size} numbers"}
        arrays[key] = array
        return {"kind": "ndarray" if type(value) is NDARRAY else "numpy scalar", "array": key}
    if lib is not None and isinstance(value, lib.Tensor) and depth < 2:
        return {"kind": "Tensor", "data": describe(value.data, arrays, depth + 1)}
    if type(value) in (tuple, list) and depth < 2:
        return {"kind": "sequence", "type": type(value).__name__, "length": len(value),
                "items": [describe(item, arrays, depth + 1) for item in value[:MAX_ITEMS]]}
    return {"kind": "object", "type": type(value).__name__[:200]}


def _text(error):
    try:
        return str(error)[:MAX_TEXT]
    except Exception:
        return "(a message that could not be turned into text)"


def private_copy():
    """This module's functions once more, in a namespace of their own with their own builtins and the NumPy
    functions they write with, made before any student code runs."""
    namespace = {"__builtins__": dict(vars(builtins)), "__name__": "probe", "__file__": __file__}
    with open(__file__, encoding="utf-8") as file:
        exec(compile(file.read(), __file__, "exec"), namespace)
    return namespace


def answer(folder, readline, write):
    """Answer the cases the grader sends on standard input, one at a time (the library is already on the path).

    `readline` reads the next one; `write` holds the functions the replies are written with."""
    save, dumps, replace, open_file, join = write
    with np.load(join(folder, "inputs.npz"), allow_pickle=False) as stored:
        inputs = {key: stored[key] for key in stored.files}
    try:
        import babygrad
    except BaseException as error:  # SyntaxError, SystemExit: the whole library failed to load
        with open_file(join(folder, "import-error.json"), "w", encoding="utf-8") as file:
            file.write(dumps({"error": type(error).__name__}))
        return
    for line in iter(readline, b""):
        case = json.loads(line)
        arrays = {}
        gc.disable()  # a chain as long as the tests' would make the collector walk the whole graph, often
        try:
            values = run_steps(case["steps"], inputs, babygrad)
        finally:
            gc.enable()
        reply = {name: describe(values[name], arrays) for name in case["report"] if name in values}
        base = join(folder, f"reply-{int(case['index'])}")
        save(base + ".tmp.npz", **arrays)
        with open_file(base + ".tmp.json", "w", encoding="utf-8") as file:
            file.write(dumps(reply))
        replace(base + ".tmp.npz", base + ".npz")
        replace(base + ".tmp.json", base + ".json")


if __name__ == "__main__":
    private_copy()["answer"](sys.argv[2], sys.stdin.buffer.readline, (np.savez, json.dumps, os.replace, open,
                                                                        os.path.join))
