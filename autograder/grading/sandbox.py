"""Grading kernels that run student code as what it is: hostile input.

Each graded notebook runs in a kernel that sees only what it needs. Its library is the trusted reference for the
chapters before the graded one and stubs from the graded one on, so the answers are nowhere to import. On Linux
with bubblewrap (`bwrap`), the kernel runs in a closed sandbox (`confine`):

- its own process namespace: no process of the host is visible, none can be signalled, and every process the
  kernel started dies with it;
- an unprivileged user with no capability, so nothing can be remounted; when grading runs as root, a user of its
  own that no other sandbox runs as (`sandbox_user`), so that the cap on its processes is its own;
- no network; the system and the Python installation read-only; a private `/tmp`; its own folder the only
  writable one, an empty scratch folder of bounded size (the submission's own files stay with the grader);
- an environment that holds only what the kernel needs, none of the grader's variables, and no debugger;
- limits on memory, CPU time, processes, file size and open files (`Limits`), and on output and time, per cell and
  per notebook (`SandboxedExecute`);
- it ends with the process that started it, however that process ends (bubblewrap's `--die-with-parent`).

A kernel that dies is not the end of its notebook: the cells it ran keep their outputs, the cell it died in and
the ones after it get an error saying why, and the notebook is graded. Without bubblewrap, grading refuses to run
unless the instructor sets `SandboxedKernelManager.allow_unsandboxed_grading_at_my_own_risk = True`.
"""
import ctypes
import importlib.util
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

import autograder
import babygrad
import coursework
from autograder.course import HAND_WRITTEN, REFERENCE, chapter_notebooks
from coursework.export import module_source

MAX_ERROR_TEXT = 4000  # characters kept of an error's message and of each line of its traceback
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc")
MiB = 1024 * 1024

# Who a sandbox runs as when grading runs as root. The cap on processes (RLIMIT_NPROC) counts every process of a
# user on the machine, so sandboxes sharing a user would share one cap: a fork bomb in one student's kernel would
# leave no process to start for any other kernel running at the time. So each sandbox runs as a user of its own,
# one that owns nothing and is in no user database, from a range systemd leaves unused (0x70000000 on). The
# launching process's pid picks a block of USERS_PER_PROCESS users and a counter the next user in it: a sandbox
# dies with the process that launched it, so no live sandbox of another process shares its pid, and a user comes
# back only USERS_PER_PROCESS sandboxes later, long after its last one ended (a grading process runs a kernel, then
# a verifier's probe). Containers number their pids afresh, so the pid namespace also shifts the blocks, scattered
# over the range: sandboxes of two containers on one host share a user only by a chance of a few in 10**8.
USERS_PER_PROCESS = 32
SANDBOX_USERS = range(0x7000_0000, 0x7000_0000 + 2 ** 22 * USERS_PER_PROCESS)  # 2 ** 22: the largest pid of Linux
_sandboxes_started = itertools.count()

# A Jupyter kernel imports its debugger (debugpy) when it can, a fifth of a second of every kernel's start; no graded
# kernel is ever debugged, so the sandbox hides it.
_debugger = importlib.util.find_spec("debugpy")
DEBUGGER = os.path.dirname(_debugger.origin) if _debugger and _debugger.origin else None


