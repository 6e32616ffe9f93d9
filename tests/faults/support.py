"""Helpers of the fault tests: a private stack per test file, bounded load, raw HTTP.

Every load here is bounded in count and in time, goes to loopback only and stops by itself.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from bench import stack as bench_stack

from tests.support.tools import output_dir

# Longest a single request may take in any fault: the services' DynamoDB timeouts and retries
# (connect 1 s, read 2 s, 3 attempts with backoff) and the orders -> catalog call are below this.
REQUEST_TIMEOUT = 20.0


@contextlib.contextmanager
def private_stack(name: str, **kwargs) -> Iterator[bench_stack.Stack]:
    """A whole local stack on free ports; its logs are copied to test-output/faults/<name>/ after.

    Its state folder is its own temporary folder, not pytest's numbered base folder: pytest
    deletes old numbered folders when other sessions start, and the pid records must outlive them.
    """
    tmp = Path(tempfile.mkdtemp(prefix=f"fault-{name}-"))
    try:
        with bench_stack.running(tmp, **kwargs) as s:
            try:
                yield s
            finally:
                logs = output_dir("faults", name)
                for log in (tmp / "logs").glob("*.log"):
                    with contextlib.suppress(OSError):
                        (logs / log.name).write_bytes(log.read_bytes()[-2_000_000:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Outcome:
    """One request of a load: when it started and ended, and its status or error name."""

    start: float
    end: float
    status: int | None
    error: str | None = None
    label: str = ""
    body: str = ""
    detail: str = ""  # the error's message, e.g. which side closed the connection and when

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Load:
    """Worker threads sending requests until stopped, a request budget or a time limit is hit."""

    make_request: Callable[[httpx.Client, int], tuple[str, httpx.Response]]
    workers: int = 4
    max_requests: int = 5000
    max_seconds: float = 30.0
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _count: int = 0

    def _next(self) -> int | None:
        with self._lock:
            if self._count >= self.max_requests:
                return None
            self._count += 1
            return self._count

    def _worker(self, deadline: float) -> None:
        with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                n = self._next()
                if n is None:
                    return
                start = time.monotonic()
                label = ""
                try:
                    label, response = self.make_request(client, n)
                    outcome = Outcome(
                        start, time.monotonic(), response.status_code, None, label, response.text[:4000]
                    )
                except httpx.HTTPError as exc:
                    outcome = Outcome(
                        start, time.monotonic(), None, type(exc).__name__, label, detail=str(exc)
                    )
                with self._lock:
                    self.outcomes.append(outcome)
                if outcome.error is not None:
                    time.sleep(0.02)  # a refused connection returns at once: do not spin

    def __enter__(self) -> Load:
        deadline = time.monotonic() + self.max_seconds
        for _ in range(self.workers):
            t = threading.Thread(target=self._worker, args=(deadline,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> list[Outcome]:
        self._stop.set()
        for t in self._threads:
            t.join(self.max_seconds + REQUEST_TIMEOUT + 5)
        with self._lock:
            return sorted(self.outcomes, key=lambda o: o.start)

    def __exit__(self, *exc: object) -> None:
        self.stop()


def summary(outcomes: list[Outcome]) -> Counter:
    return Counter(str(o.status) if o.status is not None else o.error for o in outcomes)


def report(name: str, data: dict) -> None:
    """Print a fault test's figures and keep them in test-output/faults/<name>.json."""
    path = output_dir("faults") / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    print(f"\n[{name}] " + json.dumps(data, default=str))


def raw_http(port: int, payload: bytes, timeout: float = 10.0) -> bytes:
    """Send bytes exactly as given to 127.0.0.1:port and read the answer until the server closes.

    The payload should ask for ``Connection: close``; the write side stays open so that a proxy
    does not take a half-close for a client that went away.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(raw: bytes) -> int:
    """The status code of a raw HTTP/1.x answer (0 when there is none)."""
    first = raw.split(b"\r\n", 1)[0].split()
    return int(first[1]) if len(first) >= 2 and first[1].isdigit() else 0


def stock_of(s: bench_stack.Stack, product_id: str) -> int:
    r = httpx.get(f"{s.edge}/catalog/products/{product_id}", timeout=REQUEST_TIMEOUT)
    assert r.status_code == 200, r.text
    return int(r.json()["stock"])
