"""ruff (lint and format) and bandit over all Python in the repository."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tools import REPO_ROOT

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["ruff", "check", "."], id="ruff-check"),
        pytest.param(["ruff", "format", "--check", "."], id="ruff-format"),
        pytest.param(["bandit", "-q", "-c", "pyproject.toml", "-r", "services", "scripts"], id="bandit"),
    ],
)
def test_python_tool_is_clean(argv: list[str]) -> None:
    result = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _imported_roots(path: Path) -> set[str]:
    """The top-level module names a Python file imports (absolute imports only)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_service_code_imports_nothing_from_tests_or_scripts() -> None:
    """What lives under services/ (but the services' own tests) ships or runs on its own: it never
    reaches into the repository's test support or scripts."""
    scripts = {p.stem for p in (REPO_ROOT / "scripts").glob("*.py")} | {
        p.name for p in (REPO_ROOT / "scripts").iterdir() if (p / "__init__.py").exists()
    }
    forbidden = {"tests"} | scripts
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(_imported_roots(path) & forbidden)
        for path in (REPO_ROOT / "services").rglob("*.py")
        if "tests" not in path.relative_to(REPO_ROOT / "services").parts
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert "manifests" in forbidden  # the scripts' module names were found
