"""scripts/iam_policy.py and iam_requests.py: AWS's evaluation rules on small documents."""

from __future__ import annotations

from typing import Any

import pytest
from iam_policy import Decision, evaluate, unsupported_operators
from iam_requests import Call, authorizations

TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/app-dev-orders"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_not_action_and_not_resource() -> None:
    doc = _doc(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::site/*"},
    )
    assert evaluate([doc], "ec2:CreateVpc", None, {}) is Decision.ALLOW
    assert evaluate([doc], "IAM:CreateRole", "*", {}) is Decision.IMPLICIT_DENY  # actions ignore case
    assert evaluate([doc], "s3:GetObject", "arn:aws:s3:::site/a.html", {}) is Decision.ALLOW
    assert evaluate([doc], "s3:GetObject", "arn:aws:s3:::state/key", {}) is Decision.EXPLICIT_DENY


def test_resource_wildcards_match_within_arn_parts() -> None:
    doc = _doc(
        {"Effect": "Allow", "Action": "dynamodb:Get?tem", "Resource": "arn:aws:dynamodb:*:*:table/app-dev-*"}
    )
    assert evaluate([doc], "dynamodb:GetItem", TABLE, {}) is Decision.ALLOW
    assert (
        evaluate([doc], "dynamodb:GetItem", TABLE.replace("app-dev", "app-prod"), {})
        is Decision.IMPLICIT_DENY
    )


@pytest.mark.parametrize(
    ("condition", "context", "allowed"),
    [
        (
            {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}},
            {"aws:RequestedRegion": "us-east-1"},
            True,
        ),
        ({"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}, {}, False),  # missing key: no match
        ({"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}, {}, True),  # negated: missing matches
        ({"StringEqualsIfExists": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}, {}, True),
        ({"StringLike": {"k:sub": "repo:o/r:environment:*"}}, {"k:sub": "repo:o/r:environment:dev"}, True),
        ({"StringLike": {"k:sub": "repo:o/r:environment:*"}}, {"k:sub": "repo:o/r:pull_request"}, False),
        ({"Null": {"aws:TagKeys": "true"}}, {}, True),
        ({"Null": {"aws:TagKeys": "true"}}, {"aws:TagKeys": ["a"]}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["a", "c"]}, False),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["a", "c"]}, True),
        ({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, {"aws:MultiFactorAuthAge": "1"}, False),
    ],
)
def test_conditions(condition: dict[str, Any], context: dict[str, Any], allowed: bool) -> None:
    doc = _doc({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition})
    assert (evaluate([doc], "x:Y", "*", context) is Decision.ALLOW) is allowed


def test_unsupported_operators_are_named() -> None:
    doc = _doc(
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NumericLessThan": {"a": "1"}}}
    )
    assert unsupported_operators(doc) == {"NumericLessThan"}


def _call(**kw: Any) -> Call:
    return Call(**{"service": "s3", "operation": "", "region": "eu-west-1", "account": "123456789012", **kw})


@pytest.mark.parametrize(
    ("method", "query", "resource", "action"),
    [
        ("HEAD", {}, "arn:aws:s3:::b", "s3:ListBucket"),
        ("GET", {"encryption": [""]}, "arn:aws:s3:::b", "s3:GetEncryptionConfiguration"),
        ("PUT", {"publicAccessBlock": [""]}, "arn:aws:s3:::b", "s3:PutBucketPublicAccessBlock"),
        ("HEAD", {}, "arn:aws:s3:::b/k", "s3:GetObject"),
        ("DELETE", {"versionId": ["1"]}, "arn:aws:s3:::b/k", "s3:DeleteObjectVersion"),
        ("POST", {"delete": [""]}, "arn:aws:s3:::b", "s3:DeleteObject"),
    ],
)
def test_s3_operations_map_to_iam_actions(
    method: str, query: dict[str, Any], resource: str, action: str
) -> None:
    ((got, arn, _),) = authorizations(_call(method=method, query=query, s3_resource=resource))
    assert (got, arn) == (action, resource)


def test_batch_alarm_delete_needs_every_alarm_and_region_is_in_context() -> None:
    call = _call(
        service="monitoring",
        operation="DeleteAlarms",
        params={"AlarmNames.member.1": "a", "AlarmNames.member.2": "b"},
    )
    needed = authorizations(call)
    assert [(a, r) for a, r, _ in needed] == [
        ("cloudwatch:DeleteAlarms", "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a"),
        ("cloudwatch:DeleteAlarms", "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:b"),
    ]
    assert needed[0][2] == {"aws:RequestedRegion": "eu-west-1"}
