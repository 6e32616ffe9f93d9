"""Create (or confirm) the Terraform state backend of one environment, idempotently.

Per account and region: an S3 state bucket (versioning, default encryption, all public access
blocked, a policy denying non-TLS access, old noncurrent versions expiring) and a DynamoDB lock
table (on-demand, point-in-time recovery, deletion protection). Then writes the matching
infra/envs/<env>/backend.hcl. Running it again changes nothing and says so.

    python scripts/bootstrap_backend.py --env local   # AWS_ENDPOINT_URL points at the emulator
    python scripts/bootstrap_backend.py --env prod --region eu-west-1

Exit codes: 0 done, 2 bad input, 3 AWS refused or failed (one line on stderr saying why).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Literal

import boto3
import manifests
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

REPO_ROOT = Path(__file__).resolve().parent.parent
ENVS_DIR = REPO_ROOT / "infra" / "envs"
STATE_KEY = "stack/terraform.tfstate"
NONCURRENT_DAYS = 90

EXIT_OK, EXIT_INPUT, EXIT_AWS = 0, 2, 3


class BackendSpec(BaseModel):
    """What the backend of one environment is called and where it lives."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    env: Literal["dev", "prod", "local"]
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    table: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    key: str = STATE_KEY

    @classmethod
    def default(cls, env: str, region: str, bucket: str | None = None) -> BackendSpec:
        project = manifests.project_name()
        return cls(
            project=project,
            env=env,  # type: ignore[arg-type]
            region=region,
            bucket=bucket or f"{project}-{env}-tfstate-{region}",
            table=f"{project}-{env}-tflock",
        )

    def backend_hcl(self) -> str:
        return (
            f"# Written by scripts/bootstrap_backend.py (make bootstrap-backend ENV={self.env}).\n"
            f"# terraform -chdir=infra/stack init -backend-config=../envs/{self.env}/backend.hcl\n"
            f'bucket         = "{self.bucket}"\n'
            f'key            = "{self.key}"\n'
            f'region         = "{self.region}"\n'
            f'dynamodb_table = "{self.table}"\n'
            "encrypt        = true\n"
        )


