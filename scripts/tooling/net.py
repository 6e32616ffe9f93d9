"""Loopback networking helpers shared by the scripts, the benchmarks and the tests."""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

HOST = "127.0.0.1"

_HANDED_OUT: set[int] = set()  # never give one port to two parts of this process
# ...nor to two processes of this machine: free_port() leaves a file per port it hands out here
# (checked and written under one lock, so two processes that draw the same port cannot both have
# it). A handed-out port is often bound seconds later (a stack's settings are written before its
# processes start); in between, another process's bind test alone would find it free. A
# reservation older than RESERVATION_SECONDS is stale (its owner is done with it or holds it
# bound) and is taken over.
# The files stay: at most one empty file per port below the ephemeral range (about 12,800).
RESERVATIONS = Path(tempfile.gettempdir()) / f"storefront-ports-{os.getuid()}"
RESERVATION_SECONDS = 3600


class ProcessExitedError(RuntimeError):
    """The process we waited for ended before it answered."""

    def __init__(self, returncode: int | None) -> None:
        super().__init__(f"exited with status {returncode}")
        self.returncode = returncode


def port_in_use(port: int) -> bool:
    """True when ``port`` on loopback cannot be bound (another program holds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def reserve(port: int) -> bool:
    """Claim ``port`` for this process among every process of this machine: False if another
    process claimed it less than RESERVATION_SECONDS ago. The check and the claim happen under
    one exclusive lock on the folder's lock file, so two processes never both claim a port."""
    RESERVATIONS.mkdir(mode=0o700, exist_ok=True)
    path = RESERVATIONS / str(port)
    with open(RESERVATIONS / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        try:
            if time.time() - path.stat().st_mtime < RESERVATION_SECONDS:
                return False
        except FileNotFoundError:
            pass
        path.touch()  # created, or a stale one taken over made fresh (touch sets its time)
        return True


def free_port() -> int:
    """A free loopback port below the kernel's ephemeral range, never handed out twice (by this
    process, or by another one on this machine within RESERVATION_SECONDS: reserve()).

    Ports the kernel hands out itself (bind to port 0) come from the ephemeral range, which every
    outgoing connection also draws from: a port freed by a killed process can be taken by a
    client connection before the process is restarted on it. Ports below that range are only
    ever used by a process that asks for them, so a restart on the same port stays possible.
    """
    low, _ = _ephemeral_range()
    first = 20000 if low > 21000 else 1024
    for _ in range(500):
        port = first + secrets.randbelow(max(low - first, 1))
        if port in _HANDED_OUT:
            continue
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        if not reserve(port):
            continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError("no free loopback port below the ephemeral range")


def wait_http(
    url: str,
    timeout: float = 20.0,
    status: int | None = 200,
    proc: subprocess.Popen | None = None,
) -> float:
    """Seconds until ``url`` answers (with ``status`` unless None).

    TimeoutError after ``timeout``; ProcessExitedError as soon as ``proc`` (when given) has ended.
    """
    start = time.monotonic()
    last = "no answer"
    while time.monotonic() - start < timeout:
        if proc is not None and proc.poll() is not None:
            raise ProcessExitedError(proc.returncode)
        try:
            r = httpx.get(url, timeout=2.0)
            if status is None or r.status_code == status:
                return time.monotonic() - start
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s ({last})")
