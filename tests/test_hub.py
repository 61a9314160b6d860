"""A class on JupyterHub, for real: `babygrad-course hub` as root on 127.0.0.1, Unix users made from a roster,
nbgrader's exchange, and students in headless Chromium (Debian's /usr/bin/chromium through Playwright).

The loop: the instructor releases chapter 01; two students sign in on the hub's login page, fetch it in the
assignment list, answer (one right, one with a mistake) and submit there; the instructor collects, grades with
`babygrad-course grade`, and releases feedback; each student fetches and opens theirs and sees their score. Then
sign-in through a learning platform: a platform simulated on 127.0.0.1 (its own RSA key pair and JWKS) launches a
student with a signed LTI 1.3 id_token, and the student lands in their server.

The accounts, homes and folders the tests make are removed at the end; the hub stops every server it started."""
import csv
import importlib.util
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from autograder.classroom import submission
from autograder.course import REPO
from autograder.hub import class_group, free_port, runnable_by_anyone

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
CHAPTER = "01_tensor"
BIN = Path(sys.executable).parent
# The accounts' environments take minutes of pip to make: in a folder named here, they are made once and kept.
ENVS = os.environ.get("BABYGRAD_HUB_ENVS")

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the hub makes Unix users: it runs as root"),
    pytest.mark.skipif(not importlib.util.find_spec("ltiauthenticator"),
                       reason='the hub extra is not installed (pip install -e ".[course,hub,test]")'),
    pytest.mark.skipif(not shutil.which("configurable-http-proxy"),
                       reason="configurable-http-proxy is not installed (npm install -g configurable-http-proxy)"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]


def as_user(user, *command, cwd, env, check=True):
    """Run `command` as the Unix user `user` in the environment `env`, as their server would: their home, their
    name for nbgrader."""
    home = pwd.getpwnam(user).pw_dir
    return subprocess.run(["runuser", "-u", user, "--", "env", "-i", f"HOME={home}", f"USER={user}",
                           f"JUPYTERHUB_USER={user}", f"PATH={env}/bin:/usr/bin:/bin", *command],
                          cwd=cwd, capture_output=True, text=True, check=check, timeout=600)


