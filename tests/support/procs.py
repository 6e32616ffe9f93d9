"""Start, wait for and stop local processes (emulator, services, edge) on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

from tooling.net import free_port, wait_http

__all__ = ["Proc", "free_port", "running", "wait_http"]  # the helpers live in scripts/tooling/net.py


class Proc:
    """A child process with its output in a log file, stopped with SIGTERM then SIGKILL."""

    def __init__(self, argv: list[str], log: Path, env: Mapping[str, str] | None = None, cwd=None):
        self.argv = argv
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._fh = log.open("ab")
        full_env = {**os.environ, **(env or {})}
        self.popen = subprocess.Popen(
            argv, stdout=self._fh, stderr=subprocess.STDOUT, env=full_env, cwd=cwd, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            self.popen.send_signal(sig)

    def stop(self, grace: float = 10.0) -> int | None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._fh.close()
        return self.popen.returncode

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def running(
    argv: list[str], log: Path, ready_url: str | None = None, env=None, timeout=20.0
) -> Iterator[Proc]:
    proc = Proc(argv, log, env=env)
    try:
        if ready_url:
            try:
                wait_http(ready_url, timeout=timeout)
            except TimeoutError as exc:
                raise RuntimeError(f"{argv[0]} did not start: {exc}\n{proc.tail()}") from exc
        yield proc
    finally:
        proc.stop()
