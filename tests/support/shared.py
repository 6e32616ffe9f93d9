"""The team's shared folder (pins file, action sources): optional, found by a documented variable.

``STOREFRONT_SHARED_DIR`` names it, and nothing else finds it: the repository makes no guess about
folders beside it (`.ci/run` sets the variable when its machine has the folder). Without it, tests
marked ``needs_shared(what)`` are deselected at collection with one printed line saying why
(conftest.py), never run, never silently skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED_VARIABLE = "STOREFRONT_SHARED_DIR"


def shared_dir() -> Path | None:
    """The shared folder, or None when neither the variable nor the default finds one."""
    named = os.environ.get(SHARED_VARIABLE, "").strip()
    return Path(named) if named and Path(named).is_dir() else None


def shared_path(*parts: str) -> Path | None:
    """A file or folder inside the shared folder, or None when it is not there."""
    base = shared_dir()
    if base is None:
        return None
    path = base.joinpath(*parts)
    return path if path.exists() else None


def missing_reason(*parts: str) -> str | None:
    """Why a test needing ``parts`` of the shared folder cannot run here (None: it can)."""
    if shared_path(*parts) is not None:
        return None
    where = os.environ.get(SHARED_VARIABLE) or "not set"
    what = "/".join(parts) or "the shared folder"
    return f"{what} not found (shared folder: {where}); set {SHARED_VARIABLE} to use one"
