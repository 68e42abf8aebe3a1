"""A PostgreSQL cluster of a test's own, on a free port, that the test may stop and start.

Built with the server's own tools (``initdb``, ``pg_ctl`` from ``/usr/lib/postgresql/*/bin``)
in a temporary folder, trust authentication, listening on 127.0.0.1 only. PostgreSQL refuses
to run as root: as root (CI), the tools run as the ``postgres`` user (``runuser``) and the
folder is handed to that user. ``fsync=off``: the test is about the service, not the disk.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.live_server import free_port


def server_bin() -> Path | None:
    """The newest installed server's ``bin`` folder, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> int:
    try:
        return int(Path(path).parent.parent.name)
    except ValueError:
        return 0


class Cluster:
    """``start()``, ``stop()`` (immediate: the server dies as in a crash), ``start()`` again
    on the same port and data; ``remove()`` stops it and deletes everything."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="hacienda-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as: list[str] = []
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            os.chown(self.root, postgres.pw_uid, postgres.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [*self._as, str(self.bin / tool), *args]
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        command = [*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "status"]
        return subprocess.run(command, check=False, capture_output=True).returncode == 0

    def remove(self) -> None:
        try:
            if self.data.exists() and self.running():
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
