"""A class on one machine: `babygrad-course hub` serves one course on JupyterHub, bound to 127.0.0.1.

Each person on the roster gets a Unix account of their own, and their server runs as that user, so the kernel
permissions of the machine keep them apart: a home folder only its owner reads, a course folder (the source
notebooks, the gradebook, the submissions) only the instructor reads, and nbgrader's exchange with the
permissions nbgrader sets on it (students may drop submissions into `inbound/` but not list it). Hand-in goes
through nbgrader's exchange and its JupyterLab extensions: the assignment list for students, formgrader and the
course list for the instructor.

A student's server runs in an environment of its own, made from the student kit's packages and Jupyter: the
reference `babygrad` is installed nowhere in it. Their notebooks open in their own kit, whose `babygrad` is
made of stubs until their exported cells fill it in.

Sign-in is by password (PAM: the Unix accounts' own passwords, made at random and written to a file only root
reads) or, with `--lti-issuer` and its companions, through a learning platform with LTI 1.3.
"""
import csv
import grp
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from pprint import pformat

from autograder.course import RELEASE, REPO, chapters, course_config

# A roster id becomes a Unix user name and a JupyterHub user name: both accept these.
USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# What a student's environment holds besides the kit's own requirements: Jupyter, nbgrader (for the exchange and
# the assignment list) and the hub's single-user server, at the versions the instructor runs.
SERVER_PACKAGES = ("jupyterlab", "nbgrader", "jupyterhub")
# The kit's packages, when the kit does not list them in a requirements.txt of its own.
KIT_PACKAGES = ("numpy>=1.24", "graphviz>=0.20", "graphviz-pure>=0.2", "ipykernel>=6.29")
# nbgrader's server and JupyterLab extensions a student has no use for: they are the instructor's.
INSTRUCTOR_SERVER_EXTENSIONS = ("formgrader", "course_list")
INSTRUCTOR_LAB_PLUGINS = ("formgrader", "course-list", "create-assignment")


def read_roster(path):
    """[(id, name)] from a CSV of student id and name, with or without a header row."""
    rows = [row for row in csv.reader(Path(path).read_text(encoding="utf-8").splitlines()) if any(row)]
    if rows and rows[0][0].strip().lower() in ("id", "student", "student id", "student_id", "username"):
        rows = rows[1:]
    roster = []
    for number, row in enumerate(rows, start=1):
        student = row[0].strip()
        if not USER_NAME.fullmatch(student):
            raise ValueError(f"{path}, row {number}: {student!r} is not a usable account name (lower-case letters, "
                             f"digits, _ and -, starting with a letter or _, at most 32 characters)")
        roster.append((student, row[1].strip() if len(row) > 1 else ""))
    if not roster:
        raise ValueError(f"{path} names no student: it should hold rows of `student id, name`")
    duplicates = sorted({student for student, _ in roster if [s for s, _ in roster].count(student) > 1})
    if duplicates:
        raise ValueError(f"{path} names these students more than once: {', '.join(duplicates)}")
    return roster


def run(*command, **options):
    return subprocess.run(command, check=True, capture_output=True, text=True, **options)


def class_group(instructor):
    """The Unix group of the accounts the hub made for `instructor`'s class."""
    return f"{instructor}-class"


