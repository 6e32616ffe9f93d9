"""Smoke waits until the NEW revision serves: health bodies name the image tag their task runs.

While ECS still routes to the old tasks, the health check answers 200 with the old revision; the
smoke test must keep retrying (and fail at its deadline) instead of passing on the old tasks, or
record-good would record images that never went live.
"""

from __future__ import annotations

import importlib.util
import time
from types import ModuleType

import httpx
import pytest
import smoke_test

from tests.support.tools import REPO_ROOT


def _ctx(answers: list[str], seen: list[str]) -> smoke_test.Context:
    def handler(request: httpx.Request) -> httpx.Response:
        revision = answers[min(len(seen), len(answers) - 1)]
        seen.append(revision)
        return httpx.Response(200, json={"status": "ok", "revision": revision})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    return smoke_test.Context("http://edge.invalid", None, {}, client)


def test_health_passes_only_once_the_expected_revision_answers() -> None:
    seen: list[str] = []
    ctx = _ctx(["old111", "old111", "new222"], seen)
    checks = {"catalog-health": smoke_test.check_health(ctx.base_url, "/catalog/health", "new222")}
    (result,) = smoke_test.run_checks(checks, ctx, timeout=5, interval=0.01)
    assert result.passed, result.detail
    assert result.attempts == 3
    assert seen == ["old111", "old111", "new222"]


def test_health_fails_at_the_deadline_while_the_old_revision_still_serves() -> None:
    ctx = _ctx(["old111"], [])
    checks = {"catalog-health": smoke_test.check_health(ctx.base_url, "/catalog/health", "new222")}
    (result,) = smoke_test.run_checks(checks, ctx, timeout=0.05, interval=0.01)
    assert not result.passed
    assert "revision 'old111' serves, waiting for 'new222'" in result.detail


def test_a_malformed_revision_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        smoke_test.main(["--base-url", "http://127.0.0.1:9", "--revision", "bad revision;"])
    assert exc.value.code == 2
    assert "--revision must be" in capsys.readouterr().err


def test_once_the_new_revision_serves_a_failing_check_gets_only_the_settle_time() -> None:
    """A new revision that serves but fails (the smoke test that should start a rollback) is
    reported after `settle` seconds, not after the whole timeout (600 s in the pipeline)."""
    seen: list[str] = []
    ctx = _ctx(["new222"], seen)
    checks = {
        "catalog-health": smoke_test.check_health(ctx.base_url, "/catalog/health", "new222"),
        "api-round-trip": lambda _ctx: (_ for _ in ()).throw(smoke_test.CheckError("HTTP 500")),
    }
    started = time.monotonic()
    results = smoke_test.run_checks(checks, ctx, timeout=600, interval=0.05, settle=0.3)
    assert time.monotonic() - started < 30
    assert [r.passed for r in results] == [True, False]
    assert results[1].attempts > 1  # retried during the settle time


class _Ecs:
    """describe_services answers in turn (the last one repeats), as ECS reports a rolling update."""

    def __init__(self, states: list[tuple[str, int]]) -> None:
        self.states, self.calls = states, 0

    def describe_services(self, cluster: str, services: list[str]) -> dict:
        state, running = self.states[min(self.calls, len(self.states) - 1)]
        self.calls += 1
        deployment = {"status": "PRIMARY", "rolloutState": state, "rolloutStateReason": "tasks failed"}
        return {"services": [{"serviceName": name, "deployments": [deployment], "runningCount": running,
                              "desiredCount": 2} for name in services]}  # fmt: skip


def _smoke_env() -> ModuleType:
    """scripts/ci/smoke_env.py as a module (scripts/ci is not a package: the workflows run its files)."""
    spec = importlib.util.spec_from_file_location("smoke_env", REPO_ROOT / "scripts" / "ci" / "smoke_env.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OUTPUTS = {"cluster_name": "storefront-dev", "services": {"catalog": {"service_name": "catalog"}}}


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda _s: None)


def test_the_functional_checks_wait_until_the_old_tasks_are_gone(
    monkeypatch: pytest.MonkeyPatch, no_sleep: None
) -> None:
    """During the rolling update old tasks still answer: smoke_env waits for COMPLETED first."""
    smoke_env = _smoke_env()
    ecs = _Ecs([("IN_PROGRESS", 3), ("IN_PROGRESS", 2), ("COMPLETED", 2)])
    monkeypatch.setattr(smoke_env.boto3, "client", lambda name: ecs)
    assert smoke_env.wait_for_deployments(OUTPUTS, 60) is None
    assert ecs.calls == 3


def test_a_failed_or_unfinished_deployment_fails_the_smoke_test(
    monkeypatch: pytest.MonkeyPatch, no_sleep: None
) -> None:
    smoke_env = _smoke_env()
    monkeypatch.setattr(smoke_env.boto3, "client", lambda name: _Ecs([("FAILED", 0)]))
    assert smoke_env.wait_for_deployments(OUTPUTS, 60) == "catalog: FAILED: tasks failed"
    monkeypatch.setattr(smoke_env.boto3, "client", lambda name: _Ecs([("IN_PROGRESS", 1)]))
    assert smoke_env.wait_for_deployments(OUTPUTS, 0) == "catalog: not finished after 0 s"
    assert "no ECS cluster" in str(smoke_env.wait_for_deployments({}, 0))
