"""The AWS side of the workflow proof, set up once as a person would before the first run:
the state backends of dev and prod (scripts/bootstrap_backend.py) and infra/bootstrap applied with
admin credentials to the emulator (OIDC provider, plan role, deploy roles, ECR repositories).
The workflows then only ever use the roles' ARNs, as on GitHub (vars AWS_PLAN_ROLE_ARN,
AWS_DEPLOY_ROLE_ARN). Also the states a scenario starts from: a commit's images pushed and recorded
as main.yml leaves them (publish_images), parts of a stack applied (apply_targets)."""

from __future__ import annotations

import base64
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import manifests

from tests.infra.tfkit import Terraform, copy_tree
from tests.pipeline.gha.fake_github import subject_repository
from tests.pipeline.gha.runner import DOUBLES, REPOSITORY, Act
from tests.pipeline.workflows import WORKFLOWS_DIR, load
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


def _github_outputs(path: Path) -> dict[str, str]:
    """A step's $GITHUB_OUTPUT file read as the runner reads it (``k=v`` and ``k<<DELIM`` blocks)."""
    values: dict[str, str] = {}
    lines = iter(path.read_text().splitlines())
    for line in lines:
        key, sep, value = line.partition("=")
        if "<<" in line and (not sep or "<<" in key):
            key, delim = line.split("<<", 1)
            values[key] = "\n".join(iter(lambda: next(lines), delim))
        elif sep:
            values[key] = value
    return values


def _step(argv: list[str], env: dict[str, str], cwd: Path, outputs: Path | None = None) -> dict[str, str]:
    """Run one step of a job; its outputs. A failing step fails the setup with its own output."""
    if outputs is not None:
        outputs.write_text("")
        env = {**env, "GITHUB_OUTPUT": str(outputs)}
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{argv[1:3]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return _github_outputs(outputs) if outputs is not None else {}


def publish_images(server: MotoServer, act: Act, role_arn: str, sha: str) -> Path:
    """What main.yml leaves behind for a release of commit ``sha`` (checked out in ``act.repo``):
    its images in ECR under tag ``sha``, built and pushed by the SAME steps as the build job of
    .github/workflows/reusable-images.yml (amazon-ecr-login's `docker login` with an ECR
    authorization token, `ci_images.py prepare`, the build-push double image_push.py with that
    job's inputs, `ci_images.py record`; then the collect job's `ci_images.py collect`), in the
    runner's environment (act.env: its PATH with the docker CLI double, its HOME holding the login)
    with the role ``role_arn`` assumed, the layers in act.blob_store where the data plane reads
    them; then recorded as having passed dev's smoke test, as main.yml's record-good job does
    (scripts/ci/deploy_record.py record --env dev). Returns the images file."""
    head = subprocess.run(["git", "-C", str(act.repo), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert head.stdout.strip() == sha, f"{act.repo} is at {head.stdout.strip()}, not {sha}"
    assumed = _client(server, "sts").assume_role(RoleArn=role_arn, RoleSessionName=f"images-{sha[:12]}")
    keys = {
        "aws_access_key_id": assumed["Credentials"]["AccessKeyId"],
        "aws_secret_access_key": assumed["Credentials"]["SecretAccessKey"],
        "aws_session_token": assumed["Credentials"]["SessionToken"],
    }
    env = {
        **act.env,
        **server.env,
        **{k.upper(): v for k, v in keys.items()},
        "IMAGE_BLOB_STORE": str(act.blob_store),
        "IMAGE_SOURCE": f"https://github.com/{REPOSITORY}",  # github.server_url/github.repository
    }
    auth = boto3.client("ecr", region_name=REGION, endpoint_url=server.url, **keys).get_authorization_token()
    endpoint = auth["authorizationData"][0]["proxyEndpoint"]
    token = auth["authorizationData"][0]["authorizationToken"]
    user, password = base64.b64decode(token).decode().split(":", 1)
    work = act.work / f"images-{sha[:12]}"
    (work / "digests").mkdir(parents=True, exist_ok=True)

    def ci(script: str, *args: str, outputs: Path | None = None) -> dict[str, str]:
        argv = [sys.executable, str(act.repo / "scripts" / "ci" / script), *args]
        return _step(argv, env, act.repo, outputs)

    # The token decodes to `user:password` for `docker login` (ECR API Reference, AuthorizationData:
    # https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_AuthorizationData.html);
    # amazon-ecr-login's own call (its index.js): `docker login -u <user> -p <password> <proxyEndpoint>`
    _step(["docker", "login", "-u", user, "-p", password, endpoint], env, act.repo)
    registry = endpoint.split("://", 1)[-1]
    # The build step's own fixed inputs, read from the workflow (its build-args and tags come from
    # the plan step's outputs, below).
    build = next(
        step
        for step in load(WORKFLOWS_DIR / "reusable-images.yml")["jobs"]["build"]["steps"]
        if str(step.get("uses", "")).startswith("docker/build-push-action@")
    )
    build_inputs = {f"INPUT_{k.upper()}": str(build["with"][k]).lower() if k == "push" else build["with"][k]
                    for k in ("context", "file", "push")}  # fmt: skip
    for name in (m.name for m in manifests.load_all()):
        out = work / f"{name}.plan"
        plan = ci("ci_images.py", "prepare", "--service", name, "--registry", registry, "--tag", sha,
                  "--github-output", str(out), outputs=out)  # fmt: skip
        inputs = {**build_inputs, "INPUT_BUILD-ARGS": plan["build-args"], "INPUT_TAGS": plan["image"]}
        argv = [sys.executable, str(DOUBLES / "image_push.py")]
        pushed = _step(argv, {**env, **inputs}, act.repo, work / f"{name}.push")
        ci("ci_images.py", "record", "--service", name, "--repository", plan["repository"], "--tag", sha,
           "--digest", pushed["digest"], "--out", str(work / "digests" / f"{name}.json"))  # fmt: skip
    images = work / "images.json"
    ci("ci_images.py", "collect", "--dir", str(work / "digests"), "--out", str(images))
    ci("deploy_record.py", "record", "--env", "dev", "--images", str(images))
    return images


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
