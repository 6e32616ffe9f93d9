"""ruff (lint and format) and bandit over all Python in the repository; small modules outside tests."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.tools import REPO_ROOT

BIN = Path(sys.executable).parent
MAX_LINES = 450  # a module longer than this mixes concerns: split it (the README's tour names the homes)
# Over the limit for now, each with its way out; the test fails once an entry is no longer needed.
OVER_LIMIT: dict[str, str] = {}


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


def test_no_python_module_outside_tests_is_over_the_line_limit() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    sizes = {
        rel: len((REPO_ROOT / rel).read_text().splitlines())
        for rel in tracked.split("\0")
        if rel and "tests" not in Path(rel).parts and rel != "conftest.py" and (REPO_ROOT / rel).is_file()
    }
    assert len(sizes) > 50, "found almost no Python modules: the listing is broken"
    too_long = {rel: n for rel, n in sizes.items() if n > MAX_LINES and rel not in OVER_LIMIT}
    assert not too_long, f"modules over {MAX_LINES} lines (split them): {too_long}"
    stale = [rel for rel in OVER_LIMIT if sizes.get(rel, 0) <= MAX_LINES]
    assert not stale, f"remove from OVER_LIMIT (gone or short enough now): {stale}"


def test_every_c4_perf_c901_exemption_is_still_needed() -> None:
    """pyproject.toml lists files other branches still have to fix; a fixed file leaves the list."""
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    exempt = {
        path: rules
        for path, rules in config["per-file-ignores"].items()
        if any(r.startswith(("C4", "PERF", "C90")) for r in rules)
    }
    if not exempt:
        return  # every file meets the rules: nothing to check
    result = subprocess.run(
        [
            str(BIN / "ruff"),
            "check",
            "--output-format=json",
            "--select=C4,PERF,C90",
            "--config=lint.per-file-ignores = {}",
            *exempt,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = {(str(Path(f["filename"]).relative_to(REPO_ROOT)), f["code"]) for f in json.loads(result.stdout)}
    unneeded = [f"{p}: {rule}" for p, rules in exempt.items() for rule in rules if (p, rule) not in found]
    assert not unneeded, f"fixed: delete these lines from pyproject.toml's per-file-ignores: {unneeded}"


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
