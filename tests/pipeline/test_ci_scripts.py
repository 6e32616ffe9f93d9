"""The pipeline's scripts (scripts/ci/) against the AWS emulator: image digests, deploy records."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import manifests
import pytest

from tests.support.tools import REPO_ROOT

CI = REPO_ROOT / "scripts" / "ci"
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"  # moto's account


def cli(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CI / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def push_fake_image(repo: str, tag: str) -> str:
    """Register an image manifest in the emulator's ECR; returns its digest."""
    layer = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": 2,
                "digest": f"sha256:{layer}",
            },
            "layers": [],
        }
    )
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()  # as a registry computes it
    image = boto3.client("ecr").put_image(
        repositoryName=repo, imageManifest=manifest, imageTag=tag, imageDigest=digest
    )
    return image["image"]["imageId"]["imageDigest"]


@pytest.fixture
def repos(aws, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The emulator reset, with one immutable ECR repository per service (what bootstrap creates)."""
    aws.reset()
    ecr = boto3.client("ecr")
    names = []
    for m in manifests.load_all():
        name = f"{manifests.project_name()}/{m.name}"
        ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
        names.append(name)
    return names


@pytest.mark.slow
def test_images_are_found_recorded_and_collected_by_digest(repos, aws, tmp_path: Path) -> None:
    sha = uuid.uuid4().hex + "abcdef01"
    services = [m.name for m in manifests.load_all()]
    out = tmp_path / "gh_output"
    first = cli("ci_images.py", "prepare", "--service", services[0], "--registry", REGISTRY, "--tag", sha,
                "--github-output", str(out), env=aws.env)  # fmt: skip
    assert first.returncode == 0, first.stderr
    text = out.read_text()
    assert "exists=false\n" in text
    assert f"image={REGISTRY}/{repos[0]}:{sha}\n" in text
    assert f"SERVICE={services[0]}" in text  # build args come from the manifest
    digests = {}
    for service, repo in zip(services, repos, strict=True):
        digests[service] = push_fake_image(repo, sha)
        out_file = str(tmp_path / "d" / f"{service}.json")
        rec = cli("ci_images.py", "record", "--service", service, "--repository", f"{REGISTRY}/{repo}",
                  "--tag", sha, "--digest", digests[service], "--out", out_file, env=aws.env)  # fmt: skip
        assert rec.returncode == 0, rec.stderr
    # A re-run finds the image and does not rebuild.
    out.write_text("")
    again = cli("ci_images.py", "prepare", "--service", services[0], "--registry", REGISTRY, "--tag", sha,
                "--github-output", str(out), env=aws.env)  # fmt: skip
    assert "exists=true\n" in out.read_text()
    assert f"digest={digests[services[0]]}\n" in out.read_text()
    assert "not rebuilt" in again.stderr
    images = tmp_path / "images.json"
    col = cli("ci_images.py", "collect", "--dir", str(tmp_path / "d"), "--out", str(images), env=aws.env)
    assert col.returncode == 0, col.stderr
    data = json.loads(images.read_text())
    assert data["tag"] == sha
    assert {s: i["digest"] for s, i in data["images"].items()} == digests
    assert cli("ci_images.py", "verify", "--images", str(images), env=aws.env).returncode == 0
    # Terraform gets the digests, not the tag alone.
    tfv = cli("ci_images.py", "tfvars", "--images", str(images), env=aws.env)
    assert f"TF_VAR_image_tag={sha}" in tfv.stdout
    assert f"TF_VAR_image_registry={REGISTRY}" in tfv.stdout
    assert json.loads(tfv.stdout.split("TF_VAR_image_digests=")[1].splitlines()[0]) == digests


@pytest.mark.slow
def test_a_wrong_digest_or_a_missing_image_is_refused(repos, aws, tmp_path: Path) -> None:
    service = manifests.load_all()[0].name
    sha = uuid.uuid4().hex
    push_fake_image(repos[0], sha)
    wrong = "sha256:" + "0" * 64
    rec = cli("ci_images.py", "record", "--service", service, "--repository", f"{REGISTRY}/{repos[0]}",
              "--tag", sha, "--digest", wrong, "--out", str(tmp_path / "x.json"), env=aws.env)  # fmt: skip
    assert rec.returncode == 1
    assert "but the build produced" in rec.stderr
    missing = tmp_path / "images.json"
    missing.write_text(
        json.dumps(
            {
                "tag": sha,
                "images": {m.name: {"repository": f"{REGISTRY}/{r}", "digest": wrong}
                           for m, r in zip(manifests.load_all(), repos, strict=True)},
            }
        )
    )  # fmt: skip
    ver = cli("ci_images.py", "verify", "--images", str(missing), env=aws.env)
    assert ver.returncode == 1
    assert "does not exist in ECR" in ver.stderr
    assert ver.stderr.count("\n") == 1


@pytest.mark.slow
def test_deploy_records_gate_releases_and_name_the_rollback_target(aws, tmp_path: Path) -> None:
    aws.reset()
    good = tmp_path / "good.json"
    digest = "sha256:" + "a" * 64
    sha = "1234567" + uuid.uuid4().hex[:8]
    good.write_text(
        json.dumps(
            {"tag": sha, "images": {"catalog": {"repository": f"{REGISTRY}/x/catalog", "digest": digest}}}
        )
    )
    none = cli(
        "deploy_record.py", "last-good", "--env", "dev", "--out", str(tmp_path / "lg.json"), env=aws.env
    )
    assert none.returncode == 1
    assert "no good deploy recorded in dev" in none.stderr
    never = cli(
        "deploy_record.py",
        "passed",
        "--env",
        "dev",
        "--sha",
        sha,
        "--out",
        str(tmp_path / "p.json"),
        env=aws.env,
    )
    assert never.returncode == 1
    assert f"commit {sha} never passed the smoke test in dev" in never.stderr
    assert (
        cli("deploy_record.py", "record", "--env", "dev", "--images", str(good), env=aws.env).returncode == 0
    )
    gh = tmp_path / "gh"
    lg = cli(
        "deploy_record.py",
        "last-good",
        "--env",
        "dev",
        "--out",
        str(tmp_path / "lg.json"),
        "--github-output",
        str(gh),
        env=aws.env,
    )
    assert lg.returncode == 0, lg.stderr
    outputs = dict(line.split("=", 1) for line in gh.read_text().splitlines())
    assert json.loads(outputs["images"]) == json.loads(good.read_text())
    assert outputs["tag"] == sha  # the revision the rollback's smoke test waits for
    passed = cli(
        "deploy_record.py",
        "passed",
        "--env",
        "dev",
        "--sha",
        sha,
        "--out",
        str(tmp_path / "p.json"),
        env=aws.env,
    )
    assert passed.returncode == 0
    # Recorded for dev only: prod has nothing, and a bad SHA is a usage error.
    assert (
        cli(
            "deploy_record.py", "last-good", "--env", "prod", "--out", str(tmp_path / "x"), env=aws.env
        ).returncode
        == 1
    )
    assert (
        cli(
            "deploy_record.py",
            "passed",
            "--env",
            "dev",
            "--sha",
            "not-a-sha",
            "--out",
            str(tmp_path / "x"),
            env=aws.env,
        ).returncode
        == 2
    )


def test_bandit_json_becomes_sarif(tmp_path: Path) -> None:
    report = {
        "results": [
            {"test_id": "B602", "test_name": "subprocess_popen_with_shell_equals_true",
             "issue_text": "shell=True", "issue_severity": "HIGH", "issue_confidence": "HIGH",
             "filename": "./scripts/x.py", "line_number": 7, "more_info": "docs"}
        ]
    }  # fmt: skip
    src, dst = tmp_path / "b.json", tmp_path / "b.sarif"
    src.write_text(json.dumps(report))
    assert cli("bandit_sarif.py", str(src), str(dst)).returncode == 0
    sarif = json.loads(dst.read_text())
    assert sarif["version"] == "2.1.0"
    result = sarif["runs"][0]["results"][0]
    assert result["ruleId"] == "B602"
    assert result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "scripts/x.py"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 7


def _checkov_sarif(*results: dict) -> dict:
    """A checkov SARIF log in the shape checkov 3 writes (`-o sarif`)."""
    return {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Checkov", "rules": []}},
                                          "results": list(results)}]}  # fmt: skip


def _checkov_result(rule: str, **extra: object) -> dict:
    location = {"physicalLocation": {"artifactLocation": {"uri": "infra/modules/alb/main.tf"},
                                     "region": {"startLine": 186, "endLine": 215}}}  # fmt: skip
    return {"ruleId": rule, "level": "warning", "message": {"text": "Ensure ALB protocol is HTTPS"},
            "locations": [location], **extra}  # fmt: skip


def test_the_security_verdict_fails_on_any_unsuppressed_finding_of_one_scan(tmp_path: Path) -> None:
    """The security job scans once (make sarif) and judges those files: a finding of either tool
    fails it, with one line naming tool, rule and place; an inline skip (a suppressed result, as
    checkov reports `#checkov:skip=`) does not; a suppression that was rejected still fails."""
    skipped = _checkov_result("CKV_AWS_2", suppressions=[{"kind": "inSource", "justification": "internal"}])
    (tmp_path / "checkov.sarif").write_text(json.dumps(_checkov_sarif(skipped)))
    clean = cli("sarif_verdict.py", str(tmp_path))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no finding (1 suppressed inline, with a reason)" in clean.stdout

    report = {"results": [{"test_id": "B602", "issue_text": "shell=True", "issue_severity": "HIGH",
                           "filename": "./scripts/x.py", "line_number": 7}]}  # fmt: skip
    (tmp_path / "b.json").write_text(json.dumps(report))
    assert cli("bandit_sarif.py", str(tmp_path / "b.json"), str(tmp_path / "bandit.sarif")).returncode == 0
    found = cli("sarif_verdict.py", str(tmp_path))
    assert found.returncode == 1
    assert "bandit: B602 (error) scripts/x.py:7: shell=True" in found.stdout
    assert "1 finding(s)" in found.stdout

    (tmp_path / "bandit.sarif").unlink()
    rejected = _checkov_result("CKV_AWS_2", suppressions=[{"kind": "external", "status": "rejected"}])
    (tmp_path / "checkov.sarif").write_text(json.dumps(_checkov_sarif(skipped, rejected)))
    again = cli("sarif_verdict.py", str(tmp_path))
    assert again.returncode == 1
    assert "Checkov: CKV_AWS_2 (warning) infra/modules/alb/main.tf:186" in again.stdout


def test_the_security_verdict_refuses_what_is_not_a_scan(tmp_path: Path) -> None:
    """No folder, no SARIF file in it, a file that is not SARIF 2.1.0: exit 2 with a reason, never
    a green verdict over nothing."""
    missing = cli("sarif_verdict.py", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "no such folder" in missing.stderr
    empty = cli("sarif_verdict.py", str(tmp_path))
    assert empty.returncode == 2
    assert "no *.sarif file" in empty.stderr
    (tmp_path / "x.sarif").write_text("{not json")
    bad = cli("sarif_verdict.py", str(tmp_path))
    assert bad.returncode == 2
    assert "not a SARIF log" in bad.stderr
    (tmp_path / "x.sarif").write_text(json.dumps({"version": "2.0.0", "runs": []}))
    old = cli("sarif_verdict.py", str(tmp_path))
    assert old.returncode == 2
    assert "expected 2.1.0" in old.stderr
    (tmp_path / "x.sarif").unlink()
    (tmp_path / "checkov.sarif").write_text(json.dumps(_checkov_sarif()))
    one_tool = cli("sarif_verdict.py", str(tmp_path), "--expect", "bandit.sarif", "--expect", "checkov.sarif")
    assert one_tool.returncode == 2
    assert "bandit.sarif missing" in one_tool.stderr
    assert cli("sarif_verdict.py", str(tmp_path), "--expect", "checkov.sarif").returncode == 0


def test_job_summary_stays_under_githubs_limit() -> None:
    sys.path.insert(0, str(CI))
    import job_summary

    text = job_summary.render("# report\n", "x" * 3_000_000)
    assert len(text) <= job_summary.SUMMARY_LIMIT
    assert text.startswith("# report\n")
    assert "plan text truncated" in text
    assert text.rstrip().endswith("</details>")