class Class:
    """A roster, a course folder holding chapter 01, and the hub's folders, under one temporary folder."""

    def __init__(self):
        tag = secrets.token_hex(2)
        self.base = Path(tempfile.mkdtemp(prefix="babygrad-hub-"))
        os.chmod(self.base, 0o755)  # the accounts' homes are in here
        self.course_id, self.instructor = f"bg{tag}", f"bgteach{tag}"
        self.students = [f"bgada{tag}", f"bgbob{tag}"]
        self.roster = self.base / "roster.csv"
        self.roster.write_text("id,name\n" + "".join(f"{s},Student {s}\n" for s in self.students))
        self.state, self.homes = self.base / "state", self.base / "homes"
        self.course = self.base / "course"
        self.port = free_port()
        self.student_env = Path(ENVS or self.state) / "student-env"
        own = BIN.parent if runnable_by_anyone(sys.executable) else self.state / "instructor-env"
        self.instructor_env = Path(ENVS) / "instructor-env" if ENVS else own

    def options(self, *extra):
        return [str(self.roster), "--state", str(self.state), "--homes", str(self.homes), "--port", str(self.port),
                "--instructor", self.instructor, "--course", str(self.course),
                "--student-env", str(self.student_env), "--instructor-env", str(self.instructor_env), *extra]

    def make_course(self):
        """Every chapter's source and release (grading builds the library from them), chapter 01 alone generated
        into the gradebook: the proof needs no other chapter."""
        from autograder.course import nbgrader_for_course, succeeded
        self.course.mkdir(parents=True)
        config = (REPO / "nbgrader_config.py").read_text()
        (self.course / "nbgrader_config.py").write_text(config.replace('course_id = "babygrad"',
                                                                       f'course_id = "{self.course_id}"'))
        for folder in ("source", "release"):
            shutil.copytree(REPO / folder, self.course / folder)
        succeeded(nbgrader_for_course(self.course).generate_assignment(CHAPTER), "generate_assignment")

    def start(self, *extra):
        """The hub, started as an instructor would, once it answers on its port."""
        hub = subprocess.Popen([str(BIN / "babygrad-course"), "hub", *self.options(*extra)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        log = []
        threading.Thread(target=lambda: log.extend(hub.stdout), daemon=True).start()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if hub.poll() is not None:
                time.sleep(0.5)
                pytest.fail("the hub stopped:\n" + "".join(log))
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/hub/api", timeout=2)
                return hub, log
            except OSError:
                time.sleep(0.5)
        hub.kill()
        pytest.fail("the hub did not answer:\n" + "".join(log))

    def stop(self, hub, log):
        """Ctrl-C: the hub, its proxy and every server end."""
        hub.send_signal(signal.SIGINT)
        assert hub.wait(timeout=60) == 0, "".join(log)
        left = subprocess.run(["pgrep", "-u", ",".join([self.instructor, *self.students])], capture_output=True,
                              text=True, check=False).stdout
        assert not left, f"processes left behind after Ctrl-C: {left}"
        assert not subprocess.run(["pgrep", "-f", f"127.0.0.1:{self.port}"], capture_output=True,
                                  check=False).stdout

    def remove(self):
        for name in [self.instructor, *self.students]:
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
        subprocess.run(["groupdel", class_group(self.instructor)], capture_output=True, check=False)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def course():
    course = Class()
    try:
        course.make_course()
        yield course
    finally:
        course.remove()
    assert not any(name in {u.pw_name for u in pwd.getpwall()} for name in [course.instructor, *course.students])


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_assignment_list(page):
    page.get_by_role("menuitem", name="Nbgrader").click()
    page.get_by_role("menuitem", name="Assignment List").click()
    return page.locator(".nbgrader-mainarea-widget")


def sign_in(browser, course, student, password):
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(90_000)
    page.goto(f"http://127.0.0.1:{course.port}/hub/login")
    page.fill("#username_input", student)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{student}/lab**")
    page.locator(".jp-LabShell").wait_for()
    return page


def test_a_class_hands_in_and_gets_feedback_through_the_hub(course, browser, tmp_path):
    started = time.monotonic()
    hub, log = course.start()
    pages = {}
    try:
        passwords = dict(csv.reader((course.state / "private" / "passwords.csv").read_text().splitlines()))
        assert set(passwords) == {course.instructor, *course.students}
        hub_ready = time.monotonic()

        instructor = {"cwd": course.course, "env": course.instructor_env}
        as_user(course.instructor, "nbgrader", "release_assignment", CHAPTER, **instructor)

        release = course.course / "release" / CHAPTER / "tensor.ipynb"
        source = course.course / "source" / CHAPTER / "tensor.ipynb"
        answers = {course.students[0]: "perfect", course.students[1]: "buggy"}
        for student in course.students:
            page = pages[student] = sign_in(browser, course, student, passwords[student])
            assignments = open_assignment_list(page)
            assignments.locator("#released_assignments_list").get_by_role("button", name="Fetch", exact=True).click()
            fetched = assignments.locator("#fetched_assignments_list")
            fetched.get_by_text(CHAPTER).wait_for()
            notebook = course.homes / student / "babygrad" / CHAPTER / "tensor.ipynb"
            assert notebook.stat().st_uid == pwd.getpwnam(student).pw_uid
            notebook.write_text(submission(release, source, answers[student])["tensor.ipynb"])
            fetched.get_by_role("button", name="Submit").click()
            assignments.locator("#submitted_assignments_list").get_by_text(CHAPTER).wait_for()
        handed_in = time.monotonic()

        as_user(course.instructor, "nbgrader", "collect", CHAPTER, **instructor)
        graded = as_user(course.instructor, "babygrad-course", "grade", CHAPTER, "--workers", "1", **instructor)
        for command in (["generate_feedback"], ["release_feedback"]):
            as_user(course.instructor, "nbgrader", *command, CHAPTER, **instructor)
        as_user(course.instructor, "nbgrader", "export", **instructor)
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(
            (course.course / "grades.csv").open()) if row["assignment"] == CHAPTER}
        logs = {student: (course.course / "logs" / CHAPTER / f"{student}.log").read_text() for student in scores}
        assert scores[course.students[0]] == 100, graded.stdout + logs[course.students[0]][-3000:]
        assert 0 < scores[course.students[1]] < 100, graded.stdout + logs[course.students[1]][-3000:]

        for student, page in pages.items():
            assignments = page.locator(".nbgrader-mainarea-widget")
            assignments.locator("#refresh_assignments_list").click()
            assignments.get_by_role("button", name="Fetch Feedback").click()
            assignments.get_by_text("(view feedback)").click()
            feedback = next((course.homes / student / "babygrad" / CHAPTER / "feedback").glob("*/tensor.html"))
            page.locator(".jp-DirListing-item", has_text="tensor.html").dblclick()
            frame = page.frame_locator("iframe").first
            frame.get_by_text("Score").first.wait_for()
            shown = frame.locator("body").inner_text()
            assert f"{scores[student]:g}" in shown, shown[:500]
            page.screenshot(path=str(tmp_path / f"feedback-{student}.png"))
            assert feedback.stat().st_uid == pwd.getpwnam(student).pw_uid
        print(f"\nhub up {hub_ready - started:.0f} s, two students fetched and handed in "
              f"{handed_in - hub_ready:.0f} s, collected to feedback seen {time.monotonic() - handed_in:.0f} s; "
              f"screenshots in {tmp_path}")

        students_are_kept_apart(course)
    except Exception:
        for student, page in pages.items():  # what each student saw, for whoever reads the failure
            page.screenshot(path=str(tmp_path / f"failed-{student}.png"))
        print("".join(log[-200:]), f"\nscreenshots in {tmp_path}")
        raise
    finally:
        course.stop(hub, log)


def students_are_kept_apart(course):
    """What one student's account cannot reach: another's work, the course folder, the exchange's hand-ins."""
    ada, bob = course.students
    inbound = course.state / "exchange" / course.course_id / "inbound"
    for path in [course.homes / bob, course.course, course.course / "gradebook.db", inbound]:
        listing = as_user(ada, "ls", str(path), cwd="/", env=course.student_env, check=False)
        assert listing.returncode != 0 and "Permission denied" in listing.stderr, (path, listing.stdout)
    env = course.student_env
    no_reference = as_user(ada, "python", "-c", "import babygrad", cwd="/", env=env, check=False)
    assert "No module named 'babygrad'" in no_reference.stderr
    kit = as_user(ada, "python", "-c", "import babygrad.tensor as t; print(t.__file__)",
                  cwd=course.homes / ada / "babygrad", env=env)
    assert kit.stdout.strip() == str(course.homes / ada / "babygrad" / "babygrad" / "tensor.py")


class Platform:
    """A learning platform on 127.0.0.1, as far as LTI 1.3 sign-in goes: it starts a launch (OIDC login
    initiation), answers the tool's authentication request with an id_token signed by its own RSA key, posted
    back by the browser, and serves its public key as a JWKS."""

    CLIENT_ID = "babygrad-tool"

    def __init__(self, hub_url):
        from cryptography.hazmat.primitives.asymmetric import rsa
        from jwt.algorithms import RSAAlgorithm
        self.hub_url = hub_url
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk = {**json.loads(RSAAlgorithm.to_jwk(self.key.public_key())), "kid": "platform-key",
                    "alg": "RS256", "use": "sig"}
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/jwks":
                    self.reply("application/json", json.dumps({"keys": [platform.jwk]}))
                elif url.path == "/launch":
                    self.send_response(302)
                    self.send_header("Location", f"{platform.hub_url}hub/lti13/oauth_login?" + urllib.parse.urlencode(
                        {"iss": platform.url, "login_hint": query["student"], "target_link_uri": platform.hub_url,
                         "client_id": platform.CLIENT_ID, "lti_deployment_id": "1"}))
                    self.end_headers()
                elif url.path == "/authorize":
                    fields = {"id_token": platform.id_token(query["login_hint"], query["nonce"]),
                              "state": query["state"]}
                    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
                    self.reply("text/html", f'<form id="f" method="post" action="{query["redirect_uri"]}">{inputs}'
                                            f'</form><script>document.getElementById("f").submit()</script>')
                else:
                    self.send_error(404)

            def reply(self, kind, text):
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def id_token(self, student, nonce):
        import jwt
        now = int(time.time())
        lti = "https://purl.imsglobal.org/spec/lti/claim/"
        claims = {"iss": self.url, "aud": self.CLIENT_ID, "azp": self.CLIENT_ID, "sub": f"lms-{student}",
                  "iat": now, "exp": now + 300, "nonce": nonce, lti + "version": "1.3.0",
                  lti + "deployment_id": "1", lti + "target_link_uri": self.hub_url,
                  lti + "message_type": "LtiResourceLinkRequest", lti + "resource_link": {"id": "chapter-01"},
                  lti + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
                  lti + "context": {"id": "course-1", "label": "BG101"}, lti + "custom": {"student_id": student}}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "platform-key"})

    def options(self):
        return ["--lti-issuer", self.url, "--lti-client-id", self.CLIENT_ID, "--lti-authorize-url",
                f"{self.url}/authorize", "--lti-jwks-url", f"{self.url}/jwks"]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_student_signs_in_through_a_learning_platform_and_lands_in_their_server(course, browser):
    platform = Platform(f"http://127.0.0.1:{course.port}/")
    hub, log = course.start(*platform.options())
    try:
        student = course.students[1]
        page = browser.new_context().new_page()
        page.set_default_timeout(90_000)
        page.goto(f"{platform.url}/launch?student={student}")
        page.wait_for_url(f"**/user/{student}/lab**")
        page.locator(".jp-LabShell").wait_for()
        listing = page.evaluate(f"""fetch('/user/{student}/api/contents', {{headers: {{'X-XSRFToken':
            document.cookie.match(/_xsrf=([^;]+)/)[1]}}}}).then(reply => reply.json())""")
        assert "coursework" in [item["name"] for item in listing.get("content", [])], listing  # their kit
    finally:
        course.stop(hub, log)
        platform.close()


def test_a_roster_names_the_row_that_cannot_be_an_account(tmp_path):
    from autograder.hub import read_roster
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\nada,Ada Lovelace\nBob Smith,Bob\n")
    with pytest.raises(ValueError, match=r"row 2: 'Bob Smith' is not a usable account name"):
        read_roster(roster)
    roster.write_text("ada,Ada\nada,Ada again\n")
    with pytest.raises(ValueError, match="more than once: ada"):
        read_roster(roster)
    roster.write_text("student id,name\nada,Ada Lovelace\n")
    assert read_roster(roster) == [("ada", "Ada Lovelace")]
