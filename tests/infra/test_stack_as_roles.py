"""The local stack deployed from an empty emulator account by the pipeline's roles, IAM enforced.

An administrator (the emulator's unrestricted keys) creates the state backend and applies
infra/bootstrap once, as a person does. Everything after runs with credentials obtained from
GitHub-shaped OIDC tokens (tests/support/oidc.py), which the emulator checks against the roles'
trust policies and then authorizes call by call against their policies (scripts/iam_enforce.py):
init as the plan role, apply as the deploy role, plan as the plan role (no changes at all: it
reads every resource and data source), destroy as the deploy role, after which nothing of the
stack is left (tests/infra/leftovers.py). The emulator's per-role IAM report is
written to test-output/infra/iam-report.txt. Between apply and destroy, the deploy workflow's other
steps run as the deploy role too: `make sync-secrets` (values written, then the services whose first
deployment could not start, the values did not exist yet, rolled until every task runs; twice, the
second changes nothing), static publish, and the reads the smoke step makes (outputs, API keys).
"""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import iam_enforce
import manifests
import pytest
import roll_services
import sync_secrets

from tests.infra.leftovers import leftovers
from tests.infra.tfkit import (
    Terraform,
    all_resources,
    backend_settings,
    bootstrap_backend,
    copy_tree,
    terraform_binary,
)
from tests.support.aws import MotoServer
from tests.support.ecs import running_all
from tests.support.oidc import assume_role_env, github_token
from tests.support.tools import REPO_ROOT, output_dir

pytestmark = [pytest.mark.slow, pytest.mark.tool("terraform")]

PROJECT = manifests.project_name()
ENV = "local"
REPOSITORY = "example-org/storefront-gitops"
ACCOUNT = "123456789012"
DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{PROJECT}-github-deploy-{ENV}"
PLAN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{PROJECT}-github-plan"
TF = ("-input=false", "-no-color")


class World:
    def __init__(self, server: MotoServer, infra: Path, data: Path) -> None:
        self.server = server
        self.infra = infra
        self.data = data
        self.backend = infra / "envs" / ENV / "backend.hcl"
        self.var_file = f"-var-file={infra / 'envs' / ENV / 'terraform.tfvars'}"

    def role_env(self, role_arn: str, environment: str) -> dict[str, str]:
        token = github_token(REPOSITORY, f"environment:{environment}")
        return {**assume_role_env(self.server.url, role_arn, token), "AWS_MAX_ATTEMPTS": "1"}

    def stack(self, role_arn: str, environment: str) -> Terraform:
        tf = Terraform(self.infra / "stack", self.data / "stack", self.role_env(role_arn, environment))
        return tf

    def report(self) -> dict[str, Any]:
        return httpx.get(f"{self.server.url}{iam_enforce.REPORT_PATH}", timeout=10).json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    terraform_binary()
    work = tmp_path_factory.mktemp("stack-as-roles")
    infra = copy_tree(work)
    server = MotoServer(output_dir("logs"))
    admin = {**server.env, "AWS_MAX_ATTEMPTS": "1"}
    world = World(server, infra, work / "tfdata")
    try:
        made = bootstrap_backend(ENV, world.backend, admin)
        assert made.returncode == 0, made.stderr
        boot = Terraform(infra / "bootstrap", work / "tfdata" / "bootstrap", admin)
        boot.run(
            "init", *TF, f"-backend-config={world.backend}", "-backend-config=key=bootstrap/terraform.tfstate"
        )
        boot.run(
            "apply",
            *TF,
            "-auto-approve",
            f"-var=github_repository={REPOSITORY}",
            f'-var=environments=["{ENV}"]',
            f'-var=plan_role_github_environments=["{ENV}-plan"]',
            "-var=max_retries=2",
        )
        yield world
    finally:
        _write_report(world)
        server.stop()


def _write_report(world: World) -> None:
    try:
        data = world.report()
    except httpx.HTTPError:
        return
    out = io.StringIO()
    iam_enforce.print_report(data, out)
    (output_dir("infra") / "iam-report.txt").write_text(out.getvalue())
    (output_dir("infra") / "iam-report.json").write_text(json.dumps(data, indent=2))


def _denials(world: World) -> list[str]:
    return [
        f"{role}: {d['action']} on {d['resource']} ({d['decision']})"
        for role, entry in world.report().items()
        for d in entry["denied"]
    ]


def test_init_as_the_plan_role(world: World) -> None:
    """init reads the state backend as the plan role. No plan of the empty account here: it would
    call only what the plan after the apply calls too (the data sources), which reads every
    resource besides (a plan of the whole stack costs about 9 CPU seconds)."""
    tf = world.stack(PLAN_ROLE, f"{ENV}-plan")
    init = tf.run("init", *TF, f"-backend-config={world.backend}", check=False)
    assert init.returncode == 0, f"first denials: {_denials(world)[:5]}\n{init.output[-3000:]}"


def _change_as_deploy_role(world: World, command: str) -> None:
    tf = world.stack(DEPLOY_ROLE, ENV)
    done = tf.run(command, *TF, "-auto-approve", world.var_file, check=False, timeout=600)
    assert done.returncode == 0, f"first denials: {_denials(world)[:5]}\n{done.output[-3000:]}"


