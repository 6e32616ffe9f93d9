"""AWS quotas checked on a Terraform plan, before anything is applied.

    python scripts/quotas.py PLAN_JSON        (the output of `terraform show -json <plan>`)

Exit 0 when every planned resource fits; exit 1 with one line per quota exceeded; exit 2 when the
file is not a plan. AWS refuses these only at apply time, half-way through (the policy or rule is
created, the next one is not); here they fail the plan instead.

Quotas (documented values, "IAM and AWS STS quotas" and "Amazon VPC quotas" of the AWS docs):
- a managed policy document: 6,144 characters, whitespace not counted;
- all inline policies of one role together: 10,240 characters, whitespace not counted;
- a role trust policy: 2,048 characters, whitespace not counted (default quota);
- managed policies attached to one role: 10 (default quota);
- rules of one security group: 60 inbound and 60 outbound (default quota);
- rules of one ALB listener: 100, the default rule not counted.

Why not a checkov policy: checkov reads the HCL, where these documents are built by
aws_iam_policy_document data sources with for_each and the account id from the provider; it never
sees the rendered JSON, and its checks see one resource at a time, while two of these quotas are
sums over several resources. The rendered plan has both.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANAGED_POLICY_CHARS = 6144
INLINE_POLICIES_PER_ROLE_CHARS = 10240
TRUST_POLICY_CHARS = 2048
MANAGED_POLICIES_PER_ROLE = 10
SG_RULES_PER_DIRECTION = 60
LISTENER_RULES = 100
NEAR = 0.9  # "near a quota": reported as a warning above 90 %

WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Unknown:
    """A document whose text is known only after apply: it cannot be measured before."""

    what: str

    def line(self) -> str:
        return f"unchecked (known only after apply): {self.what}"


@dataclass(frozen=True)
class Finding:
    what: str
    size: int
    limit: int

    @property
    def exceeded(self) -> bool:
        return self.size > self.limit

    def line(self) -> str:
        verdict = "EXCEEDS" if self.exceeded else "near"
        return f"{verdict} quota: {self.what}: {self.size} of {self.limit}"


def policy_chars(document: str | dict[str, Any] | None) -> int:
    """Characters of a policy document as IAM counts them: whitespace not counted."""
    if document is None:
        return 0
    text = document if isinstance(document, str) else json.dumps(document)
    return len(WHITESPACE.sub("", text))


def _resources(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _resources(child)


def _module_of(address: str) -> str:
    """module.a["x"].aws_thing.name[0] -> module.a["x"] ('' at the root)."""
    parts = re.findall(r"module\.[^.\[]+(?:\[[^\]]*\])?", address)
    return ".".join(parts)


def _config_refs(plan: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(module path without keys, resource address in module) -> the security_group_id/listener_arn
    reference text, from the plan's configuration (values unknown before apply)."""
    refs: dict[tuple[str, str], str] = {}

    def walk(module: dict[str, Any], path: str) -> None:
        for res in module.get("resources", []):
            exprs = res.get("expressions", {})
            for key in ("security_group_id", "listener_arn"):
                found = exprs.get(key, {}).get("references", [])
                if found:
                    refs[(path, res["address"])] = found[-1]
        for name, call in module.get("module_calls", {}).items():
            walk(call.get("module", {}), f"{path}.module.{name}" if path else f"module.{name}")

    walk(plan.get("configuration", {}).get("root_module", {}), "")
    return refs


def _group_key(res: dict[str, Any], attr: str, refs: dict[tuple[str, str], str]) -> str:
    """What a rule belongs to: the known id, else the module instance plus the configured reference."""
    known = res.get("values", {}).get(attr)
    if known:
        return str(known)
    module = _module_of(res["address"])
    keyless = re.sub(r"\[[^\]]*\]", "", module)
    local = res["address"][len(module) + 1 :] if module else res["address"]
    local = re.sub(r"\[[^\]]*\]$", "", local)
    return f"{module}:{refs.get((keyless, local), res['address'])}"


@dataclass
class Report:
    findings: list[Finding]  # exceeded, or above 90 % of the quota
    unknown: list[Unknown]  # documents not measurable before apply

    @property
    def exceeded(self) -> list[Finding]:
        return [f for f in self.findings if f.exceeded]


@dataclass
class _Tally:
    """What the planned resources add up to, collected one resource at a time (see _HANDLERS)."""

    refs: dict[tuple[str, str], str]
    unknown_attrs: dict[str, dict[str, Any]]
    findings: list[Finding] = field(default_factory=list)
    unknown: list[Unknown] = field(default_factory=list)
    inline: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    attached: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sg_rules: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    listener_rules: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def measure(self, address: str, values: dict[str, Any], attr: str, what: str) -> int:
        if self.unknown_attrs.get(address, {}).get(attr) is True:
            self.unknown.append(Unknown(what))
            return 0
        return policy_chars(values.get(attr))

    def totals(self) -> list[Finding]:
        """The per-resource findings, then the sums over several resources."""
        return [
            *self.findings,
            *(
                Finding(f"inline policies of role {r}", n, INLINE_POLICIES_PER_ROLE_CHARS)
                for r, n in self.inline.items()
            ),
            *(
                Finding(f"managed policies attached to role {r}", n, MANAGED_POLICIES_PER_ROLE)
                for r, n in self.attached.items()
            ),
            *(
                Finding(f"{d} rules of security group {g}", n, SG_RULES_PER_DIRECTION)
                for (g, d), n in self.sg_rules.items()
            ),
            *(Finding(f"rules of listener {g}", n, LISTENER_RULES) for g, n in self.listener_rules.items()),
        ]


