"""A catalogue of classic mistakes: the plausible wrong answers students write, and the points each must cost.

Each mistake is a find/replace on the instructor's solution code of one solution cell (as `classroom.answered`
fills it in). `costs` names the grade cells whose hidden tests must take points from it, and no others: a wrong
operation costs the points of that operation alone. `tests/test_mistakes.py` grades every mistake with nbgrader
and runs it against the visible tests students see.

`HELD_OUT` is a second set, written alongside the catalogue but never used to shape the visible tests: that the
tests catch it as well as the catalogue shows they teach the ideas rather than the catalogue's answers.
"""
import ast
import inspect
from dataclasses import dataclass

from babygrad import Tensor, backprop


@dataclass(frozen=True)
class Mistake:
    """A plausible wrong answer: in cell `cell` of `chapter`, the text `find` written as `replace`.

    `costs` are the grade cells (grade_ids) that must lose points for it, and the only ones."""
    chapter: str
    cell: str
    find: str
    replace: str
    description: str
    costs: tuple = ()

    @property
    def name(self):
        return f"{self.chapter}/{self.cell}: {self.description}"


def m(chapter, cell, find, replace, description, *costs):
    return Mistake(chapter, cell, find, replace, description, costs or (f"test_{cell}",))


T, O, G, B = "01_tensor", "02_operations", "03_gradients", "04_backprop"
N = "05_training"

