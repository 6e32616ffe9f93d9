"""Render a Terraform plan (``terraform show -json`` output) as a Markdown report for humans.

The same report is used for the sticky pull-request comment (one per environment, found again by
its hidden marker), the job summary and the drift-detection issue:

* counts by action (create, update, replace, destroy, ...);
* a table of every changed resource;
* a LOUD warning block when a stateful resource (DynamoDB table, S3 bucket, load balancer,
  Route 53 zone, Secrets Manager secret, ECR repository, ...) would be destroyed or replaced;
* changed attributes per resource, with every sensitive value redacted (Terraform marks them in
  ``before_sensitive``/``after_sensitive``; sensitive outputs and variables are never shown);
* truncation to a size limit (a GitHub comment holds 65536 characters): the counts and the
  warning block always survive, details and table rows are dropped first, with a pointer to the
  full plan in the job summary and the plan artifact.

CLI (runs the same on a laptop and in CI)::

    terraform show -json tfplan > plan.json
    python scripts/plan_report.py plan.json --env dev [--max-chars 65000] [--out report.md]
        [--github-output "$GITHUB_OUTPUT"] [--details-url URL]

Exit status: 0 on success (whatever the plan contains), 2 on unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

GITHUB_COMMENT_LIMIT = 65536
DEFAULT_MAX_CHARS = 65000  # a little headroom below GitHub's limit
SUMMARY_MAX_CHARS = 1_000_000  # GitHub job summaries are limited to 1 MiB per step
REDACTED = "(sensitive value)"
VALUE_MAX = 120  # longest attribute value shown in the details
LIST_MAX = 40  # most entries in the warning block and the drift list

# Resources that hold data or identity a deploy cannot recreate: losing one is an incident.
STATEFUL_TYPES: dict[str, str] = dict(
    [
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
    ]
)

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


class OutputChange(_Loose):
    actions: list[str]
    after_sensitive: Any = None
    before_sensitive: Any = None


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


class Report:
    """The rendered plan, in sections ordered from most to least important."""

    def __init__(self, plan: Plan, env: str, details_url: str | None = None, title: str | None = None):
        self.plan = plan
        self.env = env
        self.details_url = details_url
        self.title = title or f"Terraform plan for `{env}`"
        # Data-source reads are not changes; a managed resource with nothing to do is not shown.
        self.changes = [
            rc
            for rc in plan.resource_changes
            if rc.mode == "managed" and action_of(rc.change.actions) != "no-op"
        ]
        self.changes.sort(key=lambda rc: (_rank(action_of(rc.change.actions)), rc.address))
        self.counts = Counter(action_of(rc.change.actions) for rc in self.changes)
        self.dangerous = [
            rc
            for rc in self.changes
            if is_stateful(rc) and action_of(rc.change.actions) in ("delete", "replace")
        ]
        self.drift = [rc for rc in plan.resource_drift if is_real_drift(rc)]
        self.output_changes = {
            k: v for k, v in plan.output_changes.items() if action_of(v.actions) not in ("no-op",)
        }

    # -- facts other tools use -------------------------------------------------------------
    @property
    def has_changes(self) -> bool:
        return bool(self.changes or self.output_changes or self.drift)

    def summary(self) -> dict[str, Any]:
        return {
            "environment": self.env,
            "has_changes": self.has_changes,
            "destructive": bool(self.dangerous),
            "counts": {a: self.counts.get(a, 0) for a in ACTION_ORDER if a != "no-op"},
            "drift": len(self.drift),
            "dangerous": [rc.address for rc in self.dangerous],
        }

    # -- sections ----------------------------------------------------------------------------
    def header(self) -> str:
        c = self.counts
        line = (
            f"**{c.get('create', 0)} to add, {c.get('update', 0)} to change, "
            f"{c.get('replace', 0)} to replace, {c.get('delete', 0)} to destroy**"
        )
        if not self.has_changes:
            line = "**No changes.** The infrastructure matches the configuration."
        extra = [
            f"{n} {a}" for a, n in sorted(c.items()) if a not in ("create", "update", "replace", "delete")
        ]
        if extra:
            line += " (also: " + ", ".join(extra) + ")"
        if self.output_changes:
            line += f"; {len(self.output_changes)} output(s) change"
        if self.plan.errored:
            line += "\n\n> [!WARNING]\n> The plan did not finish (errored); this list is incomplete."
        return f"### {self.title}\n\n{line}\n"

    def warning(self) -> str:
        if not self.dangerous:
            return ""
        lines = [
            "> [!CAUTION]",
            "> ## 🚨 DATA LOSS: STATEFUL RESOURCES WILL BE DESTROYED OR REPLACED 🚨",
            ">",
            "> Applying this plan deletes the resources below. Their data cannot be recovered by Terraform.",
            "> Do not merge unless this is intended and a backup or migration is in place.",
            ">",
        ]
        for rc in self.dangerous[:LIST_MAX]:
            act = "REPLACED" if action_of(rc.change.actions) == "replace" else "DESTROYED"
            reason = f" (reason: {rc.action_reason})" if rc.action_reason else ""
            lines.append(f"> - **{act}**: `{rc.address}`: {STATEFUL_TYPES[rc.type]}{reason}")
        if len(self.dangerous) > LIST_MAX:
            lines.append(
                f"> - … and **{len(self.dangerous) - LIST_MAX} more** stateful resources (see the full plan)"
            )
        return "\n".join(lines) + "\n"

    def drift_section(self) -> str:
        if not self.drift:
            return ""
        lines = [
            "#### Drift: changed outside Terraform",
            "",
            "| Resource | Change seen |",
            "|---|---|",
        ]
        lines += [f"| `{rc.address}` | {action_of(rc.change.actions)} |" for rc in self.drift[:LIST_MAX]]
        if len(self.drift) > LIST_MAX:
            lines.append(f"| … | {len(self.drift) - LIST_MAX} more |")
        return "\n".join(lines) + "\n"

    def table_rows(self) -> list[str]:
        dangerous = {id(rc) for rc in self.dangerous}  # identity: model equality is deep and slow
        rows = []
        for rc in self.changes:
            act = action_of(rc.change.actions)
            flag = " ⚠️ stateful" if id(rc) in dangerous else ""
            label = ACTION_LABEL.get(act, act)
            rows.append(f"| `{ACTION_ICON.get(act, '?')}` {label}{flag} | `{rc.address}` |")
        return rows

    def table(self, rows: list[str], hidden: int) -> str:
        if not self.changes:
            return ""
        lines = ["#### Changed resources", "", "| Action | Resource |", "|---|---|", *rows]
        if hidden:
            lines.append(f"| … | **{hidden} more not shown** (see the full plan) |")
        return "\n".join(lines) + "\n"

    def outputs_section(self) -> str:
        if not self.output_changes:
            return ""
        lines = ["#### Outputs", ""]
        for name, ch in sorted(self.output_changes.items()):
            sensitive = ch.after_sensitive is True or ch.before_sensitive is True
            note = " (sensitive: value hidden)" if sensitive else ""
            lines.append(f"- `{name}`: {action_of(ch.actions)}{note}")
        return "\n".join(lines) + "\n"

    def details(self) -> list[str]:
        blocks = []
        for rc in self.changes:
            act = action_of(rc.change.actions)
            attrs = [] if act == "delete" else changed_attributes(rc.change)
            if not attrs:
                continue
            body = ["| Attribute | Before | After |", "|---|---|---|"]
            body += [f"| `{k}` | `{b}` | `{a}` |" for k, b, a in attrs]
            blocks.append(
                f"<details><summary><code>{rc.address}</code> ({act})</summary>\n\n"
                + "\n".join(body)
                + "\n\n</details>\n"
            )
        return blocks

    def footer(self, truncated: bool) -> str:
        where = (
            f"[the job summary and the plan artifact]({self.details_url})"
            if self.details_url
            else ("the job summary and the plan artifact")
        )
        if truncated:
            return f"\n> [!NOTE]\n> Report truncated to fit; the full plan is in {where}.\n"
        return f"\nFull plan: {where}.\n"

    # -- assembly ----------------------------------------------------------------------------
    def render(self, max_chars: int = DEFAULT_MAX_CHARS, marker: str | None = None) -> str:
        """The report, never longer than ``max_chars``; the most important parts kept first."""
        head = (f"<!-- {marker} -->\n" if marker else "") + self.header() + "\n" + self.warning()
        drift = self.drift_section()
        drift = "\n" + drift if drift else ""
        outputs = "\n" + self.outputs_section() if self.output_changes else ""
        rows = self.table_rows()
        details = self.details()
        details_head = "\n#### Changed attributes\n\n"

        full = head + drift + ("\n" + self.table(rows, 0) if rows else "") + outputs
        if details:
            full += details_head + "\n".join(details)
        full += self.footer(False)
        if len(full) <= max_chars:
            return full

        # Drop attribute details first (keep as many whole blocks as fit), then table rows.
        footer = self.footer(True)
        table_all = "\n" + self.table(rows, 0) if rows else ""
        base = head + drift + table_all + outputs
        budget = max_chars - len(base) - len(footer) - len(details_head)
        if budget > 0:
            kept: list[str] = []
            for block in details:
                if len(block) + 1 > budget:
                    break
                kept.append(block)
                budget -= len(block) + 1
            return base + (details_head + "\n".join(kept) if kept else "") + footer
        # Rows: each costs its length plus a newline; reserve room for the "N more" row.
        budget = max_chars - len(head + drift) - len(footer) - len("\n" + self.table([], len(rows)))
        n = 0
        for row in rows:
            if len(row) + 1 > budget:
                break
            budget -= len(row) + 1
            n += 1
        if budget >= 0:
            return head + drift + "\n" + self.table(rows[:n], len(rows) - n) + footer
        # Last resort: a hard cut that still says so (the warning block comes first in `head`).
        text = head + drift
        return text[: max(0, max_chars - len(footer))] + footer


def _rank(action: str) -> int:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan_json", type=Path, help="output of `terraform show -json <planfile>`")
    parser.add_argument("--env", required=True, help="environment name shown in the title")
    parser.add_argument("--title", help="heading (default: 'Terraform plan for `<env>`')")
    parser.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS, help="size limit of the report")
    parser.add_argument("--marker", help="hidden HTML comment put first, to find a sticky comment again")
    parser.add_argument("--details-url", help="link to the full plan (run page)")
    parser.add_argument("--out", type=Path, help="write the report here instead of stdout")
    parser.add_argument("--summary-json", type=Path, help="write counts and flags as JSON here")
    parser.add_argument("--github-output", type=Path, help="append has_changes/destructive to this file")
    args = parser.parse_args(argv)
    if args.max_chars < 200 or args.max_chars > SUMMARY_MAX_CHARS:
        print(f"plan_report: --max-chars must be between 200 and {SUMMARY_MAX_CHARS}", file=sys.stderr)
        return 2
    try:
        plan = load_plan(args.plan_json)
    except ValueError as exc:
        print(f"plan_report: {exc}", file=sys.stderr)
        return 2
    report = Report(plan, args.env, details_url=args.details_url, title=args.title)
    text = report.render(max_chars=args.max_chars, marker=args.marker)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    summary = report.summary()
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary, indent=2) + "\n")
    if args.github_output:
        with args.github_output.open("a") as fh:
            fh.write(f"has_changes={str(summary['has_changes']).lower()}\n")
            fh.write(f"destructive={str(summary['destructive']).lower()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
