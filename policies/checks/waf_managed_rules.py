"""Every WAFv2 web ACL evaluates the AWS baseline managed rule groups and a per-IP rate limit.

Reads both forms of rules: nested `rule` blocks and `rule_json` (which our waf module uses; checkov's
built-in WAF checks cannot read it, this check can). When checkov cannot evaluate the rule_json
expression (for-expressions over variables), it hands over the partly rendered expression text; then
every required group name and a per-IP rate statement must appear in that text.

The waf module's ACL behind CloudFront (``behind_cloudfront = true``, the ALB's) leaves the IP-keyed
rules out on purpose; checkov sees that module's rule_json only as expression text, where both still
appear. That ACL's exact rules are checked by infra/modules/waf/tests and tests/infra/edge_checks.py.
"""

from __future__ import annotations

import json
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

REQUIRED_GROUPS = {
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",  # includes the Log4j (CVE-2021-44228) rules
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def from_json(raw: Any) -> tuple[set[str], bool] | None:
    text = _first(raw)
    if isinstance(text, str):
        try:
            rules = json.loads(text)
        except ValueError:
            return None
    else:
        rules = text
    if not isinstance(rules, list):
        return None
    groups: set[str] = set()
    rate_per_ip = False
    for rule in rules:
        statement = rule.get("Statement", {}) if isinstance(rule, dict) else {}
        managed = statement.get("ManagedRuleGroupStatement")
        if isinstance(managed, dict) and managed.get("VendorName") == "AWS":
            groups.add(str(managed.get("Name")))
        rate = statement.get("RateBasedStatement")
        if isinstance(rate, dict) and rate.get("AggregateKeyType") == "IP":
            rate_per_ip = True
    return groups, rate_per_ip


def from_expression(raw: Any) -> tuple[set[str], bool] | None:
    """Fallback for an unevaluated rule_json expression: look for the names in its text."""
    text = str(_first(raw))
    groups = {g for g in REQUIRED_GROUPS if g in text}
    rate_per_ip = "RateBasedStatement" in text and "AggregateKeyType" in text and "IP" in text
    return groups, rate_per_ip


def from_blocks(rules: list[Any]) -> tuple[set[str], bool]:
    groups: set[str] = set()
    rate_per_ip = False
    for rule in rules:
        statement = _first(rule.get("statement")) if isinstance(rule, dict) else None
        if not isinstance(statement, dict):
            continue
        managed = _first(statement.get("managed_rule_group_statement"))
        if isinstance(managed, dict) and _first(managed.get("vendor_name")) == "AWS":
            groups.add(str(_first(managed.get("name"))))
        rate = _first(statement.get("rate_based_statement"))
        if isinstance(rate, dict) and _first(rate.get("aggregate_key_type")) in ("IP", None):
            rate_per_ip = True
    return groups, rate_per_ip


class WafBaselineRules(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure every WAFv2 web ACL has the AWS baseline managed rule groups and a per-IP rate rule",
            id="CKV_SF_9",
            categories=(CheckCategories.NETWORKING,),
            supported_resources=("aws_wafv2_web_acl",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        if conf.get("rule_json"):
            self.evaluated_keys = ["rule_json"]
            found = from_json(conf["rule_json"]) or from_expression(conf["rule_json"])
        else:
            self.evaluated_keys = ["rule"]
            found = from_blocks(conf.get("rule") or [])
        groups, rate_per_ip = found
        return CheckResult.PASSED if groups >= REQUIRED_GROUPS and rate_per_ip else CheckResult.FAILED


check = WafBaselineRules()
