"""Running checkov (its own venv) for the policy tests."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.support.tools import REPO_ROOT, unavailable

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
POLICIES = REPO_ROOT / "policies"
CONFIG = POLICIES / ".checkov.yaml"
CHECKS_DIR = POLICIES / "checks"
FIXTURES = POLICIES / "tests" / "fixtures"


def checkov_binary() -> Path:
    if not CHECKOV.exists():
        unavailable(f"{CHECKOV} missing: create it with `make checkov` (requirements/checkov.txt)")
    return CHECKOV


def run_checkov(directory: Path, *extra: str) -> dict[str, Any]:
    """checkov with our configuration over ``directory``; the terraform report as a dict."""
    result = subprocess.run(
        [
            str(checkov_binary()),
            "--config-file",
            str(CONFIG),
            "--skip-download",
            "-d",
            str(directory),
            "-o",
            "json",
            *extra,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # checkov exits 1 when a check fails: the report says which.
    assert result.returncode in (0, 1), result.stderr[-3000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    (report,) = [r for r in reports if r.get("check_type") == "terraform"]
    return report


def custom_check_ids() -> set[str]:
    """IDs of every custom policy in policies/checks (YAML metadata and Python id=...)."""
    ids: set[str] = set()
    for path in sorted(CHECKS_DIR.iterdir()):
        text = path.read_text() if path.suffix in {".yaml", ".py"} else ""
        ids |= set(re.findall(r"^\s*id:\s*(CKV2?_SF_\d+)\s*$", text, re.M))
        ids |= set(re.findall(r'id="(CKV2?_SF_\d+)"', text))
    return ids
