"""A script in anything a student wrote never runs where an instructor or a student reads it: the feedback page,
the class report and formgrader's pages of the submission, each opened in headless Chromium with no network."""
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request

import pytest
from nbgrader.api import Gradebook

from autograder import cli
from autograder.classroom import submission
from autograder.course import nbgrader_for_course
from tests.test_viz_browser import CHROMIUM_ARGS, _free_port, _stop, browser, chromium  # noqa: F401 (fixtures)

CHAPTER, STUDENT = "01_tensor", "scripted"
# Each part sets the same flag, so that whichever one ran is caught.
SCRIPTS = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=1\">"
SERVER_START_TIMEOUT = 60  # seconds

pytestmark = pytest.mark.filterwarnings("ignore::nbformat.warnings.MissingIDFieldWarning")  # the id-less cells


def scripted_notebook(course):
    """A correct notebook with scripts in an exception's message, a printed output, a markdown cell and a code
    cell without ids (as a student's editor may leave them)."""
    release = course / "release" / CHAPTER / "tensor.ipynb"
    notebook = json.loads(submission(release, course / "source" / CHAPTER / release.name, "perfect")
                          [release.name])
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "as_array":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = source.partition("\n")[0] + f"\ndef as_array(data, dtype=None):\n" \
                                                         f"    raise ValueError({SCRIPTS!r})\n"
    notebook["cells"] += [{"cell_type": "markdown", "metadata": {}, "source": SCRIPTS},
                          {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                           "source": f"print({SCRIPTS!r})"}]
    return json.dumps(notebook)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """One student's graded chapter, its feedback and the report."""
    course = cli.init(tmp_path_factory.mktemp("scripted") / "course")
    folder = course / "submitted" / STUDENT / CHAPTER
    folder.mkdir(parents=True)
    (folder / "tensor.ipynb").write_text(scripted_notebook(course), encoding="utf-8")
    assert cli.main(["grade", CHAPTER, "--course", str(course)]) == 0
    environment = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "nbgrader"), "generate_feedback", CHAPTER],
                   cwd=course, env=environment, check=True, capture_output=True)
    assert cli.main(["report", "--course", str(course)]) == 0
    return course


@pytest.fixture(scope="module")
def formgrader(course, tmp_path_factory):
    """nbgrader's formgrader on a Jupyter server in the course folder, on 127.0.0.1 with a token."""
    home = tmp_path_factory.mktemp("formgrader")
    port, token = _free_port(), secrets.token_hex(16)
    environment = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "run"),
                   "PYTHONUNBUFFERED": "1"}
    log = open(home / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={course}",
         "--ServerApp.jpserver_extensions={'nbgrader.server_extensions.formgrader': True}"]
        + (["--allow-root"] if os.geteuid() == 0 else []),
        cwd=course, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            assert server.poll() is None, (home / "server.log").read_text()
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, (home / "server.log").read_text()
                time.sleep(0.3)
        yield url, token
    finally:
        _stop(server)
        log.close()


def ran_a_script(browser, address, allowed):  # noqa: F811 (the browser fixture)
    """Whether opening `address` ran any script of the student's, and the page's text; every request that does
    not start with `allowed` is refused."""
    page = browser.new_page()
    try:
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(allowed)
                   else route.abort())
        page.goto(address, wait_until="networkidle")
        page.wait_for_timeout(500)  # an image's error event, a script that runs late
        return page.evaluate("typeof window.__pwned") != "undefined", page.inner_text("body")
    finally:
        page.close()


def test_a_script_in_student_text_runs_in_no_page(browser, course, formgrader):  # noqa: F811
    url, token = formgrader
    with Gradebook(nbgrader_for_course(course).coursedir.db_url) as gradebook:
        notebook = gradebook.find_submission_notebook("tensor", CHAPTER, STUDENT).id
    feedback = (course / "feedback" / STUDENT / CHAPTER / "tensor.html").as_uri()
    pages = {"feedback": (feedback, "file:"), "report": ((course / "report.html").as_uri(), "file:")}
    for name, path in [("submission", f"submissions/{notebook}/"),
                       ("student", f"manage_students/{STUDENT}/{CHAPTER}"),
                       ("notebook", f"gradebook/{CHAPTER}/tensor")]:
        pages[f"formgrader {name}"] = (f"{url}/formgrader/{path}?token={token}", url)
    shown = {}
    for name, (address, allowed) in pages.items():
        ran, text = ran_a_script(browser, address, allowed)
        assert not ran, f"a script of the student's ran in the {name} page"
        shown[name] = text
    assert "<script>window.__pwned=1</script>" in shown["feedback"]  # shown as typed
    assert "<script>window.__pwned=1</script>" in shown["formgrader submission"]
