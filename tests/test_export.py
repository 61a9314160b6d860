"""Export: a chapter notebook's `#| export` cells become a babygrad module, and take effect the moment they run."""
import pytest

from coursework.export import export_notebook, module_source
from tests.notebooks import notebook, run, save

SETUP = "#| default_exp things\nimport os, sys\nsys.path.insert(0, os.path.abspath('..'))\n%load_ext coursework.live"


def test_export_writes_the_export_cells_in_order_without_solution_markers(tmp_path):
    path = save(tmp_path / "chapter" / "things.ipynb", notebook(
        "#| default_exp things",
        "# md Some prose that stays in the notebook.",
        "#| export\nimport math",
        "x = 'a cell that is not exported'",
        "#| export\ndef area(r):\n    ### BEGIN SOLUTION\n    return math.pi * r * r\n    ### END SOLUTION",
    ))
    (tmp_path / "babygrad").mkdir()
    (tmp_path / "babygrad" / "__init__.py").write_text("")

    target = export_notebook(path)

    assert target == tmp_path / "babygrad" / "things.py"
    assert target.read_text() == (
        "# Generated from chapter/things.ipynb by coursework.export. Edit the notebook, not this file.\n"
        "import math\n\n\n"
        "def area(r):\n    return math.pi * r * r\n")


def test_export_without_a_package_next_to_the_chapter_writes_nothing(tmp_path, capsys):
    path = save(tmp_path / "chapter" / "things.ipynb", notebook("#| default_exp things", "#| export\nx = 1"))
    assert export_notebook(path) is None
    assert "Not exported" in capsys.readouterr().out
    assert list(tmp_path.rglob("*.py")) == []


def test_a_notebook_without_default_exp_is_an_error_that_says_what_is_missing(tmp_path):
    path = save(tmp_path / "n.ipynb", notebook("#| export\nx = 1"))
    with pytest.raises(ValueError, match="default_exp"):
        module_source(path, "n.ipynb")


def test_a_file_that_is_not_json_is_an_error_that_names_the_file(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [')
    with pytest.raises(ValueError, match="broken.ipynb is not a valid notebook"):
        module_source(path, "broken.ipynb")


def test_an_export_cell_takes_effect_in_the_package_as_soon_as_it_runs(tmp_path):
    """The reference Tensor finds `as_array` in babygrad.tensor: after the cell runs, that is the notebook's."""
    nb = notebook(
        SETUP.replace("things", "tensor"),
        "#| export\ndef as_array(data, dtype=None):\n    import numpy\n    return numpy.full(2, 7.0)",
        "import babygrad\nprint(babygrad.Tensor([1]).data, babygrad.tensor.as_array is as_array)",
    )
    (tmp_path / "chapter").mkdir()
    outputs = run(nb, tmp_path / "chapter")
    assert outputs[-1] == "[7. 7.] True\n"


def test_a_new_module_appears_in_the_package_when_its_first_cell_runs(tmp_path):
    nb = notebook(SETUP, "#| export\nanswer = 42", "import babygrad.things\nprint(babygrad.things.answer)")
    (tmp_path / "chapter").mkdir()
    assert run(nb, tmp_path / "chapter")[-1] == "42\n"


def test_a_cell_that_fails_changes_nothing_in_the_package(tmp_path):
    nb = notebook(SETUP.replace("things", "tensor"),
                  "#| export\ndef as_array(data, dtype=None):\n    return None\nraise RuntimeError('half done')",
                  "import babygrad\nprint(babygrad.tensor.as_array is as_array)")
    (tmp_path / "chapter").mkdir()
    assert run(nb, tmp_path / "chapter", allow_errors=True)[-1] == "False\n"


def test_tensor_add_uses_the_students_add_as_soon_as_its_cell_runs(tmp_path):
    nb = notebook(
        SETUP.replace("things", "ops"),
        "from babygrad.ops import Function\nfrom babygrad.tensor import Tensor",
        "#| export\nclass Add(Function):\n    def forward(self, a, b):\n        return a - b  # a student's slip",
        "print((Tensor([3.0]) + Tensor([1.0])).data, type((Tensor([3.0]) + Tensor([1.0]))._op) is Add)",
    )
    (tmp_path / "chapter").mkdir()
    assert run(nb, tmp_path / "chapter")[-1] == "[2.] True\n"
