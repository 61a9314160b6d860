"""Grading kernels that run student code as what it is: hostile input.

Each graded notebook runs in a kernel that sees only what it needs. Its library is the trusted reference for the
chapters before the graded one and stubs from the graded one on, so the answers are nowhere to import. On Linux
with bubblewrap (`bwrap`), the kernel also runs in a sandbox: the system and the Python installation read-only,
its own folder writable, no network, and none of the course's private files (instructor notebooks, the
gradebook, other submissions, the grading code). Where bubblewrap is missing it says so in the log.
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import Bool, Unicode

import autograder
import babygrad
import coursework
from autograder.course import HAND_WRITTEN, REFERENCE, chapter_notebooks
from coursework.export import module_source

SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc")


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


def bubblewrap(command, workdir, library, sockets, connection_file):
    """`command` inside bubblewrap, seeing only what a grading kernel needs."""
    # Every namespace but the process one (the kernel shuts itself down when its parent looks like process 1), and
    # the same session, so that an interrupt after a cell's time limit reaches the kernel.
    arguments = ["bwrap", "--die-with-parent", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                 "--unshare-user-try", "--unshare-cgroup-try",
                 "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for folder in SYSTEM_FOLDERS:
        if os.path.islink(folder):
            arguments += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            arguments += ["--ro-bind", folder, folder]
    readable = {sys.base_prefix, sys.prefix, os.path.dirname(coursework.__file__), str(library / "babygrad")}
    for folder in sorted(readable):
        arguments += ["--ro-bind", folder, folder]
    arguments += ["--ro-bind", connection_file, connection_file,
                  "--bind", str(sockets), str(sockets), "--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    # An installed copy of the reference or of the grading code may sit inside the Python installation: hide it.
    for package in (babygrad, autograder):
        arguments += ["--tmpfs", os.path.dirname(package.__file__)]
    return arguments + ["--"] + command


class SandboxedKernelManager(AsyncKernelManager):
    """Starts the kernel with the chapter's library first on its path, inside bubblewrap where there is one."""

    library = Unicode(help="the folder that holds the babygrad package this kernel imports")
    sockets = Unicode(help="a folder of its own for the kernel's sockets")
    workdir = Unicode(help="the folder of the notebook being graded: the only one the kernel may write to")
    require_sandbox = Bool(False, config=True, help="refuse to grade where bubblewrap is not installed").tag(
        config=True)

    async def _async_pre_start_kernel(self, **kw):
        sandboxed = bubblewrap_available()
        if sandboxed:
            # Unix sockets in a folder of its own: the kernel has no network, not even the loopback.
            self.transport = "ipc"
            self.ip = os.path.join(self.sockets, "kernel")
            # A SIGINT would stop bubblewrap, not the kernel: ask the kernel to interrupt itself instead.
            self.kernel_spec.interrupt_mode = "message"
        elif self.require_sandbox:
            raise RuntimeError("bubblewrap (bwrap) is not installed, and SandboxedKernelManager.require_sandbox is set")
        else:
            self.log.warning("bubblewrap (bwrap) is not installed: student code runs without a sandbox")
        command, kw = await super()._async_pre_start_kernel(**kw)
        kw["env"] = {**kw.get("env", os.environ), "PYTHONPATH": self.library, "IPYTHONDIR": "/tmp/ipython",
                     "MPLCONFIGDIR": "/tmp/matplotlib"}
        if sandboxed:
            command = bubblewrap(command, self.workdir, Path(self.library), self.sockets, self.connection_file)
        return command, kw


class SandboxedExecute(Execute):
    """nbgrader's Execute, with each notebook's kernel started by a SandboxedKernelManager."""

    def preprocess(self, nb, resources=None, km=None):
        chapter = resources["nbgrader"]["assignment"]
        workdir = resources["metadata"]["path"]
        course = Path(self.config.CourseDirectory.get("root", os.getcwd()))
        with tempfile.TemporaryDirectory(prefix="babygrad-kernel-") as private:
            write_library(private, course / "source", course / "release", chapter)
            sockets = Path(private) / "sockets"
            sockets.mkdir()
            km = SandboxedKernelManager(kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
                                        library=private, sockets=str(sockets), workdir=str(workdir),
                                        parent=self, config=self.config)
            return super().preprocess(nb, resources, km)


def confine(command, workdir, library):
    """`command` as an argv that runs it sandboxed: `workdir` its only writable folder, `library` its babygrad."""
    # Until the closed sandbox lands, bubblewrap as the kernels get it; the folder stands in for the sockets and a
    # file of it for the connection file, which a plain process does not use.
    if not bubblewrap_available():
        raise RuntimeError("bubblewrap (bwrap) is not installed: student code is not run without a sandbox")
    workdir, library = Path(workdir), Path(library)
    return bubblewrap(command, workdir, library, workdir, str(workdir / "probe.py"))
