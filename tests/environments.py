"""Fresh virtual environments for the tests of what installs: made with uv, whose cache makes a second one take
seconds (pip takes minutes for the same packages); nothing of the test runner's own environment is in them."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")


def fresh_environment(folder, *requirements):
    """A new virtual environment in `folder` with only `requirements` (pip's arguments: names, -r FILE, a wheel)
    and what they depend on. Returns its bin/ folder."""
    subprocess.run([UV, "venv", "--quiet", "--python", sys.executable, str(folder)], check=True)
    subprocess.run([UV, "pip", "install", "--quiet", *map(str, requirements)], check=True,
                   env=dict(os.environ, VIRTUAL_ENV=str(folder)))
    return Path(folder) / "bin"


def isolated(bin_folder, home):
    """The environment variables a command of that environment runs with: its bin/ first, its own home (so no
    kernel or configuration of this user's is found), nothing of the test runner's Python."""
    return {"PATH": f"{bin_folder}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