def ensure_account(name, full_name, home, group):
    """A Unix user `name` in `group` with a home only they read; True when it was made now."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        run("useradd", "--create-home", "--home-dir", str(home), "--shell", "/usr/sbin/nologin",
            "--comment", full_name.replace(":", " "), "--user-group", "--groups", group, name)
        os.chmod(home, 0o700)
        return True
    if group not in [g.gr_name for g in grp.getgrall() if name in g.gr_mem]:
        raise ValueError(f"a Unix user {name!r} exists and is not one of this class ({group}): "
                         f"rename the roster entry or remove that user")
    return False


def set_passwords(passwords):
    """Give the Unix users {name: password}, through chpasswd (which hashes them into /etc/shadow)."""
    if passwords:
        run("chpasswd", input="".join(f"{name}:{password}\n" for name, password in passwords.items()))


def chown_tree(path, user):
    entry = pwd.getpwnam(user)
    for folder, dirs, files in os.walk(path):
        for name in [folder, *(os.path.join(folder, item) for item in dirs + files)]:
            os.lchown(name, entry.pw_uid, entry.pw_gid)


def runnable_by_anyone(program):
    """True when an account with no privilege may run `program`: every folder above it searchable by all."""
    path = Path(os.path.realpath(program))
    return all(folder.stat().st_mode & 0o001 for folder in path.parents) and bool(path.stat().st_mode & 0o001)


def base_python(python=None):
    """The Python that the accounts' environments are made from: `python`, else this one's own interpreter, else
    the system's of the same version, whichever every account may run."""
    candidates = [python] if python else [sys._base_executable, f"/usr/bin/python3.{sys.version_info.minor}"]
    for candidate in candidates:
        if candidate and Path(candidate).exists() and runnable_by_anyone(candidate):
            return candidate
    raise ValueError(f"no Python that every account may run among {', '.join(map(str, candidates))}: "
                     f"name one with --python")


def ensure_env(env, python, requirements, log=print):
    """A virtual environment made from `python` holding `requirements`: made once, and again only when they change."""
    env = Path(env)
    stamp = env / "babygrad-requirements.txt"
    if not (stamp.is_file() and stamp.read_text().split("\n") == requirements):
        log(f"Making {env} (once): {len(requirements)} packages")
        if env.exists():
            shutil.rmtree(env)
        run(python, "-m", "venv", str(env))
        (env / "requirements.txt").write_text("\n".join(requirements) + "\n")
        installed = subprocess.run([str(env / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                                    "-r", str(env / "requirements.txt")], capture_output=True, text=True, check=False)
        if installed.returncode:
            raise RuntimeError(f"pip could not make {env}:\n{installed.stderr[-3000:]}")
        stamp.write_text("\n".join(requirements))
    return env


def instructor_requirements():
    """The course's tools, as this checkout installs them (the Python may differ from this one's, so nothing is
    pinned)."""
    return [f"--editable={REPO}[course,hub]"]


def student_requirements(kit):
    """The kit's requirements (its requirements.txt when it has one) and the server's packages, pinned."""
    listed = Path(kit) / "requirements.txt"
    kit_packages = [line.strip() for line in listed.read_text().splitlines() if line.strip()
                    and not line.startswith("#")] if listed.is_file() else list(KIT_PACKAGES)
    return kit_packages + [f"{package}=={version(package)}" for package in SERVER_PACKAGES]


def ensure_student_env(env, python, kit, log=print):
    """The students' environment: the kit's packages and a single-user server, no babygrad, and nbgrader's
    instructor extensions switched off."""
    env = ensure_env(env, python, student_requirements(kit), log)
    jupyter = env / "etc" / "jupyter"
    (jupyter / "jupyter_server_config.d").mkdir(parents=True, exist_ok=True)
    (jupyter / "jupyter_server_config.d" / "nbgrader.json").write_text(json.dumps({"ServerApp": {
        "jpserver_extensions": {f"nbgrader.server_extensions.{name}": name not in INSTRUCTOR_SERVER_EXTENSIONS
                                for name in ("assignment_list", "validate_assignment", *INSTRUCTOR_SERVER_EXTENSIONS)}}},
        indent=1))
    (jupyter / "labconfig").mkdir(exist_ok=True)
    (jupyter / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {
        f"@jupyter/nbgrader:{plugin}": True for plugin in INSTRUCTOR_LAB_PLUGINS}}, indent=1))
    return env


def exchange_settings(course_id, exchange):
    return f"c.CourseDirectory.course_id = {course_id!r}\nc.Exchange.root = {str(exchange)!r}\n"


