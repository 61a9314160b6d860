"""Export: a chapter notebook's `#| export` cells become a babygrad module, and take effect the moment they run."""
import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

from autograder.kit import make_kit
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

    exported = export_notebook(path)

    assert exported.path == tmp_path / "babygrad" / "things.py"
    assert exported.names == ["area"] and not exported.as_run
    assert exported.path.read_text() == (
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


def run_as_jupyterlab(cells, folder):
    """Run (cell id, source) pairs in a fresh kernel in `folder`, sending each cell's id as JupyterLab does.

    Returns each cell's printed text and error text; the notebook file on disk is never written."""
    manager, client = start_new_kernel(cwd=str(folder))
    outputs = []
    try:
        for cell_id, source in cells:
            content = dict(code=source, silent=False, store_history=True, user_expressions={}, allow_stdin=False,
                           stop_on_error=True)
            request = client.session.msg("execute_request", content, metadata={"cellId": cell_id})
            client.shell_channel.send(request)
            text = ""
            while True:
                message = client.get_iopub_msg(timeout=60)
                if message["parent_header"].get("msg_id") != request["header"]["msg_id"]:
                    continue
                kind, body = message["msg_type"], message["content"]
                if kind == "stream":
                    text += body["text"]
                elif kind in ("execute_result", "display_data"):
                    text += body["data"].get("text/plain", "") + "\n"
                elif kind == "error":
                    text += f"{body['ename']}: {body['evalue']}\n"
                elif kind == "status" and body["execution_state"] == "idle":
                    break
            outputs.append(text)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return outputs


def package_beside(folder):
    (folder / "babygrad").mkdir()
    (folder / "babygrad" / "__init__.py").write_text("")
    (folder / "chapter").mkdir()
    return folder / "chapter"


SAVED = ["#| default_exp things\nimport os, sys\nsys.path.insert(0, os.path.abspath('..'))\n%load_ext coursework.live",
         "#| export\ndef area(r):\n    return 0  # the saved, unfinished version",
         "#| export\nunit = 'm'",
         "from coursework.export import export_notebook\nexport_notebook('things.ipynb')"]


def saved_notebook(chapter):
    nb = notebook(*SAVED)
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index}"
    save(chapter / "things.ipynb", nb)


def test_the_export_writes_what_the_kernel_ran_not_what_was_last_saved(tmp_path):
    chapter = package_beside(tmp_path)
    saved_notebook(chapter)
    edited = "#| export\ndef area(r):\n    return 3 * r * r  # edited, never saved"
    added = "#| export\ndef volume(r):\n    return 4 * r ** 3  # a new cell, never saved"
    outputs = run_as_jupyterlab([("cell-0", SAVED[0]), ("cell-1", edited), ("new-cell", added), ("cell-2", SAVED[2]),
                                 ("cell-3", SAVED[3])], chapter)

    module = (tmp_path / "babygrad" / "things.py").read_text()
    assert "return 3 * r * r  # edited, never saved" in module and "the saved, unfinished version" not in module
    assert module.index("def area") < module.index("def volume") < module.index("unit = 'm'")
    assert "Exported babygrad.things to" in outputs[-1]
    assert "as this kernel ran them" in outputs[-1] and "area, volume, unit" in outputs[-1]


def test_an_export_cell_the_kernel_has_not_run_is_written_as_saved_and_named(tmp_path):
    chapter = package_beside(tmp_path)
    saved_notebook(chapter)
    outputs = run_as_jupyterlab([("cell-0", SAVED[0]), ("cell-1", SAVED[1]), ("cell-3", SAVED[3])], chapter)
    assert "unit = 'm'" in (tmp_path / "babygrad" / "things.py").read_text()
    assert "Not run in this kernel, so exported as last saved: unit" in outputs[-1]


def test_without_cell_ids_an_edited_cell_is_recognised_by_its_place_between_unchanged_cells(tmp_path):
    """Front ends that send no cell id (the classic notebook, nbclient): the edited `area` replaces the saved one."""
    chapter = package_beside(tmp_path)
    saved_notebook(chapter)
    edited = "#| export\ndef area(r):\n    return 3 * r * r"
    export = "from coursework.export import export_notebook\nprint(export_notebook('things.ipynb'))"
    outputs = run(notebook(SAVED[0], edited, SAVED[2], export), chapter)
    assert "return 3 * r * r" in (tmp_path / "babygrad" / "things.py").read_text()
    assert "as this kernel ran them" in outputs[-1]


RULES = ["#| default_exp rules\nimport os, sys\nsys.path.insert(0, os.path.abspath('..'))\n%load_ext coursework.live",
         ("#| export\nclass Add:\n    pass\n\n\nclass Mul:\n    pass\n\n\ndef extend(cls):\n"
          "    return lambda function: setattr(cls, function.__name__, function)"),
         "#| export\n@extend(Add)\ndef backward(self):\n    return 'add rule, given'",
         "#| export\n@extend(Mul)\ndef backward(self):\n    # YOUR CODE HERE\n    raise NotImplementedError()",
         "#| export\n@extend(Mul)\ndef forward(self):\n    return 'forward, as written'",
         "from coursework.export import export_notebook\nprint(export_notebook('rules.ipynb'))"]


