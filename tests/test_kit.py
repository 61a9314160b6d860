"""A student's kit: the release notebooks write the student's own babygrad package."""
import json
import subprocess
import sys

from autograder.classroom import answered
from autograder.course import RELEASE, SOURCE
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
