"""A number inside an operation (`t * 0.5`, relu's 0) is computed with as a cached 0-d array of the tensor's dtype:
the results and dtypes are those NumPy gives with the plain Python number."""
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

from babygrad import Tensor
from babygrad.ops import constant

FLOAT_TYPES = [np.float16, np.float32, np.float64]

# name: (with a babygrad tensor, the same with a NumPy array and a Python number)
WITH_A_NUMBER = {
    "t + n": (lambda t, n: t + n, lambda a, n: a + n),
    "t - n": (lambda t, n: t - n, lambda a, n: a - n),
    "t * n": (lambda t, n: t * n, lambda a, n: a * n),
    "t / n": (lambda t, n: t / n, lambda a, n: a / n),
    "t ** n": (lambda t, n: t ** n, lambda a, n: a ** n),
    "relu": (lambda t, n: t.relu(), lambda a, n: np.maximum(a, 0)),
}


@st.composite
def arrays_and_numbers(draw):
    dtype = draw(st.sampled_from(FLOAT_TYPES))
    array = draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_side=4),
                            elements=st.floats(0.25, 4, width=np.finfo(dtype).bits)))
    signs = draw(hnp.arrays(dtype, array.shape, elements=st.sampled_from([-1.0, 1.0])))
    number = draw(st.sampled_from([0.5, 2.0, 3.0, -1.5, 7]))
    return array * signs, number


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # a negative number ** 0.5 is nan, in both
@pytest.mark.parametrize("name", sorted(WITH_A_NUMBER))
@given(case=arrays_and_numbers())
def test_an_operation_with_a_number_gives_numpys_values_in_the_tensors_dtype(name, case):
    array, number = case
    with_tensor, with_numpy = WITH_A_NUMBER[name]
    expected = with_numpy(array, number)
    x = Tensor(array)
    result = with_tensor(x, number)
    assert result.dtype == array.dtype == expected.dtype
    np.testing.assert_allclose(result.data, expected, rtol=np.finfo(array.dtype).eps * 4)
    result.sum().backward()
    assert x.grad.dtype == array.dtype


def test_a_constant_is_made_once_and_nobody_can_change_it():
    zero = constant(0.0, np.dtype(np.float32))
    assert constant(0.0, np.dtype(np.float32)) is zero
    assert zero.dtype == np.float32 and zero.shape == ()
    with pytest.raises(ValueError):
        zero[...] = 1.0
