"""IAM policy evaluation as AWS documents it, for the emulator (no moto, no I/O: pure functions).

Within one account, for an identity-based request (the AWS "policy evaluation logic" page):
1. an explicit ``Deny`` in any policy that matches the request wins;
2. otherwise an ``Allow`` that matches the request allows it;
3. otherwise the request is implicitly denied.

A statement matches when its ``Action`` (or ``NotAction``), its ``Resource`` (or ``NotResource``)
and every ``Condition`` match. Action names are case-insensitive, ARNs case-sensitive; ``*`` and
``?`` are wildcards in both. Condition operators evaluate AND across operators and keys and OR across
the values of one key; a key missing from the request makes a positive operator false and a
negated one (``StringNotEquals``...) true, ``...IfExists`` true, and ``Null: "true"`` true.
Supported operators: String*, Arn*, Bool, Null, with ``IfExists`` and ``ForAnyValue``/
``ForAllValues`` qualifiers. An operator outside that list never matches (an Allow then grants
nothing, a Deny denies nothing), and ``unsupported_operators`` names it so a test can refuse it.

A request whose resource the emulator cannot name (``resource=None``: services whose ARNs are
not derived, see iam_requests.py) is matched on its action and conditions only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from functools import lru_cache
from typing import Any

ContextValue = str | Sequence[str]
Context = Mapping[str, ContextValue]


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


STRING_OPS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"}
LIKE_OPS = {"StringLike", "StringNotLike", "ArnLike", "ArnNotLike", "ArnEquals", "ArnNotEquals"}
SUPPORTED = STRING_OPS | LIKE_OPS | {"Bool", "Null"}


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def load(document: str | Mapping[str, Any]) -> dict[str, Any]:
    """A policy document from its JSON text (IAM keeps them URL-decoded JSON) or a dict."""
    return dict(json.loads(document)) if isinstance(document, str) else dict(document)


def statements(document: str | Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(s) for s in as_list(load(document).get("Statement"))]


@lru_cache(maxsize=4096)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(f"^{body}$", re.I | re.S if ignore_case else re.S)


def glob_match(glob: str, value: str, ignore_case: bool = False) -> bool:
    return bool(_pattern(glob, ignore_case).match(value))


def action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(glob_match(p, action, ignore_case=True) for p in patterns)


def _arn_match(pattern: str, arn: str) -> bool:
    """ARN matching: each of the six colon-separated parts matched on its own (wildcards allowed)."""
    if pattern == "*":
        return True
    p_parts, a_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(p_parts) != len(a_parts):
        return False
    return all(glob_match(p, a) for p, a in zip(p_parts, a_parts, strict=True))


def resource_matches(statement: Mapping[str, Any], resource: str | None) -> bool:
    if resource is None:
        return True  # the emulator cannot name it: the action and conditions decide
    if "NotResource" in statement:
        return not any(_arn_match(p, resource) for p in as_list(statement["NotResource"]))
    return any(_arn_match(p, resource) for p in as_list(statement.get("Resource")))


def _value_match(op: str, expected: str, actual: str) -> bool:
    base = op.removesuffix("IfExists")
    if base in ("StringEquals", "StringNotEquals", "Bool"):
        return expected == actual if base != "Bool" else expected.lower() == actual.lower()
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return expected.lower() == actual.lower()
    if base in ("StringLike", "StringNotLike"):
        return glob_match(expected, actual)
    return _arn_match(expected, actual)  # ArnEquals/ArnLike and negations


def _negated(op: str) -> bool:
    return "Not" in op.removesuffix("IfExists")


def unsupported_operators(document: str | Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for statement in statements(document):
        for op in statement.get("Condition", {}):
            base = op.split(":", 1)[-1].removesuffix("IfExists")
            if base not in SUPPORTED:
                found.add(op)
    return found


def condition_matches(condition: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    """Every operator and every key true (AND); any listed value of a key matching (OR)."""
    for raw_op, keys in condition.items():
        qualifier, _, op = raw_op.rpartition(":")
        base = op.removesuffix("IfExists")
        if base not in SUPPORTED:
            return False
        for key, expected_values in keys.items():
            expected = [str(v) for v in as_list(expected_values)]
            present = key in context
            if base == "Null":
                if (expected[0].lower() == "true") == present:
                    return False
                continue
            if not present:
                if op.endswith("IfExists") or _negated(base):
                    continue
                return False
            actual = [str(v) for v in as_list(context[key])]
            positive = base.replace("Not", "") if _negated(base) else base
            hits = [any(_value_match(positive, e, value) for e in expected) for value in actual]
            # ForAllValues: every request value matches; single-valued keys and ForAnyValue: one does.
            ok = all(hits) if qualifier == "ForAllValues" else any(hits)
            if _negated(base):
                ok = not ok
            if not ok:
                return False
    return True


def statement_matches(
    statement: Mapping[str, Any], action: str, resource: str | None, context: Context
) -> bool:
    if "NotAction" in statement:
        if action_matches(as_list(statement["NotAction"]), action):
            return False
    elif not action_matches(as_list(statement.get("Action")), action):
        return False
    return resource_matches(statement, resource) and condition_matches(
        statement.get("Condition", {}), context
    )


def evaluate(
    documents: Iterable[str | Mapping[str, Any]], action: str, resource: str | None, context: Context
) -> Decision:
    """The decision of a set of identity policies (inline and managed of one role) for one request."""
    allowed = False
    for document in documents:
        for statement in statements(document):
            if not statement_matches(statement, action, resource, context):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = allowed or statement.get("Effect") == "Allow"
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def principal_matches(statement: Mapping[str, Any], kind: str, principal: str) -> bool:
    """``Principal: "*"`` or ``{kind: principal-or-list}`` (e.g. Federated: the OIDC provider ARN)."""
    given = statement.get("Principal")
    if given == "*":
        return True
    if not isinstance(given, Mapping):
        return False
    return any(p == "*" or p == principal for p in as_list(given.get(kind)))


def trust_allows(
    document: str | Mapping[str, Any], action: str, kind: str, principal: str, context: Context
) -> Decision:
    """A role trust policy's decision for ``principal`` (of type ``kind``) calling ``action``."""
    allowed = False
    for statement in statements(document):
        if not principal_matches(statement, kind, principal):
            continue
        if not statement_matches({**statement, "Resource": "*"}, action, None, context):
            continue
        if statement.get("Effect") == "Deny":
            return Decision.EXPLICIT_DENY
        allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def granted_actions(documents: Iterable[str | Mapping[str, Any]]) -> list[str]:
    """The Action entries of every Allow statement (as written: names or wildcard patterns)."""
    found: list[str] = []
    for document in documents:
        for statement in statements(document):
            if statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement:
                found.append("NotAction:" + ",".join(as_list(statement["NotAction"])))
            for action in as_list(statement.get("Action")):
                if action not in found:
                    found.append(action)
    return found
