"""What machine a benchmark ran on: CPU count and model, memory, Python, OS."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

from pydantic import BaseModel


class Machine(BaseModel):
    nproc: int
    cpu_model: str
    memory_gib: float
    python: str
    os: str
    kernel: str
    wrk: str
    caddy: str


def _first(pattern: str, text: str, default: str = "unknown") -> str:
    match = re.search(pattern, text, re.MULTILINE)
    return match.group(1).strip() if match else default


def _version(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return "not installed"
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return ((out.stdout or out.stderr).strip().splitlines() or ["unknown"])[0][:80]


def describe() -> Machine:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    osrel = Path("/etc/os-release").read_text() if Path("/etc/os-release").exists() else ""
    mem_kib = _first(r"^MemTotal:\s+(\d+)", meminfo, "0")
    caddy = _version(["caddy", "version"]).split(" ")[0]
    return Machine(
        nproc=os.cpu_count() or 0,
        cpu_model=_first(r"^model name\s*:\s*(.+)$", cpuinfo),
        memory_gib=round(int(mem_kib) / 1024 / 1024, 1),
        python=platform.python_version(),
        os=_first(r'^PRETTY_NAME="?([^"\n]+)"?', osrel, platform.platform()),
        kernel=platform.release(),
        wrk=_version(["wrk", "-v"]).split(" Copyright")[0],
        caddy=caddy,
    )
