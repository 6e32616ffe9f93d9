"""The Markdown report of a Terraform plan: counts, table, loud warning, details, truncation."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tooling.plan_model import (
    ACTION_ICON,
    ACTION_LABEL,
    ACTION_ORDER,
    LIST_MAX,
    STATEFUL_TYPES,
    Plan,
    action_of,
    changed_attributes,
    is_real_drift,
    is_stateful,
    rank,
)

DEFAULT_MAX_CHARS = 65000  # a little headroom below GitHub's comment limit (65536)


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
        self.changes.sort(key=lambda rc: (rank(action_of(rc.change.actions)), rc.address))
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
