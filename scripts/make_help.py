"""``make help``: every documented target, grouped by area (one group per mk/*.mk file).

A target is documented by a ``## text`` comment on its rule line. A group's title is the first
comment line of its file, up to the first colon or parenthesis (``# Terraform: ...`` gives
"Terraform"). Colour only on a terminal (and never with ``NO_COLOR`` set or ``TERM=dumb``);
piped or redirected output is plain text. Standard library only: it runs before the venv exists.

Usage: python3 scripts/make_help.py Makefile mk/*.mk
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

_RULE = re.compile(r"^([a-zA-Z0-9_.-]+):.*?## (.*)$")


def title(path: Path, lines: list[str]) -> str:
    for line in lines:
        if line.startswith("#"):
            text = re.split(r"[:(]", line.lstrip("# ").strip(), maxsplit=1)[0].strip()
            if text:
                return text
    return path.stem


def groups(paths: list[Path]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(title, [(target, description)]) per file that documents at least one target."""
    out = []
    for path in paths:
        lines = path.read_text().splitlines()
        targets = [(m.group(1), m.group(2).strip()) for m in map(_RULE.match, lines) if m]
        if targets:
            out.append((title(path, lines), targets))
    return out


def use_colour(stream) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def render(paths: list[Path], colour: bool) -> str:
    bold, cyan, reset = ("\033[1m", "\033[36m", "\033[0m") if colour else ("", "", "")
    found = groups(paths)
    width = max((len(target) for _, targets in found for target, _ in targets), default=0)
    blocks = []
    for name, targets in found:
        rows = [f"  {cyan}{target:<{width}}{reset}  {text}" for target, text in targets]
        blocks.append("\n".join([f"{bold}{name}{reset}", *rows]))
    return "\n\n".join(blocks) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args if Path(a).is_file()]
    if not paths:
        print("make_help: no makefiles given", file=sys.stderr)
        return 2
    sys.stdout.write("Usage: make <target> [VARIABLE=value ...]\n\n" + render(paths, use_colour(sys.stdout)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