def ensure_template_kit(kit):
    """The student kit without its chapters, which come through the exchange: `coursework/` and `babygrad/`."""
    if not kit.exists():
        from autograder.kit import make_kit
        staging = kit.with_name(kit.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        make_kit(staging)
        for chapter in chapters(RELEASE):
            shutil.rmtree(staging / chapter, ignore_errors=True)
        staging.rename(kit)
    return kit


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Hub:
    """The folders and accounts of one course's hub, made (or found again) by `prepare`."""

    def __init__(self, roster, state, instructor="instructor", course=None, exchange=None,
                 homes=Path("/home"), student_env=None, instructor_env=None, python=None, port=8000, lti=None):
        self.roster = read_roster(roster)
        self.state = Path(state).resolve()
        self.instructor = instructor
        self.homes = Path(homes).resolve()
        self.course = Path(course).resolve() if course else self.homes / instructor / "babygrad"
        self.exchange = Path(exchange).resolve() if exchange else self.state / "exchange"
        self.student_env = Path(student_env).resolve() if student_env else self.state / "student-env"
        self.python = base_python(python)
        # The instructor's server runs the course's tools: this environment's, or, when its Python is root's alone
        # (one installed in root's home), this checkout installed from a Python the instructor's account may run.
        own = Path(sys.prefix) if runnable_by_anyone(sys.executable) else self.state / "instructor-env"
        self.instructor_env = Path(instructor_env).resolve() if instructor_env else own
        self.port = port
        self.lti = lti
        if not USER_NAME.fullmatch(instructor):
            raise ValueError(f"--instructor {instructor!r} is not a usable account name")
        if instructor in [student for student, _ in self.roster]:
            raise ValueError(f"the instructor {instructor!r} is also on the roster")

    @property
    def students(self):
        return [student for student, _ in self.roster]

    @property
    def private(self):
        """What only root reads: the hub's database and cookie secret, the passwords."""
        return self.state / "private"

    def prepare(self, log=print):
        if os.geteuid() != 0:
            raise PermissionError("the hub makes a Unix user per student and runs their servers as them: run it as root")
        self.state.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state, 0o755)
        self.private.mkdir(exist_ok=True)
        os.chmod(self.private, 0o700)
        group = class_group(self.instructor)
        try:
            grp.getgrnam(group)
        except KeyError:
            run("groupadd", group)
        passwords = {}
        for name, full_name in [(self.instructor, "Instructor"), *self.roster]:
            if ensure_account(name, full_name, self.homes / name, group) and not self.lti:
                passwords[name] = secrets.token_urlsafe(12)
        set_passwords(passwords)
        self.write_passwords(passwords)
        self.prepare_course(log)
        self.prepare_exchange()
        kit = ensure_template_kit(self.state / "kit")
        ensure_student_env(self.student_env, self.python, kit, log)
        if self.instructor_env != Path(sys.prefix):
            ensure_env(self.instructor_env, self.python, instructor_requirements(), log)
        (self.student_env / "etc" / "jupyter" / "nbgrader_config.py").write_text(
            exchange_settings(self.course_id, self.exchange) +
            '# Fetched chapters go into the kit, beside the package their first cell imports.\n'
            'import os\nc.Exchange.assignment_dir = os.path.expanduser("~/babygrad")\n')
        for student in self.students:
            self.prepare_student(student, kit)
        self.write_config()

    def write_passwords(self, passwords):
        """New accounts' passwords join the file (id,password) for the instructor to hand out; it stays root's."""
        path = self.private / "passwords.csv"
        known = dict(csv.reader(path.read_text().splitlines())) if path.exists() else {}
        known.update(passwords)
        path.touch(mode=0o600)
        path.write_text("".join(f"{name},{password}\n" for name, password in sorted(known.items())))

    def prepare_exchange(self):
        """nbgrader's exchange root: anyone may make a course in it, and only its owner remove it (as /tmp)."""
        self.exchange.mkdir(parents=True, exist_ok=True)
        os.chown(self.exchange, 0, 0)
        os.chmod(self.exchange, 0o1777)

    def prepare_course(self, log):
        """The course folder, made with `init` when missing, is the instructor's alone."""
        if not self.course.exists():
            from autograder.cli import init
            log(f"Making the course folder {self.course}")
            init(self.course)
        # nbgrader's course id is the course folder's own: the instructor's commands read it from there.
        self.course_id = course_config(self.course).CourseDirectory.course_id
        if not isinstance(self.course_id, str) or not self.course_id:
            raise ValueError(f"{self.course / 'nbgrader_config.py'} sets no c.CourseDirectory.course_id")
        if self.course.stat().st_uid != pwd.getpwnam(self.instructor).pw_uid:
            log(f"Giving the course folder {self.course} to {self.instructor}")
            chown_tree(self.course, self.instructor)
        os.chmod(self.course, 0o700)
        config = self.homes / self.instructor / ".jupyter"
        config.mkdir(exist_ok=True)
        (config / "nbgrader_config.py").write_text(
            f"c.CourseDirectory.root = {str(self.course)!r}\n" + exchange_settings(self.course_id, self.exchange))
        chown_tree(config, self.instructor)

    def prepare_student(self, student, kit):
        """The student's kit, in their home, made once: after that it holds their work."""
        folder = self.homes / student / "babygrad"
        if not folder.exists():
            shutil.copytree(kit, folder)
            chown_tree(folder, student)

    def settings(self):
        """What jupyterhub_config.py needs, as plain data."""
        return {"port": self.port, "hub_port": free_port(), "proxy_port": free_port(),
                "private": str(self.private), "instructor": self.instructor, "students": self.students,
                "course": str(self.course), "student_env": str(self.student_env),
                "instructor_env": str(self.instructor_env), "lti": self.lti}

    def write_config(self):
        path = self.state / "jupyterhub_config.py"
        path.write_text('"""Written by `babygrad-course hub` at each start, from its options."""\n'
                        "from autograder.hub import configure\n\n"
                        f"configure(c, {pformat(self.settings(), sort_dicts=False)})\n")
        return path

    def serve(self):
        """Run JupyterHub until Ctrl-C (SIGINT) or SIGTERM; it stops the proxy and every user's server."""
        hub = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(self.state / "jupyterhub_config.py")],
                               cwd=self.private, start_new_session=True)

        def stop(signum, frame):
            hub.send_signal(signal.SIGINT)
        signal.signal(signal.SIGTERM, stop)
        while True:
            try:
                return hub.wait()
            except KeyboardInterrupt:
                stop(signal.SIGINT, None)


