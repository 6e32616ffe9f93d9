"""The emulator enforces IAM for assumed-role credentials (scripts/iam_enforce.py).

One emulator for the module. The administrator (the fake ``testing`` keys) creates a GitHub OIDC
provider and a role the way infra/bootstrap does; a GitHub-shaped token (tests/support/oidc.py)
assumes it. Each check would pass against stock moto, which grants any role to any token and
allows every call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support.aws import FAKE_AWS_ENV, REGION, MotoServer
from tests.support.oidc import assume_role_env, github_token
from tests.support.tools import output_dir

REPO = "example-org/storefront-gitops"
ACCOUNT = "123456789012"
OIDC_HOST = "token.actions.githubusercontent.com"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC_HOST}"
ROLE = "app-github-deploy-dev"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/app-boundary-dev"

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{OIDC_HOST}:aud": "sts.amazonaws.com",
                    f"{OIDC_HOST}:sub": f"repo:{REPO}:environment:dev",
                }
            },
        }
    ],
}
INLINE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Tables",
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Describe*", "dynamodb:DeleteTable"],
            "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/app-dev-*",
        },
        {
            "Sid": "Objects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::app-dev-site/*",
        },
        {
            "Sid": "ReadNetworkHereOnly",
            "Effect": "Allow",
            "Action": "ec2:DescribeVpcs",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": REGION}},
        },
        {"Sid": "NeverUsed", "Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
        {
            "Sid": "RolesOnlyWithTheBoundary",
            "Effect": "Allow",
            "Action": ["iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"],
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/app-dev-*",
            "Condition": {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY}},
        },
        {
            "Sid": "KeepBoundaries",
            "Effect": "Deny",
            "Action": "iam:DeleteRolePermissionsBoundary",
            "Resource": "*",
        },
    ],
}
MANAGED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "KeepTheLockTable",
            "Effect": "Deny",
            "Action": "dynamodb:DeleteTable",
            "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/app-dev-tflock",
        },
        {
            "Sid": "RegisterTasks",
            "Effect": "Allow",
            "Action": "ecs:RegisterTaskDefinition",
            "Resource": "*",
        },
    ],
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = MotoServer(output_dir("logs"))
    url = server.url
    try:
        iam = _client(url, "iam")
        iam.create_open_id_connect_provider(Url=f"https://{OIDC_HOST}", ClientIDList=["sts.amazonaws.com"])
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))
        iam.put_role_policy(RoleName=ROLE, PolicyName="inline", PolicyDocument=json.dumps(INLINE))
        arn = iam.create_policy(PolicyName="managed", PolicyDocument=json.dumps(MANAGED))["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=ROLE, PolicyArn=arn)
        ddb = _client(url, "dynamodb")
        for table in ("app-dev-orders", "app-dev-tflock", "other-table"):
            ddb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        s3 = _client(url, "s3")
        s3.create_bucket(Bucket="app-dev-site", CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket="app-dev-site", Key="index.html", Body=b"<p>hi</p>")
        yield url
    finally:
        server.stop()


def _client(url: str, service: str, region: str = REGION, env: dict[str, str] | None = None) -> Any:
    """A boto3 client with the administrator's fake keys, or with the credentials in ``env``."""
    env = env or {k: v for k, v in FAKE_AWS_ENV.items() if k != "AWS_SESSION_TOKEN"}
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
    )


def _as_role(url: str, service: str, region: str = REGION, subject: str = "environment:dev") -> Any:
    return _client(url, service, region, assume_role_env(url, ROLE_ARN, github_token(REPO, subject)))


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@pytest.mark.parametrize(
    ("role", "repository", "subject", "claims", "code"),
    [
        (ROLE_ARN, REPO, "environment:prod", {}, "AccessDenied"),  # another environment
        (ROLE_ARN, REPO, "pull_request", {}, "AccessDenied"),  # a pull request
        (ROLE_ARN, "someone/fork", "environment:dev", {}, "AccessDenied"),  # another repository
        (ROLE_ARN, REPO, "environment:dev", {"audience": "other"}, "InvalidIdentityToken"),
        (ROLE_ARN, REPO, "environment:dev", {"iss": "https://example.invalid"}, "InvalidIdentityToken"),
        (ROLE_ARN, REPO, "environment:dev", {"lifetime": -60}, "ExpiredTokenException"),
        (f"arn:aws:iam::{ACCOUNT}:role/no-such-role", REPO, "environment:dev", {}, "AccessDenied"),
    ],
    ids=["other-env", "pull-request", "fork", "audience", "issuer", "expired", "no-role"],
)
def test_web_identity_refused(
    endpoint: str, role: str, repository: str, subject: str, claims: dict[str, Any], code: str
) -> None:
    with pytest.raises(ClientError) as exc:
        assume_role_env(endpoint, role, github_token(repository, subject, **claims))  # minted now: fresh
    assert _code(exc) == code


