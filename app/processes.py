"""Small helpers for the servers casetrack starts as local processes: free ports, waiting for a port, the error type.

Shared by the embedded stack (``app/embedded.py``) and the Apache Kafka launcher (``app/apache_kafka.py``).
"""

from __future__ import annotations

import socket
import time

from app.errors import CasetrackError


class StackError(CasetrackError, RuntimeError):
    """The embedded stack could not be started, found or stopped (the CLI prints the message, exit 1)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise StackError(f"nothing listens on {host}:{port} after {timeout:.0f}s")
