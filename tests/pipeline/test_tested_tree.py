"""scripts/ci/tested_tree.py: main.yml skips its checks only for a tree proven tested on its pull request.

The script runs as the workflow runs it (CLI, GITHUB_* environment) against the fake GitHub API of
the workflow proof (tests/pipeline/gha/fake_git.py), whose git answers come from a real repository
built here: main, a pull request branch, and the commit a merge pushes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pipeline.gha.fake_github import FakeGitHub
from tests.support.tools import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "ci" / "tested_tree.py"
GREEN = {
    "quality (ruff)": "success",  # not a required check's job: ignored
    "quality / quality (ruff)": "success",
    "quality / quality (terraform)": "success",
    "security / security": "success",
    "test / test": "success",
    "plan-dev / plan": "success",
}


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()


def _commit(repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    _git(repo, "add", name)
    _git(repo, "commit", "-q", "-m", f"change {name}")
    return _git(repo, "rev-parse", "HEAD")


def _squash(repo: Path, tree_of: str, parent: str, message: str = "merge") -> str:
    """What a squash (or merge) of an up-to-date branch pushes: the head's tree on main's tip."""
    return _git(repo, "commit-tree", f"{tree_of}^{{tree}}", "-p", parent, "-m", message)


@dataclass
class World:
    github: FakeGitHub
    repo: Path
    before: str  # main's tip before the push
    head: str  # the pull request's head (up to date with main)
    merged: str  # the pushed commit

    def ask(self, sha: str | None = None, before: str | None = None, token: str | None = None):
        out = self.repo.parent / "github-output"
        out.unlink(missing_ok=True)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")},
            "GITHUB_API_URL": self.github.url,
            "GITHUB_REPOSITORY": "example-org/storefront-gitops",
            "GITHUB_TOKEN": token or self.github.token,
        }
        argv = ["--sha", sha or self.merged, "--before", before or self.before, "--github-output", str(out)]
        done = subprocess.run(
            [sys.executable, str(SCRIPT), *argv], env=env, capture_output=True, text=True, timeout=60
        )
        return done, (out.read_text() if out.exists() else "")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, "a.txt", "1")
    before = _commit(repo, "b.txt", "1")
    _git(repo, "checkout", "-q", "-b", "change")
    head = _commit(repo, "c.txt", "new")
    merged = _squash(repo, head, before)
    github = FakeGitHub("job-token", lambda: None).start()  # type: ignore[arg-type,return-value]
    github.git.repo = repo
    github.git.merged_pull(12, head, merged)
    try:
        yield World(github, repo, before, head, merged)
    finally:
        github.stop()


def test_a_tree_whose_pull_request_passed_every_check_is_tested(world: World) -> None:
    world.github.git.workflow_run("pull-request.yml", world.head, GREEN)
    done, output = world.ask()
    assert done.returncode == 0, done.stderr
    assert output == "tested=true\n", done.stdout
    assert "ALREADY TESTED" in done.stdout
    assert "#12" in done.stdout


@pytest.mark.parametrize(
    "jobs",
    [
        {**GREEN, "test / test": "failure"},
        {**GREEN, "security / security": "skipped"},
        {k: v for k, v in GREEN.items() if not k.startswith("test / ")},
        {**GREEN, "quality / quality (terraform)": "cancelled"},
    ],
    ids=["test-failed", "security-skipped", "test-absent", "one-quality-job-cancelled"],
)
def test_a_required_check_that_did_not_pass_means_every_check_runs(world: World, jobs) -> None:
    world.github.git.workflow_run("pull-request.yml", world.head, jobs)
    done, output = world.ask()
    assert done.returncode == 0, done.stderr
    assert output == "tested=false\n", done.stdout


def test_only_the_newest_run_counts(world: World) -> None:
    world.github.git.workflow_run("pull-request.yml", world.head, GREEN)
    world.github.git.workflow_run("pull-request.yml", world.head, {**GREEN, "test / test": "failure"})
    assert world.ask()[1] == "tested=false\n"
    world.github.git.workflow_run("pull-request.yml", world.head, GREEN, attempt=2)
    assert world.ask()[1] == "tested=true\n"


def test_runs_of_other_workflows_or_events_do_not_count(world: World) -> None:
    world.github.git.workflow_run("main.yml", world.head, GREEN, event="push")
    world.github.git.workflow_run("pull-request.yml", world.head, GREEN, event="workflow_dispatch")
    done, output = world.ask()
    assert output == "tested=false\n"
    assert "no pull-request.yml run" in done.stdout


def test_a_pushed_tree_that_differs_from_the_tested_head_is_not_tested(world: World) -> None:
    world.github.git.workflow_run("pull-request.yml", world.head, GREEN)
    _git(world.repo, "checkout", "-q", "main")
    moved = _commit(world.repo, "d.txt", "main moved on")  # merged without updating the branch
    _git(world.repo, "merge", "-q", "--no-edit", world.head)  # the merge result holds both changes
    merged = _git(world.repo, "rev-parse", "HEAD")
    world.github.git.merged_pull(13, world.head, merged)
    done, output = world.ask(sha=merged, before=moved)
    assert output == "tested=false\n"
    assert "differs" in done.stdout


def test_a_head_that_did_not_contain_main_is_not_tested(world: World) -> None:
    """Same tree, but main moved (and moved back) while the branch stayed behind: GitHub tested a
    merge with an older main, which need not be this tree. Condition 3 refuses it."""
    world.github.git.workflow_run("pull-request.yml", world.head, GREEN)
    _git(world.repo, "checkout", "-q", "main")
    _commit(world.repo, "x.txt", "added")
    _git(world.repo, "rm", "-q", "x.txt")
    _git(world.repo, "commit", "-q", "-m", "revert")
    moved = _git(world.repo, "rev-parse", "HEAD")
    merged = _squash(world.repo, world.head, moved)
    world.github.git.merged_pull(14, world.head, merged)
    done, output = world.ask(sha=merged, before=moved)
    assert output == "tested=false\n"
    assert "did not contain" in done.stdout


def test_no_pull_request_first_push_bad_token_or_no_api_means_every_check_runs(world: World) -> None:
    world.github.git.workflow_run("pull-request.yml", world.head, GREEN)
    direct = _squash(world.repo, world.head, world.before, "direct")  # pushed to main without a pull request
    assert world.ask(sha=direct)[1] == "tested=false\n"
    assert world.ask(before="0" * 40)[1] == "tested=false\n"  # main's first push
    done, output = world.ask(token="wrong")
    assert output == "tested=false\n"
    assert "401" in done.stdout
    world.github.stop()
    done, output = world.ask()
    assert done.returncode == 0, done.stderr
    assert output == "tested=false\n", done.stdout


def test_bad_input_is_exit_2(world: World) -> None:
    done, output = world.ask(sha="main")
    assert done.returncode == 2
    assert output == ""
    assert "full commit SHA" in done.stderr
