"""The team's shared folder (pins file, action sources): optional, found by a documented variable.

``STOREFRONT_SHARED_DIR`` names it; by default it is the ``shared`` folder beside the repository
when one exists. A fresh clone has none: tests marked ``needs_shared(what)`` are then deselected
at collection with one printed line saying why (conftest.py), never run, never silently skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.tools import REPO_ROOT

SHARED_VARIABLE = "STOREFRONT_SHARED_DIR"


def shared_dir() -> Path | None:
    """The shared folder, or None when neither the variable nor the default finds one."""
    named = os.environ.get(SHARED_VARIABLE, "").strip()
    path = Path(named) if named else REPO_ROOT.parent / "shared"
    return path if path.is_dir() else None


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
    where = os.environ.get(SHARED_VARIABLE) or f"{REPO_ROOT.parent / 'shared'} (default)"
    what = "/".join(parts) or "the shared folder"
    return f"{what} not found (shared folder: {where}); set {SHARED_VARIABLE} to use one"
