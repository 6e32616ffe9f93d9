"""`make logs`: each local stack component's recent log lines, readable or as stored."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from tooling import logview
from tooling.stack_commands import component_names, say
from tooling.stack_settings import Settings


def _iter_new_lines(paths: list[Path]) -> Iterator[tuple[str, str]]:
    offsets = {p: p.stat().st_size if p.exists() else 0 for p in paths}
    while True:
        for p in paths:
            if not p.exists():
                continue
            with p.open(errors="replace") as fh:
                fh.seek(offsets[p])
                for line in fh:
                    yield p.stem, line.rstrip("\n")
                offsets[p] = fh.tell()
        time.sleep(0.3)


def logs(settings: Settings, name: str | None, follow: bool, lines: int, raw: bool = False) -> int:
    """Recent lines of each component's log, readable (logview.human) unless ``raw`` (JSON as stored)."""
    names = [name] if name else component_names()
    paths = [settings.logs / f"{n}.log" for n in names]
    if not any(p.exists() for p in paths):
        say(f"No logs yet in {settings.rel(settings.logs)}/ (run `make up`).")
        return 0
    for p in paths:
        if p.exists():
            say(f"==> {settings.rel(p)} <==")
            for line in p.read_text(errors="replace").splitlines()[-lines:]:
                say(line if raw else logview.human(line, p.stem))
    if follow:
        with contextlib.suppress(KeyboardInterrupt):
            for stem, line in _iter_new_lines(paths):
                say(f"{stem:<8} | {line}" if raw else logview.human(line, stem))
    return 0
