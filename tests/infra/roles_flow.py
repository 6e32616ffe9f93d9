"""The pipeline's roles on the `local` stack of tests/infra/test_stack_lifecycle.py, IAM enforced.

An administrator (the emulator's unrestricted keys) creates the state backend and applies
infra/bootstrap once, as a person does. The stack's own steps run with credentials obtained from
GitHub-shaped OIDC tokens (tests/support/oidc.py), which the emulator checks against the roles'
trust policies and then authorizes call by call against their policies (scripts/iam_enforce.py):
init and the plan after the apply as the plan role, apply, `make sync-secrets`, the static publish,
the smoke step's reads and the destroy as the deploy role. The emulator's per-role IAM report is
written to test-output/infra/iam-report.txt.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import httpx
import iam_enforce
import manifests
import roll_services
import sync_secrets

from tests.infra.leftovers import leftovers
from tests.infra.tfkit import Terraform, backend_settings
from tests.support.aws import MotoServer
from tests.support.ecs import running_all
from tests.support.oidc import assume_role_env, github_token
from tests.support.tools import REPO_ROOT, output_dir

PROJECT = manifests.project_name()
ENV = "local"
REPOSITORY = "example-org/storefront-gitops"
ACCOUNT = "123456789012"
DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{PROJECT}-github-deploy-{ENV}"
PLAN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{PROJECT}-github-plan"
PLAN_ENVIRONMENT = f"{ENV}-plan"  # the GitHub environment whose token the plan role trusts
TF = ("-input=false", "-no-color")


def bootstrap_roles(server: MotoServer, infra: Path, data: Path, backend: Path) -> None:
    """infra/bootstrap applied by an administrator, its state beside the stack's."""
    admin = {**server.env, "AWS_MAX_ATTEMPTS": "1"}
    boot = Terraform(infra / "bootstrap", data / "bootstrap", admin)
    boot.run("init", *TF, f"-backend-config={backend}", "-backend-config=key=bootstrap/terraform.tfstate")
    boot.run(
        "apply",
        *TF,
        "-auto-approve",
        f"-var=github_repository={REPOSITORY}",
        f'-var=environments=["{ENV}"]',
        f'-var=plan_role_github_environments=["{PLAN_ENVIRONMENT}"]',
        "-var=max_retries=2",
    )


def role_env(server: MotoServer, role_arn: str, environment: str) -> dict[str, str]:
    """The environment a job of GitHub ``environment`` gets after assuming ``role_arn``."""
    token = github_token(REPOSITORY, f"environment:{environment}")
    return {**assume_role_env(server.url, role_arn, token), "AWS_MAX_ATTEMPTS": "1"}


def iam_report(server: MotoServer) -> dict[str, Any]:
    return httpx.get(f"{server.url}{iam_enforce.REPORT_PATH}", timeout=10).json()  # type: ignore[no-any-return]


def denials(server: MotoServer) -> list[str]:
    return [
        f"{role}: {d['action']} on {d['resource']} ({d['decision']})"
        for role, entry in iam_report(server).items()
        for d in entry["denied"]
    ]


def write_iam_report(server: MotoServer) -> None:
    """test-output/infra/iam-report.{txt,json}; nothing when the emulator no longer answers."""
    try:
        data = iam_report(server)
    except httpx.HTTPError:
        return
    out = io.StringIO()
    iam_enforce.print_report(data, out)
    (output_dir("infra") / "iam-report.txt").write_text(out.getvalue())
    (output_dir("infra") / "iam-report.json").write_text(json.dumps(data, indent=2))


