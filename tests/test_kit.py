"""A student's kit: the release notebooks write the student's own babygrad package."""
import json
import shutil
import subprocess
import sys

from autograder.classroom import answered
from autograder.course import REFERENCE, RELEASE, SOURCE
from autograder.kit import make_kit
from tests.notebooks import run
import nbformat


def test_a_student_who_fills_in_chapter_01_can_import_their_own_tensor(tmp_path):
    kit = make_kit(tmp_path / "kit")
    stub = subprocess.run([sys.executable, "-c", "import babygrad; babygrad.Tensor([1])"], cwd=kit,
                          capture_output=True, text=True)
    assert "NotImplementedError" in stub.stderr, "the kit's package starts as stubs"

    notebook_path = kit / "01_tensor" / "tensor.ipynb"
    notebook = answered(RELEASE / "01_tensor" / "tensor.ipynb", SOURCE / "01_tensor" / "tensor.ipynb")
    notebook_path.write_text(json.dumps(notebook))  # the student's saved work
    run(nbformat.reads(notebook_path.read_text(), as_version=4), notebook_path.parent)

    mine = subprocess.run([sys.executable, "-c", "import babygrad; print(babygrad.Tensor([1, 2]))"], cwd=kit,
                          capture_output=True, text=True)
    assert mine.stdout == "Tensor([1. 2.], requires_grad=True)\n", mine.stderr
    assert "Generated from 01_tensor/tensor.ipynb" in (kit / "babygrad" / "tensor.py").read_text()


def test_a_student_who_fills_in_the_modules_notebook_of_chapter_05_trains_with_their_own_layers(tmp_path):
    kit = make_kit(tmp_path / "kit")
    for module in ("tensor", "ops", "gradients", "backprop"):  # chapters 1 to 4 done
        shutil.copy(REFERENCE / f"{module}.py", kit / "babygrad" / f"{module}.py")
    layer = "import babygrad; print(babygrad.nn.Linear(3, 2).weight.shape)"
    stub = subprocess.run([sys.executable, "-c", layer], cwd=kit, capture_output=True, text=True)
    assert "NotImplementedError" in stub.stderr, "chapter 5's modules start as stubs"

    notebook_path = kit / "05_training" / "nn.ipynb"
    notebook = answered(RELEASE / "05_training" / "nn.ipynb", SOURCE / "05_training" / "nn.ipynb")
    notebook_path.write_text(json.dumps(notebook))
    run(nbformat.reads(notebook_path.read_text(), as_version=4), notebook_path.parent)

    mine = subprocess.run([sys.executable, "-c", layer], cwd=kit, capture_output=True, text=True)
    assert mine.stdout == "(2, 3)\n", mine.stderr
    assert "Generated from 05_training/nn.ipynb" in (kit / "babygrad" / "nn.py").read_text()
    optimiser = subprocess.run([sys.executable, "-c", "import babygrad, numpy as np; w = babygrad.Tensor([1.0]); "
                                "w.grad = w; babygrad.optim.SGD([w], lr=0.1).step()"], cwd=kit, capture_output=True,
                               text=True)
    assert "NotImplementedError" in optimiser.stderr, "the optimisers stay the student's to write"
