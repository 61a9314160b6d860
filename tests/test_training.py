"""Chapter 5's library: what the core gained for it, modules, the loss, optimisers, data, checkpoints, training."""
import re

import nbformat
import numpy as np
import pytest

import babygrad
from babygrad import Tensor, nn, optim
from babygrad.data import DataLoader
from coursework.checks import numeric_gradient
from autograder.course import REPO
from tests.notebooks import run


def gradients_of(function, *arrays):
    """babygrad's gradients of sum(function(*tensors)) for each array, float64."""
    tensors = [Tensor(np.array(array, dtype=np.float64)) for array in arrays]
    function(*tensors).sum().backward()
    return [tensor.grad.data for tensor in tensors]


@pytest.mark.parametrize("a_shape, b_shape", [((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,)), ((3,), (4, 3, 2)),
                                              ((4, 2, 3), (3,))])
def test_matmul_of_a_vector_has_numpys_result_and_numeric_gradients(a_shape, b_shape):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=a_shape), rng.normal(size=b_shape)
    assert np.allclose((Tensor(a) @ Tensor(b)).data, np.matmul(a, b))
    for mine, numeric in zip(gradients_of(lambda x, y: x @ y, a, b), numeric_gradient(np.matmul, a, b)):
        assert mine.shape == numeric.shape and np.allclose(mine, numeric, atol=1e-6)


def test_sum_keepdims_reshape_varargs_transpose_and_rpow_follow_numpy():
    a = np.arange(6.0).reshape(2, 3) + 1
    t = Tensor(a)
    assert np.array_equal(t.sum(1, keepdims=True).data, a.sum(1, keepdims=True))
    assert np.array_equal(t.sum(keepdims=True).data, a.sum(keepdims=True))
    assert np.array_equal(t.sum((0, 1), keepdims=True).data, a.sum((0, 1), keepdims=True))
    assert t.reshape(3, 2).shape == t.reshape((3, 2)).shape == (3, 2)
    assert np.array_equal(t.T.data, a.T)
    assert np.allclose((2 ** t).data, 2 ** a)
    (grad,) = gradients_of(lambda x: 2 ** x, a)
    assert np.allclose(grad, np.log(2) * 2 ** a)
    (grad,) = gradients_of(lambda x: x.T * np.arange(6.0).reshape(3, 2), a)
    assert np.allclose(grad, np.arange(6.0).reshape(3, 2).T)


@pytest.mark.parametrize("axes", [None, 0, 1, (0, 1), -1])
def test_logsumexp_is_stable_and_its_gradient_is_the_softmax(axes):
    a = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    out = Tensor(a).logsumexp(axes)
    shifted = a - a.max(axis=axes, keepdims=True)
    expected = np.log(np.exp(shifted).sum(axis=axes)) + a.max(axis=axes)
    assert np.all(np.isfinite(out.data)) and np.allclose(out.data, expected)
    small = np.array([[0.1, -0.3, 0.5], [1.0, 2.0, 3.0]])
    (grad,) = gradients_of(lambda x: x.logsumexp(axes), small)
    (numeric,) = numeric_gradient(lambda x: np.log(np.exp(x).sum(axis=axes)), small)
    assert np.allclose(grad, numeric, atol=1e-6)


def test_cross_entropy_of_huge_logits_is_finite_with_finite_gradients():
    logits = Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], np.float32))
    loss = nn.CrossEntropyLoss()(logits, np.array([1, 1]))
    loss.backward()
    assert np.isclose(loss.item(), 1e4) and np.all(np.isfinite(logits.grad.data))
    assert np.allclose(logits.grad.data, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])