def _script(env: Mapping[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
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


def _client(server: MotoServer, env: Mapping[str, str], service: str) -> Any:
    """A boto3 client with the role credentials of ``env``."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=env["AWS_REGION"],
        endpoint_url=server.url,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
    )


def _deployments(server: MotoServer, env: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    names = [m.name for m in manifests.load_all()]
    services = _client(server, env, "ecs").describe_services(
        cluster=roll_services.cluster_name(ENV), services=names
    )
    return {s["serviceName"]: s["deployments"] for s in services["services"]}


def secret_sync_starts_every_service(server: MotoServer, registered: Mapping[str, Any]) -> None:
    """The deploy workflow's secret step, `make sync-secrets` as the pipeline runs it, twice.

    The apply created the secrets without values and the services with them: the emulator's ECS
    (scripts/ecs_tasks.py) started no task, as ECS would not. The step writes the values and rolls
    the services; after it, every service's one deployment runs the task definition Terraform
    registered (``registered``: the state's resources by address), all tasks up. The second run
    writes nothing and rolls nothing."""
    env = role_env(server, DEPLOY_ROLE, ENV)
    assert all(d[0]["rolloutState"] == "FAILED" for d in _deployments(server, env).values())
    values = {w.variable: secrets.token_urlsafe(24) for w in sync_secrets.wanted_secrets(ENV)}
    env["SERVICE_SECRETS"] = "".join(f"{k}={v}\n" for k, v in values.items())
    first = _script(env, "make", "sync-secrets")
    assert first.returncode == 0, f"{first.stdout}{first.stderr}\nfirst denials: {denials(server)[:5]}"
    assert running_all(_client(server, env, "ecs"), ENV), _deployments(server, env)
    for name, deployments in _deployments(server, env).items():
        address = f'module.service["{name}"].aws_ecs_task_definition.this'
        assert address in registered
        assert registered[address]["arn"] == deployments[0]["taskDefinition"], (name, deployments)
    before = _deployments(server, env)
    again = _script(env, "make", "sync-secrets")
    assert again.returncode == 0, again.stderr
    assert "updated" not in again.stdout, again.stdout
    assert "0 rolled" in again.stdout, again.stdout
    assert _deployments(server, env) == before
    assert not any(v in first.stdout + first.stderr for v in values.values()), "a secret value was printed"


def static_publish_and_smoke_reads(server: MotoServer, deploy_tf: Terraform) -> None:
    """The deploy workflow's static step, and what scripts/ci/smoke_env.py reads before it calls
    the site (the outputs and the API keys), as the deploy role. The bucket is still empty: every
    file of web/ is uploaded and CloudFront invalidated, so the role's writes are exercised."""
    env = role_env(server, DEPLOY_ROLE, ENV)
    published = _script(env, "scripts/publish_static.py", "web", "--env", ENV, "--json")
    assert published.returncode == 0, (
        f"{published.stdout}{published.stderr}\nfirst denials: {denials(server)[:5]}"
    )
    report = json.loads(published.stdout)
    assert "index.html" in report["uploaded"], report
    assert report["unchanged"] == [], report
    assert report["invalidated"], report
    assert report["invalidation_id"], report
    outputs = deploy_tf.run("output", "-json").json()
    assert outputs
    sm = _client(server, env, "secretsmanager")
    for m in manifests.load_all():
        for secret in m.secrets:
            if secret.name == "API_KEY":
                assert sm.get_secret_value(SecretId=manifests.resolve_secret(m.name, secret, ENV))[
                    "SecretString"
                ]


def destroy_leaves_nothing(server: MotoServer, deploy_tf: Terraform, var_file: str, backend: Path) -> None:
    """destroy as the deploy role (``deploy_tf``); then nothing of the stack is left
    (tests/infra/leftovers.py), read with the emulator's unrestricted keys."""
    done = deploy_tf.run("destroy", *TF, "-auto-approve", var_file, check=False, timeout=600)
    assert done.returncode == 0, f"first denials: {denials(server)[:5]}\n{done.output[-3000:]}"
    admin = server.env
    session = boto3.session.Session(
        region_name=admin["AWS_REGION"],
        aws_access_key_id=admin["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=admin["AWS_SECRET_ACCESS_KEY"],
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=server.url)  # type: ignore[call-overload]

    assert leftovers(client, f"{PROJECT}-{ENV}", backend_settings(backend)["dynamodb_table"]) == {}
