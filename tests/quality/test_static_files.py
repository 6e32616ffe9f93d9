"""hadolint on every Dockerfile, shellcheck on every shell script, terraform fmt on infra/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tools import REPO_ROOT, unavailable

BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO_ROOT / "scripts" / "ci"))
import repo_files  # noqa: E402


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        unavailable(f"{name} not found in {BIN} (make venv installs it)")
    return str(path)


def _services() -> list[str]:
    return sorted(p.parent.name for p in (REPO_ROOT / "services").glob("*/service.yaml"))


def test_one_dockerfile_serves_every_service_and_the_linters_see_it() -> None:
    dockerfiles = set(repo_files.files("dockerfiles"))
    assert "services/Dockerfile" in dockerfiles, "services/Dockerfile missing"
    # The service is a build arg: a Dockerfile inside a service folder would be a second copy.
    copies = sorted(f for f in dockerfiles if f.startswith("services/") and f != "services/Dockerfile")
    assert not copies, f"one services/Dockerfile builds every service; remove {copies}"
    assert _services(), "no service manifests found"


DOCKERFILES = repo_files.files("dockerfiles")
SHELL_SCRIPTS = repo_files.files("shell")


@pytest.mark.parametrize("path", DOCKERFILES or ["(none yet)"])
def test_hadolint_is_clean(path: str) -> None:
    if path == "(none yet)":
        pytest.fail("no Dockerfile found in the repository")
    result = subprocess.run(
        [_tool("hadolint"), path], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_shell_script_finder_is_not_blind() -> None:
    assert ".ci/run" in SHELL_SCRIPTS  # no .sh suffix: found by its shebang
    assert "scripts/install_system_deps.sh" in SHELL_SCRIPTS
    assert not [p for p in SHELL_SCRIPTS if p.startswith((".venv", ".local"))]


@pytest.mark.parametrize("path", SHELL_SCRIPTS)
def test_shellcheck_is_clean(path: str) -> None:
    result = subprocess.run(
        [_tool("shellcheck"), "--external-sources", path],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_terraform_is_formatted(tmp_path: Path) -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        unavailable("terraform not found on PATH")
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": str(tmp_path / "none.tfrc")}
    (tmp_path / "none.tfrc").write_text("")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", "infra"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"terraform fmt -check found unformatted files:\n{result.stdout}{result.stderr}"
    )