def test_cross_entropy_says_what_is_wrong_with_the_targets():
    logits = Tensor(np.zeros((3, 4)))
    with pytest.raises(TypeError, match="integer"):
        nn.CrossEntropyLoss()(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(2,\)"):
        nn.CrossEntropyLoss()(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match="0..3"):
        nn.CrossEntropyLoss()(logits, np.array([0, 1, 4]))


def test_load_state_dict_names_the_parameter_and_both_shapes():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    state = model.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    with pytest.raises(ValueError, match=r"layers\.2\.weight.*\(2, 4\).*\(2, 3\)"):
        model.load_state_dict({**state, "layers.2.weight": np.zeros((2, 4))})
    del state["layers.0.bias"]
    with pytest.raises(KeyError, match=r"layers\.0\.bias"):
        model.load_state_dict(state)


def test_save_and_load_round_trip_without_pickle(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3, rng=np.random.default_rng(0)))
    babygrad.save(model.state_dict(), tmp_path / "model.pt")
    loaded = babygrad.load(tmp_path / "model.pt")
    assert sorted(loaded) == ["layers.0.bias", "layers.0.weight"]
    assert np.array_equal(loaded["layers.0.weight"], model.layers[0].weight.data)
    np.savez(tmp_path / "evil.npz", thing=np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        babygrad.load(tmp_path / "evil.npz")


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda p: optim.Adam(p, lr=0.1)],
                         ids=["SGD", "Adam"])
def test_an_optimiser_leaves_a_shared_gradient_alone(make):
    a, b = Tensor(np.array([1.0, 2.0])), Tensor(np.array([3.0, 4.0]))
    optimizer = make([a, b])
    for _ in range(3):
        optimizer.zero_grad()
        (a + b).sum().backward()
        assert a.grad is b.grad
        optimizer.step()
        assert np.array_equal(a.grad.data, [1.0, 1.0])
    assert np.allclose(a.data - [1.0, 2.0], b.data - [3.0, 4.0])


def test_optimisers_refuse_bad_settings():
    p = [Tensor(np.zeros(1))]
    with pytest.raises(ValueError, match="lr"):
        optim.SGD(p, lr=-1.0)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)


def test_the_data_loader_says_what_is_wrong_with_its_arguments():
    with pytest.raises(ValueError, match=r"\[10, 9\]"):
        DataLoader((np.zeros(10), np.zeros(9)))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader((np.zeros(10),), batch_size=0)


def train_digits(epochs=15):
    """The chapter's network on scikit-learn's digits: (test accuracy, final parameters)."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    images, labels = (digits.data / 16.0).astype(np.float32), digits.target
    order = np.random.default_rng(0).permutation(len(images))
    train, test = order[:1437], order[1437:]
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(64, 128, rng=rng), nn.ReLU(), nn.Linear(128, 10, rng=rng))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(epochs):
        for x, y in DataLoader((images[train], labels[train]), batch_size=32, shuffle=True, seed=0):
            loss = loss_fn(model(Tensor(x, requires_grad=False)), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with babygrad.no_grad():
        predicted = model(Tensor(images[test], requires_grad=False)).data.argmax(axis=1)
    return (predicted == labels[test]).mean(), model.state_dict()


def test_the_digits_network_reaches_96_percent_and_the_same_seed_gives_the_same_network():
    accuracy, state = train_digits()
    assert accuracy >= 0.96
    _, again = train_digits()
    assert all(np.array_equal(state[name], again[name]) for name in state)


def test_the_classroom_notebook_trains_and_shows_its_curves_and_mistakes():
    nb = nbformat.read(REPO / "notebooks" / "training.ipynb", as_version=4)
    outputs = "".join(run(nb, REPO / "notebooks"))
    assert float(re.search(r"final test accuracy ([\d.]+)%", outputs).group(1)) >= 96
    images = [cell.id for cell in nb.cells if cell.cell_type == "code"
              for output in cell.outputs if "image/png" in output.get("data", {})]
    assert images == ["train", "wrong"]
    graph = [output for cell in nb.cells if cell.get("id") == "graph" for output in cell.outputs
             if "image/svg+xml" in output.get("data", {})]
    assert graph and "MatMul" in graph[0]["data"]["image/svg+xml"]


def test_a_linear_layer_of_no_features_is_an_error_naming_both_sizes():
    with pytest.raises(ValueError, match="in_features=0, out_features=3"):
        nn.Linear(0, 3)
