"""The release flow proven by running the real workflow YAML with act: (e) a tag releases the
images that passed dev to prod, by digest.

(e) starts from what scenario (c) of tests/pipeline/test_workflows_deploy.py proves main.yml
leaves behind for a commit: its images in ECR under the commit's tag and dev's last good record
naming them. This module seeds exactly that state with the same code paths instead of running
main.yml again (tests/pipeline/gha/aws_setup.py publish_images: amazon-ecr-login's docker login,
ci_images.py prepare, the build-push double with the images workflow's inputs, ci_images.py
record/collect, deploy_record.py record --env dev), so pytest-xdist (--dist loadfile) runs it on
its own worker beside the deploy module, against an emulator, a fake GitHub and a prepared
repository of its own (tests/pipeline/gha/proof.py). The services behind prod's URL are the
loopback data plane of tests/pipeline/gha/data_plane.py: it runs the images the emulator's ECS
services name, so prod's smoke test checks the code of the tagged commit.
Needs the shared action cache (STOREFRONT_SHARED_DIR): without it deselected with a printed reason.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import manifests
import pytest

from tests.pipeline.gha.aws_setup import publish_images
from tests.pipeline.gha.deploys import Deploys, last_good, open_deploys, push, running_images
from tests.pipeline.gha.proof import SUBJECT, report

# A whole workflow run (a full prod apply): longer than the suite's 600 s per test on a loaded
# 2-core machine, so this module allows 30 minutes per test.
pytestmark = [pytest.mark.slow, pytest.mark.needs_shared("gha-actions"), pytest.mark.tool("terraform"),
              pytest.mark.timeout(1800)]  # fmt: skip


@pytest.fixture(scope="module")
def deploys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deploys]:
    with open_deploys(tmp_path_factory, ("prod",)) as d:
        proof = d.proof
        publish_images(proof.aws, proof.act, proof.roles.deploy["dev"], proof.sha)  # what (c) leaves
        d.good["dev"] = proof.sha
        yield d


def test_e_a_tag_releases_the_dev_tested_images_to_prod(deploys: Deploys) -> None:
    """(e) Tag v1.0.0 on the commit that passed dev: verify finds it passed dev, prod is planned and
    applied with the SAME digests, secrets and site published, prod's smoke test passes against the
    tagged revision, prod's last good record is written, the release notes list the digests."""
    d = deploys
    good = d.good["dev"]
    # dev's last good images (what main.yml's record-good job wrote)
    dev_images = {s: f"{i['repository']}@{i['digest']}" for s, i in last_good(d, "dev")["images"].items()}
    assert last_good(d, "dev")["tag"] == good
    git = ["git", "-C", str(d.proof.act.repo)]
    subprocess.run([*git, "tag", "v1.0.0", good], check=True)
    d.proof.github.git.repo = d.proof.act.repo
    tokens_before = len(d.proof.github.state.tokens)
    subprocess.run([*git, "checkout", "-q", "v1.0.0"], check=True)  # what the tag push checks out
    try:
        result = push(d, "release.yml", "refs/tags/v1.0.0", good, "prod")
    finally:
        subprocess.run([*git, "checkout", "-q", "main"], check=True)
    report(result, "release v1.0.0")
    assert result.returncode == 0, result.log.read_text()[-8000:]
    for job in ("verify", "plan", "release", "release-notes"):
        assert result.result(job) == "success", (job, result.output(job)[-3000:])
    assert running_images(d, "prod") == dev_images  # promoted by digest, never rebuilt
    assert last_good(d, "prod")["tag"] == good
    for m in manifests.load_all():
        assert d.planes["prod"].tasks[m.name].revision == good
    (release,) = d.proof.github.state.releases
    assert release["tag_name"] == "v1.0.0"
    assert all(image.split("@")[1] in release["body"] for image in dev_images.values())
    subjects = {t["sub"] for t in d.proof.github.state.tokens[tokens_before:]}
    assert subjects == {f"repo:{SUBJECT}:environment:dev-plan", f"repo:{SUBJECT}:environment:prod-plan",
                        f"repo:{SUBJECT}:environment:prod"}, subjects  # fmt: skip