def test_garbage_token_refused(endpoint: str) -> None:
    with pytest.raises(ClientError) as exc:
        assume_role_env(endpoint, ROLE_ARN, "not-a-jwt")
    assert _code(exc) == "InvalidIdentityToken"


def test_web_identity_granted_and_caller_is_the_role(endpoint: str) -> None:
    who = _as_role(endpoint, "sts").get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/GitHubActions"


def test_resource_arns_are_matched(endpoint: str) -> None:
    ddb = _as_role(endpoint, "dynamodb")
    ddb.put_item(TableName="app-dev-orders", Item={"pk": {"S": "1"}})
    assert ddb.get_item(TableName="app-dev-orders", Key={"pk": {"S": "1"}})["Item"]
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName="other-table", Item={"pk": {"S": "1"}})
    assert _code(exc) == "AccessDeniedException"
    assert "dynamodb:PutItem on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/other-table" in str(
        exc.value
    )


def test_explicit_deny_wins_over_an_allow(endpoint: str) -> None:
    ddb = _as_role(endpoint, "dynamodb")
    with pytest.raises(ClientError) as exc:
        ddb.delete_table(TableName="app-dev-tflock")
    assert "explicit deny" in str(exc.value)
    assert _client(endpoint, "dynamodb").describe_table(TableName="app-dev-tflock")["Table"]


def test_s3_actions_are_iam_actions(endpoint: str) -> None:
    s3 = _as_role(endpoint, "s3")
    assert s3.get_object(Bucket="app-dev-site", Key="index.html")["Body"].read() == b"<p>hi</p>"
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket="app-dev-site")  # s3:ListBucket is not granted
    assert _code(exc) == "AccessDenied"


def test_region_condition(endpoint: str) -> None:
    assert "Vpcs" in _as_role(endpoint, "ec2").describe_vpcs()
    with pytest.raises(ClientError) as exc:
        _as_role(endpoint, "ec2", region="us-west-2").describe_vpcs()
    assert _code(exc) == "UnauthorizedOperation"


def test_passing_a_role_needs_iam_pass_role(endpoint: str) -> None:
    ecs = _as_role(endpoint, "ecs")
    definition = {"family": "app-dev-x", "containerDefinitions": [{"name": "x", "image": "x", "memory": 64}]}
    ecs.register_task_definition(**definition)
    with pytest.raises(ClientError) as exc:
        ecs.register_task_definition(
            **definition, executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/app-dev-exec"
        )
    assert "iam:PassRole" in str(exc.value)


def test_roles_only_with_the_permissions_boundary(endpoint: str) -> None:
    """iam:PermissionsBoundary: the boundary in CreateRole, the role's current one for PutRolePolicy."""
    iam = _as_role(endpoint, "iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    policy = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    for boundary in ({}, {"PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/other"}):
        with pytest.raises(ClientError) as exc:
            iam.create_role(RoleName="app-dev-escalate", AssumeRolePolicyDocument=trust, **boundary)
        assert "iam:CreateRole" in str(exc.value)
    iam.create_role(RoleName="app-dev-bounded", AssumeRolePolicyDocument=trust, PermissionsBoundary=BOUNDARY)
    iam.put_role_policy(RoleName="app-dev-bounded", PolicyName="p", PolicyDocument=policy)
    with pytest.raises(ClientError) as exc:
        iam.delete_role_permissions_boundary(RoleName="app-dev-bounded")
    assert "explicit deny" in str(exc.value)
    _client(endpoint, "iam").create_role(RoleName="app-dev-unbounded", AssumeRolePolicyDocument=trust)
    with pytest.raises(ClientError) as exc:
        iam.put_role_policy(RoleName="app-dev-unbounded", PolicyName="p", PolicyDocument=policy)
    assert "iam:PutRolePolicy" in str(exc.value)


def test_administrator_is_not_restricted(endpoint: str) -> None:
    _client(endpoint, "dynamodb").put_item(TableName="other-table", Item={"pk": {"S": "admin"}})
    _client(endpoint, "sns").create_topic(Name="anything")


def test_report_lists_used_unused_and_denied(endpoint: str) -> None:
    ddb = _as_role(endpoint, "dynamodb")
    ddb.get_item(TableName="app-dev-orders", Key={"pk": {"S": "1"}})
    with pytest.raises(ClientError):
        ddb.put_item(TableName="other-table", Item={"pk": {"S": "report"}})
    report = httpx.get(f"{endpoint}/_emulator/iam", timeout=10).json()[ROLE]
    assert report["used"]["dynamodb:GetItem"] >= 1
    assert "sns:Publish" in report["granted_never_used"]
    assert "dynamodb:GetItem" not in report["granted_never_used"]
    assert {
        "action": "dynamodb:PutItem",
        "resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other-table",
        "decision": "implicit deny",
    } in report["denied"]
