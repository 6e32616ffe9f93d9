"""The deploy flows of main.yml and drift.yml proven by running the real workflow YAML with act:
(c) push to main deploys dev, (d) a push whose smoke test fails is rolled back to the last good
images, (f) the scheduled drift check closes the issue of a stack with no drift. (e), a tag
releasing dev's images to prod, is tests/pipeline/test_workflows_release.py: it starts from the
state (c) proves main.yml leaves behind, so xdist runs it beside this module.

Run in this order, against one emulator and one fake GitHub of their own (tests/pipeline/gha/proof.py),
so pytest-xdist (--dist loadfile) runs this module beside the other proof modules. Prod is never
applied here. The services behind dev's URL are the loopback data plane of
tests/pipeline/gha/data_plane.py: it runs what the emulator's ECS services name (task definition,
image by digest, secrets), so the smoke test checks the code of the commit the images were built
from. The smoke job reaches it through SMOKE_BASE_URL in the runner's environment (a documented
deviation: tests/pipeline/gha/runner.py). Reduced scope as in test_workflows_act.py (INNER_ENV).
Needs the shared action cache (STOREFRONT_SHARED_DIR): without it deselected with a printed reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import manifests
import publish_static
import pytest

from tests.pipeline.gha.deploys import Deploys, client, last_good, open_deploys, push, running_images
from tests.pipeline.gha.fake_github import BOT
from tests.pipeline.gha.proof import INNER_ENV, SUBJECT, report
from tests.pipeline.gha.runner import REPOSITORY, RunResult, commit_change

# Each scenario is a whole workflow run (a full dev apply in (c)): longer than the suite's 600 s
# per test on a loaded 2-core machine, so this module allows 30 minutes per test.
pytestmark = [pytest.mark.slow, pytest.mark.needs_shared("gha-actions"), pytest.mark.tool("terraform"),
              pytest.mark.timeout(1800)]  # fmt: skip

MAIN_JOBS = ("tested", "quality", "security", "test", "checks", "images", "plan", "deploy", "secrets",
             "static", "smoke", "smoke-passed", "record-good")  # fmt: skip
ROLLBACK_JOBS = ("last-good", "rollback-plan", "rollback", "rollback-smoke", "rolled-back")


@pytest.fixture(scope="module")
def deploys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deploys]:
    with open_deploys(tmp_path_factory, ("dev",)) as d:
        yield d


def _main(d: Deploys, sha: str, before: str = "0" * 40) -> RunResult:
    return push(d, "main.yml", "refs/heads/main", sha, "dev", before, **INNER_ENV)


def test_c_a_push_to_main_deploys_dev(deploys: Deploys) -> None:
    """(c) Every job of main.yml runs; images in ECR under the commit's tag (and dev's keep tag), the
    dev stack applied with ECS services naming the new digests, secrets with values, the site in
    its bucket, the new revision serving, dev's last good record written; no rollback job runs."""
    d, sha = deploys, deploys.proof.sha
    tokens_before = len(d.proof.github.state.tokens)
    result = _main(d, sha)
    report(result, "push to main")
    assert result.returncode == 0, result.log.read_text()[-8000:]
    for job in MAIN_JOBS:
        assert result.result(job) == "success", (job, result.output(job)[-3000:])
    for job in ROLLBACK_JOBS:
        assert result.result(job) is None, f"{job} ran after a good deploy"
    assert "pytest -n 0 " in result.output("test"), "the proof's reduced scope (INNER_ENV) did not apply"
    ecr = client(d, "ecr")
    record = last_good(d, "dev")
    assert record["tag"] == sha
    running = running_images(d, "dev")
    for m in manifests.load_all():
        repo = f"{manifests.project_name()}/{m.name}"
        details = ecr.describe_images(repositoryName=repo)["imageDetails"]
        digest = record["images"][m.name]["digest"]
        tagged = {t for i in details if i["imageDigest"] == digest for t in i.get("imageTags", [])}
        assert {sha, f"dev-{sha}"} <= tagged, tagged
        image = record["images"][m.name]
        assert running[m.name] == f"{image['repository']}@{image['digest']}"
        assert d.planes["dev"].tasks[m.name].revision == sha
        assert d.planes["dev"].tasks[m.name].image == running[m.name]
    sm = client(d, "secretsmanager")
    owned = [
        s for s in sm.list_secrets()["SecretList"] if s["Name"].startswith(f"{manifests.project_name()}/dev/")
    ]
    assert owned
    for secret in owned:  # a value exists (never read here)
        assert "AWSCURRENT" in str(sm.describe_secret(SecretId=secret["ARN"]).get("VersionIdsToStages"))
    account = client(d, "sts").get_caller_identity()["Account"]
    bucket = publish_static.site_bucket("dev", account)
    keys = {o["Key"] for o in client(d, "s3").list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert "index.html" in keys, keys
    subjects = {t["sub"] for t in d.proof.github.state.tokens[tokens_before:]}
    assert subjects == {f"repo:{SUBJECT}:environment:dev", f"repo:{SUBJECT}:environment:dev-plan"}, subjects
    d.good["dev"] = sha


# A real defect: reading an existing product answers 404 (the smoke test's round trip reads one).
BROKEN = (
    "services/catalog/catalog/repository.py",
    "        if item is None:\n",
    "        if item is not None:\n",
)


def test_d_a_push_whose_smoke_test_fails_is_rolled_back(deploys: Deploys) -> None:
    """(d) The commit breaks a checked endpoint. It passed quality, security and test on its pull
    request (the fake GitHub records that run), so main.yml's `tested` job proves the tree tested and
    the checks are not run again (the usual path to main). Apply, secrets and static pass, the smoke test of
    the new revision fails within its settle time (not the 600 s timeout), record-good never runs;
    the rollback path runs (last-good, rollback-plan, rollback, rollback-smoke): the ECS services run
    the last good images again (their task definitions name the good digests), the data plane
    serves the good revision, dev's last good record is unchanged, and the run ends red with a
    summary saying dev was rolled back."""
    d = deploys
    good = d.good.get("dev")
    if good is None:
        pytest.fail("scenario (c) did not leave a good deploy of dev (run the module in order)")
    good_images = running_images(d, "dev")
    rel, healthy, broken = BROKEN
    original = (d.proof.act.repo / rel).read_text()
    assert original.count(healthy) == 1
    sha = commit_change(d.proof.act.repo, rel, "", replace=original.replace(healthy, broken))
    # The usual way to main: the change passed quality, security and test on its pull request (a
    # defect only the smoke test catches) and was merged as it was tested, so main.yml's `tested`
    # job finds that run through the REST API (scripts/ci/tested_tree.py) and the checks are skipped.
    git = d.proof.github.git
    git.repo = d.proof.act.repo
    git.merged_pull(21, sha, sha)
    checks = {"quality / quality (python)": "success", "security / scan": "success", "test / test": "success"}
    git.workflow_run("pull-request.yml", sha, checks)
    try:
        result = _main(d, sha, before=good)
    finally:
        commit_change(d.proof.act.repo, rel, "", replace=original)
    report(result, "push to main whose smoke test fails")
    assert result.returncode != 0
    assert "tested_tree: ALREADY TESTED" in result.output("tested"), result.output("tested")[-3000:]
    for job in ("quality", "security", "test"):  # proven on the pull request: not run again
        assert result.result(job) is None, f"{job} ran for a tree its pull request had tested"
    assert "passed quality, security and test on its pull request" in result.output("checks")
    # smoke only reports (report-only); its verdict is smoke-passed:
    for job in ("checks", "deploy", "secrets", "static", "smoke"):
        assert result.result(job) == "success", (job, result.output(job)[-3000:])
    assert result.result("smoke-passed") == "failure"
    smoke = result.output("smoke")
    assert "api-round-trip" in smoke, smoke[-3000:]
    assert "smoke test FAILED" in smoke
    assert result.says("smoke-passed", f"smoke test of {sha} in dev FAILED"), result.output("smoke-passed")
    assert result.result("record-good") is None, "a failed smoke test recorded its images"
    for job in ("last-good", "rollback-plan", "rollback", "rollback-smoke"):
        assert result.result(job) == "success", (job, result.output(job)[-3000:])
    assert result.result("rolled-back") == "failure"  # the run ends red, loudly
    rolled_back = f"dev was ROLLED BACK to the last good images ({good})"
    assert result.says("rolled-back", rolled_back), result.output("rolled-back")[-3000:]
    assert last_good(d, "dev")["tag"] == good
    assert running_images(d, "dev") == good_images  # the task definitions name the good digests
    for m in manifests.load_all():  # and the good code serves again
        assert d.planes["dev"].tasks[m.name].revision == good
        assert d.planes["dev"].tasks[m.name].image == good_images[m.name]
    d.good["rolled-back"] = good


def test_f_drift_resolved_closes_its_issue(deploys: Deploys) -> None:
    """(f) An earlier scheduled run left one open `drift` issue per environment. Dev has been
    applied several times by now ((c), (d) and its rollback): its scheduled plan is empty, so its
    issue gets a comment and is closed. Prod is never applied in this module (the release is
    tests/pipeline/test_workflows_release.py): its scheduled plan is not empty (the whole stack to
    create), so its issue stays open, updated with the new report, and no second issue is opened.
    A person's issue that quotes prod's marker is left alone (only the bot's issue is the drift
    issue). Opening an issue, the branch this run cannot take beside these two, is checked on the
    same script by tests/pipeline/test_drift_issue_script.py."""
    d = deploys
    if "rolled-back" not in d.good:
        pytest.fail("scenarios (c) and (d) did not apply dev several times (run the module in order)")
    state = d.proof.github.state
    # A person's issue quoting prod's marker, older than the bot's: listed before it (the fake
    # lists issues oldest first), so a script without the owner filter would take it.
    person = state.new_id()
    quoted = {"number": person, "title": "Why does the drift issue say this?", "state": "open",
              "body": "<!-- drift:prod -->\nquoting the bot", "labels": [{"name": "drift"}],
              "user": {"login": "someone", "id": 1, "type": "User"}}  # fmt: skip
    state.issues[person] = dict(quoted)
    seeded = {}
    for env in ("dev", "prod"):
        number = state.new_id()
        state.issues[number] = {"number": number, "title": f"Drift detected in {env}",
                                "body": f"<!-- drift:{env} -->\nan earlier report", "state": "open",
                                "labels": [{"name": "drift"}], "user": BOT}  # fmt: skip
        seeded[env] = number
    result = d.proof.act.run(
        "schedule",
        "drift.yml",
        {"schedule": "23 5 * * 1-5", "repository": {"full_name": REPOSITORY}},
        ref="refs/heads/main",
        sha=d.proof.sha,
        secrets={},
        variables={"AWS_PLAN_ROLE_ARN": d.proof.roles.plan},
    )
    report(result, "drift after the deploys")
    assert result.returncode == 0, result.log.read_text()[-8000:]
    for job in ("plan-dev", "plan-prod", "issue"):
        assert result.result(job) == "success", (job, result.output(job)[-3000:])
    dev = state.issues[seeded["dev"]]
    assert dev["state"] == "closed", dev
    assert dev.get("state_reason") == "completed"
    closing = [c for c in state.comments.values() if c["issue"] == seeded["dev"]]
    assert len(closing) == 1
    assert closing[0]["body"].startswith("No drift in dev any more")
    prod = state.issues[seeded["prod"]]
    assert prod["state"] == "open"
    assert prod["body"].startswith("<!-- drift:prod -->\nThe scheduled plan of **prod** is not empty")
    assert state.issues[person] == quoted, "a person's issue was changed"
    assert not [c for c in state.comments.values() if c["issue"] == person]
    known = {*seeded.values(), person}
    opened = [i for i in state.issues.values() if i["number"] not in known and i["state"] == "open"]
    assert opened == [], "a second drift issue was opened beside the open one"
