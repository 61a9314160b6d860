"""Chapter 01's Tensor, as the reference exports it: the dtype rules and errors that name what was wrong."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from babygrad import Tensor

floats = st.floats(-1e6, 1e6, allow_nan=False, width=32)


@given(st.lists(floats, min_size=1, max_size=10))
def test_a_list_of_numbers_becomes_a_float32_array_of_the_same_values(values):
    tensor = Tensor(values)
    assert tensor.dtype == np.float32 and tensor.shape == (len(values),)
    np.testing.assert_array_equal(tensor.data, np.array(values, dtype=np.float32))


@given(hnp.arrays(st.sampled_from([np.float16, np.float32, np.float64]), hnp.array_shapes(min_dims=0)))
def test_a_float_array_keeps_its_dtype_and_shape(array):
    tensor = Tensor(array)
    assert (tensor.dtype, tensor.shape, tensor.size, tensor.ndim) == (array.dtype, array.shape, array.size, array.ndim)


def test_a_new_tensor_is_a_leaf_that_requires_grad():
    tensor = Tensor([1, 2, 3])
    assert (tensor.requires_grad, tensor.grad, tensor._op, tensor._inputs) == (True, None, None, ())
    assert repr(tensor) == "Tensor([1. 2. 3.], requires_grad=True)"


def test_dtype_argument_and_other_tensors():
    assert Tensor([1, 2], dtype="float64").dtype == np.float64
    assert Tensor(np.arange(3)).dtype == np.float32
    assert Tensor(Tensor(np.ones(2))).dtype == np.float64


@pytest.mark.parametrize("bad, error, named", [
    (None, TypeError, "None"),
    ("abc", TypeError, "'abc'"),
    ([1, None], TypeError, "[1, None]"),
    (["a", "b"], TypeError, "['a', 'b']"),
    (np.array([{}, 1], dtype=object), TypeError, "object"),
    ([[1, 2], [3]], ValueError, "[[1, 2], [3]]"),
])
def test_bad_input_raises_an_error_that_names_what_was_given(bad, error, named):
    with pytest.raises(error) as raised:
        Tensor(bad)
    assert named in str(raised.value)


def test_a_dtype_that_is_not_floating_point_is_refused_by_name():
    with pytest.raises(ValueError, match="int64"):
        Tensor([1, 2], dtype="int64")


def test_item_detach_numpy():
    tensor = Tensor([[2.5]])
    assert tensor.item() == 2.5 and tensor.numpy() is tensor.data
    constant = tensor.detach()
    assert constant.requires_grad is False and np.shares_memory(constant.data, tensor.data)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        Tensor([1, 2, 3]).item()


def test_adding_a_method_leaves_the_modules_function_of_the_same_name_alone():
    import builtins
    import inspect

    import babygrad.ops
    for name in ("exp", "log", "relu", "sigmoid", "tanh", "sqrt", "reshape", "transpose", "broadcast_to", "matmul"):
        function = getattr(babygrad.ops, name)
        assert function is not getattr(Tensor, name), f"babygrad.ops.{name} is the Tensor method"
        assert list(inspect.signature(function).parameters)[0] == "a", f"babygrad.ops.{name}"
    assert babygrad.ops.sum is builtins.sum and babygrad.ops.abs is builtins.abs
    assert babygrad.ops.exp(Tensor([0.0])).data.tolist() == Tensor([0.0]).exp().data.tolist() == [1.0]