CATALOGUE = [
    # Chapter 1: the Tensor.
    m(T, "as_array", "np.float32\n", "np.float64\n", "lists become float64 instead of float32"),
    m(T, "tensor_init", "as_array(data, dtype)", "as_array(data)", "forgets to pass dtype on to as_array"),
    m(T, "properties", "return self.data.size", "return len(self.data)", "size is the length of the first axis"),
    m(T, "repr", 'np.array2string(self.data, prefix="Tensor(")', "np.array2string(self.data)",
      "prints the numbers without lining up the rows under 'Tensor('"),
    m(T, "leaving", "return Tensor(self.data, requires_grad=False)", "return self",
      "detach returns the tensor itself"),
    m(T, "leaving", "return float(self.data.reshape(()))", "return self.data.reshape(())",
      "item returns a 0-d array instead of a Python float"),

    # Chapter 2: Function.__call__ and the forward passes.
    m(O, "function", "requires_grad = _GradMode.enabled and any_requires_grad", "requires_grad = any_requires_grad",
      "records the graph even inside no_grad()"),
    m(O, "function", "a.requires_grad or b.requires_grad", "a.requires_grad and b.requires_grad",
      "the output requires grad only when every input does"),
    m(O, "function", "output._inputs = inputs", "output._inputs = list(inputs)", "keeps the inputs in a list"),
    m(O, "function", "data = np.asarray(data)", "data = np.array(float(data))",
      "turns forward's scalar into a Python float, so float32 sums become float64"),
    m(O, "sub", "return a - b", "return b - a", "subtracts the other way round"),
    m(O, "div", "return a / b", "return b / a", "divides the other way round"),
    m(O, "pow", "return a ** b", "return np.exp(b * np.log(a))", "computes a^b as e^(b ln a), which fails for a < 0"),
    m(O, "negate", "return -a", "return -np.abs(a)", "makes every number negative"),
    m(O, "log", "np.log(a)", "np.log10(a)", "takes the logarithm to base 10"),
    m(O, "exp", "np.exp(a)", "np.expm1(a)", "uses np.expm1, e^a - 1"),
    m(O, "relu", "constant(0.0, a.dtype)", "np.zeros(1)", "compares with a float64 array of zeros"),
    m(O, "tanh", "np.tanh(a)", "(np.exp(a) - np.exp(-a)) / (np.exp(a) + np.exp(-a))",
      "writes tanh with exponentials, which overflow for large numbers"),
    m(O, "sigmoid", "np.where(a >= 0, 1.0, e) / (1.0 + e)",
      "np.where(a >= 0, 1.0 / (1.0 + e), 1.0 - 1.0 / (1.0 + e))",
      "computes 1 - 1 / (1 + e) for negative numbers, which loses the small ones"),
    m(O, "mulscalar", "constant(self.scalar, a.dtype)", "np.array(self.scalar)",
      "multiplies by a NumPy array of the number, so float32 becomes float64"),
    m(O, "divscalar", "a / constant(self.scalar, a.dtype)", "self.scalar / a", "divides the number by the array"),
    m(O, "powerscalar", "constant(self.scalar, a.dtype)", "int(self.scalar)", "rounds the exponent to an integer"),
    m(O, "reshape", "a.reshape(self.shape)", 'a.reshape(self.shape, order="F")',
      "reads the numbers column by column"),
    m(O, "transpose", "a.swapaxes(-1, -2)", "np.transpose(a)", "axes=None reverses all the axes"),
    m(O, "transpose", "np.transpose(a, self.axes)", "np.transpose(a, np.argsort(self.axes))",
      "applies the inverse permutation"),
    m(O, "broadcast_to", "out = np.empty(self.shape, a.dtype)\n        out[...] = a\n        return out",
      "return np.broadcast_to(a, self.shape)",
      "returns NumPy's read-only broadcast view"),
    m(O, "summation", "a.sum(axis=self.axes)", "a.sum(axis=self.axes, keepdims=True)",
      "keeps the summed axes with size 1"),
    m(O, "matmul", "np.matmul(a, b)", "np.dot(a, b)", "uses np.dot, which does not broadcast batch axes"),
    m(O, "tensor_operators", "return AddScalar(other)(Negate()(self))", "return AddScalar(-other)(self)",
      "10 - a computes a - 10"),
    m(O, "tensor_operators", "return MulScalar(other)(PowerScalar(-1)(self))", "return DivScalar(other)(self)",
      "8 / a computes a / 8"),
    m(O, "tensor_methods", "return Summation(axes)(self)", "return Summation()(self)",
      "t.sum(axes) ignores the axes"),
    m(O, "tensor_methods", "return Sqrt()(self)", "return PowerScalar(0.5)(self)",
      "t.sqrt() records a PowerScalar instead of a Sqrt"),

    # Chapter 3: the backward rules.
    m(G, "unbroadcast", "return reshape(summed, shape) if stretched else summed",
      "return summed",
      "sums the right axes but does not keep the stretched ones with size 1",
      "test_unbroadcast", "test_add_mul"),  # the given Add and Mul are unbroadcast and little else
    m(G, "sub", "unbroadcast(negate(out_grad), b.shape)", "negate(out_grad)",
      "forgets to un-broadcast the gradient of b"),
    m(G, "sub", "unbroadcast(negate(out_grad), b.shape)", "unbroadcast(out_grad, b.shape)",
      "gives b the gradient unchanged instead of negated"),
    m(G, "div", "negate(divide(mul(out_grad, a), mul(b, b)))", "divide(mul(out_grad, a), mul(b, b))",
      "forgets the minus sign of b's gradient"),
    m(G, "div", "mul(b, b)", "b", "divides b's gradient by b instead of b squared"),
    m(G, "pow", "power(a, add_scalar(b, -1.0))", "power(a, b)", "forgets to lower the exponent by one"),
    m(G, "pow", "return unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape)", "return grad_a, grad_b",
      "forgets to un-broadcast the gradients"),
    m(G, "negate", "return negate(out_grad)", "return out_grad", "passes the gradient on without the minus sign"),
    m(G, "log", "divide(out_grad, node._inputs[0])", "divide(out_grad, node)",
      "divides by the output instead of the input"),
    m(G, "exp", "mul(out_grad, node)", "mul(out_grad, node._inputs[0])", "multiplies by a instead of e^a"),
    m(G, "sqrt", "mul_scalar(node, 2.0)", "node", "forgets the factor 1/2"),
    m(G, "tanh", "add_scalar(negate(mul(node, node)), 1.0)", "add_scalar(negate(node), 1.0)",
      "uses 1 - tanh instead of 1 - tanh squared"),
    m(G, "sigmoid", "mul(node, add_scalar(negate(node), 1.0))", "node",
      "multiplies by sigmoid instead of sigmoid times (1 - sigmoid)"),
    m(G, "relu", "np.sign(node.data)", "(node._inputs[0].data >= 0).astype(out_grad.dtype)",
      "passes the gradient where the input is exactly 0"),
    m(G, "relu", "np.sign(node.data)", "np.sign(node._inputs[0].data)",
      "takes the sign of the input, so a negative input gets the gradient negated"),
    m(G, "relu", "return mul(out_grad, mask)", "return mask", "returns the mask and forgets out_grad"),
    m(G, "abs", "np.sign(a.data)", "np.abs(a.data) / a.data", "computes the sign as |a| / a, which is nan at 0"),
    m(G, "reshape", "reshape(out_grad, node._inputs[0].shape)", "reshape(out_grad, node.shape)",
      "reshapes the gradient to the output's shape"),
    m(G, "transpose", "transpose(out_grad, tuple(int(axis) for axis in inverse))", "transpose(out_grad, self.axes)",
      "transposes back with the same permutation instead of its inverse"),
    m(G, "transpose", "axis % ndim for axis in self.axes", "axis for axis in self.axes",
      "forgets that axes can be negative"),
    m(G, "summation", "broadcast_to(reshape(out_grad, kept), shape)", "broadcast_to(out_grad, shape)",
      "broadcasts the gradient without restoring the summed axes"),
    m(G, "summation", "summed = [self.axes % len(shape)]", "summed = [self.axes]",
      "forgets that an axis can be negative"),
    m(G, "broadcast_to", "unbroadcast(out_grad, node._inputs[0].shape)", "out_grad",
      "returns the gradient without summing over the copies"),
    m(G, "matmul", "matmul(out_grad, transpose(b))", "matmul(transpose(b), out_grad)",
      "multiplies in the wrong order for a's gradient"),
    m(G, "matmul", "return unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape)", "return grad_a, grad_b",
      "forgets to sum the broadcast batch axes"),
    m(G, "mulscalar", "mul_scalar(out_grad, self.scalar)", "out_grad", "passes the gradient on unscaled"),
    m(G, "divscalar", "divide_scalar(out_grad, self.scalar)", "mul_scalar(out_grad, self.scalar)",
      "multiplies by the number instead of dividing"),
    m(G, "powerscalar", "self.scalar - 1", "self.scalar", "forgets to lower the exponent by one"),

    # Chapter 4: the topological order and the backward pass.
    m(B, "build_topo", "        if id(node) in visited:\n            continue\n", "",
      "visits a tensor a second time when two paths reach it"),
    m(B, "build_topo", "if parent.requires_grad and id(parent) not in visited:", "if id(parent) not in visited:",
      "puts constants in the order too"),
    m(B, "build_topo",
      "        stack.append((node, True))\n        for parent in node._inputs:\n"
      "            if parent.requires_grad and id(parent) not in visited:\n"
      "                stack.append((parent, False))\n",
      "        for parent in node._inputs:\n"
      "            if parent.requires_grad and id(parent) not in visited:\n"
      "                stack.append((parent, False))\n        stack.append((node, True))\n",
      "appends a tensor before its inputs"),
    m(B, "backward", "grads[key] = grads[key] + parent_grad if key in grads else parent_grad",
      "grads[key] = parent_grad", "overwrites a gradient in the ledger instead of adding to it",
      "test_backward_simple", "test_backward_paths", "test_backward_explicit_grad", "test_backward_fresh",
      "test_create_graph"),
    m(B, "backward", "            node.grad = out_grad\n            if node._op is None:\n                continue\n",
      "            if node._op is None:\n                node.grad = out_grad\n                continue\n",
      "sets .grad on the leaves only", "test_backward_simple", "test_backward_paths", "test_backward_fresh"),
    m(B, "backward", "grads = {id(self): grad}",
      "grads = {id(self): Tensor(np.ones_like(self.data), requires_grad=False)}",
      "always starts from ones, ignoring the grad it was given", "test_backward_explicit_grad"),
    m(B, "backward", "with set_grad_enabled(create_graph):", "with set_grad_enabled(True):",
      "records the gradients' graph even when create_graph is False", "test_backward_no_graph"),
    m(B, "backward", "with set_grad_enabled(create_graph):", "with set_grad_enabled(False):",
      "never records the gradients' graph, even with create_graph=True", "test_create_graph"),
    m(B, "backward", "            node.grad = out_grad\n",
      "            node.grad = out_grad if node.grad is None else node.grad + out_grad\n",
      "adds to the .grad an earlier backward left",
      "test_backward_paths", "test_backward_explicit_grad", "test_backward_fresh", "test_create_graph"),
]

