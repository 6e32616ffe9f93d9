"""A copy of the repository as a fresh clone would hold it, for tests that change files or run
commands exactly as a person would (the README's scaffold, the Quickstart)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.tools import REPO_ROOT, need


def repo_files() -> list[str]:
    """What git would ship: tracked files plus untracked files that are not ignored."""
    git = need("git")
    out = subprocess.run(
        [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted({p for p in out.split("\0") if p and (REPO_ROOT / p).is_file()})


def copy_repo(dest: Path, leave_out: str = "") -> Path:
    """Copy into ``dest`` (files under ``leave_out`` excluded); the tooling venv is linked, not copied."""
    for rel in repo_files():
        if leave_out and rel.startswith(leave_out):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, target)  # keeps mtimes: make sees the venv as up to date
    # The tooling venv is shared, not copied (make's venv target finds it installed).
    (dest / ".venv").symlink_to(REPO_ROOT / ".venv")
    return dest
