"""The docker/build-push-action double (tests/pipeline/gha/doubles/image_push.py) and the docker CLI
double (doubles/bin/docker) honour the documented behaviour they stand for: a missing context or
Dockerfile fails the step; a push without a registry login is refused; the pushed manifest's
digest is the `digest` output and what ECR holds under the tag; the image's layer is the build
context without what .dockerignore excludes; an immutable tag cannot be moved to another image."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import boto3
import pytest

from tests.support.aws import FAKE_AWS_ENV, REGION, MotoServer
from tests.support.tools import output_dir

DOUBLES = Path(__file__).parent / "gha" / "doubles"
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


@pytest.fixture(scope="module")
def aws():
    server = MotoServer(output_dir("logs"))
    ecr = boto3.client("ecr", region_name=REGION, endpoint_url=server.url, **{
        "aws_access_key_id": FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"]})  # fmt: skip
    ecr.create_repository(repositoryName="shop/api", imageTagMutability="IMMUTABLE")
    yield server, ecr
    server.stop()


@pytest.fixture
def step(tmp_path: Path, aws):
    server, _ = aws
    context = tmp_path / "ws" / "services"
    (context / "api" / "tests").mkdir(parents=True)
    (context / "api" / "main.py").write_text("print('v1')\n")
    (context / "api" / "tests" / "test_x.py").write_text("")
    (context / "Dockerfile").write_text("FROM scratch\n")
    (context / ".dockerignore").write_text("**/tests\n")
    env = {**server.env, "HOME": str(tmp_path / "home"), "PATH": os.environ["PATH"],
           "IMAGE_BLOB_STORE": str(tmp_path / "blobs")}  # fmt: skip

    def run(
        argv: list[str], job_env: dict[str, str] | None = None, **inputs: str
    ) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
        output = tmp_path / "github-output"
        output.write_text("")
        full = {**env, **(job_env or {}), "GITHUB_OUTPUT": str(output)}
        full.update({f"INPUT_{k.upper().replace('_', '-')}": v for k, v in inputs.items()})
        done = subprocess.run(argv, env=full, cwd=tmp_path / "ws", capture_output=True, text=True, timeout=60)
        return done, dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)

    run.blobs = tmp_path / "blobs"  # type: ignore[attr-defined]
    return run


def _push(step, job_env: dict[str, str] | None = None, **inputs: str):
    return step([sys.executable, str(DOUBLES / "image_push.py")], job_env, **inputs)


def _login(step, job_env: dict[str, str] | None = None, command: str = "login") -> None:
    args = ["-u", "AWS", "-p", "token"] if command == "login" else []
    done, _ = step([str(DOUBLES / "bin" / "docker"), command, *args, f"https://{REGISTRY}"], job_env)
    assert done.returncode == 0, done.stderr
    assert ("Login Succeeded" if command == "login" else "Removing login credentials") in done.stdout


def test_one_jobs_logout_never_logs_another_job_out(step, tmp_path: Path) -> None:
    """Two matrix jobs of one run (act: one machine, one HOME) each log in; the first to finish
    logs out in its post step; the other still pushes, as on GitHub, where each job has a runner
    of its own. Within one job, a logout still refuses the next push."""
    catalog, orders = ({"RUNNER_TEMP": str(tmp_path / name)} for name in ("job-catalog", "job-orders"))
    _login(step, catalog)
    _login(step, orders)
    _login(step, catalog, command="logout")
    inputs = {"context": "services", "file": "services/Dockerfile", "push": "true",
              "tags": f"{REGISTRY}/shop/api:other-job"}  # fmt: skip
    done, _ = _push(step, orders, **inputs)
    assert done.returncode == 0, done.stdout + done.stderr
    _login(step, orders, command="logout")
    done, _ = _push(step, orders, **{**inputs, "tags": f"{REGISTRY}/shop/api:after-logout"})
    assert done.returncode != 0
    assert "no basic auth credentials" in done.stdout + done.stderr


def test_a_missing_context_or_dockerfile_fails_the_step(step) -> None:
    done, outputs = _push(step, context="nowhere", tags=f"{REGISTRY}/shop/api:a", push="true")
    assert done.returncode == 1
    assert "unable to prepare context" in done.stdout
    done, _ = _push(
        step, context="services", file="services/Nope", tags=f"{REGISTRY}/shop/api:a", push="true"
    )
    assert done.returncode == 1
    assert "failed to read dockerfile" in done.stdout
    assert outputs == {}


def test_push_needs_a_login_then_lands_in_ecr_by_digest(step, aws) -> None:
    _, ecr = aws
    inputs = {"context": "services", "file": "services/Dockerfile", "build-args": "REVISION=abc\nSERVICE=api",
              "tags": f"{REGISTRY}/shop/api:abc", "push": "true"}  # fmt: skip
    refused, _ = _push(step, **inputs)
    assert refused.returncode == 1
    assert "no basic auth credentials" in refused.stdout
    _login(step)
    done, outputs = _push(step, **inputs)
    assert done.returncode == 0, done.stdout
    found = ecr.batch_get_image(repositoryName="shop/api", imageIds=[{"imageTag": "abc"}])["images"][0]
    assert found["imageId"]["imageDigest"] == outputs["digest"]
    manifest = json.loads(found["imageManifest"])
    assert manifest["config"]["digest"] == outputs["imageid"]
    assert json.loads(outputs["metadata"])["containerimage.digest"] == outputs["digest"]
    config = json.loads((step.blobs / outputs["imageid"].replace(":", "-")).read_text())
    assert config["config"]["Labels"]["org.opencontainers.image.revision"] == "abc"
    with tarfile.open(step.blobs / manifest["layers"][0]["digest"].replace(":", "-")) as tar:
        names = tar.getnames()
    assert "api/main.py" in names
    assert not [n for n in names if "tests" in n]  # .dockerignore honoured
    again, _ = _push(step, **inputs)  # a re-run pushes the same image: nothing changes
    assert again.returncode == 0, again.stdout
    (step.blobs.parent / "ws" / "services" / "api" / "main.py").write_text("print('v2')\n")
    moved, _ = _push(step, **inputs)  # another image under the same immutable tag
    assert moved.returncode == 1
    assert "ImageTagAlreadyExistsException" in moved.stdout
