"""The test doubles of the workflow proof honour the documented behaviour of the actions they stand
for (actions/upload-artifact v7, actions/download-artifact v8): a second artifact of the same name
in a run is refused unless `overwrite: true`, an expired artifact cannot be downloaded, hidden files
stay out, files keep their layout under the patterns' common root, and a pattern download merges."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "gha" / "doubles" / "artifacts.py"


@pytest.fixture
def job(tmp_path: Path):
    workspace = tmp_path / "ws"
    (workspace / "out" / "sub").mkdir(parents=True)
    (workspace / "out" / "a.txt").write_text("a")
    (workspace / "out" / "sub" / "b.txt").write_text("b")
    (workspace / "out" / ".hidden").write_text("h")
    base = {
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_RUN_ID": "42",
        "ARTIFACT_STORE": str(tmp_path / "store"),
        "PATH": os.environ.get("PATH", ""),
    }

    def run(cmd: str, **inputs: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
        output = tmp_path / f"out-{len(list(tmp_path.glob('out-*')))}"
        output.write_text("")
        env = {**base, "GITHUB_OUTPUT": str(output)}
        if "ARTIFACT_CLOCK_OFFSET_DAYS" in os.environ:  # a test ages the run
            env["ARTIFACT_CLOCK_OFFSET_DAYS"] = os.environ["ARTIFACT_CLOCK_OFFSET_DAYS"]
        env.update({f"INPUT_{k.upper().replace('_', '-')}": v for k, v in inputs.items()})
        result = subprocess.run(
            [sys.executable, str(SCRIPT), cmd], env=env, capture_output=True, text=True, timeout=30
        )
        return result, dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)

    run.workspace = workspace  # type: ignore[attr-defined]
    return run


def test_a_second_artifact_of_the_same_name_is_refused_unless_overwrite(job) -> None:
    first, outputs = job("upload", name="report", path="out")
    assert first.returncode == 0, first.stdout
    assert len(outputs["artifact-digest"]) == 64
    again, _ = job("upload", name="report", path="out")
    assert again.returncode == 1
    assert "(409) Conflict: an artifact with this name already exists on the workflow run" in again.stdout
    replaced, _ = job("upload", name="report", path="out/a.txt", overwrite="true")
    assert replaced.returncode == 0, replaced.stdout


def test_layout_hidden_files_and_download_by_name(job, tmp_path: Path) -> None:
    assert job("upload", name="r", path="out/a.txt\nout/sub/b.txt")[0].returncode == 0
    got, outputs = job("download", name="r", path=str(tmp_path / "dl"))
    assert got.returncode == 0, got.stdout
    assert sorted(p.relative_to(tmp_path / "dl").as_posix() for p in (tmp_path / "dl").rglob("*.txt")) == [
        "a.txt",
        "sub/b.txt",
    ]
    assert outputs["download-path"] == str(tmp_path / "dl")
    assert job("upload", name="all", path="out")[0].returncode == 0
    job("download", name="all", path=str(tmp_path / "all"))
    assert not (tmp_path / "all" / ".hidden").exists()


def test_an_expired_or_missing_artifact_cannot_be_downloaded(job, tmp_path: Path, monkeypatch) -> None:
    assert job("upload", name="plan", path="out", retention_days="1")[0].returncode == 0
    monkeypatch.setenv("ARTIFACT_CLOCK_OFFSET_DAYS", "2")
    expired, _ = job("download", name="plan", path=str(tmp_path / "x"))
    assert expired.returncode == 1
    assert "has expired" in expired.stdout
    monkeypatch.delenv("ARTIFACT_CLOCK_OFFSET_DAYS")
    missing, _ = job("download", name="nope", path=str(tmp_path / "x"))
    assert missing.returncode == 1
    assert "Artifact not found for name: nope" in missing.stdout


def test_no_files_and_pattern_downloads(job, tmp_path: Path) -> None:
    none, _ = job("upload", name="empty", path="nothing-here", if_no_files_found="error")
    assert none.returncode == 1
    assert job("upload", name="empty", path="nothing-here", if_no_files_found="ignore")[0].returncode == 0
    for name in ("image-digest-a", "image-digest-b"):
        assert (
            job("upload", name=name, path="out/a.txt" if name.endswith("a") else "out/sub/b.txt")[
                0
            ].returncode
            == 0
        )
    merged, _ = job("download", pattern="image-digest-*", merge_multiple="true", path=str(tmp_path / "m"))
    assert merged.returncode == 0, merged.stdout
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["a.txt", "b.txt"]
