"""What the deploy proof modules share (tests/pipeline/test_workflows_deploy.py and
tests/pipeline/test_workflows_release.py): a proof of their own (proof.py) with the loopback data
plane of each environment they deploy (data_plane.py) and that environment's SERVICE_SECRETS, the
push events they send, and how they read what ECS runs and what deploy_record.py recorded."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import manifests
import pytest
import sync_secrets

from tests.pipeline.gha.data_plane import DataPlane
from tests.pipeline.gha.proof import Proof, open_proof, push_event
from tests.pipeline.gha.runner import RunResult
from tests.support.aws import FAKE_AWS_ENV, REGION


@dataclass
class Deploys:
    proof: Proof
    planes: dict[str, DataPlane]
    service_secrets: dict[str, str]  # environment -> SERVICE_SECRETS (KEY=VALUE lines)
    good: dict[str, str] = field(default_factory=dict)  # what a scenario leaves for the next


@contextlib.contextmanager
def open_deploys(tmp_path_factory: pytest.TempPathFactory, envs: tuple[str, ...]) -> Iterator[Deploys]:
    """A proof with a running data plane and generated secret values for each of ``envs``."""
    with open_proof(tmp_path_factory) as proof:
        planes = {env: DataPlane(env, proof.aws.url, proof.act.work, proof.act.blob_store) for env in envs}
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
            yield Deploys(proof, planes, values)
        finally:
            for plane in planes.values():
                print(f"\ndata plane {plane.env_name}:\n  " + "\n  ".join(plane.events))
                plane.stop()


def client(d: Deploys, name: str) -> Any:
    return boto3.client(name, region_name=REGION, endpoint_url=d.proof.aws.url,
                        aws_access_key_id=FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"])  # fmt: skip


def push(
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


def running_images(d: Deploys, env: str) -> dict[str, str]:
    """service -> image of the task definition its ECS service runs now."""
    ecs = client(d, "ecs")
    cluster = f"{manifests.project_name()}-{env}"
    found = {}
    for m in manifests.load_all():
        svc = ecs.describe_services(cluster=cluster, services=[m.name])["services"][0]
        task = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
        found[m.name] = next(c["image"] for c in task["containerDefinitions"] if c["name"] == m.name)
    return found


def last_good(d: Deploys, env: str) -> dict:
    name = f"/{manifests.project_name()}/{env}/deploy/last-good"
    return json.loads(client(d, "ssm").get_parameter(Name=name)["Parameter"]["Value"])
