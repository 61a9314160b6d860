"""A student's kit: the release notebooks write the student's own babygrad package."""
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from autograder.classroom import answered
from autograder.course import REFERENCE, RELEASE, SOURCE, chapter_notebooks
from autograder.kit import make_kit
from coursework.export import export_notebook
from tests.environments import fresh_environment, isolated
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
    kernel = nbformat.reads(notebook_path.read_text(), as_version=4)
    kernel.cells.append(nbformat.v4.new_code_cell("import babygrad\nprint(babygrad.__file__)"))
    outputs = run(kernel, notebook_path.parent)
    # The reference is installed where these tests run, as on an instructor's machine: the kit's package wins.
    assert Path(outputs[-1].strip()).resolve() == (kit / "babygrad" / "__init__.py").resolve()

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


# Runs in a kit, with the kit's babygrad: calls every public class and function of every module of the package on a
# small graph, then every public method of what it made and of the graph's output, and reports what it finds.
EVERY_PUBLIC_NAME = r'''
import importlib, inspect, json, pkgutil, re, sys
import numpy as np
import babygrad
from babygrad import Tensor

x = Tensor([1.5, 2.5])
w = Tensor([0.75, -1.25])
c = Tensor([2.0, 2.0], requires_grad=False)
loss = (x * w * x * c).sum()
graph = [x, w, c, x * w, loss]
gradients = [np.array(g) for g in json.loads(sys.argv[1])]
report = {"called": [], "errors": {}, "leaks": []}


def arrays_in(value, depth=0):
    """The arrays reachable from value: itself, a tensor's data and grad, items, attributes (a few levels)."""
    if depth > 3 or value is None or isinstance(value, (str, bytes, int, float, type)):
        return
    if isinstance(value, np.ndarray):
        yield value
        return
    if isinstance(value, Tensor):
        yield from arrays_in(value.data, depth + 1)
        yield from arrays_in(value.grad, depth + 1)
        return
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (list, tuple, set)):
        items = list(value)
    else:
        items = list(getattr(value, "__dict__", {}).values())
    for item in items:
        yield from arrays_in(item, depth + 1)


def texts_of(value):
    """What a person would read of value: a drawing's DOT text, its repr."""
    texts = []
    for text in (lambda: value.source, lambda: repr(value)):
        try:
            texts.append(str(text()))
        except Exception:
            pass
    return texts


def call(name, function):
    for arguments in ((loss,), (loss, {"x": x, "w": w}), ()):
        try:
            result = function(*arguments)
        except TypeError:
            continue
        except Exception as error:
            report["errors"][name] = f"{type(error).__name__}: {error}"
            return None
        report["called"].append(name)
        for array in arrays_in(result):
            if any(array.shape == g.shape and np.allclose(array, g) for g in gradients):
                report["leaks"].append(f"{name} returned {array}")
        if any(re.search(r"(?<![\w])grad [-\d\[(]", text) for text in texts_of(result)):   # a box's grad line
            report["leaks"].append(f"{name} wrote a gradient: {texts_of(result)}")
        return result
    report["errors"][name] = "takes other arguments"
    return None


def call_methods(name, instance):
    for method in dir(instance):
        try:
            bound = getattr(instance, method)
        except Exception:                    # a property that needs what the instance lacks
            continue
        if not method.startswith("_") and callable(bound):
            call(f"{name}.{method}", bound)


for module_info in pkgutil.iter_modules(babygrad.__path__):
    module = importlib.import_module(f"babygrad.{module_info.name}")
    for name, value in vars(module).items():
        if name.startswith("_") or not callable(value) or getattr(value, "__module__", None) != module.__name__:
            continue
        made = call(f"{module.__name__}.{name}", value)
        if inspect.isclass(value) and isinstance(made, value):
            call_methods(f"{module.__name__}.{name}()", made)
call_methods("Tensor", loss)
report["grads"] = [repr(t) for t in graph if t.grad is not None]
print(json.dumps(report))
'''


