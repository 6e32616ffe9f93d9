"""Drift on the applied `local` stack: the emulator reads back what AWS would, so a drift issue closes.

tests/infra/test_stack_lifecycle.py calls ``check_drift_report_empty`` on ITS applied stack, right
after its re-plan (no new full apply: the step applies the re-plan's empty plan, about 5 s).

Terraform's ``resource_drift`` (plan JSON) lists every resource whose refreshed object differs from
the object the state recorded. Right after the apply that CREATED the stack it is never empty, on
AWS as here, for two reasons that do not depend on what the API answers:

* an attribute that another resource of the stack writes after this one was created (a role's
  ``inline_policy`` written by ``aws_iam_role_policy``, a security group's rules, a route table's
  routes, a bucket's policy, lifecycle, versioning and logging, a topic's policy, a NAT gateway's
  association on its EIP, a target group's load balancer via the listener rule): the creating
  resource recorded the object as AWS answered at its creation, the next refresh reads it complete
  (``CREATED_LATER``);
* null recorded at apply, the zero value ("" / 0 / false / [] / {}) read on refresh: the SDK keeps
  the planned null for an unset attribute when it applies, not when it refreshes.

Any other difference is the emulator answering on create or read what AWS would not (S3 default
encryption was one: scripts/emu_s3_default_encryption.py). Terraform records the refreshed objects
when it applies a plan (the plan's refreshed prior state is the state the apply starts from), and
every deploy applies a plan (.github/actions/apply-reviewed: ``make apply TFPLAN=...``): after it,
the next plan (the kind drift.yml makes) must show no ``resource_drift`` at all, and the report it reads
(scripts/plan_report.py ``--summary-json``) must say ``has_changes: false``, which is what makes
its issue job close an open drift issue.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plan_report

from tests.infra.tfkit import Terraform

# Resource type -> attributes another resource of the stack writes after this one is created.
CREATED_LATER: dict[str, frozenset[str]] = {
    "aws_iam_role": frozenset({"inline_policy"}),
    "aws_security_group": frozenset({"ingress", "egress"}),
    "aws_route_table": frozenset({"route"}),
    "aws_s3_bucket": frozenset({"policy", "lifecycle_rule", "versioning", "logging"}),
    "aws_sns_topic": frozenset({"policy"}),
    "aws_eip": frozenset({"association_id", "network_interface", "private_ip", "private_dns"}),
    "aws_lb_target_group": frozenset({"load_balancer_arns"}),
}
ZERO_VALUES: tuple[Any, ...] = ("", 0, False, [], {})


def _differences(before: Any, after: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """(path, before, after) for each leaf that differs, descending into same-shaped values."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            yield from _differences(before.get(key), after.get(key), f"{path}.{key}" if path else key)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            yield from _differences(b, a, f"{path}[{index}]")
    elif before != after:
        yield path, before, after


def _null_versus_zero(before: Any, after: Any) -> bool:
    return (before is None and after in ZERO_VALUES) or (after is None and before in ZERO_VALUES)


def unexplained_drift(plan: dict[str, Any]) -> list[str]:
    """Each drifted attribute of ``plan`` (``terraform show -json``) that neither reason above explains."""
    found = []
    for rc in plan.get("resource_drift", []):
        change = rc["change"]
        if change["actions"] != ["update"]:
            found.append(f"{rc['address']}: {change['actions']}")
            continue
        later = CREATED_LATER.get(rc["type"], frozenset())
        for path, before, after in _differences(change["before"], change["after"], ""):
            attribute = path.split(".", 1)[0].split("[", 1)[0]
            if attribute in later or _null_versus_zero(before, after):
                continue
            found.append(f"{rc['address']}: {path} {json.dumps(before)[:80]} -> {json.dumps(after)[:80]}")
    return found


def check_drift_report_empty(
    tf: Terraform, var_file: str, replan: str, work: Path, shown: dict | None = None
) -> int:
    """The re-plan's drift is only the creation-time kind; once a deploy applied a plan, none at all.

    ``replan`` is the saved empty plan of the re-plan step, ``shown`` its ``terraform show -json``
    when the caller read it already. Returns how many resources drifted in it.
    """
    first = shown if shown is not None else tf.run("show", "-json", replan).json()
    assert isinstance(first, dict)
    unexplained = unexplained_drift(first)
    assert unexplained == [], "the emulator reads back differently from AWS:\n" + "\n".join(unexplained)
    tf.run(
        "apply", "-input=false", "-no-color", "-lock-timeout=30s", replan
    )  # as a deploy: records the refresh
    # The plan drift.yml makes (a normal plan: resource_drift and resource_changes both count).
    tf.run("plan", "-input=false", "-no-color", "-out=drift.tfplan", var_file)
    plan = tf.run("show", "-json", "drift.tfplan").json()
    assert isinstance(plan, dict)
    drifted = [rc["address"] for rc in plan.get("resource_drift", [])]
    assert drifted == [], f"resource_drift after a deploy's apply: {drifted}"
    (work / "drift.json").write_text(json.dumps(plan))
    summary_file = work / "drift-summary.json"
    args = [str(work / "drift.json"), "--env", "local", "--out", str(work / "drift.md")]
    assert plan_report.main([*args, "--summary-json", str(summary_file)]) == 0
    summary = json.loads(summary_file.read_text())
    assert summary["has_changes"] is False, f"the drift issue would stay open: {summary}"
    assert summary["drift"] == 0, summary
    return len(first.get("resource_drift", []))
