"""The README's "Tour of the folders" names one home for each concern, and stays true.

- every path the tour names exists;
- every script (a file directly in scripts/ or in scripts/tooling/) is named, and every other
  file under scripts/ lies in a folder the tour names (scripts/bench/, scripts/ci/, ...);
- no path is the home of two concerns, and no concern is listed twice.
"""

from __future__ import annotations

import re

from tests.docs.docmd import README, as_path, repo_paths, section
from tests.support.tools import REPO_ROOT

SCRIPTS = REPO_ROOT / "scripts"
# Folders whose files must each be named (the one home of a concern), not only the folder.
NAMED_ONE_BY_ONE = (SCRIPTS, SCRIPTS / "tooling")


def _concern_rows() -> list[tuple[str, set[str]]]:
    """(concern, paths named as its home) for each row of the tour's concern table."""
    tour = section(README.read_text(), "Tour of the folders")
    table = tour[tour.index("| Concern | Its home |") :]
    rows = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        concern, home = (cell.strip() for cell in line.strip("|").split("|"))
        rows.append((concern, repo_paths(home)))
    return rows


def _tracked_scripts() -> list[str]:
    """Files under scripts/ as the repository has them (no caches, no generated files)."""
    return sorted(
        str(p.relative_to(REPO_ROOT))
        for p in SCRIPTS.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc" and p.name != "__init__.py"
    )


def test_every_path_the_tour_names_exists() -> None:
    named = repo_paths(section(README.read_text(), "Tour of the folders"))
    assert len(named) > 30, "the tour names almost nothing: the parser or the section is broken"
    missing = sorted(p for p in named if not as_path(p).exists())
    assert not missing, f"the README's tour names paths that do not exist: {missing}"


def test_every_script_is_named_or_lies_in_a_named_folder() -> None:
    homes = set().union(*(paths for _, paths in _concern_rows()))
    folders = {h.rstrip("/") for h in homes if as_path(h).is_dir()}
    unnamed = []
    for rel in _tracked_scripts():
        path = REPO_ROOT / rel
        if path.parent in NAMED_ONE_BY_ONE:
            if rel not in homes:
                unnamed.append(rel)
        elif not any(rel.startswith(folder + "/") for folder in folders):
            unnamed.append(rel)
    assert not unnamed, f"give these a home in the README's tour (concern table): {unnamed}"


def test_each_path_is_the_home_of_one_concern() -> None:
    rows = _concern_rows()
    assert len(rows) >= 20, rows
    concerns = [re.sub(r"\s+", " ", c.lower()) for c, _ in rows]
    assert len(set(concerns)) == len(concerns), "a concern is listed twice"
    seen: dict[str, str] = {}
    twice = []
    for concern, paths in rows:
        assert paths, f"concern {concern!r} names no home"
        for p in paths:
            if p in seen:
                twice.append(f"{p}: {seen[p]!r} and {concern!r}")
            seen[p] = concern
    assert not twice, f"one file, two concerns (split it, or merge the rows): {twice}"
