"""The demo notebooks in a real browser: JupyterLab on loopback, headless Chromium driven by Playwright,
Run All Cells, then the graph must be an <svg> in the output area. Writes a screenshot and prints its path.

Needs Chromium at /usr/bin/chromium (installed with apt when running as root and absent) and the
`playwright` Python package; it never downloads a browser. Skips with the reason when it can't run."""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SERVER_START_TIMEOUT = 60      # seconds
RUN_ALL_TIMEOUT = 120          # seconds for every cell of a notebook to finish

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def chromium():
    """Path of the system Chromium, installing it with apt-get when absent and we are root."""
    if not Path(CHROMIUM).exists():
        if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
            try:
                subprocess.run(["apt-get", "update"], check=True, capture_output=True, timeout=300)
                subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, capture_output=True,
                               timeout=600, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
            except (subprocess.SubprocessError, OSError) as error:
                pytest.skip(f"Chromium is not at {CHROMIUM} and `apt-get install -y chromium` failed: {error}")
        if not Path(CHROMIUM).exists():
            pytest.skip(f"Chromium is not at {CHROMIUM} and cannot be installed here (needs root and apt-get)")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
                                                 timeout=60_000)
        except Exception as error:                                   # noqa: BLE001 - report why, then skip
            pytest.skip(f"headless Chromium did not start: {error}")
        yield browser
        browser.close()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """JupyterLab serving a temporary copy of notebooks/ on 127.0.0.1, token-protected; stopped at the end."""
    if not (NOTEBOOKS / "graph_gallery.ipynb").exists():
        pytest.skip("notebooks/graph_gallery.ipynb is missing")
    pytest.importorskip("jupyterlab")
    home = tmp_path_factory.mktemp("jupyterlab")
    root = home / "notebooks"
    shutil.copytree(NOTEBOOKS, root)
    settings = home / "settings"
    # Render every cell (no virtual scrolling) so the test sees all outputs; no news pop-up.
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ,
           "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
           "PYTHONUNBUFFERED": "1"}
    log = open(home / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False"]
        + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{(home / 'server.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s:\n"
                            f"{(home / 'server.log').read_text()}")
            time.sleep(0.3)
        yield url, token
    finally:
        _stop(server)
        log.close()


def _stop(process):
    """SIGTERM the server's process group (it and its kernels), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


PROMPTS = "document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')"


def _kernel_idle(url, token, notebook):
    """True once the server has a session for `notebook` whose kernel is idle (started and connected)."""
    try:
        with urllib.request.urlopen(f"{url}/api/sessions?token={token}", timeout=5) as response:
            sessions = json.load(response)
    except OSError:
        return False
    return any(s.get("path", "").endswith(notebook) and s.get("kernel", {}).get("execution_state") == "idle"
               for s in sessions)


def run_all_cells(page, url, token, notebook):
    """Open `notebook` in a fresh workspace, wait for its kernel, Run > Run All Cells, wait until every
    code cell has an execution count. The click is retried if no cell starts (kernel still connecting)."""
    page.goto(f"{url}/lab/workspaces/{Path(notebook).stem}/tree/{notebook}?reset&token={token}",
              wait_until="domcontentloaded")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=60_000)
    deadline = time.monotonic() + 60
    while not _kernel_idle(url, token, notebook):
        assert time.monotonic() < deadline, f"the kernel of {notebook} did not become idle in 60 s"
        time.sleep(0.5)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    for attempt in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function(f"() => [...{PROMPTS}].some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))",
                                   timeout=15_000)
            break
        except Exception:                                            # noqa: BLE001 - nothing started: retry
            if attempt == 2:
                raise
    page.wait_for_function(
        f"""() => {{
            const prompts = [...{PROMPTS}];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }}""", timeout=RUN_ALL_TIMEOUT * 1000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=30_000)
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").count()


def rendered_graph(page, scope):
    """The first Graphviz SVG in the outputs under `scope`, and its SVG text.

    JupyterLab 4 shows an `image/svg+xml` output as <img src="data:image/svg+xml,...">; HTML (the
    stepper's widget) puts the <svg> inline. Either way the SVG must be Graphviz's and the browser
    must have rendered it (an <img> that failed to decode has naturalWidth 0)."""
    inline = page.locator(f"{scope} svg g.graph")
    image = page.locator(f"{scope} img[src^='data:image/svg+xml']")
    page.locator(f"{scope} svg g.graph, {scope} img[src^='data:image/svg+xml']").first.wait_for(
        state="attached", timeout=30_000)
    if inline.count():
        svg = inline.first.locator("xpath=ancestor::*[local-name()='svg'][1]")
        return svg, svg.evaluate("e => e.outerHTML")
    element = image.first
    element.wait_for(state="visible")
    page.wait_for_function("e => e.complete && e.naturalWidth > 0", arg=element.element_handle(), timeout=30_000)
    src = element.get_attribute("src")
    return element, urllib.parse.unquote(src.split(",", 1)[1])


@pytest.mark.parametrize("notebook, scope", [
    ("graph_gallery.ipynb", ".jp-OutputArea-output"),
    ("backward_stepper.ipynb", ".jp-OutputArea-output .widget-html"),
])
def test_demo_notebook_runs_in_jupyterlab_and_shows_the_graph_as_svg(browser, jupyterlab, tmp_path,
                                                                       notebook, scope):
    url, token = jupyterlab
    if not (NOTEBOOKS / notebook).exists():
        pytest.skip(f"notebooks/{notebook} is missing")
    started = time.monotonic()
    page = browser.new_page(viewport={"width": 1800, "height": 1100})
    page.set_default_timeout(60_000)
    try:
        try:
            cells = run_all_cells(page, url, token, notebook)
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
            print(f"run all failed; prompts {prompts}; screenshot {tmp_path / 'failure.png'}")
            raise
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
        assert not tracebacks, f"{notebook} raised:\n" + "\n".join(tracebacks)
        graph, svg = rendered_graph(page, scope)
        assert "<svg" in svg and 'class="graph"' in svg
        assert svg.count('class="node"') >= 3                       # tensors and ops were drawn
        graph.scroll_into_view_if_needed()
        box = graph.bounding_box()
        assert box and box["width"] > 50 and box["height"] > 20, f"the graph has no size: {box}"
        if "widget" in scope:                                        # the stepper: Next shows the next frame
            page.locator(".jp-OutputArea-output button", has_text="Next").first.click()
            page.locator(".jp-OutputArea-output .widget-html", has_text="Step 1/").first.wait_for(timeout=30_000)
            graph, svg_after = rendered_graph(page, scope)
            assert svg_after != svg and "#d62728" in svg_after           # the node being processed is red
        shot = tmp_path / f"{Path(notebook).stem}.png"
        graph.screenshot(path=str(shot))
        page.screenshot(path=str(tmp_path / f"{Path(notebook).stem}-page.png"))
        print(f"\n{notebook}: {cells} code cells ran, graph found, in {time.monotonic() - started:.1f} s; "
              f"screenshot {shot}")
        assert shot.stat().st_size > 1000
    finally:
        page.close()
