"""The repository's files of one kind, for linters (mk/40-ci.mk) and their tests: one definition.

    python scripts/ci/repo_files.py shell        shell scripts (*.sh, or a sh/bash shebang)
    python scripts/ci/repo_files.py dockerfiles  Dockerfile, Dockerfile.*, *.Dockerfile
    python scripts/ci/repo_files.py workflows    .github/workflows/*.yml|yaml

Paths are relative to the repository root, one per line, sorted. Tool folders (virtualenvs,
local state, caches, test output, .terraform) are never searched.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {
    ".git",
    ".venv",
    ".venv-checkov",
    ".local",
    "node_modules",
    "test-output",
    ".terraform",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "build",
}
_SHEBANG = re.compile(rb"^#!\s*(/usr/bin/env\s+(-\S+\s+)*)?(/bin/|/usr/bin/)?(ba)?sh\b")


def _walk(root: Path) -> Iterator[Path]:
    for path in sorted(root.iterdir()):
        if path.is_dir():
            if path.name not in SKIP_DIRS and not path.is_symlink():
                yield from _walk(path)
        elif path.is_file():
            yield path


def _is_shell(path: Path) -> bool:
    if path.suffix in (".sh", ".bash"):
        return True
    if path.suffix:
        return False
    try:
        with path.open("rb") as fh:
            head = fh.readline(200)
    except OSError:
        return False
    return bool(_SHEBANG.match(head))


def _is_dockerfile(path: Path) -> bool:
    name = path.name
    return name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith(".Dockerfile")


def files(kind: str, root: Path = REPO_ROOT) -> list[str]:
    if kind == "workflows":
        folder = root / ".github" / "workflows"
        found = [p for p in folder.glob("*") if p.suffix in (".yml", ".yaml")] if folder.is_dir() else []
    else:
        test = {"shell": _is_shell, "dockerfiles": _is_dockerfile}[kind]
        found = [p for p in _walk(root) if test(p)]
    return sorted(str(p.relative_to(root)) for p in found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["shell", "dockerfiles", "workflows"])
    args = parser.parse_args(argv)
    print("\n".join(files(args.kind)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
