"""Did the exact tree pushed to main already pass the required checks on its pull request?

main.yml asks this first: when the answer is yes it skips re-running quality, security and the
whole test suite (about 11 minutes) on a tree they already passed; when it is no, or anything is
uncertain (an API error, no pull request, a tree that differs), every check runs as before. It
never fails open: the only way to "yes" is every condition below, read from GitHub's REST API.

    1. the pushed commit came from a merged pull request into main whose merge commit is this push
       (GET /repos/{o}/{r}/commits/{sha}/pulls; merge_commit_sha == the pushed sha);
    2. the pull request's head commit has the SAME tree as the pushed commit
       (GET /repos/{o}/{r}/git/commits/{sha}: tree.sha of both);
    3. the head contained main as it was before this push (GET /repos/{o}/{r}/compare/{before}...{head}:
       status ahead or identical), so the merge GitHub tested for the pull request (head merged
       with an older main, an ancestor of that) had exactly the head's tree;
    4. the newest run of pull-request.yml for that head (GET .../actions/workflows/pull-request.yml/runs
       ?head_sha=...&event=pull_request) completed with conclusion success, and in it every job of
       each required check (GET .../actions/runs/{id}/jobs: "quality / ...", "security / ...",
       "test / ...") ran and succeeded.

Condition 3 holds whenever branch protection requires branches to be up to date before merging
(README, "Branch protection"); main's history only moves forward (force pushes are blocked).

    tested_tree.py --sha SHA --before SHA [--github-output FILE]
Reads GITHUB_API_URL, GITHUB_REPOSITORY and GITHUB_TOKEN. Prints one line saying why; writes
``tested=true|false`` to FILE. Exit status: 0 (either answer), 2 bad input. Standard library only:
the job that runs it needs no toolchain.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

WORKFLOW = "pull-request.yml"
REQUIRED_JOBS = ("quality", "security", "test")
SHA = re.compile(r"^[0-9a-f]{40}$")

Get = Callable[[str], Any]


class NotTestedError(Exception):
    """One condition does not hold; the message says which."""


def api_getter(base: str, repository: str, token: str) -> Get:
    """GET {base}/repos/{repository}{path} as JSON, authenticated with the job's token."""

    def get(path: str) -> Any:
        url = f"{base.rstrip('/')}/repos/{repository}{path}"
        if not url.startswith(("https://", "http://")):
            raise NotTestedError(f"GITHUB_API_URL is not an http(s) URL: {base!r}")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {token}",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as answer:  # noqa: S310  # nosec B310
                return json.loads(answer.read())
        except (urllib.error.URLError, TimeoutError, ValueError) as error:
            raise NotTestedError(f"GET {path} failed: {error}") from error

    return get


def _tree(get: Get, sha: str) -> str:
    return str(get(f"/git/commits/{sha}")["tree"]["sha"])


def proof_of_testing(get: Get, sha: str, before: str, branch: str = "main") -> str:
    """The reason the tree of ``sha`` is already tested; NotTestedError when it is not (or unsure)."""
    pulls = [
        p
        for p in get(f"/commits/{sha}/pulls")
        if p.get("merged_at") and p.get("merge_commit_sha") == sha and p["base"]["ref"] == branch
    ]
    if len(pulls) != 1:
        raise NotTestedError(f"{sha} is not the merge commit of exactly one pull request into {branch}")
    pull = pulls[0]
    number, head = pull["number"], pull["head"]["sha"]
    if _tree(get, head) != _tree(get, sha):
        raise NotTestedError(f"the tree of {sha} differs from the tree of #{number}'s head {head}")
    if not SHA.match(before) or set(before) == {"0"}:
        raise NotTestedError(f"no previous tip of {branch} to compare with ({before!r})")
    status = get(f"/compare/{before}...{head}")["status"]
    if status not in ("ahead", "identical"):
        raise NotTestedError(f"#{number}'s head {head} did not contain {branch}'s previous tip ({status})")
    query = urllib.parse.urlencode({"head_sha": head, "event": "pull_request", "per_page": 100})
    runs = get(f"/actions/workflows/{WORKFLOW}/runs?{query}")["workflow_runs"]
    if not runs:
        raise NotTestedError(f"no {WORKFLOW} run for #{number}'s head {head}")
    run = max(runs, key=lambda r: (r["run_number"], r.get("run_attempt", 1)))
    if run["status"] != "completed" or run["conclusion"] != "success":
        raise NotTestedError(f"the newest {WORKFLOW} run for {head} is {run['status']}/{run['conclusion']}")
    jobs = get(f"/actions/runs/{run['id']}/jobs?per_page=100")["jobs"]
    for check in REQUIRED_JOBS:
        mine = [j for j in jobs if j["name"].startswith(f"{check} / ")]
        if not mine or any(j["conclusion"] != "success" for j in mine):
            found = sorted({str(j["conclusion"]) for j in mine}) or ["absent"]
            raise NotTestedError(f"check {check!r} of run {run['id']} is {', '.join(found)}")
    return f"tree of {sha} = tree of #{number}'s head {head}, which passed {', '.join(REQUIRED_JOBS)}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sha", required=True)
    parser.add_argument("--before", required=True, help="main's tip before this push (event.before)")
    parser.add_argument("--github-output", help="append tested=true|false here")
    args = parser.parse_args(argv)
    needed = ("GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_TOKEN")
    missing = [k for k in needed if not os.environ.get(k)]
    if missing or not SHA.match(args.sha):
        problem = ", ".join(missing) or "--sha is not a full commit SHA"
        print(f"tested_tree: bad input ({problem})", file=sys.stderr)
        return 2
    env = os.environ
    get = api_getter(env["GITHUB_API_URL"], env["GITHUB_REPOSITORY"], env["GITHUB_TOKEN"])
    try:
        reason, tested = proof_of_testing(get, args.sha, args.before), True
    except NotTestedError as error:
        reason, tested = f"{error}: every check runs", False
    except (KeyError, TypeError) as error:  # an answer not shaped as documented: never trust it
        reason, tested = f"unexpected API answer ({error!r}): every check runs", False
    print(f"tested_tree: {'ALREADY TESTED' if tested else 'not proven tested'}: {reason}")
    if args.github_output:
        with open(args.github_output, "a", encoding="utf-8") as out:
            out.write(f"tested={'true' if tested else 'false'}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
