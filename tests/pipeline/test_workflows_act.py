"""The pipelines proven by running the real workflow YAML with act (tests/pipeline/gha/runner.py).

Each scenario is one act run of an entry-point workflow (pull-request.yml, release.yml) as GitHub
would start it, with its own assertions on what the fake GitHub recorded and on the emulator. The
scenarios share one emulator, one fake GitHub and one prepared repository. main.yml and drift.yml
run in tests/pipeline/test_workflows_deploy.py, where dev is applied (drift there closes dev's
issue and updates prod's; the script's other branches: tests/pipeline/test_drift_issue_script.py).

Scope inside the proof (the full suite already runs outside it): the `test` job's `make test`
runs with PYTEST_ADDOPTS selecting tests/test_manifests.py, in pytest's own process
(TEST_WORKERS=0); every other job, `needs`, `if`, output and step runs as written. Needs the
shared action cache (the folder named by STOREFRONT_SHARED_DIR): without it these tests are
deselected with a printed reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pipeline.gha.aws_setup import apply_targets, publish_images, table_key
from tests.pipeline.gha.fake_github import BOT
from tests.pipeline.gha.proof import INNER_ENV, SUBJECT, Proof, open_proof, push_event, report
from tests.pipeline.gha.runner import REPOSITORY, commit_change

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared("gha-actions"), pytest.mark.tool("terraform")]


@pytest.fixture(scope="module")
def proof(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proof]:
    with open_proof(tmp_path_factory) as opened:
        yield opened


def _pull_request(number: int, sha: str, head_repo: str) -> dict:
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": sha, "ref": "my-change", "repo": {"full_name": head_repo}},
            "base": {"ref": "main", "repo": {"full_name": REPOSITORY}},
        },
        "repository": {"full_name": REPOSITORY, "name": REPOSITORY.split("/")[1],
                       "owner": {"login": REPOSITORY.split("/")[0]}},
    }  # fmt: skip


def test_a_forked_pull_request_runs_the_checks_only(proof: Proof) -> None:
    """(b) No secrets, no AWS role, no plan, no comment: the plan and comment jobs are skipped."""
    result = proof.act.run(
        "pull_request",
        "pull-request.yml",
        _pull_request(7, proof.sha, "someone/storefront-gitops"),
        ref="refs/pull/7/merge",
        sha=proof.sha,
        secrets={},
        variables={},
        extra_env=INNER_ENV,
    )
    report(result, "fork pull request")
    assert result.returncode == 0, result.log.read_text()[-6000:]
    assert len(result.runs_of("quality")) == 5
    assert result.result("quality") == "success"
    assert result.result("security") == "success"
    assert result.result("test") == "success"
    for skipped in ("plan-dev", "plan-prod", "comment"):
        assert result.result(skipped) is None, f"{skipped} ran for a fork"
    assert proof.github.state.tokens == []  # no job asked for an AWS token
    assert proof.github.state.comments == {}
    assert proof.github.state.sarifs == []  # upload-sarif: false for forks


def test_a_pull_request_plans_dev_and_prod_into_two_sticky_comments(proof: Proof) -> None:
    """(a) Checks, plans of dev and prod with the read-only role (OIDC -> STS), one comment per
    environment, updated in place on later pushes. The pull request already carries what an
    earlier push left (the bot's dev comment) and a person's comment that starts with the prod
    marker: the push updates the bot's dev comment in place, creates the prod one, and leaves
    the person's comment alone (one run proves both branches of the comment step)."""
    variables = {"AWS_PLAN_ROLE_ARN": proof.roles.plan}
    state = proof.github.state
    earlier, person = state.new_id(), state.new_id()
    state.comments[earlier] = {
        "id": earlier,
        "issue": 12,
        "user": BOT,
        "body": "<!-- plan-report:dev -->\nan earlier push's plan",
    }
    quoted = "<!-- plan-report:prod -->\nquoted by a person"
    state.comments[person] = {"id": person, "issue": 12, "user": {"login": "a-person", "type": "User"},
                              "body": quoted}  # fmt: skip
    comments_before = set(state.comments)
    result = proof.act.run(
        "pull_request",
        "pull-request.yml",
        _pull_request(12, proof.sha, REPOSITORY),
        ref="refs/pull/12/merge",
        sha=proof.sha,
        secrets={},
        variables=variables,
        extra_env=INNER_ENV,
    )
    report(result, "pull request")
    assert result.returncode == 0, result.log.read_text()[-6000:]
    assert result.result("plan-dev") == "success"
    assert result.result("plan-prod") == "success"
    created = {i: c for i, c in state.comments.items() if i not in comments_before}
    assert len(created) == 1, created
    (prod,) = created.values()
    dev = state.comments[earlier]
    assert prod["body"].splitlines()[0] == "<!-- plan-report:prod -->"
    assert prod["user"] == BOT
    assert prod["issue"] == 12
    assert prod.get("updates", 0) == 0
    assert dev["body"].splitlines()[0] == "<!-- plan-report:dev -->"
    assert dev.get("updates") == 1, dev  # updated in place, not posted again
    assert all("Terraform plan" in c["body"] for c in (dev, prod))
    assert state.comments[person]["body"] == quoted
    assert "updates" not in state.comments[person]
    subjects = {t["sub"] for t in state.tokens}
    assert subjects == {f"repo:{SUBJECT}:environment:dev-plan", f"repo:{SUBJECT}:environment:prod-plan"}
    assert {t["aud"] for t in state.tokens} == {"sts.amazonaws.com"}
    assert len(state.sarifs) == 2  # bandit + checkov


def test_a_release_whose_plan_destroys_a_table_stops_before_apply(proof: Proof) -> None:
    """(g) prod holds the catalog table; the tagged commit changes its key (a replacement: data
    loss). The release plans prod, stops before any apply with a message saying how to approve,
    and the table is untouched. The commit passed dev (its images and record exist)."""
    table = "storefront-prod-catalog"
    apply_targets(proof.aws, proof.act.work, "prod", ['module.table["catalog"]'])
    assert table_key(proof.aws, table) == "pk"
    manifest = "services/catalog/service.yaml"
    original = (proof.act.repo / manifest).read_text()
    changed = original.replace("hash_key: {name: pk, type: S}", "hash_key: {name: id, type: S}", 1)
    assert changed != original
    sha = commit_change(proof.act.repo, manifest, "", replace=changed)
    try:
        publish_images(proof.aws, proof.act, proof.roles.deploy["dev"], sha)
        result = proof.act.run(
            "push",
            "release.yml",
            push_event("refs/tags/v1.0.0", sha),
            ref="refs/tags/v1.0.0",
            sha=sha,
            secrets={"SERVICE_SECRETS": "CATALOG_API_KEY=x"},
            variables={
                "AWS_PLAN_ROLE_ARN": proof.roles.plan,
                "AWS_DEPLOY_ROLE_ARN": proof.roles.deploy["prod"],
            },
        )
    finally:
        commit_change(proof.act.repo, manifest, "", replace=original)
    report(result, "release with a destructive plan")
    assert result.returncode != 0
    assert result.result("verify") == "success"
    assert result.result("plan") == "failure"
    assert result.result("release") is None, "the approved prod job must never start"
    stop = result.output("plan")
    assert "Destructive plan stopped before apply" in stop
    assert f"APPROVE_DESTRUCTIVE_PLAN_SHA of the GitHub environment prod-plan to {sha}" in stop
    assert "Apply complete" not in result.log.read_text()
    assert table_key(proof.aws, table) == "pk"  # untouched
    subjects = {t["sub"] for t in proof.github.state.tokens[-2:]}
    assert subjects == {f"repo:{SUBJECT}:environment:dev-plan", f"repo:{SUBJECT}:environment:prod-plan"}


def test_a_token_the_role_does_not_trust_is_refused(proof: Proof) -> None:
    """A job whose OIDC token does not satisfy the role's trust policy gets no credentials, as AWS
    refuses it: a release whose `verify` job (environment dev-plan) is pointed at dev's deploy role,
    which trusts only `repo:<repo>:environment:dev`. The real configure-aws-credentials retries
    (its documented backoff, 12 attempts) and fails with AccessDenied; nothing after it runs and
    the run ends red."""
    tokens_before = len(proof.github.state.tokens)
    result = proof.act.run(
        "push",
        "release.yml",
        push_event("refs/tags/v0.0.1", proof.sha),
        ref="refs/tags/v0.0.1",
        sha=proof.sha,
        secrets={},
        variables={
            "AWS_PLAN_ROLE_ARN": proof.roles.deploy["dev"],
            "AWS_DEPLOY_ROLE_ARN": proof.roles.deploy["prod"],
        },
    )
    report(result, "release whose verify job asks a role that does not trust it")
    assert result.returncode != 0
    assert result.result("verify") == "failure"
    for never in ("plan", "release", "release-notes"):
        assert result.result(never) is None, f"{never} ran after the refused credentials"
    refused = result.output("verify")
    assert "Not authorized to perform sts:AssumeRoleWithWebIdentity" in refused, refused[-3000:]
    assert "passed the dev smoke test" not in refused  # the step after the credentials never ran
    asked = {t["sub"] for t in proof.github.state.tokens[tokens_before:]}
    assert asked == {f"repo:{SUBJECT}:environment:dev-plan"}, asked