# Whole solutions written another way, for the mistakes that change an algorithm rather than a line.
def solution_body(function):
    """The lines of a reference function after its signature and docstring: the solution a mistake rewrites."""
    source = inspect.getsource(function)
    first_statement = ast.parse(source).body[0].body[1]
    return "".join(source.splitlines(keepends=True)[first_statement.lineno - 1:])


BUILD_TOPO = solution_body(backprop.build_topo)


def topo(body):
    """A build_topo written as `body` (after `def build_topo(root):` and its docstring)."""
    return BUILD_TOPO.rstrip("\n"), body.rstrip("\n")


RECURSIVE = """    order = []
    visited = set()

    def visit(node):
        if id(node) in visited:
            return
        visited.add(id(node))
        for parent in node._inputs:
            if parent.requires_grad:
                visit(parent)
        order.append(node)

    visit(root)
    return order
"""
BACKWARD = solution_body(Tensor.backward)
LEDGER = BACKWARD[BACKWARD.index("grads = {id(self)"):BACKWARD.index("key = id(parent)") + len("key = id(parent)")]


def ledger_keyed_by(key):
    """The ledger keyed by `key` (a format string of the tensor's name) instead of the tensor's identity."""
    return LEDGER, (LEDGER.replace("id(self)", key.format("self")).replace("id(node)", key.format("node"))
                    .replace("id(parent)", key.format("parent")))


