"""Recognising a process we started: its pid record (start time and command line, from /proc).

A pid alone is not enough: once the process ends the kernel may give its number to another
program. A record holds the kernel's start time and command line as well, and a process is ours
only while all three still match.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path


def proc_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (field 22 of /proc/<pid>/stat), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; the fields after it are space-separated.
    return stat.rsplit(")", 1)[1].split()[19]


def proc_cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def observed(pid: int, argv: list[str], timeout: float = 2.0) -> list[str]:
    """/proc's command line of a just-started ``argv`` (a script shows its interpreter first)."""
    deadline = time.monotonic() + timeout
    cmdline: list[str] = []
    while time.monotonic() < deadline:
        cmdline = proc_cmdline(pid) or []
        if cmdline[len(cmdline) - len(argv) + 1 :] == argv[1:] and any(
            Path(part).name == Path(argv[0]).name for part in cmdline
        ):
            break
        time.sleep(0.01)
    return cmdline


@dataclass
class Record:
    name: str
    pid: int
    start_time: str
    argv: list[str]  # what we asked to run
    cmdline: list[str]  # what the kernel reports for it (a script shows its interpreter first)
    port: int
    spec: str  # hash of what the process was started with (argv, environment, config)

    def is_ours(self) -> bool:
        """True iff the pid is alive and still the very process we started (not a reused pid)."""
        return (
            bool(self.start_time and self.cmdline)
            and proc_start_time(self.pid) == self.start_time
            and proc_cmdline(self.pid) == self.cmdline
        )
