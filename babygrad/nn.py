# Generated from source/05_training/nn.ipynb by coursework.export. Edit the notebook, not this file.
import numpy as np

from babygrad.tensor import Tensor, extend


class Parameter(Tensor):
    """A tensor that a Module learns: `Module.parameters()` finds it among the module's attributes."""
    __slots__ = ()


def modules_in(value):
    """The Modules an attribute holds, with their names' suffixes: itself, or the items of a list or tuple."""
    if isinstance(value, Module):
        return [("", value)]
    if isinstance(value, (list, tuple)):
        return [(f".{index}", item) for index, item in enumerate(value) if isinstance(item, Module)]
    return []


class Module:
    """A piece of a network: Parameters and other Modules as attributes, and a `forward` computation."""
    training = True

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    def children(self):
        """(name, module) for every Module among this module's attributes, list items included."""
        return [(name + suffix, module) for name, value in vars(self).items() for suffix, module in modules_in(value)]

    def __call__(self, *inputs):
        return self.forward(*inputs)

    def named_parameters(self, prefix="", seen=None):
        """(name, parameter) for every Parameter of this module and of the modules inside it, each once."""
        seen = set() if seen is None else seen
        found = []
        for name, value in vars(self).items():
            if isinstance(value, Parameter) and id(value) not in seen:
                seen.add(id(value))
                found.append((prefix + name, value))
        for name, child in self.children():
            found.extend(child.named_parameters(f"{prefix}{name}.", seen))
        return found

    def parameters(self):
        return [parameter for _, parameter in self.named_parameters()]

    def train(self, mode=True):
        self.training = mode
        for _, child in self.children():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)


class Linear(Module):
    """y = x @ weight.T + bias, with PyTorch's layout and initialisation: uniform in +-1/sqrt(in_features)."""

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32, rng=None):
        if not all(isinstance(n, (int, np.integer)) and n >= 1 for n in (in_features, out_features)):
            raise ValueError(f"Linear needs whole numbers of features, at least 1; got in_features={in_features!r}, "
                             f"out_features={out_features!r}")
        self.in_features, self.out_features = in_features, out_features
        rng = np.random.default_rng() if rng is None else rng
        k = 1 / np.sqrt(in_features)
        self.weight = Parameter(rng.uniform(-k, k, (out_features, in_features)), dtype=dtype)
        self.bias = Parameter(rng.uniform(-k, k, out_features), dtype=dtype) if bias else None

    def forward(self, x):
        y = x @ self.weight.T
        return y + self.bias if self.bias is not None else y


class ReLU(Module):
    """max(x, 0), elementwise."""

    def forward(self, x):
        return x.relu()


class Sequential(Module):
    """Modules applied one after the other: each one's output is the next one's input."""

    def __init__(self, *modules):
        self.layers = list(modules)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def log_softmax(x, axis=-1):
    """log(softmax(x)) along `axis`, without overflow: x - logsumexp(x)."""
    return x - x.logsumexp(axis, keepdims=True)


def check_targets(targets, logits):
    """`targets` as an integer NumPy array of one class per row of `logits`, or an error naming what is wrong."""
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu":
        raise TypeError(f"targets are class indices, an integer NumPy array; got dtype {targets.dtype}")
    if logits.ndim != 2 or targets.shape != logits.shape[:1]:
        raise ValueError(f"logits of shape (N, classes) need targets of shape (N,); got logits {logits.shape} "
                         f"and targets {targets.shape}")
    if targets.size and (targets.min() < 0 or targets.max() >= logits.shape[1]):
        raise ValueError(f"targets must be classes 0..{logits.shape[1] - 1}; got values from {targets.min()} "
                         f"to {targets.max()}")
    return targets


class CrossEntropyLoss(Module):
    """The mean over the batch of -log softmax(logits)[target]: the loss of a classifier."""

    def forward(self, logits, targets):
        targets = check_targets(targets, logits)
        n = len(targets)
        one_hot = np.zeros(logits.shape, logits.dtype)
        one_hot[np.arange(n), targets] = 1
        picked = log_softmax(logits, axis=1) * Tensor(one_hot, requires_grad=False)
        return picked.sum() * (-1.0 / n)


@extend(Module)
def state_dict(self):
    """{name: a copy of the parameter's numbers} for every parameter of the module."""
    return {name: parameter.data.copy() for name, parameter in self.named_parameters()}


@extend(Module)
def load_state_dict(self, state):
    """Set every parameter from `state` (as `state_dict` makes it), after checking that all of them fit."""
    parameters = dict(self.named_parameters())
    missing = [name for name in parameters if name not in state]
    unexpected = [name for name in state if name not in parameters]
    if missing or unexpected:
        raise KeyError(f"the state does not fit the module: missing {missing}, unexpected {unexpected}")
    for name, parameter in parameters.items():
        shape = np.shape(state[name])
        if shape != parameter.shape:
            raise ValueError(f"{name}: the state has shape {shape}, the parameter has shape {parameter.shape}")
    for name, parameter in parameters.items():
        parameter.data = np.array(state[name], dtype=parameter.dtype)
