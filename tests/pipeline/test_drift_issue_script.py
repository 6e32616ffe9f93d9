"""The script of drift.yml's `issue` step, run by node as actions/github-script runs it (an async
function of require, github, context and core: its src/async-function.ts), with a stand-in GitHub
client that records the calls. Every branch: open, update, close, nothing, and the owner filter.

The act proof runs the same step inside the real workflow with the real action (scenario (f) in
tests/pipeline/test_workflows_deploy.py: close, update and the owner filter against the fake
GitHub); one run can take only one branch per environment, so opening is checked here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.workflows import WORKFLOWS_DIR, load
from tests.support.tools import unavailable

BOT = {"login": "github-actions[bot]", "type": "Bot"}
PERSON = {"login": "someone", "type": "User"}

HARNESS = """
const calls = [];
const seeded = JSON.parse(process.env.SEEDED_ISSUES);
const listForRepo = () => { throw new Error('called directly: the script must paginate'); };
const github = {
  paginate: async (method, params) => {
    if (method !== listForRepo) throw new Error('paginate of another method');
    calls.push(['list', params]);
    return seeded;
  },
  rest: { issues: {
    listForRepo,
    create: async (p) => { calls.push(['create', p]); return { data: { number: 99 } }; },
    update: async (p) => { calls.push(['update', p]); return { data: {} }; },
    createComment: async (p) => { calls.push(['comment', p]); return { data: {} }; },
  } },
};
const context = { serverUrl: 'https://github.com', repo: { owner: 'example-org', repo: 'storefront-gitops' },
                  runId: 42 };
const core = { warning: (m) => calls.push(['warning', m]), info: (m) => calls.push(['info', m]) };
const AsyncFunction = Object.getPrototypeOf(async () => null).constructor;
const fn = new AsyncFunction('require', 'github', 'context', 'core', process.env.STEP_SCRIPT);
fn(require, github, context, core)
  .then(() => process.stdout.write(JSON.stringify(calls)))
  .catch((e) => { console.error(e); process.exit(1); });
"""


def _step_script() -> str:
    job = load(WORKFLOWS_DIR / "drift.yml")["jobs"]["issue"]
    (step,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/github-script@")]
    assert step["env"] == {"TARGET_ENV": "${{ matrix.environment }}"}
    return str(step["with"]["script"])


def _run(tmp_path: Path, env: str, has_changes: bool, issues: list[dict[str, Any]]) -> list[list[Any]]:
    node = shutil.which("node")
    if node is None:
        unavailable("node not found (actions/github-script runs the step's script with node)")
    report = tmp_path / "report"
    report.mkdir(exist_ok=True)
    (report / "summary.json").write_text(json.dumps({"has_changes": has_changes}))
    (report / "report.md").write_text("| the report |\n")
    result = subprocess.run(
        [node, "-e", HARNESS],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "TARGET_ENV": env,
            "STEP_SCRIPT": _step_script(),
            "SEEDED_ISSUES": json.dumps(issues),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    calls: list[list[Any]] = json.loads(result.stdout)
    assert calls[0] == ["list", {"owner": "example-org", "repo": "storefront-gitops", "state": "open",
                                 "labels": "drift", "per_page": 100}]  # fmt: skip
    return calls[1:]


def _issue(number: int, env: str, user: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"number": number, "body": f"<!-- drift:{env} -->\nearlier", "user": user, **extra}


def test_drift_without_an_issue_opens_one_labelled_with_the_report(tmp_path: Path) -> None:
    calls = _run(tmp_path, "prod", True, [])
    (create, warning) = calls
    assert create[0] == "create"
    assert create[1]["title"] == "Drift detected in prod"
    assert create[1]["labels"] == ["drift"]
    assert create[1]["body"].startswith("<!-- drift:prod -->\nThe scheduled plan of **prod** is not empty")
    assert "https://github.com/example-org/storefront-gitops/actions/runs/42" in create[1]["body"]
    assert create[1]["body"].endswith("| the report |\n")
    assert warning == ["warning", "drift in prod: opened issue #99"]


def test_drift_with_the_bots_issue_updates_it_and_opens_none(tmp_path: Path) -> None:
    calls = _run(tmp_path, "prod", True, [_issue(5, "dev", BOT), _issue(7, "prod", BOT)])
    assert [c[0] for c in calls] == ["update", "warning"]
    assert calls[0][1]["issue_number"] == 7
    assert calls[0][1]["body"].startswith("<!-- drift:prod -->\nThe scheduled plan of **prod**")
    assert "state" not in calls[0][1]


def test_no_drift_closes_the_bots_issue_with_a_comment(tmp_path: Path) -> None:
    calls = _run(tmp_path, "dev", False, [_issue(5, "dev", BOT)])
    assert [c[0] for c in calls] == ["comment", "update", "info"]
    assert calls[0][1]["issue_number"] == 5
    assert calls[0][1]["body"].startswith("No drift in dev any more")
    assert calls[1][1] == {"owner": "example-org", "repo": "storefront-gitops", "issue_number": 5,
                           "state": "closed", "state_reason": "completed"}  # fmt: skip


def test_no_drift_and_no_issue_changes_nothing(tmp_path: Path) -> None:
    assert _run(tmp_path, "dev", False, []) == [["info", "no drift in dev"]]


@pytest.mark.parametrize(
    "other",
    [_issue(8, "prod", PERSON), _issue(9, "prod", BOT, pull_request={"url": "x"}), _issue(10, "dev", BOT)],
    ids=["a person's issue", "a pull request", "another environment's issue"],
)
def test_only_the_bots_issue_of_this_environment_counts(tmp_path: Path, other: dict[str, Any]) -> None:
    created = _run(tmp_path, "prod", True, [other])
    assert [c[0] for c in created] == ["create", "warning"]
    assert _run(tmp_path, "prod", False, [other]) == [["info", "no drift in prod"]]
