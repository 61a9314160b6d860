"""Small notebooks for the tests, and a way to run them in a real Jupyter kernel."""
import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def notebook(*sources):
    """A notebook with one code cell per source; a source starting with '# md' becomes markdown."""
    cells = [new_markdown_cell(source[4:]) if source.startswith("# md") else new_code_cell(source)
             for source in sources]
    return new_notebook(cells=cells)


def save(path, nb):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def run(nb, folder, allow_errors=False):
    """Execute every cell in a fresh kernel started in `folder`; returns each code cell's text output."""
    client = NotebookClient(nb, timeout=60, allow_errors=allow_errors, resources={"metadata": {"path": str(folder)}})
    client.execute()
    return ["".join(output.get("text", "") for output in cell.outputs)
            for cell in nb.cells if cell.cell_type == "code"]
