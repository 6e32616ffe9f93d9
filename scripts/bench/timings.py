"""Wall times for `make bench`: `make up`/`make down`, the fault tests and the whole test suite."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import manifests
from tooling.net import free_port
from tooling.stack_settings import ROOT

from bench.report import Timing, say


def _make(target: str, env: dict[str, str], timeout: float) -> tuple[float | None, str]:
    start = time.monotonic()
    try:
        result = subprocess.run(
            ["make", target], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return None, f"did not finish within {timeout:.0f}s"
    elapsed = round(time.monotonic() - start, 2)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, f"failed (exit {result.returncode}): {tail[0][:200]}"
    return elapsed, ""


def make_up_timings() -> list[Timing]:
    """`make up` in a fresh state folder on free ports, then warm, then `make down`."""
    state = Path(tempfile.mkdtemp(prefix="bench-up-"))
    env = {
        **os.environ,
        "LOCAL_STATE_DIR": str(state),
        "LOCAL_EDGE_PORT": str(free_port()),
        "LOCAL_AWS_PORT": str(free_port()),
        **{f"LOCAL_PORT_{m.name.upper().replace('-', '_')}": str(free_port()) for m in manifests.load_all()},
    }
    shown = "LOCAL_STATE_DIR=<new empty folder> LOCAL_*_PORT=<free ports>"
    out: list[Timing] = []
    try:
        for what, target in (
            ("make up, empty environment (nothing running, no state)", "up"),
            ("make up again while everything runs (no-op check)", "up"),
            ("make down", "down"),
            ("make up, warm (after make down; state folder and secrets kept)", "up"),
        ):
            seconds, note = _make(target, env, timeout=240)
            out.append(Timing(what=what, command=f"{shown} make {target}", seconds=seconds, note=note))
            say(f"  {what:<66} {seconds if seconds is not None else '-':>6} s {note}")
    finally:
        seconds, note = _make("down", env, timeout=120)
        out.append(Timing(what="make down", command=f"{shown} make down", seconds=seconds, note=note))
        say(f"  {'make down':<66} {seconds if seconds is not None else '-':>6} s {note}")
        shutil.rmtree(state, ignore_errors=True)
    return out


def fault_tests() -> tuple[Timing, dict[str, Any]]:
    """Run tests/faults (pytest -n 2) and collect the figures each test wrote."""
    out_dir = ROOT / "test-output" / "faults"
    started_at = time.time()
    start = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadfile", "-q", "-rf", "tests/faults"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Timing(what="fault tests", command="pytest", seconds=None, note="did not finish in 900 s"), {}
    seconds = round(time.monotonic() - start, 1)
    lines = result.stdout.strip().splitlines() or ["no output"]
    last = lines[-1] + "".join(f"; {ln[:160]}" for ln in lines if ln.startswith("FAILED "))
    figures = {
        f.stem: json.loads(f.read_text())
        for f in sorted(out_dir.glob("*.json"))
        if f.stat().st_mtime >= started_at
    }
    timing = Timing(
        what="fault tests (tests/faults, 2 workers)",
        command="pytest -n 2 --dist loadfile tests/faults",
        seconds=seconds,
        note=last.strip("= "),
    )
    say(f"  fault tests: {seconds} s, {timing.note}")
    return timing, figures


def test_suite_timing() -> Timing:
    """Wall time of `make test`, also when some tests fail (the summary line says so)."""
    start = time.monotonic()
    try:
        result = subprocess.run(
            ["make", "test"], cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False
        )
    except subprocess.TimeoutExpired:
        return Timing(what="full test suite", command="make test", seconds=None, note="not done in 1800 s")
    seconds = round(time.monotonic() - start, 1)
    lines = result.stdout.strip().splitlines() or ["no output"]
    summary = next(
        (ln for ln in reversed(lines) if " in " in ln and ("passed" in ln or "failed" in ln)), lines[-1]
    )
    note = summary.strip("= ") + ("" if result.returncode == 0 else f" (exit {result.returncode})")
    note += "".join(f"; {ln[:160]}" for ln in lines if ln.startswith("FAILED "))
    say(f"  make test: {seconds} s, {note}")
    return Timing(
        what="full test suite (make test, 2 workers)", command="make test", seconds=seconds, note=note
    )
