"""The AWS side of the workflow proof, set up once as a person would before the first run:
the state backends of dev and prod (scripts/bootstrap_backend.py) and infra/bootstrap applied with
admin credentials to the emulator (OIDC provider, plan role, deploy roles, ECR repositories).
The workflows then only ever use the roles' ARNs, as on GitHub (vars AWS_PLAN_ROLE_ARN,
AWS_DEPLOY_ROLE_ARN)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import manifests

from tests.infra.tfkit import Terraform, copy_tree
from tests.pipeline.gha.fake_github import subject_repository
from tests.pipeline.gha.runner import REPOSITORY
from tests.support.aws import FAKE_AWS_ENV, REGION, MotoServer
from tests.support.tools import REPO_ROOT

# The person setting things up (admin); the workflows never get these, only the roles' ARNs.
_ADMIN = {
    "aws_access_key_id": FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
    "aws_secret_access_key": FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
}


@dataclass
class Roles:
    plan: str
    deploy: dict[str, str]


def bootstrap(server: MotoServer, work: Path) -> Roles:
    env = {**server.env, "AWS_MAX_ATTEMPTS": "1"}
    for target in ("dev", "prod"):
        subprocess.run(
            [sys.executable, str(REPO_ROOT / "scripts" / "bootstrap_backend.py"), "--env", target,
             "--backend-file", str(work / f"backend-{target}.hcl")],
            env={**env, "PATH": str(Path(sys.executable).parent)}, capture_output=True, text=True,
            timeout=60, check=True,
        )  # fmt: skip
    infra = copy_tree(work / "bootstrap-src")
    tf = Terraform(infra / "bootstrap", work / "bootstrap-tfdata", env)
    tf.run("init", "-input=false", "-no-color", f"-backend-config={work / 'backend-prod.hcl'}",
           "-backend-config=key=bootstrap/terraform.tfstate")  # fmt: skip
    trusted = subject_repository(REPOSITORY)  # owner@id/name@id, as GitHub writes today's sub claims
    tf.run("apply", "-input=false", "-no-color", "-auto-approve", f"-var=github_repository={trusted}",
           "-var=max_retries=2")  # fmt: skip
    outputs = tf.run("output", "-json").json()
    assert isinstance(outputs, dict)
    return Roles(plan=outputs["plan_role_arn"]["value"], deploy=outputs["deploy_role_arns"]["value"])


def _client(server: MotoServer, name: str) -> Any:
    return boto3.client(name, region_name=REGION, endpoint_url=server.url, **_ADMIN)


def publish_images(server: MotoServer, sha: str, work: Path) -> Path:
    """Images of commit ``sha`` in ECR (an OCI manifest per service, tag = sha), recorded as having
    passed dev's smoke test: what main.yml leaves behind for a release (scripts/ci/deploy_record.py)."""
    ecr = _client(server, "ecr")
    account = _client(server, "sts").get_caller_identity()["Account"]
    images = {}
    for manifest in manifests.load_all():
        repo = f"{manifests.project_name()}/{manifest.name}"
        config = json.dumps({"service": manifest.name, "commit": sha}).encode()
        raw = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(config),
                           "digest": "sha256:" + hashlib.sha256(config).hexdigest()},
                "layers": [],
            }
        )  # fmt: skip
        digest = "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
        ecr.put_image(repositoryName=repo, imageManifest=raw, imageTag=sha, imageDigest=digest)
        images[manifest.name] = {
            "repository": f"{account}.dkr.ecr.{REGION}.amazonaws.com/{repo}",
            "digest": digest,
        }
    path = work / f"images-{sha[:12]}.json"
    path.write_text(json.dumps({"tag": sha, "images": images}))
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "ci" / "deploy_record.py"), "record", "--env", "dev",
         "--images", str(path)],
        env={**server.env, "PATH": str(Path(sys.executable).parent)},
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return path


def apply_targets(server: MotoServer, work: Path, env_name: str, targets: list[str]) -> None:
    """Apply only ``targets`` of the stack to ``env_name`` with admin credentials (the state a
    scenario starts from), from the repository as committed."""
    infra = copy_tree(work / f"stack-{env_name}")
    tf = Terraform(
        infra / "stack", work / f"stack-{env_name}-tfdata", {**server.env, "AWS_MAX_ATTEMPTS": "1"}
    )
    tf.run("init", "-input=false", "-no-color", f"-backend-config={work / f'backend-{env_name}.hcl'}")
    tf.run("apply", "-input=false", "-no-color", "-auto-approve",
           f"-var-file=../envs/{env_name}/terraform.tfvars", "-var=image_tag=seed",
           *[f"-target={t}" for t in targets])  # fmt: skip


def table_key(server: MotoServer, table: str) -> str:
    schema = _client(server, "dynamodb").describe_table(TableName=table)["Table"]["KeySchema"]
    return next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