class BootstrapError(Exception):
    """AWS refused a step; the message is the one line we print."""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Bootstrapper:
    def __init__(self, spec: BackendSpec, session: boto3.session.Session):
        self.spec = spec
        self.s3 = session.client("s3", region_name=spec.region)
        self.ddb = session.client("dynamodb", region_name=spec.region)
        self.account = session.client("sts", region_name=spec.region).get_caller_identity()["Account"]
        self.report: list[tuple[str, str]] = []
        self.plain_http = str(self.s3.meta.endpoint_url).startswith("http://")

    def _note(self, what: str, outcome: str) -> None:
        self.report.append((what, outcome))

    # --- bucket -------------------------------------------------------------------------------

    def bucket(self) -> None:
        name = self.spec.bucket
        try:
            self.s3.head_bucket(Bucket=name, ExpectedBucketOwner=self.account)
            self._note(f"bucket {name}", "unchanged")
        except ClientError as exc:
            if _code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                raise BootstrapError(
                    f"bucket {name} exists but is not ours or not reachable ({_code(exc)}); "
                    "pass --bucket with another name"
                ) from exc
            args: dict[str, Any] = {"Bucket": name, "ObjectOwnership": "BucketOwnerEnforced"}
            if self.spec.region != "us-east-1":
                args["CreateBucketConfiguration"] = {"LocationConstraint": self.spec.region}
            self.s3.create_bucket(**args)
            self._note(f"bucket {name}", "created")

    def versioning(self) -> None:
        status = self.s3.get_bucket_versioning(Bucket=self.spec.bucket).get("Status")
        if status == "Enabled":
            self._note("bucket versioning", "unchanged")
            return
        self.s3.put_bucket_versioning(Bucket=self.spec.bucket, VersioningConfiguration={"Status": "Enabled"})
        self._note("bucket versioning", "enabled")

    def encryption(self) -> None:
        wanted = {"SSEAlgorithm": "aws:kms"}
        try:
            rules = self.s3.get_bucket_encryption(Bucket=self.spec.bucket)[
                "ServerSideEncryptionConfiguration"
            ]["Rules"]
            current = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
        except ClientError as exc:
            if _code(exc) != "ServerSideEncryptionConfigurationNotFoundError":
                raise
            current = {}
        if current.get("SSEAlgorithm") == wanted["SSEAlgorithm"]:
            self._note("bucket default encryption", "unchanged")
            return
        self.s3.put_bucket_encryption(
            Bucket=self.spec.bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": wanted, "BucketKeyEnabled": True}]
            },
        )
        self._note("bucket default encryption", "set (aws:kms)")

    def public_access_block(self) -> None:
        wanted = {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        }
        try:
            current = self.s3.get_public_access_block(Bucket=self.spec.bucket)[
                "PublicAccessBlockConfiguration"
            ]
        except ClientError as exc:
            if _code(exc) != "NoSuchPublicAccessBlockConfiguration":
                raise
            current = {}
        if current == wanted:
            self._note("bucket public access block", "unchanged")
            return
        self.s3.put_public_access_block(Bucket=self.spec.bucket, PublicAccessBlockConfiguration=wanted)
        self._note("bucket public access block", "set (all blocked)")

    def policy_document(self) -> dict[str, Any]:
        arn = f"arn:aws:s3:::{self.spec.bucket}"
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, f"{arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }

    def policy(self) -> None:
        if self.plain_http:
            # Every request to a plain-HTTP endpoint is non-TLS, and the emulator ignores policy
            # conditions: the deny statement would lock Terraform out of its own state.
            self._note("bucket policy (deny non-TLS)", "skipped: plain-HTTP endpoint (emulator)")
            return
        wanted = self.policy_document()
        try:
            current = json.loads(self.s3.get_bucket_policy(Bucket=self.spec.bucket)["Policy"])
        except ClientError as exc:
            if _code(exc) != "NoSuchBucketPolicy":
                raise
            current = None
        if current == wanted:
            self._note("bucket policy (deny non-TLS)", "unchanged")
            return
        self.s3.put_bucket_policy(Bucket=self.spec.bucket, Policy=json.dumps(wanted))
        self._note("bucket policy (deny non-TLS)", "set")

    def lifecycle(self) -> None:
        wanted = [
            {
                "ID": "expire-old-state-versions",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_DAYS},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
            }
        ]
        try:
            current = self.s3.get_bucket_lifecycle_configuration(Bucket=self.spec.bucket)["Rules"]
        except ClientError as exc:
            if _code(exc) != "NoSuchLifecycleConfiguration":
                raise
            current = []
        if _lifecycle_matches(current, wanted[0]):
            self._note("bucket lifecycle", "unchanged")
            return
        self.s3.put_bucket_lifecycle_configuration(
            Bucket=self.spec.bucket, LifecycleConfiguration={"Rules": wanted}
        )
        self._note("bucket lifecycle", f"set (noncurrent versions expire after {NONCURRENT_DAYS} days)")

    # --- lock table ---------------------------------------------------------------------------

    def table(self) -> None:
        name = self.spec.table
        try:
            desc = self.ddb.describe_table(TableName=name)["Table"]
            self._note(f"lock table {name}", "unchanged")
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            self.ddb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                SSESpecification={"Enabled": True},
                DeletionProtectionEnabled=True,
                Tags=[
                    {"Key": "project", "Value": self.spec.project},
                    {"Key": "environment", "Value": self.spec.env},
                    {"Key": "managed-by", "Value": "bootstrap_backend"},
                ],
            )
            self.ddb.get_waiter("table_exists").wait(
                TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
            )
            desc = self.ddb.describe_table(TableName=name)["Table"]
            self._note(f"lock table {name}", "created")
        if not desc.get("DeletionProtectionEnabled"):
            self.ddb.update_table(TableName=name, DeletionProtectionEnabled=True)
            self._note("lock table deletion protection", "enabled")
        else:
            self._note("lock table deletion protection", "unchanged")
        backups = self.ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
        if pitr == "ENABLED":
            self._note("lock table point-in-time recovery", "unchanged")
        else:
            self.ddb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
            self._note("lock table point-in-time recovery", "enabled")

    # --- backend.hcl --------------------------------------------------------------------------

    def backend_file(self, path: Path) -> None:
        text = self.spec.backend_hcl()
        if path.is_file() and path.read_text() == text:
            self._note(f"backend file {_display(path)}", "unchanged")
            return
        existed = path.is_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self._note(f"backend file {_display(path)}", "updated" if existed else "created")

    def run(self, backend_path: Path) -> list[tuple[str, str]]:
        for step in (
            self.bucket,
            self.versioning,
            self.encryption,
            self.public_access_block,
            self.policy,
            self.lifecycle,
            self.table,
        ):
            step()
        self.backend_file(backend_path)
        return self.report


def _lifecycle_matches(current: list[dict[str, Any]], wanted: dict[str, Any]) -> bool:
    if len(current) != 1:
        return False
    rule = current[0]
    return (
        rule.get("ID") == wanted["ID"]
        and rule.get("Status") == "Enabled"
        and rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") == NONCURRENT_DAYS
        and rule.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 7
    )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="dev, prod or local")
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--bucket", help="state bucket name (default <project>-<env>-tfstate-<region>)")
    parser.add_argument(
        "--backend-file", type=Path, help="where to write backend.hcl (default infra/envs/<env>/backend.hcl)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        spec = BackendSpec.default(args.env, args.region, args.bucket)
    except (ValidationError, ValueError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else {"loc": (), "msg": str(exc)}
        where = ".".join(str(p) for p in first["loc"])
        print(f"bootstrap_backend: invalid input {where}: {first['msg']}", file=sys.stderr)
        return EXIT_INPUT
    backend_path = args.backend_file or ENVS_DIR / spec.env / "backend.hcl"
    try:
        report = Bootstrapper(spec, boto3.session.Session()).run(backend_path)
    except BootstrapError as exc:
        print(f"bootstrap_backend: {exc}", file=sys.stderr)
        return EXIT_AWS
    except (ClientError, BotoCoreError) as exc:
        print(f"bootstrap_backend: AWS call failed: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_AWS
    width = max(len(what) for what, _ in report)
    for what, outcome in report:
        print(f"{what:<{width}}  {outcome}")
    changed = sum(1 for _, outcome in report if outcome != "unchanged" and not outcome.startswith("skipped"))
    print(f"bootstrap_backend: {spec.env} in {spec.region}: {changed} change(s)")
    return EXIT_OK


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


if __name__ == "__main__":
    sys.exit(main())
