"""scripts/quotas.py: AWS size and count quotas measured on a rendered plan (pass and fail cases)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import quotas

from tests.support.tools import REPO_ROOT


def _doc(chars: int, padding: int = 0) -> str:
    """A policy document of exactly ``chars`` characters without whitespace (+ ``padding`` spaces)."""
    skeleton = '{"Statement":[{"Sid":""}]}'
    sid = "A" * (chars - len(skeleton))
    return '{"Statement":[{"Sid":"' + sid + '"}]}' + " " * padding


def _plan(*resources: dict[str, Any], config: dict[str, Any] | None = None, unknown=None) -> dict[str, Any]:
    return {
        "planned_values": {"root_module": {"resources": list(resources)}},
        "resource_changes": [
            {"address": r["address"], "change": {"after_unknown": (unknown or {}).get(r["address"], {})}}
            for r in resources
        ],
        "configuration": {"root_module": config or {}},
    }


def _res(address: str, kind: str, **values: Any) -> dict[str, Any]:
    return {"address": address, "type": kind, "values": values}


def test_managed_policy_counts_characters_without_whitespace() -> None:
    fits = _res("aws_iam_policy.a", "aws_iam_policy", policy=_doc(6144, padding=500))
    too_big = _res("aws_iam_policy.b", "aws_iam_policy", policy=_doc(6145))
    report = quotas.check_plan(_plan(fits, too_big))
    assert [f.what for f in report.exceeded] == ["managed policy aws_iam_policy.b"]
    assert quotas.policy_chars(_doc(6144, padding=500)) == 6144


def test_inline_policies_are_summed_per_role_and_trust_policy_is_limited() -> None:
    role = _res("aws_iam_role.r", "aws_iam_role", name="r", assume_role_policy=_doc(2049))
    one = _res("aws_iam_role_policy.one", "aws_iam_role_policy", role="r", policy=_doc(6000))
    two = _res("aws_iam_role_policy.two", "aws_iam_role_policy", role="r", policy=_doc(4300))
    other = _res("aws_iam_role_policy.x", "aws_iam_role_policy", role="other", policy=_doc(6000))
    exceeded = {f.what: f.size for f in quotas.check_plan(_plan(role, one, two, other)).exceeded}
    assert exceeded == {"trust policy of role r": 2049, "inline policies of role r": 10300}


def test_attachments_per_role() -> None:
    attachments = [
        _res(f"aws_iam_role_policy_attachment.a[{i}]", "aws_iam_role_policy_attachment", role="r")
        for i in range(11)
    ]
    (finding,) = quotas.check_plan(_plan(*attachments)).exceeded
    assert finding.what == "managed policies attached to role r"
    assert finding.size == 11


def test_security_group_rules_grouped_by_configured_reference_when_ids_are_unknown() -> None:
    rules = [
        _res(
            f'module.svc["a"].aws_vpc_security_group_ingress_rule.in[{i}]',
            "aws_vpc_security_group_ingress_rule",
        )
        for i in range(61)
    ]
    rules += [
        _res(
            f'module.svc["b"].aws_vpc_security_group_ingress_rule.in[{i}]',
            "aws_vpc_security_group_ingress_rule",
        )
        for i in range(30)
    ]
    config = {
        "module_calls": {
            "svc": {
                "module": {
                    "resources": [
                        {
                            "address": "aws_vpc_security_group_ingress_rule.in",
                            "expressions": {
                                "security_group_id": {
                                    "references": ["aws_security_group.s.id", "aws_security_group.s"]
                                }
                            },
                        }
                    ]
                }
            }
        }
    }
    exceeded = quotas.check_plan(_plan(*rules, config=config)).exceeded
    assert [f.what for f in exceeded] == [
        'inbound rules of security group module.svc["a"]:aws_security_group.s'
    ]


def test_documents_known_only_after_apply_are_reported() -> None:
    policy = _res("aws_iam_policy.late", "aws_iam_policy")
    report = quotas.check_plan(_plan(policy, unknown={"aws_iam_policy.late": {"policy": True}}))
    assert [u.what for u in report.unknown] == ["managed policy aws_iam_policy.late"]
    assert report.exceeded == []


def _cli(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "quotas.py"), str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_cli_exit_codes(tmp_path: Path) -> None:
    good, bad, junk = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "junk.json"
    good.write_text(json.dumps(_plan(_res("aws_iam_policy.a", "aws_iam_policy", policy=_doc(100)))))
    bad.write_text(json.dumps(_plan(_res("aws_iam_policy.a", "aws_iam_policy", policy=_doc(7000)))))
    junk.write_text("{}")
    assert _cli(good).returncode == 0
    refused = _cli(bad)
    assert refused.returncode == 1
    assert "EXCEEDS quota: managed policy aws_iam_policy.a: 7000 of 6144" in refused.stderr
    broken = _cli(junk)
    assert broken.returncode == 2
    assert broken.stderr.count("\n") == 1
