"""actionlint, zizmor and the GitHub JSON schemas report nothing on .github/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipeline.workflows import action_files, workflow_files
from tests.support.tools import REPO_ROOT, unavailable

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        unavailable(f"{name} not found in {BIN} (make venv installs it from requirements/dev.txt)")
    return str(path)


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    return subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180)


def test_there_are_workflows_to_check() -> None:
    assert len(workflow_files()) >= 12
    assert action_files()


def test_actionlint_finds_nothing() -> None:
    if not (REPO_ROOT / ".git").exists():
        unavailable("actionlint needs the repository's .git folder")
    shellcheck, pyflakes = tool("shellcheck"), tool("pyflakes")
    result = run([tool("actionlint"), "-shellcheck", shellcheck, "-pyflakes", pyflakes, "-verbose"])
    assert result.returncode == 0, result.stdout + result.stderr
    # -verbose names each file it linted: every workflow was really checked.
    for path in workflow_files():
        assert path.name in result.stderr, f"actionlint did not lint {path.name}:\n{result.stderr[-2000:]}"


def test_zizmor_offline_finds_nothing_of_medium_or_higher() -> None:
    result = run(
        [
            tool("zizmor"),
            "--offline",
            "--min-severity",
            "medium",
            "--no-progress",
            "--format",
            "plain",
            ".github",
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_zizmor_would_catch_a_template_injection(tmp_path: Path) -> None:
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: pull_request\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-24.04\n    permissions: {}\n"
        "    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    result = run([tool("zizmor"), "--offline", "--min-severity", "medium", "--no-progress", str(bad)])
    assert result.returncode != 0
    assert "template-injection" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("schema", "paths"),
    [
        pytest.param("vendor.github-workflows", workflow_files(), id="workflows"),
        pytest.param("vendor.github-actions", action_files(), id="actions"),
        pytest.param("vendor.dependabot", [REPO_ROOT / ".github" / "dependabot.yml"], id="dependabot"),
    ],
)
def test_files_match_the_github_schemas(schema: str, paths: list[Path]) -> None:
    assert paths
    result = run([tool("check-jsonschema"), "--builtin-schema", schema, *map(str, paths)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependabot_covers_every_ecosystem_and_location() -> None:
    import yaml

    config = yaml.safe_load((REPO_ROOT / ".github" / "dependabot.yml").read_text())
    dirs = {u["package-ecosystem"]: set(u["directories"]) for u in config["updates"]}
    assert dirs["pip"] == {"/requirements", "/services/*"}
    assert dirs["docker"] == {"/services"}
    assert "/" in dirs["github-actions"]
    assert {"/infra/stack", "/infra/bootstrap", "/infra/modules/*"} <= dirs["terraform"]
    # The globs match real folders: every service has a lock and a Dockerfile there.
    for service in sorted(p.parent for p in (REPO_ROOT / "services").glob("*/service.yaml")):
        assert (service / "requirements.txt").is_file(), service
    assert list((REPO_ROOT / "requirements").glob("*.txt"))
