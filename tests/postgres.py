"""A real PostgreSQL server for the tests, from Debian's packages: on loopback, a free port, a temporary folder."""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path


def server_programs():
    """The folder of initdb and pg_ctl, or None where PostgreSQL is not installed."""
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return Path(folders[-1]) if folders and (Path(folders[-1]) / "initdb").exists() else None


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_postgres(*command):
    """PostgreSQL refuses to run as root: run its programs as the `postgres` user when we are root."""
    command = [str(part) for part in command]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--"] + command
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


@contextmanager
def postgresql_server():
    """A PostgreSQL server with trust authentication on 127.0.0.1; yields its URL, then stops and removes it."""
    programs, port = server_programs(), free_port()
    # A folder of its own in /tmp: the `postgres` user cannot enter root's private temporary folders.
    folder = Path(tempfile.mkdtemp(prefix="babygrad-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    as_postgres(programs / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync")
    as_postgres(programs / "pg_ctl", "-D", data, "-l", folder / "server.log", "-w", "start",
                "-o", f"-h 127.0.0.1 -p {port} -k {folder} -F")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        as_postgres(programs / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
