"""A real uvicorn server in a subprocess, for tests that speak HTTP over a socket."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

import httpx
from bench.http import server_command
from bench.write import open_registers

from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings


def one_register(url: str, cashier_token: str) -> UUID:
    """An aire and its register (the benchmarks' world: ``bench.write.open_registers``),
    and a cashier of that aire with ``cashier_token``: what the live-server tests post
    receipts on (the admin handles no cash)."""
    setup = Ledger(Settings(database_url=url))
    try:
        _, (register_id,) = open_registers(setup, 1)
        aire_id = setup.cash_register(register_id).aire_id
        setup.create_user(
            name="Caisse", role="cashier", aire_ids=[aire_id], actor="test", token=cashier_token
        )
        return register_id
    finally:
        setup.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def live_server(
    env: dict[str, str],
    *,
    workers: int = 1,
    serve: bool = False,
    pids: list[int] | None = None,
    log_path: Path | None = None,
) -> Iterator[str]:
    """Start ``uvicorn hacienda_ledger.api.main:app`` with the given HACIENDA_* settings, or
    (``serve``) the product's own ``hacienda-ledger serve``; ``pids`` gets the server's;
    ``log_path``: the file its log (stderr) goes to (default: a temporary one)."""
    port = free_port()
    full_env = {**os.environ, "HACIENDA_LOG_JSON": "true", **env}
    app = "serve" if serve else "hacienda_ledger.api.main:app"
    cmd = server_command(app, port, "--workers", str(workers))
    # The server's log goes to a file: an unread pipe would fill up and block the server.
    log = (
        tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
        if log_path is None
        else log_path.open("w+b")
    )
    proc = subprocess.Popen(cmd, env=full_env, stdout=subprocess.DEVNULL, stderr=log)
    if pids is not None:
        pids.append(proc.pid)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                err = log.read().decode(errors="replace")
                raise RuntimeError(f"server did not start: {err[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