def test_apply_as_the_deploy_role(world: World) -> None:
    _change_as_deploy_role(world, "apply")


def test_plan_as_the_plan_role_after_the_apply_changes_nothing(world: World) -> None:
    tf = world.stack(PLAN_ROLE, f"{ENV}-plan")
    plan = tf.run(
        "plan",
        *TF,
        "-detailed-exitcode",
        "-out=replan.tfplan",
        world.var_file,
        check=False,
    )
    assert plan.returncode in (0, 2), f"first denials: {_denials(world)[:5]}\n{plan.output[-3000:]}"
    if plan.returncode == 2:  # changes: name them (rendering a plan starts the provider again)
        changes = tf.run("show", "-json", "replan.tfplan").json()["resource_changes"]  # type: ignore[index]
        changed = [
            (c["address"], c["change"]["actions"]) for c in changes if c["change"]["actions"] != ["no-op"]
        ]
        assert changed == [], changed
    assert plan.returncode == 0, plan.output[-3000:]


def _script(world: World, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    """``python argv`` (or ``make -s TARGET ENV=local`` when argv starts with "make") with ``env``."""
    command = ["make", "-s", *argv[1:], f"ENV={ENV}"] if argv[0] == "make" else [sys.executable, *argv]
    return subprocess.run(
        command,
        cwd=REPO_ROOT,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _client(world: World, env: dict[str, str], service: str) -> Any:
    """A boto3 client with the role credentials of ``env``."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=env["AWS_REGION"],
        endpoint_url=world.server.url,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
    )


def _deployments(world: World, env: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    names = [m.name for m in manifests.load_all()]
    services = _client(world, env, "ecs").describe_services(
        cluster=roll_services.cluster_name(ENV), services=names
    )
    return {s["serviceName"]: s["deployments"] for s in services["services"]}


def test_secret_sync_as_the_deploy_role_starts_every_service(world: World) -> None:
    """The deploy workflow's secret step, `make sync-secrets` as the pipeline runs it, twice.

    The apply created the secrets without values and the services with them: the emulator's ECS
    (scripts/ecs_tasks.py) started no task, as ECS would not. The step writes the values and rolls
    the services; after it, every service's one deployment runs the task definition Terraform
    registered, all tasks up. The second run writes nothing and rolls nothing."""
    env = world.role_env(DEPLOY_ROLE, ENV)
    assert all(d[0]["rolloutState"] == "FAILED" for d in _deployments(world, env).values())
    values = {w.variable: secrets.token_urlsafe(24) for w in sync_secrets.wanted_secrets(ENV)}
    env["SERVICE_SECRETS"] = "".join(f"{k}={v}\n" for k, v in values.items())
    first = _script(world, env, "make", "sync-secrets")
    assert first.returncode == 0, f"{first.stdout}{first.stderr}\nfirst denials: {_denials(world)[:5]}"
    assert running_all(_client(world, env, "ecs"), ENV), _deployments(world, env)
    # One read of the state (each terraform run starts the provider), every service checked in it.
    state = world.stack(DEPLOY_ROLE, ENV).run("show", "-json").json()
    registered = {r["address"]: r["values"] for r in all_resources(state["values"]["root_module"])}  # type: ignore[index]
    for name, deployments in _deployments(world, env).items():
        address = f'module.service["{name}"].aws_ecs_task_definition.this'
        assert address in registered
        assert registered[address]["arn"] == deployments[0]["taskDefinition"], (name, deployments)
    before = _deployments(world, env)
    again = _script(world, env, "make", "sync-secrets")
    assert again.returncode == 0, again.stderr
    assert "updated" not in again.stdout, again.stdout
    assert "0 rolled" in again.stdout, again.stdout
    assert _deployments(world, env) == before
    assert not any(v in first.stdout + first.stderr for v in values.values()), "a secret value was printed"


def test_static_publish_and_smoke_reads_as_the_deploy_role(world: World) -> None:
    env = world.role_env(DEPLOY_ROLE, ENV)
    published = _script(world, env, "scripts/publish_static.py", "web", "--env", ENV)
    assert published.returncode == 0, (
        f"{published.stdout}{published.stderr}\nfirst denials: {_denials(world)[:5]}"
    )
    # What scripts/ci/smoke_env.py reads before it calls the site: the outputs and the API keys.
    outputs = world.stack(DEPLOY_ROLE, ENV).run("output", "-json").json()
    assert outputs
    sm = _client(world, env, "secretsmanager")
    for m in manifests.load_all():
        for secret in m.secrets:
            if secret.name == "API_KEY":
                assert sm.get_secret_value(SecretId=manifests.resolve_secret(m.name, secret, ENV))[
                    "SecretString"
                ]


def test_destroy_as_the_deploy_role_leaves_nothing(world: World) -> None:
    _change_as_deploy_role(world, "destroy")
    admin = world.server.env  # the emulator's unrestricted keys, as in the fixture
    session = boto3.session.Session(
        region_name=admin["AWS_REGION"],
        aws_access_key_id=admin["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=admin["AWS_SECRET_ACCESS_KEY"],
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=world.server.url)  # type: ignore[call-overload]

    assert leftovers(client, f"{PROJECT}-{ENV}", backend_settings(world.backend)["dynamodb_table"]) == {}


def test_no_call_was_denied(world: World) -> None:
    assert _denials(world) == []