def configure(c, settings):
    """JupyterHub's configuration for the course; `c` is the hub's config object."""
    c.JupyterHub.bind_url = f"http://127.0.0.1:{settings['port']}"
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = settings["hub_port"]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings['proxy_port']}"
    c.ConfigurableHTTPProxy.pid_file = f"{settings['private']}/jupyterhub-proxy.pid"
    c.JupyterHub.db_url = f"sqlite:///{settings['private']}/jupyterhub.sqlite"
    c.JupyterHub.cookie_secret_file = f"{settings['private']}/jupyterhub_cookie_secret"
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.spawner_class = "localprocess"
    c.Spawner.default_url = "/lab"
    c.Spawner.env_keep = ["LANG", "LC_ALL"]  # nothing of the hub's own PATH or PYTHONPATH reaches a user
    c.Spawner.pre_spawn_hook = lambda spawner: place(spawner, settings)
    c.Authenticator.allowed_users = {settings["instructor"], *settings["students"]}
    c.Authenticator.admin_users = {settings["instructor"]}
    lti = settings["lti"]
    if lti:
        c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.auth.LTI13Authenticator"
        c.LTI13Authenticator.issuer = lti["issuer"]
        c.LTI13Authenticator.client_id = [lti["client_id"]]
        c.LTI13Authenticator.authorize_url = lti["authorize_url"]
        c.LTI13Authenticator.jwks_endpoint = lti["jwks_url"]
        c.LTI13Authenticator.username_key = lti["username_claim"]
    else:
        c.JupyterHub.authenticator_class = "pam"
        c.PAMAuthenticator.open_sessions = False  # the accounts have no login shell to open a session for


def place(spawner, settings):
    """The instructor works in the course folder with the course's tools; a student in their kit, with theirs."""
    if spawner.user.name == settings["instructor"]:
        env, folder = settings["instructor_env"], settings["course"]
    else:
        env, folder = settings["student_env"], str(Path(pwd.getpwnam(spawner.user.name).pw_dir) / "babygrad")
    spawner.cmd = [f"{env}/bin/jupyterhub-singleuser"]
    spawner.notebook_dir = folder
    spawner.environment["PATH"] = f"{env}/bin:/usr/local/bin:/usr/bin:/bin"

