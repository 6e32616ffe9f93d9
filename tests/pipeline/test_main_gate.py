"""main.yml's deploy gate: images and the dev plan run beside the checks, nothing deploys before them.

The `checks` job's own shell step is run here with every combination of results GitHub can hand
it; the job graph is read from the YAML (the act proof runs the same file end to end).
"""

from __future__ import annotations

import itertools
import subprocess

import pytest

from tests.pipeline.workflows import WORKFLOWS_DIR, load

MAIN = load(WORKFLOWS_DIR / "main.yml")["jobs"]
CHECKS = ("quality", "security", "test")


def _needs(job: str) -> set[str]:
    needs = MAIN[job].get("needs", [])
    return {needs} if isinstance(needs, str) else set(needs)


def _upstream(job: str) -> set[str]:
    seen: set[str] = set()
    todo = list(_needs(job))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _needs(name)
    return seen


def test_nothing_that_changes_dev_starts_before_the_checks_gate() -> None:
    for job in ("deploy", "secrets", "static", "smoke", "record-good"):
        assert "checks" in _upstream(job), f"{job} does not wait for the checks"
    # Not the implicit success(): over the skipped checks of a tested tree it would skip deploy
    # (tests/pipeline/test_workflow_contract.py, test_no_job_relies_on_success_over_a_chain_that_can_skip).
    for need in ("images", "plan", "checks"):
        assert f"needs.{need}.result == 'success'" in MAIN["deploy"]["if"], MAIN["deploy"]["if"]
    assert _needs("checks") == {"tested", *CHECKS}
    assert MAIN["checks"]["if"] == "${{ !cancelled() }}"


def test_images_and_the_dev_plan_run_beside_the_checks() -> None:
    for job in ("images", "plan"):
        assert not (_upstream(job) & {"tested", "checks", *CHECKS}), f"{job} waits for the checks"
    assert MAIN["plan"]["with"]["environment"] == "dev"  # the read-only plan role (dev-plan)


def test_the_checks_run_unless_the_tree_is_proven_tested() -> None:
    for check in CHECKS:
        assert _needs(check) == {"tested"}
        assert MAIN[check]["if"] == "${{ !cancelled() && needs.tested.outputs.tested != 'true' }}"
    step = " ".join(s.get("run", "") for s in MAIN["tested"]["steps"])
    assert "scripts/ci/tested_tree.py" in step
    assert MAIN["tested"]["permissions"] == {"contents": "read", "pull-requests": "read", "actions": "read"}


def _gate(tested: str, quality: str, security: str, test: str) -> int:
    (step,) = MAIN["checks"]["steps"]
    env = {"TESTED": tested, "QUALITY": quality, "SECURITY": security, "TEST": test, "PATH": "/usr/bin:/bin"}
    return subprocess.run(["bash", "-c", step["run"]], env=env, capture_output=True, timeout=10).returncode


RESULTS = ("success", "failure", "skipped", "cancelled", "")


@pytest.mark.parametrize("tested", ["success/true", "success/false", "failure/", "skipped/"])
def test_the_gate_passes_only_when_every_check_passed_here_or_on_the_pull_request(tested: str) -> None:
    for quality, security, test in itertools.product(RESULTS, repeat=3):
        passed = _gate(tested, quality, security, test) == 0
        ran_green = quality == security == test == "success"
        assert passed == (tested == "success/true" or ran_green), (tested, quality, security, test)
