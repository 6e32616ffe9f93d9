"""A Terraform plan (``terraform show -json``) as data: actions, stateful resources, redaction.

What scripts/plan_report.py renders (tooling/plan_render.py) is decided here: which action a
change is, which resources hold data a deploy cannot recreate, which attributes changed, and which
values are sensitive (Terraform marks them in ``before_sensitive``/``after_sensitive``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

REDACTED = "(sensitive value)"
VALUE_MAX = 120  # longest attribute value shown in the details
LIST_MAX = 40  # most entries in the warning block and the drift list

# Resources that hold data or identity a deploy cannot recreate: losing one is an incident.
# (pairs, not a dict literal: bandit takes a literal's "secret" key for a hard-coded password)
_STATEFUL = (
    ("aws_dynamodb_table", "DynamoDB table (all items are lost)"),
    ("aws_s3_bucket", "S3 bucket (all objects are lost)"),
    ("aws_lb", "load balancer (DNS name changes, traffic drops)"),
    ("aws_alb", "load balancer (DNS name changes, traffic drops)"),
    ("aws_route53_zone", "Route 53 hosted zone (name servers change, DNS breaks)"),
    ("aws_secretsmanager_secret", "Secrets Manager secret (value is lost)"),
    ("aws_ecr_repository", "ECR repository (all images are lost)"),
    ("aws_kms_key", "KMS key (data encrypted with it becomes unreadable)"),
    ("aws_db_instance", "database instance (data is lost)"),
    ("aws_rds_cluster", "database cluster (data is lost)"),
    ("aws_efs_file_system", "EFS file system (files are lost)"),
)
STATEFUL_TYPES: dict[str, str] = dict(_STATEFUL)

# Order in which actions are counted and listed.
ACTION_ORDER = ["replace", "delete", "create", "update", "read", "forget", "no-op"]
ACTION_LABEL = {
    "create": "create",
    "update": "update in place",
    "replace": "REPLACE (destroy and re-create)",
    "delete": "DESTROY",
    "read": "read",
    "forget": "forget (removed from state, kept in AWS)",
    "no-op": "no change",
}
ACTION_ICON = {
    "create": "+",
    "update": "~",
    "replace": "-/+",
    "delete": "-",
    "read": "<=",
    "forget": ".",
    "no-op": " ",
}


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Change(_Loose):
    actions: list[str]
    before: Any = None
    after: Any = None
    after_unknown: Any = None
    before_sensitive: Any = None
    after_sensitive: Any = None
    replace_paths: list[list[Any]] | None = None


class ResourceChange(_Loose):
    address: str
    type: str = ""
    name: str = ""
    mode: str = "managed"
    change: Change
    action_reason: str | None = None


class Plan(_Loose):
    format_version: str
    terraform_version: str | None = None
    resource_changes: list[ResourceChange] = []
    resource_drift: list[ResourceChange] = []
    output_changes: dict[str, Change] = {}
    errored: bool = False


def action_of(actions: list[str]) -> str:
    """One word for Terraform's action list (``["delete", "create"]`` is a replace)."""
    acts = set(actions)
    if {"delete", "create"} <= acts:
        return "replace"
    if len(actions) == 1 and actions[0] in ACTION_LABEL:
        return actions[0]
    return "+".join(actions)


def is_stateful(rc: ResourceChange) -> bool:
    return rc.mode == "managed" and rc.type in STATEFUL_TYPES


def _sensitive_at(mask: Any, key: Any) -> Any:
    if mask is True:
        return True
    if isinstance(mask, dict) and isinstance(key, str):
        return mask.get(key, False)
    if isinstance(mask, list) and isinstance(key, int) and key < len(mask):
        return mask[key]
    return False


def redact(value: Any, mask: Any) -> Any:
    """``value`` with every part Terraform marked sensitive replaced by a placeholder."""
    if mask is True:
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, _sensitive_at(mask, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, _sensitive_at(mask, i)) for i, v in enumerate(value)]
    return value


KNOWN_AFTER_APPLY = "(known after apply)"


def _short(value: Any) -> str:
    if isinstance(value, str) and value in (REDACTED, KNOWN_AFTER_APPLY):
        text = value
    else:
        text = json.dumps(value, sort_keys=True)
    text = text.replace("|", "\\|").replace("\n", " ").replace("`", "'")
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"


def _empty(value: Any) -> bool:
    return value in (None, [], {}, "")


def changed_attributes(change: Change) -> list[tuple[str, str, str]]:
    """(attribute, before, after) for each top-level attribute that changes, redacted.

    Changes are found on the raw values (so a changed secret is listed) and shown redacted.
    """
    raw_before = change.before if isinstance(change.before, dict) else {}
    raw_after = change.after if isinstance(change.after, dict) else {}
    before = redact(raw_before, change.before_sensitive)
    after = redact(raw_after, change.after_sensitive)
    unknown = change.after_unknown if isinstance(change.after_unknown, dict) else {}
    rows = []
    for key in sorted(set(raw_before) | set(raw_after) | set(unknown)):
        if unknown.get(key) is True:
            rows.append((key, _short(before.get(key)), KNOWN_AFTER_APPLY))
            continue
        b, a = raw_before.get(key), raw_after.get(key)
        if a == b or (_empty(a) and _empty(b)):
            continue
        rows.append((key, _short(before.get(key)), _short(after.get(key))))
    return rows


def is_real_drift(rc: ResourceChange) -> bool:
    """Drift worth a human's time: not only null-versus-empty differences (API echo noise)."""
    if action_of(rc.change.actions) == "no-op":
        return False
    if action_of(rc.change.actions) != "update":
        return True
    return bool(changed_attributes(rc.change))


def rank(action: str) -> int:
    return ACTION_ORDER.index(action) if action in ACTION_ORDER else len(ACTION_ORDER)


def load_plan(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not readable as JSON ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict) or "format_version" not in data:
        raise ValueError(f"{path}: not the output of `terraform show -json <planfile>`")
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{path}: unexpected plan JSON: {exc.errors()[0]['msg']}") from exc
