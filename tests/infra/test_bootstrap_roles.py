"""infra/bootstrap applied for real against its own moto server (state in the emulator's backend).

GitHub OIDC provider, plan role (<env>-plan GitHub environments only), deploy role per environment (its GitHub
environment only), ECR repositories per service; then a re-plan with no changes and a destroy.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import manifests
import pytest
import quotas

from tests.infra import ecr_lifecycle
from tests.infra.tfkit import Terraform, bootstrap_backend, copy_tree, terraform_binary
from tests.support.aws import FAKE_AWS_ENV, REGION, MotoServer
from tests.support.tools import output_dir

pytestmark = [pytest.mark.slow, pytest.mark.tool("terraform")]

REPOSITORY = "example-org/storefront-gitops"
PROJECT = manifests.project_name()
OIDC = "token.actions.githubusercontent.com"


class Bootstrap:
    def __init__(self, server: MotoServer, tf: Terraform):
        self.server = server
        self.tf = tf
        self.vars = [f"-var=github_repository={REPOSITORY}", "-var=max_retries=2"]

    def client(self, name: str) -> Any:
        return boto3.client(
            name,
            region_name=REGION,
            endpoint_url=self.server.url,
            aws_access_key_id=FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bootstrap]:
    terraform_binary()
    work = tmp_path_factory.mktemp("bootstrap-roles")
    infra = copy_tree(work)
    server = MotoServer(output_dir("logs"))
    try:
        env = {**server.env, "AWS_MAX_ATTEMPTS": "1"}
        backend = work / "backend.hcl"
        made = bootstrap_backend("prod", backend, env)
        assert made.returncode == 0, made.stderr
        tf = Terraform(infra / "bootstrap", work / "tfdata", env)
        tf.run(
            "init",
            "-input=false",
            "-no-color",
            f"-backend-config={backend}",
            "-backend-config=key=bootstrap/terraform.tfstate",
        )
        yield Bootstrap(server, tf)
    finally:
        server.stop()


def test_plan_fits_aws_quotas(bootstrap: Bootstrap) -> None:
    """Before the first apply: the rendered policies fit IAM's size quotas (scripts/quotas.py)."""
    bootstrap.tf.run("plan", "-input=false", "-no-color", "-out=quota.tfplan", *bootstrap.vars)
    plan = bootstrap.tf.run("show", "-json", "quota.tfplan").json()
    report = quotas.check_plan(plan)  # type: ignore[arg-type]
    print(f"bootstrap quota findings: {[f.line() for f in report.findings]}", file=sys.stderr)
    # Every document is rendered at plan time, so the check really measured them all.
    assert [u.what for u in report.unknown] == []
    assert [f.line() for f in report.exceeded] == []


def test_apply(bootstrap: Bootstrap) -> None:
    result = bootstrap.tf.run("apply", "-input=false", "-no-color", "-auto-approve", *bootstrap.vars)
    print(f"bootstrap apply: {result.seconds:.1f}s", file=sys.stderr)
    assert "Apply complete!" in result.stdout


def _trust(iam: Any, role: str) -> list[dict[str, Any]]:
    doc = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    return list((json.loads(doc) if isinstance(doc, str) else doc)["Statement"])


def test_roles_trust_only_this_repository(bootstrap: Bootstrap) -> None:
    iam = bootstrap.client("iam")
    (provider,) = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert provider["Arn"].endswith(f"oidc-provider/{OIDC}")
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider["Arn"])["ClientIDList"] == [
        "sts.amazonaws.com"
    ]

    expected = {
        f"{PROJECT}-github-plan": [
            f"repo:{REPOSITORY}:environment:dev-plan",
            f"repo:{REPOSITORY}:environment:prod-plan",
        ],
        f"{PROJECT}-github-deploy-dev": f"repo:{REPOSITORY}:environment:dev",
        f"{PROJECT}-github-deploy-prod": f"repo:{REPOSITORY}:environment:prod",
    }
    for role, subjects in expected.items():
        statements = _trust(iam, role)
        # One statement per trusted GitHub environment, each pinning audience and subject.
        assert [s["Condition"]["StringEquals"] for s in statements] == [
            {f"{OIDC}:aud": "sts.amazonaws.com", f"{OIDC}:sub": subject}
            for subject in ([subjects] if isinstance(subjects, str) else subjects)
        ]
        for statement in statements:
            assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
            assert statement["Principal"] == {"Federated": provider["Arn"]}


