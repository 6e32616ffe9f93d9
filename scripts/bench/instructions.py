"""Instructions per request (valgrind's callgrind): the in-process bench's deterministic figure.

Microseconds on a shared 2-CPU machine move with the load; the number of instructions the CPU
executes for one request does not (same interpreter, same code, hash seed fixed). For each target
the in-process driver (scripts/bench/inprocess.py ``--calls N``) runs under callgrind twice, with N
requests and with none, both after the same warm-up: the difference divided by N is the cost of
one request, without the interpreter's start and the imports. callgrind counts user-space
instructions only (a system call's kernel side, e.g. the os.write of the access line, is not in
the count), and it says nothing about caches or branch prediction: it ranks work, it is not time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CALLS = 1000  # requests of the measured run (the other run makes none)
# callgrind's output file ends with "summary: N" (older versions: "totals: N"): instructions (Ir).
_TOTAL = re.compile(r"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


class InstructionsError(RuntimeError):
    """callgrind did not run or its output has no total."""


def total_instructions(callgrind_out: str) -> int:
    """The program's total instruction count from a callgrind output file's text."""
    match = _TOTAL.search(callgrind_out)
    if match is None:
        raise InstructionsError("callgrind output has no summary line")
    return int(match.group(1))


def per_request(with_calls: int, without: int, calls: int) -> int:
    """Instructions of one request: (run with ``calls`` requests - run without) / calls."""
    if calls <= 0 or with_calls < without:
        raise InstructionsError(f"cannot take a per-request figure from {with_calls} - {without} / {calls}")
    return round((with_calls - without) / calls)


def missing_reason() -> str | None:
    """Why the figure cannot be taken here (None: valgrind is on PATH)."""
    if shutil.which("valgrind") is None:
        return "valgrind is not on PATH (Debian package valgrind, scripts/install_system_deps.sh)"
    return None


def _run(driver: list[str], target: str, calls: int, env: dict[str, str]) -> int:
    """Total instructions of ``driver --calls calls target`` under callgrind."""
    with tempfile.TemporaryDirectory(prefix="callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *driver]
        result = subprocess.run(
            [*command, "--calls", str(calls), target],
            env={**env, "PYTHONHASHSEED": "0"},  # the same dict layouts in every run
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0 or not out.exists():
            raise InstructionsError(f"callgrind failed: {result.stderr.strip()[-300:]}")
        return total_instructions(out.read_text(errors="replace"))


def measure(
    driver: list[str], targets: dict[str, str], env: dict[str, str], calls: int = CALLS
) -> dict[str, int]:
    """Instructions per request of each target (NAME -> ``MODULE:APP=PATH`` of inprocess.py)."""
    counts = {}
    for name, target in targets.items():
        spec = f"{name}={target}"
        counts[name] = per_request(_run(driver, spec, calls, env), _run(driver, spec, 0, env), calls)
    return counts


def summary(counts: dict[str, int], bare: str, logged: str) -> str:
    """One line: each target's count and what ``logged`` adds to ``bare``."""
    text = ", ".join(f"{name} {count / 1000:.1f}k" for name, count in counts.items())
    if bare in counts and logged in counts:
        text += f"; our middleware with its access line adds {(counts[logged] - counts[bare]) / 1000:.1f}k"
    return text
