"""Each custom checkov policy passes its pass_* fixtures and fails its fail_* fixtures."""

from __future__ import annotations

import pytest

from tests.infra.policy_support import FIXTURES, custom_check_ids, run_checkov

pytestmark = pytest.mark.slow

IDS = sorted(custom_check_ids())


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, set[str]]]:
    """check id -> {"passed": resources, "failed": resources} over the fixtures (one checkov run)."""
    report = run_checkov(FIXTURES, "--check", ",".join(IDS))
    found: dict[str, dict[str, set[str]]] = {i: {"passed": set(), "failed": set()} for i in IDS}
    for outcome in ("passed", "failed"):
        for r in report["results"][f"{outcome}_checks"]:
            found[r["check_id"]][outcome].add(r["resource"])
    assert report["summary"]["parsing_errors"] == 0
    return found


def test_there_are_custom_policies() -> None:
    assert len(IDS) >= 9, IDS


@pytest.mark.parametrize("check_id", IDS)
def test_policy_passes_good_and_fails_bad_fixtures(results, check_id: str) -> None:
    passed, failed = results[check_id]["passed"], results[check_id]["failed"]
    assert passed, f"{check_id} has no passing fixture"
    assert failed, f"{check_id} has no failing fixture"
    assert all(_name(r).startswith("pass_") for r in passed), f"{check_id} passed bad fixtures: {passed}"
    assert all(_name(r).startswith("fail_") for r in failed), f"{check_id} failed good fixtures: {failed}"


def _name(resource: str) -> str:
    """aws_lb.pass_alb -> pass_alb; aws.pass_tags (a provider) -> pass_tags."""
    return resource.split(".")[-1]
