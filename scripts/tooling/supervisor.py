"""Process supervision for the local stack: start, recognise and stop what `make up` started.

Every started process is recorded in ``<state>/pids/<name>.json`` (pid, start time, command line,
port, and a hash of what it was started with); ``stop`` only signals a pid whose record still
matches (tooling.pids), and a process whose spec did not change is left running.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tooling.net import ProcessExitedError, port_in_use, wait_http
from tooling.pids import Record, is_zombie, observed, proc_cmdline, proc_start_time
from tooling.stack_settings import BASE_ENV_KEYS, ROOT, Settings, StackError, port_variable

START_TIMEOUT = 40.0
STOP_GRACE = 10.0


def ensure_port_free(port: int, name: str) -> None:
    if port_in_use(port):
        raise StackError(
            f"port {port} ({name}) is already in use by another program; stop it or pick another port, "
            f"e.g. {port_variable(name)}={_suggest_port(port)} make up"
        )


def _suggest_port(port: int) -> int:
    for candidate in range(port + 10, port + 200):
        if candidate <= 65535 and not port_in_use(candidate):
            return candidate
    return port + 10


def tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join("    " + ln for ln in log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_ready(url: str, name: str, log: Path, proc: subprocess.Popen | None = None) -> None:
    """Wait for ``name`` to answer 200 at ``url``; a StackError with its log's tail otherwise."""
    try:
        wait_http(url, timeout=START_TIMEOUT, proc=proc)
    except ProcessExitedError as exc:
        raise StackError(f"{name} {exc}; see {log}:\n{tail(log)}") from None
    except TimeoutError as exc:
        raise StackError(f"{name}: {exc}; see {log}:\n{tail(log)}") from None


class Processes:
    def __init__(self, settings: Settings) -> None:
        self.s = settings

    def _file(self, name: str) -> Path:
        return self.s.pids / f"{name}.json"

    def record(self, name: str) -> Record | None:
        try:
            return Record(**json.loads(self._file(name).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.s.pids.glob("*.json")) if self.s.pids.is_dir() else []

    def running(self, name: str) -> Record | None:
        rec = self.record(name)
        return rec if rec and rec.is_ours() else None

    def start(
        self, name: str, argv: list[str], env: dict[str, str], port: int, ready_url: str, extra: str = ""
    ) -> str:
        """Start ``name`` unless it already runs with the same spec; returns what happened."""
        # What defines the process: its command, the settings we give it (not the caller's PATH,
        # HOME, locale), and its config file. A change restarts it; anything else leaves it running.
        own = sorted((k, v) for k, v in env.items() if k not in BASE_ENV_KEYS)
        spec = hashlib.sha256(json.dumps([argv, own, extra]).encode()).hexdigest()
        rec = self.running(name)
        if rec and rec.spec == spec and rec.port == port:
            wait_ready(ready_url, name, self.s.logs / f"{name}.log")
            return f"already running (pid {rec.pid})"
        action = "started"
        if rec:
            self.stop(name)
            action = "restarted (its configuration changed)"
        ensure_port_free(port, name)
        self.s.logs.mkdir(parents=True, exist_ok=True)
        self.s.pids.mkdir(parents=True, exist_ok=True)
        log = self.s.logs / f"{name}.log"
        with log.open("ab") as fh:
            proc = subprocess.Popen(
                argv,
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=ROOT,
                start_new_session=True,  # its own process group: `down` stops it and its children
            )
        # Recorded at once (so an interrupted `up` can still be undone), and again once the program
        # answers: by then /proc certainly shows the program, not the moment of its exec.
        start_time = proc_start_time(proc.pid) or ""
        self._write(Record(name, proc.pid, start_time, argv, observed(proc.pid, argv), port, spec))
        try:
            wait_ready(ready_url, name, log, proc)
        except StackError:
            self.stop(name)
            raise
        cmdline = proc_cmdline(proc.pid) or []
        self._write(Record(name, proc.pid, proc_start_time(proc.pid) or "", argv, cmdline, port, spec))
        return f"{action} (pid {proc.pid})"

    def _write(self, record: Record) -> None:
        tmp = self._file(record.name).with_suffix(".tmp")
        tmp.write_text(json.dumps(record.__dict__, indent=1))
        tmp.replace(self._file(record.name))

    def stop(self, name: str) -> str:
        rec = self.record(name)
        path = self._file(name)
        if rec is None:
            path.unlink(missing_ok=True)
            return "not running"
        if not rec.is_ours():
            path.unlink(missing_ok=True)
            return f"not running (pid {rec.pid} is gone or now belongs to another program; left alone)"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(rec.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while time.monotonic() < deadline and rec.is_ours() and not is_zombie(rec.pid):
            time.sleep(0.05)
        how = "stopped"
        if rec.is_ours() and not is_zombie(rec.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(rec.pid, signal.SIGKILL)
            how = "killed (did not stop within the grace period)"
        with contextlib.suppress(ChildProcessError):
            os.waitpid(rec.pid, os.WNOHANG)  # reap it when it is our own child (tests)
        path.unlink(missing_ok=True)
        return f"{how} (pid {rec.pid})"