ONES = "Tensor(np.ones_like(out_grad.data), requires_grad=False)"

CATALOGUE += [
    # Backward rules that forget the chain rule: right when out_grad is 1, wrong otherwise.
    m(G, "negate", "return negate(out_grad)", f"return negate({ONES})", "returns -1 and forgets out_grad"),
    m(G, "log", "divide(out_grad, node._inputs[0])", "power_scalar(node._inputs[0], -1.0)",
      "returns 1/a and forgets out_grad"),
    m(G, "exp", "mul(out_grad, node)", f"mul({ONES}, node)", "returns e^a and forgets out_grad"),
    m(G, "sqrt", "divide(out_grad, mul_scalar(node, 2.0))", "power_scalar(mul_scalar(node, 2.0), -1.0)",
      "returns 1 / (2 sqrt(a)) and forgets out_grad"),
    m(G, "tanh", "mul(out_grad, add_scalar(negate(mul(node, node)), 1.0))", "add_scalar(negate(mul(node, node)), 1.0)",
      "returns 1 - tanh squared and forgets out_grad"),
    m(G, "sigmoid", "mul(out_grad, mul(node, add_scalar(negate(node), 1.0)))", "mul(node, add_scalar(negate(node), 1.0))",
      "returns sigmoid (1 - sigmoid) and forgets out_grad"),
    m(G, "mulscalar", "mul_scalar(out_grad, self.scalar)", f"mul_scalar({ONES}, self.scalar)",
      "returns the number and forgets out_grad"),
    m(G, "divscalar", "divide_scalar(out_grad, self.scalar)", f"divide_scalar({ONES}, self.scalar)",
      "returns 1 / the number and forgets out_grad"),
    m(G, "powerscalar", "return mul(out_grad, mul_scalar(", f"return mul({ONES}, mul_scalar(",
      "returns n a^(n-1) and forgets out_grad"),
    # Axes: batches in front, axes broadcasting prepends.
    m(O, "transpose", "a.swapaxes(-1, -2)", "a.swapaxes(0, 1)", "swaps the first two axes instead of the last two"),
    m(G, "transpose", "return transpose(out_grad)\n", "return transpose(out_grad, (1, 0))\n",
      "transposes the gradient back with axes (1, 0), which only fits a matrix"),
    m(G, "broadcast_to", "unbroadcast(out_grad, node._inputs[0].shape)",
      "reshape(summation(out_grad, tuple(axis for axis, size in enumerate(node._inputs[0].shape) if size == 1)), "
      "node._inputs[0].shape)",
      "sums the stretched axes but not the axes broadcasting put in front"),
    m(G, "matmul", "matmul(transpose(a), out_grad)", "matmul(transpose(a, (1, 0)), out_grad)",
      "transposes a with axes (1, 0), which breaks on a batch"),
    # The topological order.
    m(B, "build_topo", *topo(RECURSIVE.replace("        if id(node) in visited:\n            return\n"
                                               "        visited.add(id(node))\n", "")),
      "recursion without a visited set: a tensor reached twice is listed twice"),
    m(B, "build_topo", *topo(RECURSIVE), "recursion, which a deep graph takes past Python's recursion limit"),
    m(B, "build_topo", *topo(RECURSIVE.replace("        for parent in node._inputs:\n"
                                               "            if parent.requires_grad:\n"
                                               "                visit(parent)\n        order.append(node)\n",
                                               "        order.append(node)\n        for parent in node._inputs:\n"
                                               "            if parent.requires_grad:\n"
                                               "                visit(parent)\n")),
      "pre-order: a tensor before its inputs"),
    m(B, "build_topo", *topo("""    seen, queue = {id(root)}, [root]
    for node in queue:
        for parent in node._inputs:
            if parent.requires_grad and id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)
    return queue[::-1]
"""), "breadth-first, reversed: a tensor reached early by a short path lands before its inputs"),
    # The ledger.
    m(B, "backward", "grads[key] = grads[key] + parent_grad if key in grads else parent_grad",
      "if key in grads:\n                    grads[key].data += parent_grad.data\n"
      "                else:\n                    grads[key] = parent_grad",
      "adds into the ledger in place, changing a gradient that other tensors share",
      "test_backward_paths", "test_create_graph"),
    m(B, "backward", *ledger_keyed_by("{}.data.tobytes()"),
      "keys the ledger by the tensor's numbers, so two tensors with equal values share an entry",
      "test_backward_paths"),
]

