"""The fake GitHub's view of commits, pull requests and workflow runs (read-only REST).

Git answers come from a real repository (``git cat-file`` / ``merge-base``), so trees and
ancestry are the repository's own; pull requests and workflow runs are what a scenario records
with ``merged_pull`` and ``workflow_run`` (GitHub's documented response shapes, only the fields
our workflows read).

  GET /repos/{o}/{r}/git/commits/{sha}                    {"sha", "tree": {"sha"}, "parents"}
  GET /repos/{o}/{r}/git/ref/tags/{tag}                   {"ref", "object": {"sha", "type"}} (404: no tag)
  GET /repos/{o}/{r}/compare/{base}...{head}              {"status": ahead|behind|identical|diverged}
  GET /repos/{o}/{r}/commits/{sha}/pulls                  pull requests whose merge commit or head is sha
  GET /repos/{o}/{r}/actions/workflows/{file}/runs        ?head_sha=&event= filters; {"workflow_runs"}
  GET /repos/{o}/{r}/actions/runs/{id}/jobs               {"jobs": [{"name", "conclusion"}]}
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Answer = tuple[int, Any]
NOT_FOUND: Answer = (404, {"message": "Not Found"})


@dataclass
class GitData:
    repo: Path | None = None
    pulls: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)

    # ---- what a scenario records ------------------------------------------------------------
    def merged_pull(self, number: int, head: str, merge_commit: str, base: str = "main") -> dict[str, Any]:
        pull = {
            "number": number,
            "state": "closed",
            "merged_at": "2026-12-05T20:00:00Z",
            "merge_commit_sha": merge_commit,
            "head": {"sha": head, "ref": f"change-{number}"},
            "base": {"ref": base},
        }
        self.pulls.append(pull)
        return pull

    def workflow_run(
        self, workflow: str, head: str, jobs: dict[str, str], event: str = "pull_request", attempt: int = 1
    ) -> dict[str, Any]:
        """A completed run; ``jobs`` maps a job's display name ("test / test") to its conclusion."""
        failed = any(c not in ("success", "skipped") for c in jobs.values())
        run = {
            "id": 5000 + len(self.runs),
            "run_number": len(self.runs) + 1,
            "run_attempt": attempt,
            "path": f".github/workflows/{workflow}",
            "head_sha": head,
            "event": event,
            "status": "completed",
            "conclusion": "failure" if failed else "success",
            "jobs": [{"name": n, "status": "completed", "conclusion": c} for n, c in jobs.items()],
        }
        self.runs.append(run)
        return run

    # ---- REST -------------------------------------------------------------------------------
    def _git(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert self.repo is not None
        return subprocess.run(
            ["git", "-C", str(self.repo), *args], capture_output=True, text=True, timeout=30, check=False
        )

    def _commit(self, sha: str) -> Answer:
        shown = self._git("show", "-s", "--format=%T %P", f"{sha}^{{commit}}")
        if shown.returncode != 0:
            return 422, {"message": f"No commit found for SHA: {sha}"}
        tree, *parents = shown.stdout.split()
        return 200, {"sha": sha, "tree": {"sha": tree}, "parents": [{"sha": p} for p in parents]}

    def _compare(self, base: str, head: str) -> Answer:
        resolved = [self._git("rev-parse", "--verify", f"{r}^{{commit}}") for r in (base, head)]
        if any(r.returncode != 0 for r in resolved):
            return NOT_FOUND
        b, h = (r.stdout.strip() for r in resolved)
        if b == h:
            return 200, {"status": "identical"}
        base_in_head = self._git("merge-base", "--is-ancestor", b, h).returncode == 0
        head_in_base = self._git("merge-base", "--is-ancestor", h, b).returncode == 0
        status = "ahead" if base_in_head else "behind" if head_in_base else "diverged"
        return 200, {"status": status}

    def route(self, method: str, path: str, query: dict[str, list[str]]) -> Answer | None:
        """The answer to one of the calls above, or None when the path is not one of them."""
        if method != "GET":
            return None
        repo = r"/repos/[^/]+/[^/]+"
        if self.repo is not None and (m := re.fullmatch(rf"{repo}/git/commits/([0-9a-f]{{4,40}})", path)):
            return self._commit(m.group(1))
        if self.repo is not None and (m := re.fullmatch(rf"{repo}/compare/([^./]+)\.\.\.([^./]+)", path)):
            return self._compare(m.group(1), m.group(2))
        if self.repo is not None and (m := re.fullmatch(rf"{repo}/git/ref/tags/([A-Za-z0-9._-]+)", path)):
            found = self._git("rev-parse", "--verify", "--quiet", f"refs/tags/{m.group(1)}^{{commit}}")
            if found.returncode != 0:
                return 404, {"message": "Not Found"}
            ref = {
                "ref": f"refs/tags/{m.group(1)}",
                "object": {"sha": found.stdout.strip(), "type": "commit"},
            }
            return 200, ref
        if m := re.fullmatch(rf"{repo}/commits/([0-9a-f]{{40}})/pulls", path):
            sha = m.group(1)
            return 200, [p for p in self.pulls if sha in (p["merge_commit_sha"], p["head"]["sha"])]
        if m := re.fullmatch(rf"{repo}/actions/workflows/([^/]+)/runs", path):
            wanted = {k: query[k][0] for k in ("head_sha", "event") if k in query}
            runs = [
                {k: v for k, v in r.items() if k != "jobs"}
                for r in self.runs
                if r["path"].endswith(f"/{m.group(1)}") and all(r[k] == v for k, v in wanted.items())
            ]
            return 200, {"total_count": len(runs), "workflow_runs": runs}
        if m := re.fullmatch(rf"{repo}/actions/runs/(\d+)/jobs", path):
            found = [r["jobs"] for r in self.runs if r["id"] == int(m.group(1))]
            return (200, {"total_count": len(found[0]), "jobs": found[0]}) if found else NOT_FOUND
        return None
