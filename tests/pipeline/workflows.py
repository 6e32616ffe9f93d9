"""Reading our GitHub Actions workflows as data, for the contract tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.tools import REPO_ROOT

GITHUB_DIR = REPO_ROOT / ".github"
WORKFLOWS_DIR = GITHUB_DIR / "workflows"
ROLE_ACTION = "aws-actions/configure-aws-credentials"
_USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
_INPUT_REF = re.compile(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if True in data:  # PyYAML reads the key `on` as the boolean True
        data["on"] = data.pop(True)
    return data


def workflow_files() -> list[Path]:
    return sorted(p for p in WORKFLOWS_DIR.glob("*.y*ml"))


def action_files() -> list[Path]:
    return sorted(GITHUB_DIR.glob("actions/*/action.y*ml"))


def uses_lines(path: Path) -> list[tuple[int, str, str]]:
    """(line number, reference, rest of line) of every `uses:` in a file, comments included."""
    found = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = _USES_LINE.match(line)
        if m:
            found.append((n, m.group("ref").strip("'\""), m.group("rest").strip()))
    return found


def triggers(wf: dict[str, Any]) -> dict[str, Any]:
    on = wf.get("on") or {}
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on


def call_interface(path: Path) -> dict[str, Any]:
    """inputs/secrets/outputs a reusable workflow declares."""
    call = triggers(load(path)).get("workflow_call")
    assert call is not None or "workflow_call" in triggers(load(path)), f"{path.name} is not reusable"
    return {
        "inputs": (call or {}).get("inputs") or {},
        "secrets": (call or {}).get("secrets") or {},
        "outputs": (call or {}).get("outputs") or {},
    }


def substitute(text: Any, inputs: dict[str, Any]) -> Any:
    """A string with ${{ inputs.x }} replaced by the values a caller passes (or the defaults)."""
    if not isinstance(text, str):
        return text
    return _INPUT_REF.sub(lambda m: str(inputs.get(m.group(1), m.group(0))), text)


@dataclass
class LiveJob:
    """A job that can run for a given trigger, with the inputs it was called with."""

    workflow: str
    job_id: str
    job: dict[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)
    caller_chain: tuple[str, ...] = ()

    @property
    def environment(self) -> str | None:
        env = self.job.get("environment")
        if isinstance(env, dict):
            env = env.get("name")
        return substitute(env, self.inputs)

    @property
    def steps(self) -> list[dict[str, Any]]:
        return self.job.get("steps") or []

    def run_text(self) -> str:
        """Every `run:` of the job, those of the local composite actions it uses included."""
        texts = []
        for step in self.steps:
            texts.append(substitute(step.get("run", ""), self.inputs))
            uses = str(step.get("uses", ""))
            if uses.startswith("./"):
                given = {k: substitute(v, self.inputs) for k, v in (step.get("with") or {}).items()}
                action = load(REPO_ROOT / uses / "action.yml")
                inner_steps = (action.get("runs") or {}).get("steps") or []
                texts.extend(substitute(inner.get("run", ""), given) for inner in inner_steps)
        return "\n".join(texts)

    def assumes_role(self) -> bool:
        return any(str(s.get("uses", "")).startswith(ROLE_ACTION + "@") for s in self.steps)

    @property
    def name(self) -> str:
        return " > ".join([*self.caller_chain, f"{self.workflow}:{self.job_id}"])


def _dead(job: dict[str, Any], inputs: dict[str, Any], event: str) -> bool:
    """Whether a job's `if:` can never be true for this event and these inputs (our patterns)."""
    cond = str(job.get("if", ""))
    for m in re.finditer(r"inputs\.([A-Za-z0-9_-]+)\s*==\s*'([^']*)'", cond):
        if str(inputs.get(m.group(1))) != m.group(2):
            return True
    return "github.event_name != 'pull_request'" in cond and event == "pull_request"


def live_jobs(path: Path, event: str, inputs: dict[str, Any] | None = None, chain=()) -> list[LiveJob]:
    """Every job that may run when ``path`` runs for ``event``, following local reusable workflows."""
    wf = load(path)
    inputs = dict(inputs or {})
    if inputs is not None:
        declared = (triggers(wf).get("workflow_call") or {}).get("inputs") or {}
        for name, spec in declared.items():
            inputs.setdefault(name, (spec or {}).get("default"))
    jobs = []
    for job_id, job in (wf.get("jobs") or {}).items():
        if _dead(job, inputs, event):
            continue
        uses = job.get("uses")
        if uses and str(uses).startswith("./"):
            called_inputs = {k: substitute(v, inputs) for k, v in (job.get("with") or {}).items()}
            jobs += live_jobs(REPO_ROOT / uses, event, called_inputs, (*chain, f"{path.name}:{job_id}"))
        else:
            jobs.append(LiveJob(path.name, job_id, job, inputs, chain))
    return jobs
