"""checkov with our policies over all of infra/: nothing fails; every skip is listed, with a reason."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.infra.policy_support import CONFIG, custom_check_ids, run_checkov
from tests.support.tools import REPO_ROOT

pytestmark = pytest.mark.slow

# The only checks skipped inline, on the one resource whose own situation makes them not apply.
INLINE_SKIPS = {
    # The internal ALB's HTTP listener: only CloudFront's VPC origin reaches it (private hop).
    ("infra/modules/alb/main.tf", "CKV_AWS_2"),
}


def test_checkov_over_infra_has_no_failures() -> None:
    report = run_checkov(REPO_ROOT / "infra")
    failed = [
        f"{r['check_id']} {r['resource']} ({r['file_path']})" for r in report["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)
    assert report["summary"]["parsing_errors"] == 0
    ran = {r["check_id"] for r in report["results"]["passed_checks"]}
    # Our policies really evaluate the stack (not just the fixtures).
    assert {"CKV2_SF_1", "CKV2_SF_2", "CKV2_SF_3", "CKV2_SF_4", "CKV_SF_7", "CKV_SF_9"} <= ran, ran


def test_every_skip_is_in_the_config_with_a_reason() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    skips = config["skip-check"]
    assert len(skips) == len(set(skips)), "a check is skipped twice"
    assert not set(skips) & custom_check_ids(), "our own policies are never skipped"
    for line in CONFIG.read_text().splitlines():
        if re.match(r"^\s*-\s*CKV", line):
            reason = line.split("#", 1)[1].strip() if "#" in line else ""
            assert len(reason) > 15, f"skip without a reason: {line.strip()}"
    inline = {
        (str(p.relative_to(REPO_ROOT)), m.group(1))
        for p in (REPO_ROOT / "infra").rglob("*.tf")
        for m in re.finditer(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?", p.read_text())
        if len((m.group(2) or "").strip()) > 15
    }
    found = {
        str(p.relative_to(REPO_ROOT)): p.read_text().count("checkov:skip")
        for p in (REPO_ROOT / "infra").rglob("*.tf")
        if "checkov:skip" in p.read_text()
    }
    assert inline == INLINE_SKIPS, f"inline skips (with a reason) {inline} != {INLINE_SKIPS}"
    assert sum(found.values()) == len(INLINE_SKIPS), f"inline skips without a reason, or repeated: {found}"
    assert not {check for _, check in INLINE_SKIPS} & set(skips), "a check skipped both inline and everywhere"
