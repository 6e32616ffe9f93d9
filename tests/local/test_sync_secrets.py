"""scripts/sync_secrets.py against the emulator: create, no-op, targeted update, partial failure.

The script runs as the pipeline runs it (a subprocess with values in environment variables or a
values file); every run asserts that no value ever reaches its output.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import boto3
import manifests
import pytest
import sync_secrets

from tests.support.aws import REGION, MotoServer
from tests.support.ecs import running_all, stack_services
from tests.support.tools import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "sync_secrets.py"
ENV = "dev"


def _values() -> dict[str, str]:
    return {w.variable: secrets.token_urlsafe(24) for w in sync_secrets.wanted_secrets(ENV)}


def _run(moto: MotoServer, values: dict[str, str], *args: str, extra_env: dict[str, str] | None = None):
    env = {"PATH": "/usr/bin:/bin", **moto.env, **values, **(extra_env or {})}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--env", ENV, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    output = result.stdout + result.stderr
    for value in values.values():
        if extra_env and extra_env.get("GITHUB_ACTIONS") == "true":
            # Only the mask registration may carry a value; the runner hides it everywhere else.
            leaking = [ln for ln in output.splitlines() if value in ln and ln != f"::add-mask::{value}"]
            assert not leaking, "a secret value leaked into the output"
        else:
            assert value not in output, "a secret value leaked into the output"
    return result


def _lines(result) -> dict[str, str]:
    """secret id -> outcome word, from the script's per-secret lines."""
    outcomes = {}
    for line in result.stdout.splitlines():
        parts = line.replace("(dry run) ", "").split()
        if len(parts) >= 2 and parts[-1].startswith(manifests.project_name() + "/"):
            outcomes[parts[-1]] = parts[0]
        elif parts and parts[0] == "failed":
            outcomes[parts[1].rstrip(":")] = "failed"
    return outcomes


@pytest.fixture
def sm(aws: MotoServer):
    aws.reset()
    return boto3.client("secretsmanager", endpoint_url=aws.url)


def _stored(sm, secret_id: str) -> str:
    return sm.get_secret_value(SecretId=secret_id)["SecretString"]


def test_declared_secrets_are_the_owned_ones_of_every_manifest() -> None:
    wanted = {(w.service, w.name) for w in sync_secrets.wanted_secrets(ENV)}
    expected = {(m.name, s.name) for m in manifests.load_all() for s in m.secrets if s.owned}
    assert wanted == expected
    # A `from:` reference is not a separate secret.
    assert ("orders", "CATALOG_SERVICE_TOKEN") not in wanted
    assert sync_secrets.variable_name("catalog", "API_KEY") == "CATALOG_API_KEY"


def test_missing_value_fails_before_anything_is_written(aws: MotoServer, sm) -> None:
    values = _values()
    dropped = sorted(values)[0]
    del values[dropped]
    result = _run(aws, values)
    assert result.returncode == 2
    assert dropped in result.stdout
    assert "nothing was written" in result.stderr
    assert sm.list_secrets()["SecretList"] == []


def test_create_then_no_changes_then_only_the_changed_secret_updates(aws: MotoServer, sm) -> None:
    values = _values()
    ids = {w.secret_id: w.variable for w in sync_secrets.wanted_secrets(ENV)}

    dry = _run(aws, values, "--dry-run", "--detailed-exitcode")
    assert dry.returncode == 3
    assert set(_lines(dry).values()) == {"created"}
    assert sm.list_secrets()["SecretList"] == [], "a dry run must change nothing"

    first = _run(aws, values)
    assert first.returncode == 0, first.stdout + first.stderr
    assert _lines(first) == dict.fromkeys(ids, "created")
    for secret_id, variable in ids.items():
        assert _stored(sm, secret_id) == values[variable]
        tags = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId=secret_id)["Tags"]}
        assert tags["managed-by"] == "sync_secrets"
        assert tags["environment"] == ENV
        assert tags["service"] == secret_id.split("/")[2]

    second = _run(aws, values)
    assert second.returncode == 0
    assert _lines(second) == dict.fromkeys(ids, "unchanged")
    assert _run(aws, values, "--dry-run", "--detailed-exitcode").returncode == 0

    changed_id, changed_var = next(iter(ids.items()))
    versions_before = {
        sid: sm.describe_secret(SecretId=sid)["VersionIdsToStages"] for sid in ids if sid != changed_id
    }
    values[changed_var] = secrets.token_urlsafe(24)
    third = _run(aws, values)
    assert third.returncode == 0
    expected = dict.fromkeys(ids, "unchanged")
    expected[changed_id] = "updated"
    assert _lines(third) == expected
    assert _stored(sm, changed_id) == values[changed_var]
    for sid, versions in versions_before.items():
        assert sm.describe_secret(SecretId=sid)["VersionIdsToStages"] == versions


