"""Test double of actions/upload-artifact v7 and actions/download-artifact v8 for the workflow proof.

The real actions talk to GitHub's artifact service; this keeps the same contract on disk, under
$ARTIFACT_STORE/<run id>/<name>/ (files + meta.json), as documented in their action.yml/README:

upload:   `path` (newline-separated files, folders or globs; required), `name` (default
          "artifact"), `if-no-files-found` (warn | error | ignore), `retention-days` (1-90; 0 or
          empty = the repository default, 90), `overwrite` (false: a second artifact of the same
          name in the run FAILS, as GitHub's service answers 409; true: replaces it),
          `include-hidden-files` (false: dot-files and dot-folders are left out).
          Outputs artifact-id, artifact-url, artifact-digest (sha256 of the stored files).
download: `name` (one artifact; fails when it does not exist or has EXPIRED: its retention ended,
          measured against $ARTIFACT_CLOCK_OFFSET_DAYS so a test can age a run), or `pattern`
          (fnmatch) with `merge-multiple`; `path` (default the workspace). Output download-path.

    artifacts.py upload | download      (inputs from INPUT_* environment variables)
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

DAY = 86400


def _input(name: str, default: str = "") -> str:
    return os.environ.get(f"INPUT_{name.upper()}", "").strip() or default


def _store() -> Path:
    root = Path(os.environ["ARTIFACT_STORE"]) / os.environ.get("GITHUB_RUN_ID", "1")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _output(**values: str) -> None:
    with open(os.environ["GITHUB_OUTPUT"], "a") as fh:
        for key, value in values.items():
            fh.write(f"{key}={value}\n")


def _fail(message: str) -> int:
    print(f"::error::{message}")
    return 1


def _hidden(path: Path, base: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(base).parts)


def _root(pattern: Path) -> Path:
    """The fixed part of a pattern: the folder its matches are laid out from."""
    parts: list[str] = []
    for part in pattern.parts:
        if any(ch in part for ch in "*?["):
            return Path(*parts)
        parts.append(part)
    return pattern.parent if pattern.is_file() else pattern


def _collect(patterns: list[str], workspace: Path, hidden: bool) -> list[tuple[Path, Path]]:
    """(file, path inside the artifact): laid out from the least common ancestor of the patterns'
    search roots, as the real action does."""
    files: list[Path] = []
    roots: list[Path] = []
    for pattern in patterns:
        full = Path(pattern) if os.path.isabs(pattern) else workspace / pattern
        hits = [Path(h) for h in sorted(glob.glob(str(full), recursive=True))]
        if hits:
            roots.append(_root(full))
        for hit in hits:
            files += sorted(p for p in hit.rglob("*") if p.is_file()) if hit.is_dir() else [hit]
    if not files:
        return []
    base = Path(os.path.commonpath([str(r) for r in roots]))
    return [(f, f.relative_to(base)) for f in dict.fromkeys(files) if hidden or not _hidden(f, base)]


def upload() -> int:
    workspace = Path(os.environ.get("GITHUB_WORKSPACE", "."))
    name = _input("name", "artifact")
    patterns = [line.strip() for line in _input("path").splitlines() if line.strip()]
    if not patterns:
        return _fail("Input required and not supplied: path")
    mode = _input("if-no-files-found", "warn")
    if mode not in ("warn", "error", "ignore"):
        return _fail(f"Unrecognized if-no-files-found input: {mode}")
    retention = int(_input("retention-days", "0") or 0)
    if not 0 <= retention <= 90:
        return _fail(f"retention-days must be 0-90, got {retention}")
    overwrite = _input("overwrite", "false") == "true"
    files = _collect(patterns, workspace, _input("include-hidden-files", "false") == "true")
    if not files:
        message = f"No files were found with the provided path: {', '.join(patterns)}."
        message += " No artifacts will be uploaded."
        if mode == "error":
            return _fail(message)
        print(f"::{'warning' if mode == 'warn' else 'notice'}::{message}")
        return 0
    target = _store() / name
    if target.exists():
        if not overwrite:
            return _fail(
                "Failed to CreateArtifact: Received non-retryable error: Failed request: (409) Conflict: "
                "an artifact with this name already exists on the workflow run"
            )
        shutil.rmtree(target)
    digest = hashlib.sha256()
    for source, rel in files:
        dest = target / "files" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
        digest.update(str(rel).encode() + b"\0" + source.read_bytes())
    meta = {"name": name, "created": time.time(), "retention_days": retention or 90, "files": len(files)}
    (target / "meta.json").write_text(json.dumps(meta))
    artifact_id = str(abs(hash(str(target))) % 10**9)
    days = meta["retention_days"]
    print(f"Artifact {name} has been successfully uploaded ({len(files)} files, retention {days} days)")
    _output(**{"artifact-id": artifact_id, "artifact-url": "", "artifact-digest": digest.hexdigest()})
    return 0


def _expired(meta: dict) -> bool:
    now = time.time() + float(os.environ.get("ARTIFACT_CLOCK_OFFSET_DAYS", "0")) * DAY
    return now > meta["created"] + meta["retention_days"] * DAY


def download() -> int:
    workspace = Path(os.environ.get("GITHUB_WORKSPACE", "."))
    dest = Path(os.path.expanduser(_input("path", str(workspace))))
    if not dest.is_absolute():
        dest = workspace / dest
    if _input("artifact-ids"):
        return _fail("artifact-ids is not supported by the test double")
    name, pattern = _input("name"), _input("pattern")
    merge = _input("merge-multiple", "false") == "true"
    store = _store()
    if name:
        chosen = [store / name]
        if not (store / name / "meta.json").exists():
            return _fail(f"Unable to download artifact(s): Artifact not found for name: {name}")
    else:
        chosen = sorted(p for p in store.iterdir() if fnmatch.fnmatch(p.name, pattern or "*"))
    for artifact in chosen:
        meta = json.loads((artifact / "meta.json").read_text())
        if _expired(meta):
            return _fail(f"Unable to download artifact(s): Artifact {meta['name']} has expired")
        into = dest if (name or merge) else dest / artifact.name
        into.mkdir(parents=True, exist_ok=True)
        shutil.copytree(artifact / "files", into, dirs_exist_ok=True)
        print(f"Artifact {meta['name']} downloaded to {into}")
    _output(**{"download-path": str(dest)})
    return 0


if __name__ == "__main__":
    sys.exit({"upload": upload, "download": download}[sys.argv[1]]())