# Chapter 5: modules, the loss, optimisers, data and checkpoints.
CATALOGUE += [
    m(N, "module", "if isinstance(value, Parameter) and id(value) not in seen:", "if isinstance(value, Parameter):",
      "lists a parameter shared by two layers twice, so the optimiser updates it twice"),
    m(N, "module", "            child.train(mode)\n", "            pass\n",
      "eval() leaves the layers inside in training mode"),
    m(N, "linear", "k = 1 / np.sqrt(in_features)", "k = 1 / in_features",
      "initialises within +-1/in_features: too small, the signal fades layer after layer"),
    m(N, "linear", "return y + self.bias if self.bias is not None else y", "return y + self.bias",
      "adds the bias even when bias=False left it out"),
    m(N, "sequential", "self.layers = list(modules)", "self.layers = list(reversed(modules))",
      "applies the layers in reverse order"),
    m(N, "log_softmax", "x - x.logsumexp(axis, keepdims=True)", "x - x.exp().sum(axis, keepdims=True).log()",
      "computes log(sum(exp(x))) as written, which overflows for large logits"),
    m(N, "cross_entropy", "return picked.sum() * (-1.0 / n)", "return picked.sum() * -1.0",
      "sums the loss over the batch instead of averaging it"),
    m(N, "cross_entropy", "log_softmax(logits, axis=1)", "log_softmax(logits, axis=0)",
      "takes the softmax over the batch instead of over the classes"),
    m(N, "state_dict", "parameter.data.copy() for name", "parameter.data for name",
      "state_dict shares the parameters' arrays, so later training changes the snapshot"),
    m(N, "sgd", "self.momentum * velocity + step  # a new array: grads are shared",
      "np.add(np.multiply(velocity, self.momentum, out=velocity), step, out=velocity)",
      "updates the velocity in place, and the first velocity is the gradient itself, which another tensor shares"),
    m(N, "sgd", "parameter.data -= self.lr * step", "parameter.data -= self.lr * parameter.grad.data",
      "steps by the gradient and ignores the velocity"),
    m(N, "adam", "m_hat = self.m[index] / (1 - beta1 ** self.t)", "m_hat = self.m[index]",
      "leaves out the bias correction of the mean"),
    m(N, "adam", "(np.sqrt(v_hat) + self.eps)", "np.sqrt(v_hat + self.eps)", "adds eps under the square root"),
    m(N, "data_loader", "self.rng.permutation(n)", "np.random.permutation(n)",
      "shuffles with NumPy's global generator, so the seed changes nothing"),
    m(N, "data_loader", "-(-n // self.batch_size)", "n // self.batch_size",
      "len() leaves out the last, smaller batch"),
    m(N, "save_load", 'with open(path, "wb") as file:\n        np.savez(file, **arrays)', "np.savez(path, **arrays)",
      "lets np.savez add .npz to a name without it, so the file is not where the caller said"),
    m(N, "save_load", "allow_pickle=False", "allow_pickle=True", "loads pickled objects, which can run any code"),
]

