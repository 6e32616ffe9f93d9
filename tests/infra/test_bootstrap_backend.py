"""scripts/bootstrap_backend.py against its own moto server: idempotent, complete, clear failures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bootstrap_backend
import boto3
import pytest

from tests.support.aws import FAKE_AWS_ENV, REGION, MotoServer
from tests.support.procs import free_port
from tests.support.tools import REPO_ROOT, output_dir

SCRIPT = REPO_ROOT / "scripts" / "bootstrap_backend.py"


@pytest.fixture(scope="module")
def emulator() -> Iterator[MotoServer]:
    server = MotoServer(output_dir("logs"))
    yield server
    server.stop()


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def client(server: MotoServer, name: str) -> Any:
    return boto3.client(
        name,
        region_name=REGION,
        endpoint_url=server.url,
        aws_access_key_id=FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def outcomes(stdout: str) -> dict[str, str]:
    lines = [line for line in stdout.splitlines() if not line.startswith("bootstrap_backend:")]
    return dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in lines)


def test_creates_everything_then_changes_nothing(emulator: MotoServer, tmp_path: Path) -> None:
    backend = tmp_path / "backend.hcl"
    first = run(emulator.env, "--env", "dev", "--backend-file", str(backend))
    assert first.returncode == 0, first.stderr
    assert "bucket storefront-dev-tfstate-eu-west-1" in first.stdout
    assert "created" in first.stdout
    assert "lock table storefront-dev-tflock" in first.stdout

    second = run(emulator.env, "--env", "dev", "--backend-file", str(backend))
    assert second.returncode == 0, second.stderr
    assert second.stdout.rstrip().endswith("0 change(s)"), second.stdout
    assert all(
        o in {"unchanged", "skipped: plain-HTTP endpoint (emulator)"}
        for o in outcomes(second.stdout).values()
    )

    s3, ddb = client(emulator, "s3"), client(emulator, "dynamodb")
    bucket = "storefront-dev-tfstate-eu-west-1"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == bootstrap_backend.NONCURRENT_DAYS
    table = ddb.describe_table(TableName="storefront-dev-tflock")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["DeletionProtectionEnabled"] is True
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["LockID"]
    pitr = ddb.describe_continuous_backups(TableName="storefront-dev-tflock")["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert backend.read_text() == (REPO_ROOT / "infra" / "envs" / "dev" / "backend.hcl").read_text()


def test_repairs_drift(emulator: MotoServer, tmp_path: Path) -> None:
    backend = tmp_path / "backend.hcl"
    assert run(emulator.env, "--env", "prod", "--backend-file", str(backend)).returncode == 0
    s3 = client(emulator, "s3")
    bucket = "storefront-prod-tfstate-eu-west-1"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_public_access_block(Bucket=bucket)
    backend.write_text("stale\n")
    again = run(emulator.env, "--env", "prod", "--backend-file", str(backend))
    assert again.returncode == 0, again.stderr
    changed = outcomes(again.stdout)
    assert changed["bucket versioning"] == "enabled"
    assert changed["bucket public access block"] == "set (all blocked)"
    assert changed[f"backend file {backend}"] == "updated"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert again.stdout.rstrip().endswith("3 change(s)"), again.stdout


def test_bad_input_changes_nothing(emulator: MotoServer, tmp_path: Path) -> None:
    before = {b["Name"] for b in client(emulator, "s3").list_buckets()["Buckets"]}
    for args in (
        ["--env", "staging"],
        ["--env", "dev", "--region", "Europe"],
        ["--env", "dev", "--bucket", "Bad_Name"],
    ):
        result = run(emulator.env, *args, "--backend-file", str(tmp_path / "backend.hcl"))
        assert result.returncode == bootstrap_backend.EXIT_INPUT, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
        assert "invalid input" in result.stderr
    assert {b["Name"] for b in client(emulator, "s3").list_buckets()["Buckets"]} == before
    assert not (tmp_path / "backend.hcl").exists()


def test_unreachable_aws_is_one_clear_line(tmp_path: Path) -> None:
    dead = {**FAKE_AWS_ENV, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    result = run(dead, "--env", "dev", "--backend-file", str(tmp_path / "backend.hcl"))
    assert result.returncode == bootstrap_backend.EXIT_AWS
    assert result.stderr.startswith("bootstrap_backend: AWS call failed")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "backend.hcl").exists()


def test_tls_only_policy_document() -> None:
    spec = bootstrap_backend.BackendSpec.default("prod", REGION)
    doc = bootstrap_backend.Bootstrapper.policy_document(_SpecOnly(spec))  # type: ignore[arg-type]
    (statement,) = doc["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statement["Resource"] == [f"arn:aws:s3:::{spec.bucket}", f"arn:aws:s3:::{spec.bucket}/*"]


class _SpecOnly:
    def __init__(self, spec: bootstrap_backend.BackendSpec):
        self.spec = spec


@pytest.mark.parametrize("env", ["dev", "prod", "local"])
def test_committed_backend_files_match_the_script(env: str) -> None:
    expected = bootstrap_backend.BackendSpec.default(env, REGION).backend_hcl()
    assert (REPO_ROOT / "infra" / "envs" / env / "backend.hcl").read_text() == expected
