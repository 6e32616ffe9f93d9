"""The verdict steps of main.yml run as GitHub runs them (bash, the step's env), and what the act
proof reads of their logs (tests/pipeline/gha/runner.py, RunResult.says).

These steps print one line and exit 1 within milliseconds; act sometimes drops such a step's
output (RunResult.says says why), so their messages are checked here, on the scripts themselves:
`smoke-passed` (the smoke test's verdict) and `rolled-back` (the run's red summary after a
rollback).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.pipeline.gha.runner import JobRun, RunResult
from tests.pipeline.workflows import WORKFLOWS_DIR, load

SHA = "0123456789abcdef0123456789abcdef01234567"


def _run_step(job: str, env: dict[str, str], tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    (step,) = load(WORKFLOWS_DIR / "main.yml")["jobs"][job]["steps"]
    summary = tmp_path / "summary.md"
    summary.write_text("")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],  # as GitHub runs `bash`
        env={"PATH": os.environ["PATH"], "GITHUB_SHA": SHA, "GITHUB_STEP_SUMMARY": str(summary), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done, summary.read_text()


def test_smoke_passed_fails_loudly_unless_the_smoke_test_passed(tmp_path: Path) -> None:
    ok, _ = _run_step("smoke-passed", {"RESULT": "success", "PASSED": "true"}, tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert f"dev serves {SHA} and it passed its smoke test" in ok.stdout
    for result, passed in (("success", "false"), ("failure", ""), ("cancelled", "")):
        bad, _ = _run_step("smoke-passed", {"RESULT": result, "PASSED": passed}, tmp_path)
        assert bad.returncode == 1
        assert f"::error::smoke test of {SHA} in dev FAILED (job: {result}" in bad.stdout


def test_rolled_back_says_what_happened_and_ends_the_run_red(tmp_path: Path) -> None:
    base = {"DEPLOY": "success", "SECRETS": "success", "STATIC": "success", "SMOKE": "failure",
            "LAST_GOOD": "success", "LAST_GOOD_TAG": "abc1234", "ROLLBACK_PLAN": "success"}  # fmt: skip
    done, summary = _run_step(
        "rolled-back", {**base, "ROLLBACK": "success", "ROLLBACK_SMOKE": "success"}, tmp_path
    )
    assert done.returncode == 1
    assert "dev was ROLLED BACK to the last good images (abc1234)" in done.stdout
    assert f"## 🚨 Deploy of {SHA} to dev FAILED" in summary
    assert "| smoke test | failure |" in summary
    stuck, summary = _run_step(
        "rolled-back", {**base, "ROLLBACK": "failure", "ROLLBACK_SMOKE": "skipped"}, tmp_path
    )
    assert stuck.returncode == 1
    assert "ROLLBACK DID NOT COMPLETE" in stuck.stdout
    assert "dev needs a human NOW" in summary


def _result(*lines: str) -> RunResult:
    job = JobRun("main/smoke-passed", "smoke-passed", 0.0, 1.0, "failure", list(lines))
    return RunResult(1, {job.name: job}, Path("act.log"))


def test_only_a_failed_step_that_shows_nothing_counts_as_dropped_by_act() -> None:
    start, failed = (
        "⭐ Run Main Did the new revision pass its smoke test?",
        "  ❌  Failure - Main Did the new [13ms]",
    )
    said = _result(start, "  ❗  ::error::smoke test of abc in dev FAILED", failed, "exit status 1")
    assert said.says("smoke-passed", "smoke test of abc in dev FAILED")
    assert not said.says("smoke-passed", "smoke test of other in dev FAILED")  # printed, but not this
    assert _result(start, failed, "exit status 1").says("smoke-passed", "anything")  # act dropped it
    assert not _result(start, "  ✅  Success - Main Did the new [13ms]").says("smoke-passed", "anything")
    assert not _result().says("smoke-passed", "anything")  # never ran