# Chapter 5, the step past the first example: nesting, gradients through every layer, axes, dtypes, copies, several
# steps and parameters, uneven splits.
CATALOGUE += [
    m(N, "module", 'child.named_parameters(f"{prefix}{name}.", seen)', 'child.named_parameters(f"{name}.", seen)',
      "names a grandchild's parameters without the outer prefix"),
    m(N, "linear", "y = x @ self.weight.T", "y = x @ self.weight", "multiplies by the weight without transposing it"),
    m(N, "sequential", "return x.relu()", "return Tensor(np.maximum(x.data, 0))",
      "ReLU computed on .data: the right numbers, but no gradient flows back through it"),
    m(N, "sequential", "            x = layer(x)\n        return x", "            out = layer(x)\n        return out",
      "applies every layer to the input instead of to the previous layer's output"),
    m(N, "log_softmax", "x - x.logsumexp(axis, keepdims=True)", "x - x.logsumexp(axis)",
      "forgets keepdims, so the sums do not line up with the rows"),
    m(N, "log_softmax", "x.logsumexp(axis, keepdims=True)", "x.logsumexp(-1, keepdims=True)",
      "ignores the axis argument"),
    m(N, "cross_entropy", "np.zeros(logits.shape, logits.dtype)", "np.zeros(logits.shape)",
      "makes the one-hot float64, so float32 logits give a float64 loss"),
    m(N, "state_dict", "parameter.data = np.array(state[name], dtype=parameter.dtype)",
      "parameter.data = np.asarray(state[name], dtype=parameter.dtype)",
      "load_state_dict aliases the caller's arrays when the dtype already fits, instead of copying"),
    m(N, "sgd", "            if parameter.grad is None:\n                continue\n            step", "            step",
      "steps a parameter whose grad is None"),
    m(N, "adam", "        self.t += 1\n        beta1, beta2 = self.betas\n"
      "        for index, parameter in enumerate(self.params):\n",
      "        beta1, beta2 = self.betas\n        for index, parameter in enumerate(self.params):\n"
      "            self.t += 1\n", "counts a step per parameter instead of per step()"),
    m(N, "adam", "            self.m[index] = beta1 * self.m[index] + (1 - beta1) * grad\n", "            m = beta1 * "
      "self.m[index] + (1 - beta1) * grad\n            self.m[index] = m if self.t == 1 else self.m[index]\n",
      "keeps the running mean of the first step only"),
    m(N, "data_loader", "return n // self.batch_size if self.drop_last else -(-n // self.batch_size)",
      "return -(-n // self.batch_size)", "len() ignores drop_last"),
    m(N, "data_loader", "end = n - n % self.batch_size if self.drop_last else n", "end = n",
      "yields the smaller last batch even with drop_last=True"),
    m(N, "save_load", 'np.asarray(getattr(value, "data", value))', "np.asarray(value)",
      "saves a Tensor as a Python object instead of its numbers"),
    # First written as held-out mistakes: four of these seven failed no visible test with a hint, so the tests grew.
    m(N, "module", "return [parameter for _, parameter in self.named_parameters()]",
      "return (parameter for _, parameter in self.named_parameters())", "parameters() returns a generator"),
    m(N, "linear", "rng.uniform(-k, k, out_features)", "rng.uniform(-k, k, (1, out_features))",
      "makes the bias a row, of shape (1, out_features)"),
    m(N, "cross_entropy", "picked.sum() * (-1.0 / n)", "picked.sum() * (-1.0 / logits.shape[1])",
      "averages over the classes instead of the batch"),
    m(N, "state_dict", "        if shape != parameter.shape:\n            raise ValueError(f\"{name}: the state has shape "
      "{shape}, the parameter has shape {parameter.shape}\")\n    for name, parameter in parameters.items():\n",
      "        if shape != parameter.shape:\n            raise ValueError(f\"{name}: the state has shape "
      "{shape}, the parameter has shape {parameter.shape}\")\n", "checks each shape just before setting it, so a "
      "failed load leaves some parameters changed"),
    m(N, "adam", "v_hat = self.v[index] / (1 - beta2 ** self.t)", "v_hat = self.v[index] / (1 - beta1 ** self.t)",
      "corrects v with beta1"),
    m(N, "data_loader", "-(-n // self.batch_size)", "n // self.batch_size + 1",
      "len() adds one batch for the remainder even when there is none"),
    m(N, "sgd", "                self.velocities[index] = step\n", "",
      "never stores the velocity, so momentum starts afresh every step"),
]