def test_a_notebook_run_headless_exports_exactly_its_cells_and_names_the_stubs(tmp_path):
    """nbclient sends no cell ids, and two cells define `backward`: each is written once, in its place."""
    chapter = package_beside(tmp_path)
    nb = notebook(*RULES)
    path = save(chapter / "rules.ipynb", nb)
    outputs = run(nbformat.read(path, as_version=4), chapter)
    module = (tmp_path / "babygrad" / "rules.py").read_text()
    assert module.split("\n", 1)[1] == "\n\n\n".join(cell.split("\n", 1)[1] for cell in RULES[1:5]) + "\n"
    assert "It defines: Add, Mul, extend, Add.backward, Mul.backward, Mul.forward." in outputs[-1]
    assert "Still stubs, raising NotImplementedError: Mul.backward." in outputs[-1]


def test_an_export_that_cannot_tell_cells_apart_without_ids_refuses_and_says_what_to_do(tmp_path):
    chapter = package_beside(tmp_path)
    saved_notebook(chapter)
    first, second = ("#| export\ndef area(r):\n    return 3 * r * r", "#| export\ndef area(r):\n    return r * r")
    nb = notebook(SAVED[0], first, second, SAVED[2], SAVED[3])
    run(nb, chapter, allow_errors=True)
    [error] = nb.cells[-1].outputs
    assert error.traceback[0].startswith("Not exported: this editor does not say which cell is which")
    assert "Save the notebook, restart the kernel, run every cell" in error.traceback[0]
    assert not (tmp_path / "babygrad" / "things.py").exists()


def test_the_next_chapter_notices_a_package_module_that_is_not_its_notebooks(tmp_path):
    """An export that wrote one given cell over the student's rules: the next chapter's first cell says so."""
    from coursework.prerequisites import not_the_students
    chapter = package_beside(tmp_path)
    path = save(chapter / "rules.ipynb", notebook(*RULES))
    module = tmp_path / "babygrad" / "rules.py"
    module.write_text("# Generated from chapter/rules.ipynb by coursework.export.\n" + "\n".join(
        [RULES[1].split("\n", 1)[1]] + [RULES[2].split("\n", 1)[1]] * 3))
    assert not_the_students(module, path) == ["Add.backward is defined 3 times",
                                              "Mul.backward, Mul.forward are not in it"]
    assert not_the_students(tmp_path / "babygrad" / "__init__.py", path)[1:] == []


def test_reloading_the_extension_keeps_one_hook(tmp_path):
    chapter = package_beside(tmp_path)
    count = ("import coursework.live\nhooks = get_ipython().events.callbacks['post_run_cell']\n"
             "print(sum(getattr(hook, '__func__', None) is coursework.live.LiveExport.after_cell for hook in hooks))")
    outputs = run(notebook(SAVED[0], "%reload_ext coursework.live", "%reload_ext coursework.live", SAVED[0], count),
                  chapter)
    assert outputs[-1] == "1\n"


def test_a_chapter_whose_earlier_chapter_was_never_exported_says_which_to_finish_first(tmp_path):
    kit = make_kit(tmp_path / "kit")
    setup = next(cell.source for cell in nbformat.read(kit / "02_operations" / "operations.ipynb", 4).cells
                 if cell.cell_type == "code")
    [output] = run(notebook(setup), kit / "02_operations", allow_errors=True)
    assert "Chapter 01 is missing from your babygrad package: as_array, Tensor.__init__" in output
    assert "Finish chapter 01 (01_tensor/tensor.ipynb) and run its export cell" in output
    assert "NotImplementedError" in output


def test_only_nbgraders_bare_placeholder_counts_as_unfinished(tmp_path):
    """The reference `Function.forward` raises NotImplementedError with a message on purpose: that is finished."""
    from coursework.prerequisites import stubs
    module = tmp_path / "ops.py"
    module.write_text("class Function:\n    def forward(self):\n        raise NotImplementedError('no forward yet')\n\n"
                      "    def __call__(self):\n        # YOUR CODE HERE\n        raise NotImplementedError()\n\n\n"
                      "@extend(Tensor)\ndef exp(self):\n    raise NotImplementedError\n")
    assert stubs(module) == ["Function.__call__", "Tensor.exp"]


def test_a_chapter_whose_earlier_module_is_not_its_notebooks_says_so_in_its_first_cell(tmp_path):
    """The earlier chapter's module was written over (a cell written twice): the next chapter's set-up names it."""
    from autograder.course import REPO
    kit = make_kit(tmp_path / "kit")
    reference = (REPO / "babygrad" / "tensor.py").read_text().split("\n", 1)[1]
    (kit / "babygrad" / "tensor.py").write_text(
        "# Generated from 01_tensor/tensor.ipynb by coursework.export.\n" + reference
        + "\n\n@extend(Tensor)\ndef numpy(self):\n    return self.data\n")
    setup = next(cell.source for cell in nbformat.read(kit / "02_operations" / "operations.ipynb", 4).cells
                 if cell.cell_type == "code")
    [output] = run(notebook(setup), kit / "02_operations", allow_errors=True)
    assert "Your babygrad/tensor.py is not what chapter 01 (01_tensor/tensor.ipynb) defines: Tensor.numpy is " \
           "defined 2 times." in output