@dataclass(frozen=True)
class Limits:
    """What one sandbox may use; each limit, when hit, is named in the student's feedback."""

    memory: int = 2048 * MiB  # address space of each process
    cpu_seconds: int = 300  # CPU time of each process (the kernel: the whole notebook)
    processes: int = 256  # processes and threads, the kernel's own threads included
    file_size: int = 64 * MiB  # the largest file it may write
    open_files: int = 256
    disk: int = 128 * MiB  # its folder and its /tmp, each

    def reason(self, ename, evalue):
        """Why an error happened, when a limit of the grader caused it; empty otherwise."""
        if ename == "MemoryError":
            return f"the grader allows {self.memory // MiB} MiB of memory"
        if "Errno 11]" in evalue or "can't start new thread" in evalue:
            return f"the grader allows {self.processes} processes and threads"
        if "Errno 27]" in evalue:
            return f"the grader allows files of at most {self.file_size // MiB} MiB"
        if "Errno 28]" in evalue:
            return f"the grader allows {self.disk // MiB} MiB of files in the notebook's folder and in /tmp"
        if "Errno 24]" in evalue:
            return f"the grader allows {self.open_files} open files"
        return ""

    def death(self, status):
        """Why a kernel that exited with `status` (bubblewrap's: 128 + signal) is gone."""
        if status == 128 + signal.SIGXCPU:
            return f"the kernel was stopped after {self.cpu_seconds} s of CPU time, the grader's limit"
        if status == 128 + signal.SIGKILL:
            return "the kernel was killed (out of memory, or by a signal)"
        if status == 128 + signal.SIGSEGV:
            return "the kernel crashed (segmentation fault)"
        if status is None:
            return "the kernel stopped answering"
        return f"the kernel exited with status {status}"


# Runs inside the sandbox, before the command: sets the limits, then becomes the command.
LIMIT_AND_RUN = """\
import json, os, resource, sys
limits = json.loads(sys.argv[1])
for name, key in [("AS", "memory"), ("CPU", "cpu_seconds"), ("NPROC", "processes"), ("FSIZE", "file_size"),
                  ("NOFILE", "open_files"), ("CORE", None)]:
    value = limits[key] if key else 0
    # CPU time: a SIGXCPU first (which says why), a SIGKILL only if that did not stop it.
    resource.setrlimit(getattr(resource, "RLIMIT_" + name), (value, value + 5 if name == "CPU" else value))
os.execvp(sys.argv[2], sys.argv[2:])
"""


def bubblewrap_available():
    return shutil.which("bwrap") is not None


def write_library(folder, source, release, graded_chapter):
    """A babygrad package in `folder`: the reference before `graded_chapter`, the student version from it on."""
    package = Path(folder) / "babygrad"
    package.mkdir(parents=True)
    for name in HAND_WRITTEN:
        shutil.copy(REFERENCE / name, package / name)
    for notebook in chapter_notebooks(source):
        chapter = notebook.parent.name
        origin = notebook if chapter < graded_chapter else Path(release) / chapter / notebook.name
        name, text = module_source(origin, f"{chapter}/{notebook.name}")
        (package / f"{name}.py").write_text(text, encoding="utf-8")
    return package


def environment(library):
    """All a sandboxed Python needs; nothing of the grader's own environment."""
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
            "PYTHONPATH": str(library), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
            "IPYTHONDIR": "/tmp/ipython", "MPLCONFIGDIR": "/tmp/matplotlib",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            # A Jupyter kernel's parent in the sandbox is process 1: told so, it neither watches it (it would look
            # gone) nor prints a notice about not watching it. The sandbox ends with the grader instead.
            "JPY_PARENT_PID": "1"}


def sandbox_user():
    """A user that no other live sandbox on this machine runs as (see SANDBOX_USERS)."""
    namespace = os.stat("/proc/self/ns/pid").st_ino * 2654435761  # a large odd number: spreads near namespaces apart
    slot = os.getpid() * USERS_PER_PROCESS + next(_sandboxes_started) % USERS_PER_PROCESS
    return SANDBOX_USERS[(namespace + slot) % len(SANDBOX_USERS)]