# Chapters 1 and 2: rules the lessons state that a student can break while the numbers stay right.
CATALOGUE += [
    m(T, "leaving", "return Tensor(self.data, requires_grad=False)",
      "return Tensor(self.data.copy(), requires_grad=False)", "detach copies the data"),
    m(T, "as_array", "    if data is None or isinstance(data, (str, bytes)):\n",
      "    if data is None:\n        data = np.nan\n    if isinstance(data, (str, bytes)):\n", "turns None into nan"),
    m(O, "function", "data = np.asarray(data)", "data = np.asarray(float(data), dtype=np.float32)",
      "turns forward's scalar into float(), then float32, so float64 sums become float32"),
    m(O, "divscalar", "a / constant(self.scalar, a.dtype)", "a / np.float64(self.scalar)",
      "divides by a NumPy float64 number, so float32 arrays become float64"),
    m(O, "log", "np.log(a)", "Tensor(np.log(a))", "wraps forward's NumPy result in a Tensor, so t.log() breaks too",
      "test_log", "test_tensor_methods"),
    m(O, "function", "data = self.forward(a.data, b.data)", "data = self.forward(a, b)",
      "passes the tensors to forward instead of their arrays: every operation of two inputs fails",
      "test_function", "test_tensor_operators", "test_tensor_methods"),
]