def _managed_policy(tally: _Tally, address: str, values: dict[str, Any], res: dict[str, Any]) -> None:
    what = f"managed policy {address}"
    tally.findings.append(Finding(what, tally.measure(address, values, "policy", what), MANAGED_POLICY_CHARS))


def _role(tally: _Tally, address: str, values: dict[str, Any], res: dict[str, Any]) -> None:
    role = values.get("name") or address
    what = f"trust policy of role {role}"
    size = tally.measure(address, values, "assume_role_policy", what)
    tally.findings.append(Finding(what, size, TRUST_POLICY_CHARS))
    for block in values.get("inline_policy") or []:
        tally.inline[role] += policy_chars(block.get("policy"))
    tally.attached[role] += len(values.get("managed_policy_arns") or [])


def _role_policy(tally: _Tally, address: str, values: dict[str, Any], res: dict[str, Any]) -> None:
    role = values.get("role") or address
    tally.inline[role] += tally.measure(address, values, "policy", f"inline policy {address}")


def _role_policy_attachment(tally: _Tally, address: str, values: dict[str, Any], res: dict[str, Any]) -> None:
    tally.attached[values.get("role") or address] += 1


def _security_group(tally: _Tally, address: str, values: dict[str, Any], res: dict[str, Any]) -> None:
    group = values.get("name") or address
    tally.sg_rules[(group, "inbound")] += len(values.get("ingress") or [])
    tally.sg_rules[(group, "outbound")] += len(values.get("egress") or [])


def _vpc_sg_rule(tally: _Tally, address: str, values: dict[str, Any], res: dict[str, Any]) -> None:
    direction = "inbound" if res["type"].endswith("ingress_rule") else "outbound"
    tally.sg_rules[(_group_key(res, "security_group_id", tally.refs), direction)] += 1


def _sg_rule(tally: _Tally, address: str, values: dict[str, Any], res: dict[str, Any]) -> None:
    direction = "inbound" if values.get("type") == "ingress" else "outbound"
    tally.sg_rules[(_group_key(res, "security_group_id", tally.refs), direction)] += 1


def _listener_rule(tally: _Tally, address: str, values: dict[str, Any], res: dict[str, Any]) -> None:
    tally.listener_rules[_group_key(res, "listener_arn", tally.refs)] += 1


# One step per resource kind that counts towards a quota; every other kind is ignored.
_HANDLERS: dict[str, Callable[[_Tally, str, dict[str, Any], dict[str, Any]], None]] = {
    "aws_iam_policy": _managed_policy,
    "aws_iam_role": _role,
    "aws_iam_role_policy": _role_policy,
    "aws_iam_role_policy_attachment": _role_policy_attachment,
    "aws_security_group": _security_group,
    "aws_vpc_security_group_ingress_rule": _vpc_sg_rule,
    "aws_vpc_security_group_egress_rule": _vpc_sg_rule,
    "aws_security_group_rule": _sg_rule,
    "aws_lb_listener_rule": _listener_rule,
}


def check_plan(plan: dict[str, Any]) -> Report:
    """Every quota finding of the planned values, and the documents only known after apply."""
    root = plan.get("planned_values", {}).get("root_module")
    if root is None:
        raise ValueError("not a terraform plan in JSON (no planned_values.root_module)")
    unknown_attrs = {
        c["address"]: c["change"].get("after_unknown") or {} for c in plan.get("resource_changes", [])
    }
    tally = _Tally(_config_refs(plan), unknown_attrs)
    for res in _resources(root):
        kind, values, address = res.get("type"), res.get("values") or {}, res["address"]
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(tally, address, values, res)
    return Report([f for f in tally.totals() if f.size > f.limit * NEAR], tally.unknown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("plan_json", type=Path, help="terraform show -json <plan> output")
    args = parser.parse_args(argv)
    try:
        plan = json.loads(args.plan_json.read_text())
        report = check_plan(plan)
    except (OSError, ValueError) as exc:
        print(f"quotas: {args.plan_json}: {exc}", file=sys.stderr)
        return 2
    for item in [*report.unknown, *report.findings]:
        print(item.line(), file=sys.stderr if isinstance(item, Finding) and item.exceeded else sys.stdout)
    exceeded = report.exceeded
    if exceeded:
        print(f"quotas: {len(exceeded)} quota(s) exceeded: AWS would refuse this apply", file=sys.stderr)
        return 1
    print(f"quotas: every planned policy, role, security group and listener fits ({args.plan_json.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