def confine(command, user, workdir, library, shared=None, limits=Limits()):
    """The argv that runs `command` (an argv) in the closed sandbox, as `user` (a `sandbox_user()`).

    `workdir` is its working folder: an empty one of `limits.disk` bytes, at that path, gone when it ends.
    `library` is the folder whose `babygrad` package the command imports. `shared`, the one folder it shares with
    the grader, read-write (a kernel's connection file and sockets; a checker's questions and answers). When
    grading runs as root, the command runs as `user`: call `share_with_sandbox(user, ...)` on `shared` and on the
    files the grader put in it, and make `library` readable by all. Otherwise it runs as the grader, mapped into a
    user namespace of its own, and `user` plays no part. The environment is `environment(library)`.
    """
    arguments = ["bwrap", "--die-with-parent", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                 "--unshare-cgroup-try", "--new-session", "--hostname", "sandbox", "--clearenv"]
    if os.geteuid() == 0:
        # bubblewrap needs root to bind what only root can reach (a Python under /root); the command then
        # becomes `user` (setpriv), which clears every capability, and can never regain one.
        arguments += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        become = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--inh-caps=-all", "--"]
    else:
        arguments += ["--unshare-user", "--cap-drop", "ALL", "--disable-userns"]
        become = []
    arguments += ["--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--size", str(limits.disk), "--tmpfs", "/tmp"]
    for name, value in environment(library).items():
        arguments += ["--setenv", name, value]
    binds = []
    for folder in SYSTEM_FOLDERS:
        if os.path.islink(folder):
            arguments += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            binds += [("--ro-bind", folder)]
    readable = {sys.base_prefix, sys.prefix, os.path.dirname(coursework.__file__), str(Path(library) / "babygrad")}
    binds += [("--ro-bind", folder) for folder in sorted(readable)]
    if shared:
        binds += [("--bind", str(shared))]
    # The folders above what is bound, readable by the sandbox's user (bubblewrap makes them private).
    for folder in sorted({str(parent) for _, path in binds for parent in Path(path).parents} | {
            str(parent) for parent in Path(workdir).parents} - {"/", "/tmp"}):
        if not any(folder == bound or folder.startswith(bound + "/") for _, bound in binds):
            arguments += ["--perms", "0755", "--dir", folder]
    for kind, folder in binds:
        arguments += [kind, folder, folder]
    # An installed copy of the reference or of the grading code may sit inside the Python installation: hide it.
    for package in (babygrad, autograder):
        arguments += ["--tmpfs", os.path.dirname(package.__file__)]
    if DEBUGGER:
        arguments += ["--tmpfs", DEBUGGER]
    arguments += ["--perms", "1777", "--size", str(limits.disk), "--tmpfs", str(workdir), "--chdir", str(workdir)]
    limited = [sys.executable, "-c", LIMIT_AND_RUN, json.dumps(asdict(limits))]
    return arguments + ["--"] + become + limited + list(command)


@contextmanager
def bounded_folder(folder, size):
    """`folder` as a file system of its own of `size` bytes while in use, when grading runs as root.

    A folder a sandbox shares with the grader is bound from the grader's disk: bounded, a sandbox that writes there
    fills `size` bytes and no more. (Without root nothing can be mounted: the limit on each file's size holds.)"""
    if os.geteuid() != 0:
        yield folder
        return
    libc = ctypes.CDLL(None, use_errno=True)
    options = f"size={size},mode=0711".encode()
    if libc.mount(b"tmpfs", str(folder).encode(), b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options) != 0:
        raise OSError(ctypes.get_errno(), f"could not bound {folder} with a file system of its own")
    try:
        yield folder
    finally:
        libc.umount2(str(folder).encode(), MNT_DETACH)


MS_NOSUID, MS_NODEV, MS_NOEXEC, MNT_DETACH = 2, 4, 8, 2
SHARED_FOLDER_BYTES = 1 * MiB  # a kernel's connection file and sockets


def share_with_sandbox(user, *paths):
    """Make the grader's private folders reachable by `user`, the unprivileged user a sandbox runs as."""
    if os.geteuid() != 0:
        return
    for path in paths:
        os.chown(path, user, user)