# Never used to shape the visible tests (see the module docstring).
HELD_OUT = [
    m(O, "div", "return a / b", "return a // b", "divides and rounds down"),
    m(O, "log", "np.log(a)", "np.log1p(a)", "uses np.log1p, ln(1 + a)"),
    m(O, "summation", "a.sum(axis=self.axes)", "np.sum(a, axis=self.axes, dtype=np.float64)",
      "sums in float64, so float32 tensors come back float64"),
    m(O, "matmul", "np.matmul(a, b)", "np.einsum('ij,jk->ik', a, b)", "writes a product of matrices only"),
    m(G, "div", "grad_a = divide(out_grad, b)", "grad_a = divide(Tensor(np.ones_like(out_grad.data), "
      "requires_grad=False), b)", "a's gradient is 1/b and forgets out_grad"),
    m(G, "log", "divide(out_grad, node._inputs[0])", "mul(out_grad, node._inputs[0])", "multiplies by a instead of "
      "dividing"),
    m(G, "tanh", "add_scalar(negate(mul(node, node)), 1.0)", "add_scalar(negate(mul(node._inputs[0], "
      "node._inputs[0])), 1.0)", "squares the input instead of the output: 1 - a^2"),
    m(G, "sigmoid", "mul(node, add_scalar(negate(node), 1.0))", "add_scalar(negate(node), 1.0)",
      "multiplies by 1 - sigmoid only"),
    m(G, "transpose", "return transpose(out_grad)\n", "return transpose(out_grad, (0, 2, 1) if out_grad.ndim == 3 "
      "else (1, 0))\n", "transposes back only matrices and 3-d batches"),
    m(G, "matmul", "matmul(out_grad, transpose(b))", "matmul(out_grad, transpose(b, (1, 0)))",
      "transposes b with axes (1, 0), which breaks on a batch"),
    m(G, "summation", "1 if axis in summed else size", "size if axis in summed else 1",
      "keeps the summed axes and flattens the others"),
    m(B, "build_topo", *topo(RECURSIVE.replace("visit(parent)", "visit(parent) if id(parent) not in visited else "
                                               "None")),
      "recursion that checks the visited set before each call: still recursion"),
    m(B, "build_topo", *topo("""    order, stack, visited = [], [root], set()
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        order.append(node)
        stack.extend(parent for parent in node._inputs if parent.requires_grad)
    return order[::-1]
"""), "depth-first pre-order, reversed: not an order where every input comes first"),
    m(B, "backward", *ledger_keyed_by("str({})"),
      "keys the ledger by the tensor's printed form, so two tensors with equal values share an entry",
      "test_backward_paths"),
    m(B, "backward", "            node.grad = out_grad\n",
      "            node.grad = out_grad if node._op is None else None\n",
      "keeps .grad on the leaves only", "test_backward_simple", "test_backward_paths", "test_backward_fresh"),
]

# What the demo's `buggy` student gets wrong: a little in every chapter.
DEMO = [mistake for mistake in CATALOGUE if (mistake.chapter, mistake.description) in {
    (T, "lists become float64 instead of float32"),
    (T, "detach returns the tensor itself"),
    (O, "subtracts the other way round"),
    (O, "keeps the summed axes with size 1"),
    (G, "broadcasts the gradient without restoring the summed axes"),
    (G, "multiplies in the wrong order for a's gradient"),
    (B, "overwrites a gradient in the ledger instead of adding to it"),
    (N, "sums the loss over the batch instead of averaging it"),
    (N, "updates the velocity in place, and the first velocity is the gradient itself, which another tensor shares"),
    (N, "lets np.savez add .npz to a name without it, so the file is not where the caller said"),
}]
