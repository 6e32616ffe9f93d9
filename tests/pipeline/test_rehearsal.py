"""`make rehearsal`: main's deploy path rehearsed end to end on this machine.

Quality, security, fast tests, images with podman, a sealed plan applied to the emulator, secrets,
static site, the deployed task definitions run with podman behind the edge, smoke test, destroy.
Its stage timings are printed (measured, never asserted).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.support.tools import REPO_ROOT, output_dir, unavailable

pytestmark = [pytest.mark.slow, pytest.mark.tool("podman"), pytest.mark.tool("terraform")]

STAGES = ["quality", "security", "test", "emulator", "images", "deploy", "secrets", "static", "run", "smoke"]


@pytest.mark.timeout(2400)
def test_make_rehearsal_rehearses_main_end_to_end() -> None:
    for tool in ("podman", "terraform", "make"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} not found on PATH: the rehearsal needs it")
    log = output_dir("pipeline") / "rehearsal.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_"))}
    with log.open("w") as fh:
        result = subprocess.run(
            ["make", "rehearsal"], cwd=REPO_ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=2300
        )
    text = log.read_text(errors="replace")
    timings = json.loads((REPO_ROOT / ".local" / "pipeline" / "timings.json").read_text())
    print("\nmake rehearsal stage timings (seconds):")
    for stage, t in timings.items():
        print(f"  {stage:<10} {t['seconds']:>7.1f}  {'ok' if t['ok'] else 'FAILED'}")
    print(f"  {'total':<10} {sum(t['seconds'] for t in timings.values()):>7.1f}")
    assert result.returncode == 0, f"make rehearsal failed (full log: {log}):\n{text[-4000:]}"
    assert "REHEARSAL PASSED" in text
    assert [s for s in STAGES if not timings.get(s, {}).get("ok")] == []
    assert timings["destroy"]["ok"]
    # What the rehearsal proved along the way:
    assert "plan matches its seal" in text
    assert "smoke test passed" in text
    assert "Destroy complete!" in text
