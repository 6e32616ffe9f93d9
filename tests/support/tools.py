"""Finding the external tools a test needs, loudly.

A missing tool is never a silent skip: on a developer machine the test is skipped with one
clear line; in CI (``CI=true``) it fails with the same line.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
OUTPUT_DIR = REPO_ROOT / "test-output"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Stop the current test because something it needs is missing."""
    line = f"UNAVAILABLE: {reason}"
    if in_ci():
        pytest.fail(line, pytrace=False)
    pytest.skip(line)


def need(tool: str, hint: str = "") -> str:
    """Path of ``tool`` on PATH, or stop the test saying which tool is missing."""
    path = shutil.which(tool)
    if path is None:
        unavailable(f"{tool} not found on PATH{': ' + hint if hint else ''}")
    return path  # type: ignore[return-value]


def output_dir(*parts: str) -> Path:
    """A folder under test-output/ for screenshots, reports and logs of the test run."""
    path = OUTPUT_DIR.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