class SandboxedKernelManager(AsyncKernelManager):
    """Starts the kernel with the chapter's library first on its path, inside the closed sandbox."""

    library = Unicode(help="the folder that holds the babygrad package this kernel imports")
    sockets = Unicode(help="a folder of its own for the kernel's sockets and connection file")
    workdir = Unicode(help="the folder of the notebook being graded: the only one the kernel may write to")
    allow_unsandboxed_grading_at_my_own_risk = Bool(False, help=(
        "grade where bubblewrap is missing: student code then runs as the grader, able to read and change every "
        "file the grader can, the gradebook included")).tag(config=True)
    memory = Integer(Limits.memory, help="bytes of memory each sandboxed process may use").tag(config=True)
    cpu_seconds = Integer(Limits.cpu_seconds, help="seconds of CPU time the kernel may use").tag(config=True)
    processes = Integer(Limits.processes, help="processes and threads the sandbox may run").tag(config=True)
    file_size = Integer(Limits.file_size, help="bytes of the largest file the sandbox may write").tag(config=True)
    open_files = Integer(Limits.open_files, help="files the sandbox may hold open").tag(config=True)
    disk = Integer(Limits.disk, help="bytes of files in the kernel's folder and in its /tmp").tag(config=True)

    @property
    def limits(self):
        return Limits(self.memory, self.cpu_seconds, self.processes, self.file_size, self.open_files, self.disk)

    async def _async_pre_start_kernel(self, **kw):
        sandboxed = bubblewrap_available()
        if sandboxed:
            # Unix sockets in a folder of its own: the kernel has no network, not even the loopback.
            self.transport = "ipc"
            self.ip = os.path.join(self.sockets, "kernel")
            # A SIGINT would stop bubblewrap, not the kernel: ask the kernel to interrupt itself instead.
            self.kernel_spec.interrupt_mode = "message"
        elif not self.allow_unsandboxed_grading_at_my_own_risk:
            raise RuntimeError(
                "bubblewrap (bwrap) is not installed, so student code cannot be sandboxed: install it "
                "(apt-get install bubblewrap) or set "
                "SandboxedKernelManager.allow_unsandboxed_grading_at_my_own_risk = True")
        else:
            self.log.warning("bubblewrap (bwrap) is not installed: student code runs without a sandbox")
        command, kw = await super()._async_pre_start_kernel(**kw)
        kw["env"] = environment(self.library)
        if sandboxed:
            user = sandbox_user()
            share_with_sandbox(user, self.sockets, self.connection_file)
            command = confine(command, user, self.workdir, self.library, self.sockets, self.limits)
        return command, kw


