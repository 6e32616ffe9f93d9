"""No IAM policy statement allows every action ("*") or every action of a service ("s3:*")."""

from __future__ import annotations

import json
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.data.base_check import BaseDataCheck
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

POLICY_RESOURCES = ("aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def is_wildcard(action: Any) -> bool:
    """``*`` or ``service:*`` (a whole service); narrower patterns such as ``s3:Get*`` are allowed."""
    return isinstance(action, str) and (action.strip() == "*" or action.strip().endswith(":*"))


def statement_too_broad(effect: Any, actions: list[Any], not_actions: list[Any]) -> bool:
    if str(effect or "Allow").lower() != "allow":
        return False
    # Allow + NotAction grants everything except the listed actions.
    return bool(not_actions) or any(is_wildcard(a) for a in actions)


def _document(raw: Any) -> dict[str, Any] | None:
    """A policy document from what checkov hands over (JSON text or an already parsed jsonencode())."""
    raw = raw[0] if isinstance(raw, list) and len(raw) == 1 else raw
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return None  # an unresolved reference: nothing to judge here
        return parsed if isinstance(parsed, dict) else None
    return None


class IAMPolicyNoStarActions(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure no IAM policy statement allows '*' or 'service:*' actions",
            id="CKV_SF_5",
            categories=(CheckCategories.IAM,),
            supported_resources=POLICY_RESOURCES,
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["policy"]
        doc = _document(conf.get("policy"))
        if doc is None:
            return CheckResult.UNKNOWN
        for stmt in _as_list(doc.get("Statement")):
            if isinstance(stmt, dict) and statement_too_broad(
                stmt.get("Effect"), _as_list(stmt.get("Action")), _as_list(stmt.get("NotAction"))
            ):
                return CheckResult.FAILED
        return CheckResult.PASSED


class IAMPolicyDocumentNoStarActions(BaseDataCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure no aws_iam_policy_document statement allows '*' or 'service:*' actions",
            id="CKV_SF_6",
            categories=(CheckCategories.IAM,),
            supported_data=("aws_iam_policy_document",),
        )

    def scan_data_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["statement"]
        for stmt in _as_list(conf.get("statement")):
            for s in _as_list(stmt):
                if not isinstance(s, dict):
                    continue
                effect = _as_list(s.get("effect"))
                actions = [a for group in _as_list(s.get("actions")) for a in _as_list(group)]
                not_actions = [a for group in _as_list(s.get("not_actions")) for a in _as_list(group)]
                if statement_too_broad(effect[0] if effect else "Allow", actions, not_actions):
                    return CheckResult.FAILED
        return CheckResult.PASSED


resource_check = IAMPolicyNoStarActions()
data_check = IAMPolicyDocumentNoStarActions()
