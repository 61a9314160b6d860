"""The reference babygrad agrees with an independent autograd (HIPS autograd) on values and gradients, in float64."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

import babygrad
from babygrad import Tensor

rng = np.random.default_rng(0)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def signed(*shape):
    """Values away from 0, where relu and abs have no derivative."""
    return rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def swap_last_two(x):
    return anp.swapaxes(x, -1, -2)


CONST = {"w34": positive(3, 4), "w243": signed(2, 4, 3), "w342": signed(3, 4, 2), "w234": signed(2, 3, 4),
         "w24": signed(2, 4), "w3": signed(3), "w23": signed(2, 3)}

# name: (babygrad function, the same function in autograd.numpy, inputs)
CASES = {
    "add with a bias": (lambda a, b: a + b, lambda a, b: a + b, [signed(4, 3), signed(3)]),
    "sub stretching axes": (lambda a, b: a - b, lambda a, b: a - b, [signed(2, 1, 3), signed(4, 1)]),
    "mul broadcasting": (lambda a, b: a * b, lambda a, b: a * b, [signed(3, 1), signed(1, 4)]),
    "div": (lambda a, b: a / b, lambda a, b: a / b, [signed(2, 3), positive(3)]),
    "pow of tensors": (lambda a, b: a ** b, lambda a, b: a ** b, [positive(2, 3), signed(2, 3)]),
    "scalar on the right": (lambda a: ((a + 2.5) * 3 - 1.5) / 4, lambda a: ((a + 2.5) * 3 - 1.5) / 4, [signed(3)]),
    "scalar on the left": (lambda a: 1.5 - 2 * (2.5 + a), lambda a: 1.5 - 2 * (2.5 + a), [signed(3)]),
    "number divided by a tensor": (lambda a: 4 / a, lambda a: 4 / a, [positive(2, 2)]),
    "power by a number": (lambda a: a ** 3 + a ** 0.5, lambda a: a ** 3 + a ** 0.5, [positive(4)]),
    "negate": (lambda a: -a, lambda a: -a, [signed(3)]),
    "log": (lambda a: a.log(), anp.log, [positive(3, 2)]),
    "exp": (lambda a: a.exp(), anp.exp, [signed(3, 2)]),
    "relu": (lambda a: a.relu(), lambda a: anp.maximum(a, 0), [signed(5)]),
    "sigmoid": (lambda a: a.sigmoid(), lambda a: 1 / (1 + anp.exp(-a)), [signed(5)]),
    "tanh": (lambda a: a.tanh(), anp.tanh, [signed(5)]),
    "sqrt": (lambda a: a.sqrt(), anp.sqrt, [positive(5)]),
    "abs": (lambda a: a.abs(), anp.abs, [signed(5)]),
    "reshape": (lambda a: a.reshape((3, 4)) * CONST["w34"], lambda a: anp.reshape(a, (3, 4)) * CONST["w34"],
                [signed(2, 6)]),
    "transpose of the last two axes": (lambda a: a.transpose() * CONST["w243"], lambda a: swap_last_two(a) * CONST["w243"],
                                       [signed(2, 3, 4)]),
    "transpose by a permutation": (lambda a: a.transpose((1, 2, 0)) * CONST["w342"],
                                   lambda a: anp.transpose(a, (1, 2, 0)) * CONST["w342"], [signed(2, 3, 4)]),
    "broadcast_to": (lambda a: a.broadcast_to((2, 3, 4)) * CONST["w234"],
                     lambda a: (a * anp.ones((2, 3, 4))) * CONST["w234"], [signed(3, 1)]),
    "sum of everything": (lambda a: a.sum() * 2, lambda a: anp.sum(a) * 2, [signed(2, 3)]),
    "sum over one axis": (lambda a: a.sum(axes=1) * CONST["w24"], lambda a: anp.sum(a, axis=1) * CONST["w24"],
                          [signed(2, 3, 4)]),
    "sum over several axes": (lambda a: a.sum(axes=(0, 2)) * CONST["w3"], lambda a: anp.sum(a, axis=(0, 2)) * CONST["w3"],
                              [signed(2, 3, 4)]),
    "sum over a negative axis": (lambda a: a.sum(axes=-1) * CONST["w23"], lambda a: anp.sum(a, axis=-1) * CONST["w23"],
                                 [signed(2, 3, 4)]),
    "matmul": (lambda a, b: a @ b, lambda a, b: anp.matmul(a, b), [signed(3, 4), signed(4, 2)]),
    "batched matmul with broadcast batches": (lambda a, b: a @ b, lambda a, b: anp.matmul(a, b),
                                              [signed(2, 1, 3, 4), signed(5, 4, 2)]),
    "a layer of a network": (lambda x, w, b: ((x @ w + b).relu() ** 2).sum(axes=1),
                             lambda x, w, b: anp.sum(anp.maximum(anp.matmul(x, w) + b, 0) ** 2, axis=1),
                             [signed(4, 3), signed(3, 5), signed(5)]),
    "softmax": (lambda x: x.exp() / x.exp().sum(axes=1).reshape((3, 1)),
                lambda x: anp.exp(x) / anp.reshape(anp.sum(anp.exp(x), axis=1), (3, 1)), [signed(3, 4)]),
    "a tensor used twice (a + a)": (lambda a: a + a, lambda a: a + a, [signed(3)]),
    "a diamond": (lambda a: (a * 2).tanh() * (a + 1), lambda a: anp.tanh(a * 2) * (a + 1), [signed(3)]),
}


@pytest.mark.parametrize("name", CASES)
def test_values_and_gradients_match_an_independent_autograd(name):
    function, reference, inputs = CASES[name]
    tensors = [Tensor(x) for x in inputs]
    result = function(*tensors)
    np.testing.assert_allclose(result.data, reference(*inputs), rtol=1e-6, atol=1e-9)
    result.sum().backward()
    for position, tensor in enumerate(tensors):
        expected = grad(lambda *xs: anp.sum(reference(*xs)), position)(*inputs)
        assert tensor.grad.shape == tensor.shape and tensor.grad.dtype == np.float64, name
        np.testing.assert_allclose(tensor.grad.data, expected, rtol=1e-6, atol=1e-9, err_msg=name)


def test_float32_stays_float32_through_every_gradient():
    x, w = Tensor(signed(4, 3).astype(np.float32)), Tensor(signed(3, 2).astype(np.float32))
    ((x @ w).sigmoid() * 2.5 + 1).sum().backward()
    assert (x.grad.dtype, w.grad.dtype) == (np.float32, np.float32)


def test_a_chain_of_100_000_operations_backpropagates():
    x = Tensor(np.array(1.0))
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_a_gradient_can_be_differentiated_with_create_graph():
    x = Tensor(np.array([1.0, 2.0]))
    (x ** 3).sum().backward(create_graph=True)
    first = x.grad
    np.testing.assert_allclose(first.data, [3.0, 12.0])
    first.sum().backward()
    np.testing.assert_allclose(x.grad.data, [6.0, 12.0])


def test_gradients_record_no_graph_by_default():
    x = Tensor(np.array([1.0, 2.0]))
    (x * x).sum().backward()
    assert x.grad.requires_grad is False and x.grad._op is None


def test_no_grad_records_nothing():
    x = Tensor([1.0, 2.0])
    with babygrad.no_grad():
        y = x * 2
    assert y.requires_grad is False and y._op is None and y._inputs == ()
