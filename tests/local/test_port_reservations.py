"""free_port() across processes: a port one process handed out is never handed to another one
on this machine (scripts/tooling/net.py, reserve()), until its reservation is stale."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tooling import net

from tests.support.tools import REPO_ROOT


@pytest.fixture
def reservations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "ports"
    monkeypatch.setattr(net, "RESERVATIONS", folder)
    return folder


def test_a_port_reserved_by_another_process_is_not_handed_out(reservations: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from tooling import net; "
        f"net.RESERVATIONS = Path({str(reservations)!r}); print(net.reserve(int(sys.argv[1])))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "scripts")}

    def other_process_reserves(port: int) -> str:
        run = subprocess.run([sys.executable, "-c", code, str(port)], env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    port = net.free_port()
    assert (reservations / str(port)).is_file()
    assert other_process_reserves(port) == "False"
    assert net.reserve(port) is False  # not twice in this process either
    other = port + 1 if port + 1 < net._ephemeral_range()[0] else port - 1
    assert other_process_reserves(other) == "True"
    assert net.reserve(other) is False


def test_a_stale_reservation_is_taken_over_once(reservations: Path) -> None:
    port = 20001
    assert net.reserve(port)
    old = time.time() - net.RESERVATION_SECONDS - 60
    os.utime(reservations / str(port), (old, old))
    assert net.reserve(port) is True
    assert net.reserve(port) is False  # the fresh reservation holds
    assert sorted(p.name for p in reservations.iterdir()) == [".lock", str(port)]


def test_processes_racing_for_a_stale_reservation_get_it_once(reservations: Path) -> None:
    """Eight processes ask for the same stale port at the same moment: exactly one gets it."""
    port = 20002
    assert net.reserve(port)
    old = time.time() - net.RESERVATION_SECONDS - 60
    os.utime(reservations / str(port), (old, old))
    start = time.time() + 1.0  # every process waits for the same instant, then asks
    code = (
        "import sys, time; from pathlib import Path; from tooling import net; "
        f"net.RESERVATIONS = Path({str(reservations)!r}); "
        f"time.sleep(max(0.0, {start!r} - time.time())); print(net.reserve({port}))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "scripts")}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    answers = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(answers) == ["False"] * 7 + ["True"], answers
