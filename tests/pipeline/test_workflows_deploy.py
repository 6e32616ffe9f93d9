"""The deploy flows proven by running the real workflow YAML with act: (c) push to main deploys
dev, (d) a push whose smoke test fails is rolled back to the last good images, (e) a tag
releases the same images to prod, (f) the scheduled drift check closes the issue of a stack with
no drift.

Run in this order, against one emulator and one fake GitHub of their own (tests/pipeline/gha/proof.py),
so pytest-xdist (--dist loadfile) runs this module beside tests/pipeline/test_workflows_act.py.
The services behind each environment's URL are the loopback data plane of
tests/pipeline/gha/data_plane.py: it runs what the emulator's ECS services name (task definition,
image by digest, secrets), so the smoke test checks the code of the commit the images were built
from. The smoke job reaches it through SMOKE_BASE_URL in the runner's environment (a documented
deviation: tests/pipeline/gha/runner.py). Reduced scope as in test_workflows_act.py (INNER_TESTS).
Needs the shared action cache (STOREFRONT_SHARED_DIR): without it deselected with a printed reason.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import manifests
import publish_static
import pytest
import sync_secrets

from tests.pipeline.gha.data_plane import DataPlane
from tests.pipeline.gha.fake_github import BOT
from tests.pipeline.gha.proof import INNER_TESTS, SUBJECT, Proof, open_proof, push_event, report
from tests.pipeline.gha.runner import REPOSITORY, RunResult, commit_change
from tests.support.aws import FAKE_AWS_ENV, REGION

# Each scenario is a whole workflow run (a full dev apply in (c)): longer than the suite's 600 s
# per test on a loaded 2-core machine, so this module allows 30 minutes per test.
pytestmark = [pytest.mark.slow, pytest.mark.needs_shared("gha-actions"), pytest.mark.tool("terraform"),
              pytest.mark.timeout(1800)]  # fmt: skip

MAIN_JOBS = ("tested", "quality", "security", "test", "checks", "images", "plan", "deploy", "secrets",
             "static", "smoke", "smoke-passed", "record-good")  # fmt: skip
ROLLBACK_JOBS = ("last-good", "rollback-plan", "rollback", "rollback-smoke", "rolled-back")


@dataclass
class Deploys:
    proof: Proof
    planes: dict[str, DataPlane]
    service_secrets: dict[str, str]  # environment -> SERVICE_SECRETS (KEY=VALUE lines)
    good: dict[str, str]  # what a scenario leaves for the next: "dev" -> the sha dev last passed


@pytest.fixture(scope="module")
def deploys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deploys]:
    with open_proof(tmp_path_factory) as proof:
        planes = {
            env: DataPlane(env, proof.aws.url, proof.act.work, proof.act.blob_store)
            for env in ("dev", "prod")
        }
        try:
            for plane in planes.values():
                plane.start()
            values = {
                env: "\n".join(
                    f"{sync_secrets.variable_name(m.name, s.name)}={secrets.token_urlsafe(18)}"
                    for m in manifests.load_all()
                    for s in m.secrets
                    if s.owned
                )
                for env in planes
            }
            yield Deploys(proof, planes, values, {})
        finally:
            for plane in planes.values():
                print(f"\ndata plane {plane.env_name}:\n  " + "\n  ".join(plane.events))
                plane.stop()


def _client(d: Deploys, name: str):
    return boto3.client(name, region_name=REGION, endpoint_url=d.proof.aws.url,
                        aws_access_key_id=FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"])  # fmt: skip


def _push(
    d: Deploys, workflow: str, ref: str, sha: str, env: str, before: str = "0" * 40, **extra_env: str
) -> RunResult:
    """A push event (branch or tag; ``before``: the ref's previous tip) running ``workflow``, the
    variables and secrets of ``env`` set as the README's "Environment settings" say, the smoke test
    pointed at ``env``'s data plane."""
    proof = d.proof
    return proof.act.run(
        "push",
        workflow,
        push_event(ref, sha, before),
        ref=ref,
        sha=sha,
        secrets={"SERVICE_SECRETS": d.service_secrets[env]},
        variables={"AWS_PLAN_ROLE_ARN": proof.roles.plan, "AWS_DEPLOY_ROLE_ARN": proof.roles.deploy[env]},
        extra_env={"SMOKE_BASE_URL": d.planes[env].url, **extra_env},
    )


def _main(d: Deploys, sha: str, before: str = "0" * 40) -> RunResult:
    return _push(d, "main.yml", "refs/heads/main", sha, "dev", before, PYTEST_ADDOPTS=INNER_TESTS)


def _running_images(d: Deploys, env: str) -> dict[str, str]:
    """service -> image of the task definition its ECS service runs now."""
    ecs = _client(d, "ecs")
    cluster = f"{manifests.project_name()}-{env}"
    found = {}
    for m in manifests.load_all():
        svc = ecs.describe_services(cluster=cluster, services=[m.name])["services"][0]
        task = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
        found[m.name] = next(c["image"] for c in task["containerDefinitions"] if c["name"] == m.name)
    return found


def _last_good(d: Deploys, env: str) -> dict:
    name = f"/{manifests.project_name()}/{env}/deploy/last-good"
    return json.loads(_client(d, "ssm").get_parameter(Name=name)["Parameter"]["Value"])


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
    ecr = _client(d, "ecr")
    record = _last_good(d, "dev")
    assert record["tag"] == sha
    running = _running_images(d, "dev")
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
    sm = _client(d, "secretsmanager")
    owned = [
        s for s in sm.list_secrets()["SecretList"] if s["Name"].startswith(f"{manifests.project_name()}/dev/")
    ]
    assert owned
    for secret in owned:  # a value exists (never read here)
        assert "AWSCURRENT" in str(sm.describe_secret(SecretId=secret["ARN"]).get("VersionIdsToStages"))
    account = _client(d, "sts").get_caller_identity()["Account"]
    bucket = publish_static.site_bucket("dev", account)
    keys = {o["Key"] for o in _client(d, "s3").list_objects_v2(Bucket=bucket).get("Contents", [])}
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
    good_images = _running_images(d, "dev")
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
    assert f"smoke test of {sha} in dev FAILED" in result.output("smoke-passed")
    assert result.result("record-good") is None, "a failed smoke test recorded its images"
    for job in ("last-good", "rollback-plan", "rollback", "rollback-smoke"):
        assert result.result(job) == "success", (job, result.output(job)[-3000:])
    assert result.result("rolled-back") == "failure"  # the run ends red, loudly
    summary = result.output("rolled-back")
    assert f"dev was ROLLED BACK to the last good images ({good})" in summary, summary[-3000:]
    assert _last_good(d, "dev")["tag"] == good
    assert _running_images(d, "dev") == good_images  # the task definitions name the good digests
    for m in manifests.load_all():  # and the good code serves again
        assert d.planes["dev"].tasks[m.name].revision == good
        assert d.planes["dev"].tasks[m.name].image == good_images[m.name]


def test_e_a_tag_releases_the_dev_tested_images_to_prod(deploys: Deploys) -> None:
    """(e) Tag v1.0.0 on the commit (c) deployed: verify finds it passed dev, prod is planned and
    applied with the SAME digests, secrets and site published, prod's smoke test passes against the
    tagged revision, prod's last good record is written, the release notes list the digests."""
    d = deploys
    good = d.good.get("dev")
    if good is None:
        pytest.fail("scenario (c) did not leave a good deploy of dev (run the module in order)")
    # dev's last good images (what (c) deployed; dev itself may run another revision by now)
    dev_images = {s: f"{i['repository']}@{i['digest']}" for s, i in _last_good(d, "dev")["images"].items()}
    assert _last_good(d, "dev")["tag"] == good
    git = ["git", "-C", str(d.proof.act.repo)]
    subprocess.run([*git, "tag", "v1.0.0", good], check=True)
    d.proof.github.git.repo = d.proof.act.repo
    tokens_before = len(d.proof.github.state.tokens)
    subprocess.run([*git, "checkout", "-q", "v1.0.0"], check=True)  # what the tag push checks out
    try:
        result = _push(d, "release.yml", "refs/tags/v1.0.0", good, "prod")
    finally:
        subprocess.run([*git, "checkout", "-q", "main"], check=True)
    report(result, "release v1.0.0")
    assert result.returncode == 0, result.log.read_text()[-8000:]
    for job in ("verify", "plan", "release", "release-notes"):
        assert result.result(job) == "success", (job, result.output(job)[-3000:])
    assert _running_images(d, "prod") == dev_images  # promoted by digest, never rebuilt
    assert _last_good(d, "prod")["tag"] == good
    for m in manifests.load_all():
        assert d.planes["prod"].tasks[m.name].revision == good
    (release,) = d.proof.github.state.releases
    assert release["tag_name"] == "v1.0.0"
    assert all(image.split("@")[1] in release["body"] for image in dev_images.values())
    subjects = {t["sub"] for t in d.proof.github.state.tokens[tokens_before:]}
    assert subjects == {f"repo:{SUBJECT}:environment:dev-plan", f"repo:{SUBJECT}:environment:prod-plan",
                        f"repo:{SUBJECT}:environment:prod"}, subjects  # fmt: skip
    d.good["prod"] = good


def test_f_drift_resolved_closes_its_issue(deploys: Deploys) -> None:
    """(f, closing half) An earlier scheduled run left one open `drift` issue per environment. Dev
    has been applied several times by now ((c), (d) and its rollback): its scheduled plan is empty,
    so its issue gets a comment and is closed. Prod has been applied once ((e)): its first
    scheduled plan still lists attributes Terraform records only at the next apply (as on AWS:
    .github/README.md, design.md "Drift reads back as on AWS"), so its issue stays open, updated
    with the new report."""
    d = deploys
    if "prod" not in d.good or "dev" not in d.good:
        pytest.fail("scenarios (c)-(e) did not deploy dev and prod (run the module in order)")
    state = d.proof.github.state
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
    opened = [i for i in state.issues.values() if i["number"] not in seeded.values() and i["state"] == "open"]
    assert opened == [], "a second drift issue was opened beside the open one"