class SandboxedExecute(Execute):
    """nbgrader's Execute, with each notebook's kernel in the closed sandbox, and nothing lost when it dies.

    Output is capped at `max_output_bytes` per cell and `max_notebook_output_bytes` per notebook; the rest is
    dropped with a note, but never an error, which decides a test (it is cut to size instead). A notebook has
    `notebook_seconds` in all, after which its kernel is stopped. A limit of the sandbox that stops a cell is named
    in its error, and a kernel that dies leaves an error in every cell it did not run.
    """

    max_output_bytes = Integer(1 * MiB, help="bytes of output kept from one cell").tag(config=True)
    max_notebook_output_bytes = Integer(16 * MiB, help="bytes of output kept from a whole notebook").tag(config=True)
    notebook_seconds = Integer(600, help="seconds a whole notebook may run").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        chapter = resources["nbgrader"]["assignment"]
        workdir = resources["metadata"]["path"]
        course = Path(self.config.CourseDirectory.get("root", os.getcwd()))
        with tempfile.TemporaryDirectory(prefix="babygrad-kernel-") as private:
            os.chmod(private, 0o711)
            package = write_library(private, course / "source", course / "release", chapter)
            for folder in (package, *package.iterdir()):
                os.chmod(folder, 0o755 if folder.is_dir() else 0o644)
            sockets = Path(private) / "sockets"
            sockets.mkdir()
            with bounded_folder(sockets, SHARED_FOLDER_BYTES):
                km = SandboxedKernelManager(kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
                                            library=private, sockets=str(sockets),
                                            workdir=str(Path(workdir).resolve()),
                                            connection_file=str(sockets / "kernel.json"), parent=self,
                                            config=self.config)
                self.death = None
                self.output_bytes = {}
                self.out_of_time = False
                deadline = threading.Timer(self.notebook_seconds, self.stop_kernel, [km])
                deadline.daemon = True
                deadline.start()
                try:
                    nb, resources = super().preprocess(nb, resources, km)
                finally:
                    deadline.cancel()
                    self.close_client()
                    # nbclient leaves a kernel it was given running: end it, and with it its process namespace.
                    if km.has_kernel:
                        run_sync(km.shutdown_kernel)(now=True)
            self.name_limits(nb, km.limits)
            return nb, resources

    def close_client(self):
        """Stop the kernel client's channels and close its own messaging context: nbclient leaves both open when it
        was given the kernel, and a client discarded with its channels running cannot close its context."""
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc.context.destroy(linger=0)
            self.kc = None

    def stop_kernel(self, km):
        """The notebook's time is up: its kernel ends, and the cell it was running with it."""
        self.out_of_time = True
        process = getattr(km.provisioner, "process", None) if km.provisioner else None
        if process is not None and process.poll() is None:
            process.kill()

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self.death is None:
            try:
                return super().preprocess_cell(cell, resources, index)
            except DeadKernelError:
                self.death = (f"the grader allows {self.notebook_seconds} s for a whole notebook"
                              if self.out_of_time else self.km.limits.death(exit_status(self.km)))
                cell.outputs.append(error("DeadKernelError", f"{self.death}: this cell did not finish"))
                return cell, resources
        cell.outputs = [error("DeadKernelError", f"{self.death} before this cell: it did not run")]
        return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        """Keep a cell's output up to `max_output_bytes` (the notebook's to `max_notebook_output_bytes`), then one
        note that the rest was dropped; an error always, cut to size."""
        content = msg.get("content", {})
        kept = self.output_bytes.get(cell_index, 0)
        in_notebook = self.output_bytes.get("notebook", 0)
        if msg.get("msg_type") == "error":  # past the notebook's cap, only its name and the start of its message
            room = MAX_ERROR_TEXT if in_notebook <= self.max_notebook_output_bytes else 200
            content["evalue"] = str(content.get("evalue", ""))[:room]
            content["traceback"] = ([str(line)[:room] for line in content.get("traceback", [])[-50:]]
                                    if room == MAX_ERROR_TEXT else [f"{content.get('ename')}: {content['evalue']}"])
            return super().output(outs, msg, display_id, cell_index)
        size = len(json.dumps(content))
        self.output_bytes[cell_index] = kept + size
        self.output_bytes["notebook"] = in_notebook + size
        if kept + size <= self.max_output_bytes and in_notebook + size <= self.max_notebook_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if kept <= self.max_output_bytes and in_notebook <= self.max_notebook_output_bytes:
            limit = (f"{self.max_output_bytes // 1024} KiB of output per cell" if kept + size > self.max_output_bytes
                     else f"{self.max_notebook_output_bytes // 1024} KiB of output per notebook")
            outs.append(NotebookNode(output_type="stream", name="stdout",
                                     text=f"\n[output cut: the grader keeps {limit}]\n"))
            self.output_bytes[cell_index] = self.max_output_bytes + 1  # one note per cell
        return None

    def name_limits(self, nb, limits):
        """Add to each error that a limit of the grader caused which limit it was."""
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    why = limits.reason(output.ename, output.evalue)
                    if why:
                        output.evalue = f"{output.evalue} ({why})"
                        output.traceback = list(output.traceback) + [f"{output.ename}: {why}"]


def exit_status(km):
    """The exit status of a kernel that died, or None when it is still there."""
    process = getattr(km.provisioner, "process", None)
    try:
        return process.wait(5)
    except (AttributeError, subprocess.TimeoutExpired):
        return None


def error(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])