def test_with_chapter_04_untouched_nothing_in_the_kit_computes_a_gradient(tmp_path):
    from babygrad import Tensor
    # The gradients of the graph above, from the reference: both leaves' and an intermediate's.
    x, w, c = Tensor([1.5, 2.5]), Tensor([0.75, -1.25]), Tensor([2.0, 2.0], requires_grad=False)
    xw = x * w
    (xw * x * c).sum().backward()
    gradients = [x.grad.data.tolist(), w.grad.data.tolist(), xw.grad.data.tolist()]
    assert gradients == [[4.5, -12.5], [4.5, 12.5], [3.0, 5.0]]

    kit = make_kit(tmp_path / "kit")
    for chapter, name in [("01_tensor", "tensor"), ("02_operations", "operations"), ("03_gradients", "gradients")]:
        notebook = kit / chapter / f"{name}.ipynb"
        notebook.write_text(json.dumps(answered(RELEASE / chapter / notebook.name, SOURCE / chapter / notebook.name)))
        export_notebook(notebook)
    done = subprocess.run([sys.executable, "-c", EVERY_PUBLIC_NAME, json.dumps(gradients)], cwd=kit,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)

    assert report["leaks"] == [] and report["grads"] == []
    assert {"babygrad.viz.draw", "babygrad.backprop.build_topo", "Tensor.backward", "babygrad.ops.add",
            "babygrad.nn.Linear", "babygrad.optim.SGD"} <= set(report["called"]) | set(report["errors"])
    assert "babygrad.viz.draw" in report["called"], report["errors"].get("babygrad.viz.draw")
    assert report["errors"]["babygrad.stepper.BackwardStepper"] == (
        "ChapterNotFinished: BackwardStepper runs your build_topo, which is not written yet: finish chapter 4 "
        "(04_backprop/backprop.ipynb) and run its cells, then try again.")

    # Only build_topo written, as the release's chapter 4 asks first: the stepper still needs the student's backward.
    backprop = kit / "babygrad" / "backprop.py"
    reference = (REFERENCE / "backprop.py").read_text()
    stub = backprop.read_text()
    backprop.write_text(stub[:stub.index("def build_topo")] + reference[reference.index("def build_topo"):
                        reference.index("@extend(Tensor)")] + stub[stub.index("@extend(Tensor)"):])
    stepper = subprocess.run([sys.executable, "-c", "from babygrad import Tensor; from babygrad.stepper import "
                              "BackwardStepper; x = Tensor([1.5, 2.5]); BackwardStepper((x * x).sum())"],
                             cwd=kit, capture_output=True, text=True, timeout=60)
    assert stepper.stderr.strip().endswith(
        "ChapterNotFinished: BackwardStepper runs your backward, which is not written yet: finish chapter 4 "
        "(04_backprop/backprop.ipynb) and run its cells, then try again."), stepper.stderr


def imported_modules(kit):
    """The top-level modules that the kit's notebooks and packages import, beyond Python's own and the kit's."""
    sources = [path.read_text() for path in kit.glob("*/*.py")]
    sources += ["".join(cell["source"]) for notebook in chapter_notebooks(kit)
                for cell in json.loads(notebook.read_text())["cells"] if cell["cell_type"] == "code"]
    names = {match for source in sources for match in re.findall(r"(?m)^\s*(?:import|from)\s+(\w+)", source)}
    return sorted(names - set(sys.stdlib_module_names) - {"babygrad", "coursework"})


def test_a_fresh_environment_made_from_the_kits_requirements_alone_runs_chapter_01(tmp_path):
    kit = make_kit(tmp_path / "kit")
    venv = fresh_environment(tmp_path / "venv", "-r", kit / "requirements.txt")
    home = tmp_path / "home"
    home.mkdir()
    modules = imported_modules(kit)
    assert {"numpy", "graphviz", "IPython", "ipywidgets", "sklearn", "matplotlib"} <= set(modules)
    imports = subprocess.run([venv / "python", "-c", f"import {', '.join(modules)}"], env=isolated(venv, home),
                             capture_output=True, text=True)
    assert imports.returncode == 0, imports.stderr

    notebook = kit / "01_tensor" / "tensor.ipynb"
    answers = answered(RELEASE / "01_tensor" / "tensor.ipynb", SOURCE / "01_tensor" / "tensor.ipynb")
    notebook.write_text(json.dumps(answers))
    executed = subprocess.run([venv / "jupyter", "execute", "--inplace", notebook], env=isolated(venv, home),
                              capture_output=True, text=True, timeout=300)
    assert executed.returncode == 0, executed.stderr
    outputs = "".join("".join(output.get("text", output.get("data", {}).get("text/plain", "")))
                      for cell in json.loads(notebook.read_text())["cells"] for output in cell.get("outputs", []))
    assert "babygrad/tensor.py" in outputs                           # the last cell said what it exported
    mine = subprocess.run([venv / "python", "-c", "import babygrad; print(babygrad.Tensor([1, 2]))"], cwd=kit,
                          env=isolated(venv, home), capture_output=True, text=True)
    assert mine.stdout == "Tensor([1. 2.], requires_grad=True)\n", mine.stderr


def test_kit_with_zip_writes_a_folder_a_student_can_start_from_and_its_zip(tmp_path):
    from autograder.cli import main
    assert main(["kit", str(tmp_path / "student-kit"), "--zip"]) == 0
    readme = (tmp_path / "student-kit" / "README.md").read_text()
    assert [line for line in readme.splitlines() if line.startswith("## ")] == ["## 1. Install (once)", "## 2. Open",
                                                                              "## 3. Hand in"]
    assert "pip install -r requirements.txt" in readme and "Assignment List" in readme and "zip" in readme
    with zipfile.ZipFile(tmp_path / "student-kit.zip") as archive:
        names = set(archive.namelist())
    assert {"student-kit/README.md", "student-kit/requirements.txt", "student-kit/01_tensor/tensor.ipynb",
            "student-kit/babygrad/__init__.py", "student-kit/coursework/live.py"} <= names
    assert not any("__pycache__" in name for name in names)