def test_no_statement_grants_everything(bootstrap: Bootstrap) -> None:
    iam = bootstrap.client("iam")
    roles = [f"{PROJECT}-github-plan", f"{PROJECT}-github-deploy-dev", f"{PROJECT}-github-deploy-prod"]
    for role in roles:
        attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
        assert attached, role
        for pol in attached:
            meta = iam.get_policy(PolicyArn=pol["PolicyArn"])["Policy"]
            doc = iam.get_policy_version(PolicyArn=pol["PolicyArn"], VersionId=meta["DefaultVersionId"])
            document = doc["PolicyVersion"]["Document"]
            document = json.loads(document) if isinstance(document, str) else document
            for statement in document["Statement"]:
                actions = statement.get("Action", [])
                actions = [actions] if isinstance(actions, str) else actions
                resources = statement.get("Resource", [])
                resources = [resources] if isinstance(resources, str) else resources
                wide = any(a == "*" or a.endswith(":*") for a in actions)
                assert not (wide and "*" in resources and statement["Effect"] == "Allow"), (role, statement)
                if role.endswith("-plan") and "secretsmanager:GetSecretValue" in actions:
                    # Only the edge's origin secret, which the plan needs (CloudFront and the ALB
                    # carry it); no service secret value is readable with the plan role.
                    assert resources, statement
                    assert all(r.endswith("/edge/ORIGIN_VERIFY_*") for r in resources), statement
                if role.endswith("-plan"):
                    assert not any(a.startswith("s3:Put") for a in actions)


def test_ecr_repositories(bootstrap: Bootstrap) -> None:
    ecr = bootstrap.client("ecr")
    repos = {r["repositoryName"]: r for r in ecr.describe_repositories()["repositories"]}
    assert set(repos) == {f"{PROJECT}/{m.name}" for m in manifests.load_all()}
    for name, repo in repos.items():
        assert repo["imageTagMutability"] == "IMMUTABLE"
        assert repo["imageScanningConfiguration"]["scanOnPush"] is True
        policy = json.loads(ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])
        assert policy["rules"][0]["selection"]["countType"] == "imageCountMoreThan"


def _sha(build: int) -> str:
    return f"{build:040x}"


def test_ecr_lifecycle_never_expires_what_an_environment_runs_or_rolls_back_to(bootstrap: Bootstrap) -> None:
    """The applied policy, evaluated as ECR documents it (tests/infra/ecr_lifecycle.py), on 35 dev
    builds, each deployed to dev (tag dev-<sha>, scripts/ci/ci_images.py keep); prod released
    builds 2 (its last good) and 5 (running); dev runs 35 and its last good is 33."""
    ecr = bootstrap.client("ecr")
    name = f"{PROJECT}/{manifests.load_all()[0].name}"
    policy = json.loads(ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])
    prod = {2, 5}
    history = [
        ecr_lifecycle.Image(
            digest=f"sha256:{build:064x}",
            tags=(_sha(build), f"dev-{_sha(build)}", *((f"prod-{_sha(build)}",) if build in prod else ())),
            pushed=build,
        )
        for build in range(1, 36)
    ]
    gone = ecr_lifecycle.expired(policy, history)
    needed = {f"sha256:{b:064x}" for b in (2, 5, 33, 35)}
    assert needed.isdisjoint(gone), sorted(needed & gone)
    assert gone, "old builds nobody runs still expire"


def test_replan_no_changes_then_destroy(bootstrap: Bootstrap, tmp_path: Path) -> None:
    plan = bootstrap.tf.run(
        "plan", "-input=false", "-no-color", "-detailed-exitcode", *bootstrap.vars, check=False
    )
    assert plan.returncode == 0, plan.output[-4000:]
    bootstrap.tf.run("destroy", "-input=false", "-no-color", "-auto-approve", *bootstrap.vars)
    iam = bootstrap.client("iam")
    assert [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(PROJECT)] == []
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    assert bootstrap.client("ecr").describe_repositories()["repositories"] == []
