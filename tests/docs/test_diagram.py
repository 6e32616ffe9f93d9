"""The architecture picture is drawn from code and the committed PNG is what `make diagram` draws."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.tools import REPO_ROOT, need

COMMITTED = REPO_ROOT / "docs" / "architecture.png"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_make_diagram_regenerates_the_committed_png_byte_for_byte(tmp_path: Path) -> None:
    need("dot", "install the Debian package graphviz (scripts/install_system_deps.sh)")
    out = tmp_path / "architecture.png"
    result = subprocess.run(
        [need("make"), "-C", str(REPO_ROOT), "diagram", f"DIAGRAM_OUT={out}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 50_000
    assert COMMITTED.is_file(), "docs/architecture.png is missing: run `make diagram`"
    assert data == COMMITTED.read_bytes(), (
        "docs/architecture.png is stale (a manifest or an environment's availability_zones changed): "
        "run `make diagram`"
    )


def test_diagram_fails_with_one_line_when_the_output_cannot_be_written(tmp_path: Path) -> None:
    need("dot")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "python"), "scripts/diagram.py", "--out", str(blocker / "x.png")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("diagram: ")
