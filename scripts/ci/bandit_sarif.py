"""Convert bandit's JSON report to SARIF 2.1.0 for GitHub code scanning (no extra dependency).

bandit -f json -o bandit.json ... ; python scripts/ci/bandit_sarif.py bandit.json bandit.sarif
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

LEVELS = {"HIGH": "error", "MEDIUM": "warning", "LOW": "note"}


def convert(report: dict) -> dict:
    rules: dict[str, dict] = {}
    results = []
    for issue in report.get("results", []):
        rule_id = issue["test_id"]
        rules.setdefault(
            rule_id,
            {
                "id": rule_id,
                "name": issue.get("test_name", rule_id),
                "shortDescription": {"text": issue.get("test_name", rule_id)},
                "helpUri": issue.get("more_info", ""),
            },
        )
        results.append(
            {
                "ruleId": rule_id,
                "level": LEVELS.get(issue.get("issue_severity", ""), "warning"),
                "message": {"text": f"{issue['issue_text']} (confidence {issue.get('issue_confidence')})"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": issue["filename"].removeprefix("./")},
                            "region": {"startLine": max(1, int(issue.get("line_number", 1)))},
                        }
                    }
                ],
            }
        )
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "bandit", "rules": list(rules.values())}}, "results": results}],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bandit_json", type=Path)
    parser.add_argument("sarif", type=Path)
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.bandit_json.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"bandit_sarif: cannot read {args.bandit_json}: {exc.__class__.__name__}", file=sys.stderr)
        return 2
    sarif = convert(report)
    args.sarif.parent.mkdir(parents=True, exist_ok=True)
    args.sarif.write_text(json.dumps(sarif, indent=2) + "\n")
    print(f"bandit: {len(sarif['runs'][0]['results'])} finding(s) -> {args.sarif}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
