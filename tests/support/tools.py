"""Finding the external tools a test needs, loudly.

A missing tool is never a silent skip: on a developer machine the test is skipped with one
clear line; in CI (``CI=true``) it fails with the same line.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
OUTPUT_DIR = REPO_ROOT / "test-output"


# make passes its command-line variables to sub-makes through these.
MAKE_CHANNELS = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


def make_variables() -> set[str]:
    """Variables the Makefile takes from the environment: `X ?= ...` or used but never assigned."""
    text = "\n".join(
        p.read_text() for p in [REPO_ROOT / "Makefile", *sorted((REPO_ROOT / "mk").glob("*.mk"))]
    )
    defaults = set(re.findall(r"^([A-Z][A-Z0-9_]*)\s*\?=", text, re.M))
    assigned = set(re.findall(r"^(?:export\s+)?([A-Z][A-Z0-9_]*)\s*(?::=|\+=|=)", text, re.M))
    used = set(re.findall(r"\$\(([A-Z][A-Z0-9_]*)\)", text)) | set(
        re.findall(r"^ifn?def\s+(\w+)", text, re.M)
    )
    return defaults | (used - assigned - {"MAKE", "MAKEFILE_LIST"})


def caller_variables(environ: Mapping[str, str]) -> list[str]:
    """Variables of the caller's environment that would change what the code under test does."""
    knobs = make_variables()
    return sorted(
        k for k in environ if k.startswith(("LOCAL_", "TF_VAR_")) or k in knobs or k in MAKE_CHANNELS
    )


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
