"""A job summary: the full plan report, then the full `terraform show` text, within GitHub's limit.

python scripts/ci/job_summary.py full-report.md plan.txt >> "$GITHUB_STEP_SUMMARY"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SUMMARY_LIMIT = 1_000_000  # GitHub refuses step summaries above 1 MiB


def render(report: str, plan_text: str, limit: int = SUMMARY_LIMIT) -> str:
    fence = "````"
    head = f"{report}\n<details><summary>Full plan (terraform show)</summary>\n\n{fence}text\n"
    tail = f"\n{fence}\n\n</details>\n"
    room = limit - len(head) - len(tail) - 200
    if len(plan_text) > room:
        cut = max(0, room)
        plan_text = plan_text[:cut] + "\n… (plan text truncated here; the plan artifact has all of it)"
    return head + plan_text.replace(fence, "'''") + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("plan_text", type=Path)
    args = parser.parse_args(argv)
    try:
        text = render(args.report.read_text(), args.plan_text.read_text())
    except OSError as exc:
        print(f"job_summary: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
