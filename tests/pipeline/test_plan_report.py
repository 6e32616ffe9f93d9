"""Real plans of a tiny stack applied to the emulator, then changed (replace, destroy, secret):

* scripts/plan_report.py renders them (counts, table, loud warning, redaction, truncation);
* scripts/ci/plan_guard.py seals a plan and refuses a changed, foreign or re-targeted one, and
  Terraform itself refuses the plan once the state moved on (the last test: it changes the state).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.pipeline.tf import terraform, terraform_env
from tests.support.tools import REPO_ROOT

FIXTURE = Path(__file__).parent / "fixtures" / "plan_report"
SCRIPT = REPO_ROOT / "scripts" / "plan_report.py"
GUARD = REPO_ROOT / "scripts" / "ci" / "plan_guard.py"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
CHANGE = {"TF_VAR_table_hash_key": "id", "TF_VAR_keep_bucket": "false"}  # the reviewed change

pytestmark = [pytest.mark.slow, pytest.mark.tool("terraform")]


class Plans:
    def __init__(self, workdir: Path, changed: Path, unchanged: Path, secrets: tuple[str, str], env: dict):
        self.workdir = workdir
        self.changed = changed  # `terraform show -json` of change.tfplan
        self.unchanged = unchanged
        self.secrets = secrets
        self.env = env  # terraform's environment (emulator, mirror, data dir)
        self.plan = workdir / "change.tfplan"
        self.sealed = workdir.parent / "sealed"

    def guard(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(GUARD), *args, "--chdir", str(self.workdir)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def plans(moto, tmp_path_factory: pytest.TempPathFactory) -> Plans:
    tmp = tmp_path_factory.mktemp("plan-report")
    work = tmp / "stack"
    shutil.copytree(FIXTURE, work)
    name = f"pr-{uuid.uuid4().hex[:10]}"
    first, second = f"first-{uuid.uuid4().hex}", f"second-{uuid.uuid4().hex}"
    env = terraform_env(tmp, {**moto.env, "TF_VAR_name": name})
    terraform(["init", "-no-color"], work, env)
    terraform(["apply", "-auto-approve", "-no-color"], work, {**env, "TF_VAR_api_key": first})

    def plan(out: str, extra: dict[str, str]) -> Path:
        terraform(["plan", "-no-color", "-out", out], work, {**env, **extra})
        path = tmp / f"{out}.json"
        path.write_text(terraform(["show", "-json", out], work, env))
        return path

    unchanged = plan("same.tfplan", {"TF_VAR_api_key": first})
    changed = plan("change.tfplan", {"TF_VAR_api_key": second, **CHANGE})
    return Plans(work, changed, unchanged, (first, second), {**env, "TF_VAR_api_key": second})


def report(plan_json: Path, tmp_path: Path, *extra: str) -> tuple[str, dict]:
    out, summary = tmp_path / "report.md", tmp_path / "summary.json"
    argv = [sys.executable, str(SCRIPT), str(plan_json), "--env", "dev", "--out", str(out)]
    result = subprocess.run(
        [*argv, "--summary-json", str(summary), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return out.read_text(), json.loads(summary.read_text())


def test_counts_and_table(plans: Plans, tmp_path: Path) -> None:
    text, summary = report(plans.changed, tmp_path)
    assert summary["counts"] == {
        "replace": 2,
        "delete": 1,
        "create": 0,
        "update": 0,
        "read": 0,
        "forget": 0,
    }
    assert summary["has_changes"] is True
    assert "**0 to add, 0 to change, 2 to replace, 1 to destroy**" in text
    assert "| `-/+` REPLACE (destroy and re-create) ⚠️ stateful | `aws_dynamodb_table.orders` |" in text
    assert "| `-` DESTROY ⚠️ stateful | `aws_s3_bucket.assets[0]` |" in text
    # A new secret value replaces the version, not the secret: not stateful, no warning flag.
    assert "| `-/+` REPLACE (destroy and re-create) | `aws_secretsmanager_secret_version.api_key` |" in text
    assert "aws_secretsmanager_secret.api_key`" not in text  # no-op resources are not listed


def test_loud_warning_names_only_destroyed_or_replaced_stateful_resources(
    plans: Plans, tmp_path: Path
) -> None:
    text, summary = report(plans.changed, tmp_path)
    assert summary["destructive"] is True
    assert summary["dangerous"] == ["aws_dynamodb_table.orders", "aws_s3_bucket.assets[0]"]
    warning = text[text.index("> [!CAUTION]") : text.index("#### Changed resources")]
    assert "DATA LOSS" in warning
    assert "**REPLACED**: `aws_dynamodb_table.orders`" in warning
    assert "**DESTROYED**: `aws_s3_bucket.assets[0]`" in warning
    assert "aws_secretsmanager_secret" not in warning  # only the secret's version changes
    # The warning comes before the table so truncation can never drop it.
    assert text.index("DATA LOSS") < text.index("#### Changed resources")


def test_sensitive_values_are_redacted(plans: Plans, tmp_path: Path) -> None:
    raw = plans.changed.read_text()
    first, second = plans.secrets
    assert second in raw, "the plan JSON carries the value in clear: the report must hide it"
    text, _ = report(plans.changed, tmp_path)
    assert first not in text
    assert second not in text
    assert "| `secret_string` | `(sensitive value)` | `(sensitive value)` |" in text
    assert "- `api_key`: update (sensitive: value hidden)" in text


def test_truncated_report_keeps_counts_and_warning(plans: Plans, tmp_path: Path) -> None:
    full, _ = report(plans.changed, tmp_path)
    short, _ = report(plans.changed, tmp_path, "--max-chars", "1200", "--marker", "plan-report:dev")
    assert len(full) > 1200
    assert len(short) <= 1200
    assert short.startswith("<!-- plan-report:dev -->\n")
    assert "2 to replace, 1 to destroy" in short
    assert "DATA LOSS" in short
    assert "Report truncated to fit" in short
    assert "Report truncated" not in full


def test_many_resources_fit_in_one_github_comment(plans: Plans, tmp_path: Path) -> None:
    data = json.loads(plans.changed.read_text())
    template = data["resource_changes"]
    data["resource_changes"] = [
        {**rc, "address": f"module.m{i}.{rc['address']}"} for i in range(2000) for rc in template
    ]
    big = tmp_path / "big.json"
    big.write_text(json.dumps(data))
    text, summary = report(big, tmp_path)
    assert len(text) <= 65536
    assert summary["counts"]["replace"] == 4000
    assert "more not shown" in text
    assert "DATA LOSS" in text


def test_unchanged_infrastructure_reports_no_changes(plans: Plans, tmp_path: Path) -> None:
    text, summary = report(plans.unchanged, tmp_path)
    assert summary["has_changes"] is False
    assert summary["destructive"] is False
    assert "**No changes.**" in text
    assert "DATA LOSS" not in text


def test_github_output_flags(plans: Plans, tmp_path: Path) -> None:
    gh = tmp_path / "gh_output"
    report(plans.changed, tmp_path, "--github-output", str(gh))
    assert gh.read_text() == "has_changes=true\ndestructive=true\n"


def test_bad_input_fails_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-plan.json"
    bad.write_text('{"hello": 1}')
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(bad), "--env", "dev"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "not the output of `terraform show -json" in result.stderr


# ---- plan_guard: apply exactly the sealed plan ----------------------------------------------


def verify(
    plans: Plans, plan: Path, env: str = "dev", commit: str = COMMIT, replanned: bool = False
) -> subprocess.CompletedProcess[str]:
    if not (plans.sealed / "seal.json").exists():  # seal once, as the plan job does
        argv = ["seal", "--plan", str(plans.plan), "--env", "dev", "--commit", COMMIT]
        sealed = plans.guard(*argv, "--out-dir", str(plans.sealed))
        assert sealed.returncode == 0, sealed.stderr
    seal = str(plans.sealed / "seal.json")
    extra = ["--replanned"] if replanned else []
    return plans.guard(
        "verify", "--plan", str(plan), "--env", env, "--commit", commit, "--seal", seal, *extra
    )


def test_seal_writes_the_renderings(plans: Plans) -> None:
    verify(plans, plans.plan)
    assert "aws_s3_bucket.assets[0] will be destroyed" in (plans.sealed / "plan.txt").read_text()
    assert (plans.sealed / "plan.json").read_text().startswith("{")


def test_the_sealed_plan_passes(plans: Plans) -> None:
    result = verify(plans, plans.plan)
    assert result.returncode == 0, result.stderr
    assert "plan matches its seal" in result.stdout


def test_a_changed_plan_file_is_refused(plans: Plans, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.tfplan"
    tampered.write_bytes(plans.plan.read_bytes() + b"\0")
    result = verify(plans, tampered)
    assert result.returncode == 1
    assert "REFUSING TO APPLY" in result.stderr
    assert "does not match the sealed" in result.stderr


@pytest.mark.parametrize(
    ("env", "commit", "message"),
    [
        ("prod", COMMIT, "made for dev, not prod"),
        ("dev", "fedcba9876543210fedcba9876543210fedcba98", "made at commit"),
    ],
)
def test_a_plan_for_another_environment_or_commit_is_refused(
    plans: Plans, env: str, commit: str, message: str
) -> None:
    result = verify(plans, plans.plan, env=env, commit=commit)
    assert result.returncode == 1
    assert message in result.stderr


def test_a_fresh_plan_of_the_same_inputs_passes_only_with_replanned(plans: Plans) -> None:
    # The apply job plans again (the binary plan never leaves the plan job) with the same inputs.
    terraform(["plan", "-no-color", "-out", "again.tfplan"], plans.workdir, {**plans.env, **CHANGE})
    again = plans.workdir / "again.tfplan"
    assert verify(plans, again).returncode == 1  # another file: refused without --replanned
    result = verify(plans, again, replanned=True)
    assert result.returncode == 0, result.stderr
    assert "plan matches its seal" in result.stdout


def test_a_fresh_plan_that_differs_from_the_reviewed_one_is_refused(plans: Plans) -> None:
    other = {**CHANGE, "TF_VAR_keep_bucket": "true"}  # not what the reviewer saw
    terraform(["plan", "-no-color", "-out", "other.tfplan"], plans.workdir, {**plans.env, **other})
    result = verify(plans, plans.workdir / "other.tfplan", replanned=True)
    assert result.returncode == 1
    assert "the new plan differs from the reviewed one" in result.stderr


def test_the_seal_is_written_as_a_one_line_job_output(plans: Plans, tmp_path: Path) -> None:
    out = tmp_path / "github_output"
    argv = ["seal", "--plan", str(plans.plan), "--env", "dev", "--commit", COMMIT]
    result = plans.guard(*argv, "--out-dir", str(tmp_path / "sealed"), "--github-output", str(out))
    assert result.returncode == 0, result.stderr
    (line,) = out.read_text().splitlines()
    assert json.loads(line.removeprefix("seal="))["commit"] == COMMIT


def test_terraform_refuses_the_plan_once_the_state_moved_on(plans: Plans) -> None:
    # Someone applies another change after the plan was made ...
    terraform(
        ["apply", "-auto-approve", "-no-color"], plans.workdir, {**plans.env, "TF_VAR_table_hash_key": "id"}
    )
    # ... the seal still matches (same file), but Terraform will not apply a stale plan.
    assert verify(plans, plans.plan).returncode == 0
    result = subprocess.run(
        ["terraform", "apply", "-no-color", str(plans.plan)],
        cwd=plans.workdir,
        env=plans.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode != 0
    assert "Saved plan is stale" in result.stdout + result.stderr
    assert os.path.exists(plans.plan)


def test_seal_moves_the_json_make_plan_rendered_instead_of_rendering_again(
    plans: Plans, tmp_path: Path
) -> None:
    """make plan renders `terraform show -json` once (for the quota check), with the SHA-256 of
    the plan beside it; plan-seal moves that JSON instead of asking terraform again."""
    rendered = tmp_path / "change.tfplan.json"
    marker = '{"marker":"this very file",' + plans.changed.read_text()[1:]
    rendered.write_text(marker)  # not terraform's own output: proves it is moved, not re-rendered
    recorded = tmp_path / "change.tfplan.json.plan-sha256"
    recorded.write_text(hashlib.sha256(plans.plan.read_bytes()).hexdigest() + "\n")
    argv = ["seal", "--plan", str(plans.plan), "--env", "dev", "--commit", COMMIT]
    result = plans.guard(*argv, "--out-dir", str(tmp_path / "sealed"), "--plan-json", str(rendered))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sealed" / "plan.json").read_text() == marker
    assert not rendered.exists()
    assert not recorded.exists()


def test_seal_refuses_the_json_of_another_plan_or_none(plans: Plans, tmp_path: Path) -> None:
    """A JSON whose recorded plan hash is not this plan's (another plan, however new the file),
    or no JSON or no hash at all: exit 2, nothing sealed."""
    other = tmp_path / "other.tfplan.json"
    other.write_text(plans.unchanged.read_text())
    (tmp_path / "other.tfplan.json.plan-sha256").write_text("0" * 64 + "\n")
    unhashed = tmp_path / "unhashed.tfplan.json"
    unhashed.write_text(plans.changed.read_text())
    argv = ["seal", "--plan", str(plans.plan), "--env", "dev", "--commit", COMMIT, "--out-dir"]
    for json_file, message in (
        (other, "renders another plan"),
        (unhashed, "unhashed.tfplan.json.plan-sha256: missing"),
        (tmp_path / "none.json", "none.json: missing"),
    ):
        result = plans.guard(*argv, str(tmp_path / "sealed"), "--plan-json", str(json_file))
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
    assert not (tmp_path / "sealed" / "plan.json").exists()
