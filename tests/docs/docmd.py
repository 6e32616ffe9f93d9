"""Reading our Markdown docs: sections, shell commands in code blocks, repository paths named."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.support.tools import REPO_ROOT

README = REPO_ROOT / "README.md"
README_ES = REPO_ROOT / "README.es.md"
DESIGN = REPO_ROOT / "design.md"
# Ours: the READMEs, the design and docs/*.md except the generated benchmark results.
DOCS = [
    README,
    README_ES,
    DESIGN,
    *sorted(p for p in (REPO_ROOT / "docs").glob("*.md") if p.name != "benchmarks.md"),
]

# Top-level folders and files a doc may point into.
PATH_ROOTS = ("services", "scripts", "infra", "docs", "tests", "mk", "web", "policies", "requirements")
DOT_ROOTS = (".github", ".ci")
TOP_FILES = ("Makefile", "pyproject.toml", "conftest.py", "README.md", "README.es.md", "design.md")
_PATH = re.compile(
    r"(?<![\w/.$-])((?:" + "|".join(re.escape(r) for r in PATH_ROOTS + DOT_ROOTS) + r")/[\w./@-]*)"
)
_FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.M | re.S)
SHELL_LANGS = {"bash", "sh", "shell", "console"}


def section(text: str, heading: str) -> str:
    """The text of the first Markdown section whose heading starts with ``heading``."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    level = 0
    for line in lines:
        m = re.match(r"^(#+)\s+(.*)", line)
        if m and level and len(m.group(1)) <= level:
            break
        if m and not level and m.group(2).strip().startswith(heading):
            level = len(m.group(1))
        if level:
            out.append(line)
    if not out:
        raise AssertionError(f"no section starting with {heading!r}")
    return "".join(out)


def shell_blocks(text: str) -> list[str]:
    return [body for lang, body in _FENCE.findall(text) if lang in SHELL_LANGS]


@dataclass(frozen=True)
class Command:
    argv: list[str]
    line: str


def commands(text: str) -> list[Command]:
    """Every simple command in the shell code blocks (split on &&, ||, ;, |; env prefixes dropped)."""
    found: list[Command] = []
    for block in shell_blocks(text):
        joined = block.replace("\\\n", " ")
        for raw in joined.splitlines():
            line = raw.strip()
            if line.startswith("$ "):
                line = line[2:]
            if not line or line.startswith("#"):
                continue
            found.extend(Command(argv, line) for argv in _simple_commands(line))
    return found


_OPERATORS = {"&&", "||", ";", "|", "&", ";;", "(", ")"}  # ( ): subshells, $( ) substitutions
_REDIRECTS = {">", ">>", "<", "2>", "2>&1", ">&"}


def _simple_commands(line: str) -> list[list[str]]:
    """Split a shell line into simple commands (quotes respected; redirections and env prefixes dropped)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:
        tokens = line.split()
    out: list[list[str]] = []
    current: list[str] = []
    skip_next = False
    for tok in tokens:
        if skip_next:
            skip_next = False
            continue
        if tok in _OPERATORS:
            out.append(current)
            current = []
        elif tok in _REDIRECTS or tok.startswith((">", "<")):
            skip_next = tok in _REDIRECTS
        else:
            current.append(tok)
    out.append(current)
    result = []
    for argv in out:
        while argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]):
            argv = argv[1:]
        if argv:
            result.append(argv)
    return result


_INLINE = re.compile(r"`((?:make|python3?|\.venv/bin/python|bash|sudo bash) [^`\n]+)`")


def inline_commands(text: str) -> list[Command]:
    """Commands written inline in prose and tables (`make status`, `python scripts/x.py ...`)."""
    found = []
    for span in _INLINE.findall(text):
        line = span.removeprefix("sudo ")
        found += [Command(argv, span) for argv in _simple_commands(line)]
    return found


def all_commands(text: str) -> list[Command]:
    return commands(text) + inline_commands(text)


def make_target(argv: list[str]) -> tuple[str, list[str]]:
    """(target, variable assignments) of a `make ...` command; "help" when no target is named."""
    assert argv[0] == "make"
    targets = [a for a in argv[1:] if not a.startswith("-") and "=" not in a]
    assigns = [a for a in argv[1:] if "=" in a and not a.startswith("-")]
    return (targets[0] if targets else "help"), assigns


def repo_paths(text: str) -> set[str]:
    """Repository paths a doc names (placeholders like <name>, globs and variables excluded)."""
    paths: set[str] = set()
    for match in _PATH.findall(text):
        path = match.rstrip(".,:;)")
        if any(ch in path for ch in "<>*{}$"):
            continue
        paths.add(path)
    for link in re.findall(r"\]\(([^)#\s]+)", text):
        if "://" in link or link.startswith(("mailto:", "#")):
            continue
        path = link.lstrip("./")
        if path.split("/", 1)[0] in PATH_ROOTS + DOT_ROOTS or path in TOP_FILES:
            paths.add(path)
    return paths


def added_service_example() -> tuple[str, int]:
    """(name, port) of the service the README's add-a-service guide creates."""
    guide = section(README.read_text(), "Add a third service")
    m = re.search(r"make new-service NAME=([a-z][a-z0-9-]+) PORT=(\d+)", guide)
    if not m:
        raise AssertionError("the add-a-service guide has no `make new-service NAME=... PORT=...` line")
    return m.group(1), int(m.group(2))


def as_path(rel: str) -> Path:
    return REPO_ROOT / rel