def test_one_failing_secret_is_named_and_the_others_are_still_correct(aws: MotoServer, sm) -> None:
    values = _values()
    wanted = sync_secrets.wanted_secrets(ENV)
    broken = wanted[0]
    sm.create_secret(Name=broken.secret_id, SecretString="old")
    sm.delete_secret(SecretId=broken.secret_id, RecoveryWindowInDays=7)  # pending deletion

    result = _run(aws, values)
    assert result.returncode == 1
    outcomes = _lines(result)
    assert outcomes[broken.secret_id] == "failed"
    assert "scheduled for deletion" in result.stdout
    assert broken.secret_id in result.stderr
    for w in wanted[1:]:
        assert outcomes[w.secret_id] == "created"
        assert _stored(sm, w.secret_id) == values[w.variable]


def test_github_actions_masks_values_and_annotates_failures(aws: MotoServer, sm) -> None:
    values = _values()
    broken = sync_secrets.wanted_secrets(ENV)[-1]
    sm.create_secret(Name=broken.secret_id, SecretString="old")
    sm.delete_secret(SecretId=broken.secret_id, RecoveryWindowInDays=7)
    result = _run(aws, values, extra_env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 1
    masks = [ln for ln in result.stdout.splitlines() if ln.startswith("::add-mask::")]
    assert sorted(masks) == sorted(f"::add-mask::{v}" for v in values.values())
    # Masks come before anything that could print a value.
    assert result.stdout.splitlines()[: len(masks)] == masks
    assert f"::error title=sync_secrets::1 secret(s) failed: {broken.secret_id}" in result.stdout


def test_values_file_and_prune_with_recovery_window(aws: MotoServer, sm, tmp_path: Path) -> None:
    values = _values()
    values_file = tmp_path / "secrets.env"
    values_file.write_text(
        "# local values\n" + "".join(f"export {k}='{v}'\n" for k, v in values.items()) + "\n"
    )
    stale_id = manifests.secret_id("retired", "API_KEY", ENV)
    tags = [
        {"Key": "project", "Value": manifests.project_name()},
        {"Key": "environment", "Value": ENV},
        {"Key": "managed-by", "Value": "sync_secrets"},
    ]
    sm.create_secret(Name=stale_id, SecretString="x", Tags=tags)
    other_env_id = manifests.secret_id("retired", "API_KEY", "prod")
    sm.create_secret(
        Name=other_env_id, SecretString="x", Tags=[*tags[:1], {"Key": "environment", "Value": "prod"}]
    )

    # Values come only from the file when one is given: the environment is ignored.
    result = _run(aws, {}, "--values-file", str(values_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert stale_id not in result.stdout, "without --prune nothing is deleted"
    for w in sync_secrets.wanted_secrets(ENV):
        assert _stored(sm, w.secret_id) == values[w.variable]

    dry = _run(aws, {}, "--values-file", str(values_file), "--prune", "--dry-run")
    assert f"(dry run) pruned     {stale_id}" in dry.stdout
    assert "DeletedDate" not in sm.describe_secret(SecretId=stale_id)

    pruned = _run(aws, {}, "--values-file", str(values_file), "--prune", "--recovery-window-days", "7")
    assert pruned.returncode == 0
    assert f"pruned     {stale_id} (recoverable for 7 days)" in pruned.stdout
    assert sm.describe_secret(SecretId=stale_id).get("DeletedDate")
    assert "DeletedDate" not in sm.describe_secret(SecretId=other_env_id), "other environments untouched"
    for w in sync_secrets.wanted_secrets(ENV):
        assert "DeletedDate" not in sm.describe_secret(SecretId=w.secret_id)


def test_local_environment_refuses_to_run_without_the_emulator(tmp_path: Path) -> None:
    values = _values()
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "eu-west-1", **values}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--env", "local"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "AWS_ENDPOINT_URL" in result.stderr
    for value in values.values():
        assert value not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "file_text", "message"),
    [
        (["--prune", "--recovery-window-days", "3"], None, "between 7 and 30"),
        (["--detailed-exitcode"], None, "only makes sense with --dry-run"),
        (["--values-file", "{tmp}/absent.env"], None, "cannot read values file"),
        (["--values-file", "{tmp}/bad.env"], "CATALOG_API_KEY hunter2-not-a-line\n", "not a KEY=VALUE line"),
    ],
)
def test_usage_errors_exit_2_with_one_reason(
    aws: MotoServer, sm, tmp_path: Path, args: list[str], file_text: str | None, message: str
) -> None:
    if file_text is not None:
        (tmp_path / "bad.env").write_text(file_text)
    result = _run(aws, {}, *[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2
    assert message in result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    assert sm.list_secrets()["SecretList"] == []


def test_kms_key_change_updates_and_is_applied(aws: MotoServer, sm) -> None:
    values = _values()
    assert _run(aws, values).returncode == 0
    kms = boto3.client("kms", endpoint_url=aws.url)
    key_id = kms.create_key(Description="sync_secrets test")["KeyMetadata"]["KeyId"]
    result = _run(aws, values, "--kms-key-id", key_id)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(_lines(result).values()) == {"updated"}
    for w in sync_secrets.wanted_secrets(ENV):
        assert sm.describe_secret(SecretId=w.secret_id)["KmsKeyId"] == key_id
        assert _stored(sm, w.secret_id) == values[w.variable]
    assert set(_lines(_run(aws, values, "--kms-key-id", key_id)).values()) == {"unchanged"}


def test_require_existing_writes_values_into_terraform_owned_secrets_without_drift(
    aws: MotoServer, sm
) -> None:
    """dev/prod: Terraform creates the secrets; the script only writes values and never re-tags."""
    values = _values()
    wanted = sync_secrets.wanted_secrets(ENV)
    terraform_tags = [{"Key": "managed-by", "Value": "terraform"}, {"Key": "service", "Value": "x"}]
    for w in wanted[1:]:
        sm.create_secret(Name=w.secret_id, Description="from terraform", Tags=terraform_tags)

    result = _run(aws, values, "--require-existing")
    assert result.returncode == 1
    outcomes = _lines(result)
    assert outcomes[wanted[0].secret_id] == "failed"
    assert "apply the environment's infra first" in result.stdout
    assert sm.list_secrets(Filters=[{"Key": "name", "Values": [wanted[0].secret_id]}])["SecretList"] == []
    for w in wanted[1:]:
        assert outcomes[w.secret_id] == "updated"
        assert _stored(sm, w.secret_id) == values[w.variable]
        described = sm.describe_secret(SecretId=w.secret_id)
        assert described["Description"] == "from terraform"
        assert described["Tags"] == terraform_tags, "tags are Terraform's: no drift"


def test_make_sync_secrets_reads_service_secrets_and_refuses_it_empty(aws: MotoServer, sm) -> None:
    """What the pipeline's jobs run: `make sync-secrets ENV=...` with SERVICE_SECRETS (KEY=VALUE lines)."""
    values = _values()
    wanted = sync_secrets.wanted_secrets(ENV)
    for w in wanted:
        sm.create_secret(Name=w.secret_id, Description="from terraform")
    ecs = boto3.client("ecs", region_name=REGION)
    stack_services(ecs, sm, ENV)  # the first apply's services: no task can start without the values
    assert not running_all(ecs, ENV)

    def make(service_secrets: str) -> subprocess.CompletedProcess:
        env = {**os.environ, **aws.env, "SERVICE_SECRETS": service_secrets}
        return subprocess.run(
            ["make", "-s", "sync-secrets", f"ENV={ENV}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO_ROOT,
        )

    empty = make("")
    assert empty.returncode != 0
    assert "SERVICE_SECRETS is empty" in empty.stderr
    assert all("SecretString" not in sm.describe_secret(SecretId=w.secret_id) for w in wanted)
    done = make("\n".join(f"{k}={v}" for k, v in values.items()))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert not [v for v in values.values() if v in output], "a secret value leaked into the output"
    assert running_all(ecs, ENV), output  # make sync-secrets rolled the services (roll_services.py)
    for w in wanted:
        assert _stored(sm, w.secret_id) == values[w.variable]
