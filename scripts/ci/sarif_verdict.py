"""Fail on any finding of the SARIF files the scanners wrote, without running them again.

The security job scans once (`make sarif`: bandit and checkov write SARIF 2.1.0 and never fail),
uploads those files to code scanning, then this verdict fails the job on any result that is not
suppressed, printing one line per finding. A suppressed result (SARIF 2.1.0, section 3.27.23: a
result whose ``suppressions`` array holds an entry whose ``status`` is absent or ``accepted``) is an
accepted exception (checkov reports its inline skips that way) and does not fail the job: exactly
what the scanners' own exit codes would decide, from the same single run.

    python scripts/ci/sarif_verdict.py DIR [--expect NAME ...]    (every *.sarif file in DIR)

``--expect bandit.sarif --expect checkov.sarif`` (what `make security-verdict` passes): each named
file must be there, so a scan that wrote nothing is never judged clean by the other's file.

Exit status: 0 no finding; 1 findings (listed); 2 bad input (no such folder, no SARIF file in it,
an expected file missing, a file that is not SARIF).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Suppression(_Loose):
    status: str | None = None  # absent means accepted (SARIF 2.1.0, 3.35.3)


class Result(_Loose):
    ruleId: str = "?"  # noqa: N815 (SARIF's own field names)
    level: str = "warning"
    message: dict = {}
    locations: list[dict] = []
    suppressions: list[Suppression] | None = None

    def suppressed(self) -> bool:
        return any(s.status in (None, "accepted") for s in self.suppressions or [])

    def where(self) -> str:
        for location in self.locations:
            physical = location.get("physicalLocation", {})
            uri = physical.get("artifactLocation", {}).get("uri")
            if uri:
                line = physical.get("region", {}).get("startLine")
                return f"{uri}:{line}" if line else uri
        return "(no location)"


class Driver(_Loose):
    name: str


class Tool(_Loose):
    driver: Driver


class Run(_Loose):
    tool: Tool
    results: list[Result] = []


class Log(_Loose):
    version: str
    runs: list[Run]


def findings(folder: Path, expected: tuple[str, ...] = ()) -> tuple[list[str], int]:
    """(one line per unsuppressed result, number of suppressed ones) over every SARIF file in folder.
    Raises ValueError for a missing folder, no SARIF file, an ``expected`` file missing, or a file
    that is not SARIF 2.1.0."""
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such folder (run `make sarif` first)")
    files = sorted(folder.glob("*.sarif"))
    if not files:
        raise ValueError(f"{folder}: no *.sarif file (run `make sarif` first)")
    missing = [name for name in expected if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"{folder}: {', '.join(missing)} missing (run `make sarif` first)")
    lines: list[str] = []
    suppressed = 0
    for path in files:
        try:
            log = Log.model_validate(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError, ValidationError) as exc:
            raise ValueError(f"{path}: not a SARIF log ({exc.__class__.__name__})") from exc
        if log.version != "2.1.0":
            raise ValueError(f"{path}: SARIF version {log.version}, expected 2.1.0")
        for run in log.runs:
            for result in run.results:
                if result.suppressed():
                    suppressed += 1
                    continue
                text = str(result.message.get("text", "")).strip().splitlines()[:1]
                lines.append(
                    f"{run.tool.driver.name}: {result.ruleId} ({result.level}) {result.where()}: "
                    + (text[0] if text else "")
                )
    return lines, suppressed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the folder `make sarif` wrote (SARIF_DIR)")
    parser.add_argument("--expect", action="append", default=[], help="a SARIF file that must be there")
    args = parser.parse_args(argv)
    try:
        found, suppressed = findings(args.folder, tuple(args.expect))
    except ValueError as exc:
        print(f"sarif_verdict: {exc}", file=sys.stderr)
        return 2
    for line in found:
        print(line)
    accepted = f" ({suppressed} suppressed inline, with a reason)" if suppressed else ""
    if found:
        print(f"security: {len(found)} finding(s){accepted}: fix them or suppress them with a reason")
        return 1
    print(f"security: no finding{accepted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
