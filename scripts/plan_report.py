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
from pathlib import Path

from tooling.plan_model import load_plan
from tooling.plan_render import DEFAULT_MAX_CHARS, Report

SUMMARY_MAX_CHARS = 1_000_000  # GitHub job summaries are limited to 1 MiB per step


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
