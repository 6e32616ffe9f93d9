"""Images an environment runs or may roll back to never expire: the marking step (ci_images.py keep)
and the policy evaluator (tests/infra/ecr_lifecycle.py) on the policies we must not have.

The applied policy itself is evaluated in tests/infra/test_bootstrap_roles.py."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import yaml

from tests.infra import ecr_lifecycle
from tests.support.aws import REGION, MotoServer
from tests.support.tools import REPO_ROOT

REPO = "storefront/keep-test"


def _rule(priority: int, status: str, count: int, pattern: str | None = None) -> dict[str, Any]:
    selection: dict[str, Any] = {"tagStatus": status, "countType": "imageCountMoreThan", "countNumber": count}
    if pattern:
        selection["tagPatternList"] = [pattern]
    return {"rulePriority": priority, "selection": selection, "action": {"type": "expire"}}


def _history(prod: set[int]) -> list[ecr_lifecycle.Image]:
    return [
        ecr_lifecycle.Image(
            digest=str(b),
            tags=(f"{b:040x}", f"dev-{b:040x}", *((f"prod-{b:040x}",) if b in prod else ())),
            pushed=b,
        )
        for b in range(1, 36)
    ]


def test_the_old_single_rule_expires_what_prod_runs() -> None:
    old = {"rules": [_rule(1, "any", 30)]}
    assert {"2", "5"} <= ecr_lifecycle.expired(old, _history({2, 5}))


def test_dev_before_prod_expires_what_prod_runs_and_prod_first_keeps_it() -> None:
    dev_first = {
        "rules": [_rule(1, "tagged", 20, "dev-*"), _rule(2, "tagged", 20, "prod-*"), _rule(3, "any", 30)]
    }
    assert {"2", "5"} <= ecr_lifecycle.expired(dev_first, _history({2, 5}))
    prod_first = {
        "rules": [_rule(1, "tagged", 20, "prod-*"), _rule(2, "tagged", 20, "dev-*"), _rule(3, "any", 30)]
    }
    gone = ecr_lifecycle.expired(prod_first, _history({2, 5}))
    assert not {"2", "5", "33", "35"} & gone
    assert "1" in gone


def _keep(server: MotoServer, images: Path, env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "scripts/ci/ci_images.py", "keep", "--images", str(images), "--env", env],
        cwd=REPO_ROOT,
        env={**server.env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_keep_tags_the_deployed_digest_once(aws: MotoServer, tmp_path: Path) -> None:
    aws.reset()
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName=REPO, imageTagMutability="IMMUTABLE")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"})
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    sha = "a" * 40
    ecr.put_image(repositoryName=REPO, imageManifest=manifest, imageTag=sha, imageDigest=digest)
    registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    images = tmp_path / "images.json"
    images.write_text(
        json.dumps({"tag": sha, "images": {"svc": {"repository": f"{registry}/{REPO}", "digest": digest}}})
    )

    first = _keep(aws, images, "prod")
    assert first.returncode == 0, first.stderr
    assert f"tagged prod-{sha}" in first.stdout
    again = _keep(aws, images, "prod")
    assert again.returncode == 0, again.stderr
    assert "already" in again.stdout
    (detail,) = ecr.describe_images(repositoryName=REPO)["imageDetails"]
    assert sorted(detail["imageTags"]) == sorted([sha, f"prod-{sha}"])


def test_keep_refuses_an_unknown_environment(aws: MotoServer, tmp_path: Path) -> None:
    done = _keep(aws, tmp_path / "missing.json", "staging")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr


def test_the_apply_tags_the_images_before_it_deploys_them() -> None:
    """The marking the lifecycle policy relies on happens in the apply action, after the promotion
    (the images file then names this environment's registry) and before `make apply`."""
    action = yaml.safe_load((REPO_ROOT / ".github" / "actions" / "apply-reviewed" / "action.yml").read_text())
    runs = [s.get("run", "") for s in action["runs"]["steps"]]
    keep = next(i for i, r in enumerate(runs) if "ci_images.py keep" in r)
    promote = next(i for i, r in enumerate(runs) if "ci_images.py promote" in r)
    apply = next(i for i, r in enumerate(runs) if "make apply" in r)
    assert promote < keep < apply
    assert '--env "$TARGET_ENV"' in runs[keep]
