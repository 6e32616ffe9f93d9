"""Our own contract over .github/: calls, roles, permissions, pins, and who may deploy where."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.pipeline.workflows import (
    ROLE_ACTION,
    WORKFLOWS_DIR,
    action_files,
    call_interface,
    live_jobs,
    load,
    triggers,
    uses_lines,
    workflow_files,
)
from tests.support.shared import shared_path
from tests.support.tools import REPO_ROOT

# The repository's own copy of the pins it uses (identical lines to the team's shared pins file).
PINS_FILE = REPO_ROOT / ".github" / "action-pins.txt"
DEPLOY_ENVIRONMENTS = {"dev", "prod"}  # GitHub environments holding the deploy roles
ENTRY_POINTS = {
    "pull-request.yml": "pull_request",
    "main.yml": "push",
    "release.yml": "push",
    "drift.yml": "schedule",
}
REUSABLE = {
    "reusable-apply.yml",
    "reusable-quality.yml",
    "reusable-security.yml",
    "reusable-test.yml",
    "reusable-images.yml",
    "reusable-terraform.yml",
    "reusable-static.yml",
    "reusable-smoke.yml",
}
ALL_FILES = [*workflow_files(), *action_files()]


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO_ROOT)) for p in paths]


def pins(path: Path = PINS_FILE) -> dict[str, str]:
    """`owner/repo[/path]` -> the exact pinned line `owner/repo@sha # tag`."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            found[line.split("@", 1)[0]] = line
    assert found, f"{path} lists no pins"
    return found


def test_the_repository_pins_exactly_what_it_uses() -> None:
    used = {
        ref.split("@", 1)[0] for p in ALL_FILES for _, ref, _ in uses_lines(p) if not ref.startswith("./")
    }
    assert set(pins()) == used, f"{PINS_FILE.name}: unused {set(pins()) - used}, missing {used - set(pins())}"


@pytest.mark.needs_shared("action-pins.txt")
def test_the_repository_pins_are_the_shared_pins() -> None:
    shared_file = shared_path("action-pins.txt")
    assert shared_file is not None
    shared = pins(shared_file)
    for name, line in pins().items():
        assert shared.get(name) == line, (
            f"{PINS_FILE.name}: `{line}` differs from {shared_file}: {shared.get(name)}"
        )


def test_the_expected_workflows_exist() -> None:
    names = {p.name for p in workflow_files()}
    assert names >= set(ENTRY_POINTS) | REUSABLE
    for name in REUSABLE:
        assert "workflow_call" in triggers(load(WORKFLOWS_DIR / name)), f"{name} must be on: workflow_call"


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_every_third_party_action_is_exactly_a_pin(path: Path) -> None:
    allowed = pins()
    for n, ref, rest in uses_lines(path):
        if ref.startswith("./"):
            assert (REPO_ROOT / ref).exists() or (REPO_ROOT / ref / "action.yml").exists(), (
                f"{path}:{n} {ref}"
            )
            continue
        name = ref.split("@", 1)[0]
        assert name in allowed, f"{path.name}:{n}: {name} is not in the pins file"
        assert f"{ref} {rest}".strip() == allowed[name], (
            f"{path.name}:{n}: `uses: {ref} {rest}` must be exactly `uses: {allowed[name]}`"
        )


@pytest.mark.parametrize("path", workflow_files(), ids=_ids(workflow_files()))
def test_permissions_are_least_privilege(path: Path) -> None:
    wf = load(path)
    assert wf.get("permissions") == {}, f"{path.name}: top level must be `permissions: {{}}`"
    assert not {"pull_request_target", "workflow_run"} & set(triggers(wf)), f"{path.name}: dangerous trigger"
    for job_id, job in wf["jobs"].items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"{path.name}:{job_id} must declare its permissions"
        assert "write-all" not in str(perms)
        assert "read-all" not in str(perms)
        steps = job.get("steps") or []
        assumes = any(str(s.get("uses", "")).startswith(ROLE_ACTION + "@") for s in steps)
        if perms.get("id-token") == "write" and steps:
            assert assumes, f"{path.name}:{job_id} has id-token: write but assumes no AWS role"
        if assumes:
            assert perms.get("id-token") == "write", f"{path.name}:{job_id} assumes a role without id-token"
            assert job.get("environment"), f"{path.name}:{job_id} assumes a role without an environment"
        if job.get("uses") and perms.get("id-token") == "write":
            called = load(REPO_ROOT / job["uses"])
            assert any(
                (j.get("permissions") or {}).get("id-token") == "write" for j in called["jobs"].values()
            ), f"{path.name}:{job_id} grants id-token to {job['uses']}, which assumes no role"


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_checkout_never_persists_credentials_and_run_never_interpolates(path: Path) -> None:
    data = load(path)
    step_lists = [job.get("steps") or [] for job in (data.get("jobs") or {}).values()]
    step_lists.append((data.get("runs") or {}).get("steps") or [])
    for steps in step_lists:
        for step in steps:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert (step.get("with") or {}).get("persist-credentials") is False, f"{path.name}: {step}"
            run = step.get("run")
            if run is not None:
                assert "${{" not in run, f"{path.name}: expression in run: (pass it via env): {run[:80]}"


@pytest.mark.parametrize("path", workflow_files(), ids=_ids(workflow_files()))
def test_reusable_workflow_calls_match_their_interface(path: Path) -> None:
    wf = load(path)
    for job_id, job in wf["jobs"].items():
        uses = job.get("uses")
        if not uses:
            continue
        assert uses.startswith("./.github/workflows/"), f"{path.name}:{job_id}: only local reusable workflows"
        iface = call_interface(REPO_ROOT / uses)
        given_inputs = job.get("with") or {}
        given_secrets = job.get("secrets") or {}
        assert given_secrets != "inherit", f"{path.name}:{job_id}: pass secrets explicitly, never inherit"
        where = f"{path.name}:{job_id} -> {uses}"
        assert set(given_inputs) <= set(iface["inputs"]), f"{where}: undeclared inputs {set(given_inputs)}"
        assert set(given_secrets) <= set(iface["secrets"]), (
            f"{where}: undeclared secrets {set(given_secrets)}"
        )
        for name, spec in iface["inputs"].items():
            if (spec or {}).get("required") and "default" not in (spec or {}):
                assert name in given_inputs, f"{where}: required input {name} missing"
            if name in given_inputs and (spec or {}).get("type") == "boolean":
                value = given_inputs[name]
                assert isinstance(value, bool) or str(value).startswith("${{"), f"{where}: {name} not boolean"
        for name, spec in iface["secrets"].items():
            if (spec or {}).get("required"):
                assert name in given_secrets, f"{where}: required secret {name} missing"
        for name in re.findall(r"needs\.[\w-]+\.outputs\.([\w-]+)", str(job)):
            assert name, where


def _live(workflow: str, event: str):
    return live_jobs(WORKFLOWS_DIR / workflow, event)


def test_pull_requests_can_never_apply() -> None:
    jobs = _live("pull-request.yml", "pull_request")
    assert jobs
    for job in jobs:
        assert job.environment not in DEPLOY_ENVIRONMENTS, (
            f"{job.name} runs in deploy environment {job.environment}"
        )
        text = job.run_text()
        for forbidden in ("make apply", "terraform apply", "make destroy", "sync_secrets", "publish-static"):
            assert forbidden not in text, f"{job.name} runs `{forbidden}` on a pull request"
        if job.assumes_role():
            assert job.environment in {"dev-plan", "prod-plan"}, (
                f"{job.name}: role outside a plan environment"
            )
    terraform_calls = [
        j
        for j in load(WORKFLOWS_DIR / "pull-request.yml")["jobs"].values()
        if "terraform" in str(j.get("uses"))
    ]
    assert {c["with"]["purpose"] for c in terraform_calls} == {"pr"}
    assert {c["with"]["environment"] for c in terraform_calls} == {"dev", "prod"}
    assert not [
        j for j in load(WORKFLOWS_DIR / "pull-request.yml")["jobs"].values() if "apply" in str(j.get("uses"))
    ]
    # Forked pull requests: no job that touches AWS or posts comments runs for them.
    for job_id, job in load(WORKFLOWS_DIR / "pull-request.yml")["jobs"].items():
        if job_id.startswith("plan-") or job_id == "comment":
            assert "github.event.pull_request.head.repo.full_name == github.repository" in str(job.get("if"))


def test_main_deploys_only_dev_and_tags_only_prod() -> None:
    main = load(WORKFLOWS_DIR / "main.yml")
    release = load(WORKFLOWS_DIR / "release.yml")
    assert set(triggers(main)) == {"push"}
    assert triggers(main)["push"] == {"branches": ["main"]}
    assert set(triggers(release)) == {"push"}
    assert triggers(release)["push"] == {"tags": ["v*"]}
    main_envs = {j.environment for j in _live("main.yml", "push") if j.environment}
    release_envs = {j.environment for j in _live("release.yml", "push") if j.environment}
    assert main_envs <= {"dev", "dev-plan"}, main_envs
    assert "dev" in main_envs
    assert release_envs <= {"prod", "prod-plan", "dev-plan"}, release_envs
    assert "prod" in release_envs
    applies = [j for j in _live("release.yml", "push") if "make apply" in j.run_text()]
    assert applies
    assert {j.environment for j in applies} == {"prod"}
    applies = [j for j in _live("main.yml", "push") if "make apply" in j.run_text()]
    assert applies
    assert {j.environment for j in applies} == {"dev"}
    # A release never builds: no image build anywhere in the tag path.
    assert not [j for j in _live("release.yml", "push") if "build-push-action" in str(j.steps)]


def test_drift_detection_only_plans() -> None:
    for job in _live("drift.yml", "schedule"):
        assert job.environment in (None, "dev-plan", "prod-plan"), job.name
        assert "make apply" not in job.run_text()


def test_terraform_apply_is_gated_serialised_and_applies_only_the_reviewed_plan() -> None:
    plan = load(WORKFLOWS_DIR / "reusable-terraform.yml")
    apply = load(WORKFLOWS_DIR / "reusable-apply.yml")
    assert set(plan["jobs"]) == {"plan"}, "the plan workflow never applies"
    assert plan["jobs"]["plan"]["environment"] == "${{ inputs.environment }}-plan"
    job = apply["jobs"]["apply"]
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["concurrency"] == {
        "group": "terraform-${{ inputs.environment }}",
        "cancel-in-progress": False,
        "queue": "max",
    }
    assert "github.event_name != 'pull_request'" in job["if"]
    composite = load(REPO_ROOT / ".github" / "actions" / "apply-reviewed" / "action.yml")
    runs = [s.get("run", "") for s in composite["runs"]["steps"]]
    verify = next(i for i, r in enumerate(runs) if "make plan-verify" in r)
    do_apply = next(i for i, r in enumerate(runs) if "make apply" in r)
    assert verify < do_apply
    assert "PLAN_SEAL=reviewed-seal.json" in runs[verify]
    assert 'TFPLAN=".local/terraform/$TARGET_ENV.tfplan"' in runs[do_apply]
    # The second plan skips the quota check only because plan-verify, in the same step, refuses it
    # unless it renders exactly as the reviewed plan (whose quotas the plan job checked).
    lines = runs[verify].splitlines()
    replan = next(i for i, line in enumerate(lines) if line.startswith("make plan "))
    assert "CHECK_QUOTAS=0" in lines[replan]
    assert lines[replan + 1].startswith("make plan-verify ")
    plan_steps = plan["jobs"]["plan"]["steps"]
    assert not any("CHECK_QUOTAS" in str(step.get("run", "")) for step in plan_steps), (
        "the plan job checks the quotas of the plan it seals"
    )
    # The plan job renders its plan's JSON once: make plan keeps it for the seal step that follows.
    plan_runs = [str(step.get("run", "")) for step in plan_steps]
    make_plan = next(i for i, r in enumerate(plan_runs) if r.startswith("make plan "))
    assert "KEEP_PLAN_JSON=1" in plan_runs[make_plan]
    assert "make plan-seal " in plan_runs[make_plan + 1]


def test_the_binary_plan_never_leaves_the_plan_job() -> None:
    """Defect 8: a .tfplan embeds state with secret values in clear; no artifact may carry one."""
    for path in ALL_FILES:
        for job in (load(path).get("jobs") or {}).values():
            for step in job.get("steps") or []:
                if str(step.get("uses", "")).startswith("actions/upload-artifact@"):
                    assert ".tfplan" not in str(step["with"]["path"]), f"{path.name}: uploads a binary plan"
                    assert "terraform/" not in str(step["with"]["path"]), f"{path.name}: uploads a plan dir"
    plan_steps = load(WORKFLOWS_DIR / "reusable-terraform.yml")["jobs"]["plan"]["steps"]
    seal = next(s for s in plan_steps if "make plan-seal" in s.get("run", ""))
    assert 'rm -f ".local/terraform/$TARGET_ENV.tfplan"' in seal["run"]


def test_artifact_names_are_unique_per_call_in_a_run() -> None:
    """Defect 3: deploy and rollback call the plan workflow in one run; upload-artifact refuses a
    second artifact of the same name, so the name carries the call's purpose."""
    names = load(WORKFLOWS_DIR / "reusable-terraform.yml")["jobs"]["plan"]["steps"][0]["run"]
    assert "plan-report-$TARGET_ENV-$PURPOSE-$GITHUB_RUN_ATTEMPT" in names
    for workflow in ENTRY_POINTS:
        calls = [
            (j["with"]["environment"], j["with"]["purpose"])
            for j in load(WORKFLOWS_DIR / workflow)["jobs"].values()
            if j.get("uses") == "./.github/workflows/reusable-terraform.yml"
        ]
        assert len(calls) == len(set(calls)), f"{workflow}: two plan calls share an artifact name: {calls}"


def test_a_rerun_of_a_job_never_clashes_with_its_own_artifact() -> None:
    """A re-run (of failed jobs, or of all) is the same run: an upload whose name does not carry
    the attempt must replace its earlier artifact (`overwrite: true`), or the re-run always fails."""
    clashing = []
    for path in ALL_FILES:
        data = load(path)
        jobs = list((data.get("jobs") or {}).values())
        steps = [s for j in jobs for s in j.get("steps", [])] + list(
            (data.get("runs") or {}).get("steps", [])
        )
        for step in steps:
            if str(step.get("uses", "")).startswith("actions/upload-artifact@"):
                args = step.get("with", {})
                name = str(args.get("name", ""))
                # steps.names.outputs: names built with $GITHUB_RUN_ATTEMPT (test above).
                per_attempt = any(k in name for k in ("run_attempt", "RUN_ATTEMPT", "steps.names.outputs"))
                if not per_attempt and args.get("overwrite") is not True:
                    clashing.append(f"{path.name}: {name}")
    assert not clashing, clashing


_STATUS_FUNCTION = re.compile(r"\b(always|failure|cancelled)\(\)")


def test_the_rollback_path_runs_when_the_deploy_failed() -> None:
    """Defect 2: without a status function GitHub adds success(), false when anything upstream
    failed: every job of the rollback path must name its own condition."""
    jobs = load(WORKFLOWS_DIR / "main.yml")["jobs"]
    for job_id in ("last-good", "rollback-plan", "rollback", "rollback-smoke", "rolled-back"):
        cond = str(jobs[job_id].get("if", ""))
        assert _STATUS_FUNCTION.search(cond), (
            f"main.yml:{job_id} is skipped whenever the deploy fails: {cond!r}"
        )
    assert "needs.last-good.result == 'success'" in jobs["rollback-plan"]["if"]
    assert "needs.rollback-plan.result == 'success'" in jobs["rollback"]["if"]
    assert "needs.rollback.result == 'success'" in jobs["rollback-smoke"]["if"]
    assert jobs["rollback-plan"]["with"]["purpose"] != jobs["plan"]["with"]["purpose"]


def test_a_smoke_call_that_only_reports_has_a_verdict_the_deploy_path_obeys() -> None:
    """A reusable-smoke call with `report-only: true` succeeds whatever the checks find: every such
    call must be followed by a job that fails unless `passed` is true, and that verdict (not the
    call's result) must gate record-good and start the rollback path. Otherwise a failing smoke
    test would record its images as good and never roll back."""
    jobs = load(WORKFLOWS_DIR / "main.yml")["jobs"]
    reporting = [j for j, job in jobs.items() if str(job.get("uses", "")).endswith("reusable-smoke.yml")
                 and job.get("with", {}).get("report-only") is True]  # fmt: skip
    assert reporting == ["smoke"], reporting  # rollback-smoke fails its own job
    verdict = jobs["smoke-passed"]
    assert verdict["needs"] == "smoke"
    assert "!cancelled()" in verdict["if"]  # runs when the call failed too
    step = verdict["steps"][0]
    assert step["env"] == {
        "RESULT": "${{ needs.smoke.result }}",
        "PASSED": "${{ needs.smoke.outputs.passed }}",
    }
    assert '[ "$RESULT" = success ] && [ "$PASSED" = true ]' in step["run"]
    assert "exit 1" in step["run"]
    assert "smoke-passed" in jobs["record-good"]["needs"]
    assert "needs.smoke-passed.result == 'success'" in jobs["record-good"]["if"]
    assert "needs.smoke-passed.result == 'failure'" in jobs["last-good"]["if"]
    assert "smoke-passed" in jobs["rolled-back"]["needs"]
    interface = call_interface(WORKFLOWS_DIR / "reusable-smoke.yml")
    assert interface["inputs"]["report-only"]["default"] is False
    smoke_job = load(WORKFLOWS_DIR / "reusable-smoke.yml")["jobs"]["smoke"]
    assert smoke_job["outputs"]["passed"] == "${{ steps.smoke.outcome == 'success' }}"  # not conclusion
    step = next(s for s in smoke_job["steps"] if s.get("id") == "smoke")
    assert step["continue-on-error"] == "${{ inputs.report-only }}"


def test_environment_secrets_are_read_only_by_jobs_that_name_the_environment() -> None:
    """Defect 4: no environment secret crosses a reusable-workflow boundary (where which value wins
    is disputed); a plain job with `environment:` reads its environment's secret directly."""
    readers: dict[str, str] = {}
    for path in workflow_files():
        for job_id, job in load(path)["jobs"].items():
            text = yaml.safe_dump(job)
            assert "secrets: inherit" not in text, f"{path.name}:{job_id}"
            assert "SERVICE_SECRETS" not in str(job.get("secrets", "")), f"{path.name}:{job_id} passes it"
            if "secrets.SERVICE_SECRETS" in text:
                assert "uses" not in job, f"{path.name}:{job_id}"
                readers[f"{path.name}:{job_id}"] = job.get("environment")
    assert readers == {"main.yml:secrets": "dev", "release.yml:release": "prod"}, readers


def test_every_deploy_records_its_last_good_images() -> None:
    """Defect 5: prod plans (pull requests, drift) compare against prod's last good images."""
    for workflow, env in (("main.yml", "dev"), ("release.yml", "prod")):
        text = "\n".join(j.run_text() for j in _live(workflow, "push"))
        assert f"deploy_record.py record --env {env}" in text, f"{workflow} never records {env}'s last good"


def test_smoke_waits_for_the_deployed_revision() -> None:
    """Defect 6: smoke passes only when the new task definition serves (its health body)."""
    smoke = call_interface(WORKFLOWS_DIR / "reusable-smoke.yml")
    assert smoke["inputs"]["revision"]["required"] is True
    main = load(WORKFLOWS_DIR / "main.yml")["jobs"]
    assert main["smoke"]["with"]["revision"] == "${{ github.sha }}"
    assert main["rollback-smoke"]["with"]["revision"] == "${{ needs.last-good.outputs.tag }}"
    release = "\n".join(j.run_text() for j in _live("release.yml", "push"))
    assert "make smoke ENV=prod" in release
    assert 'REVISION="$GITHUB_SHA"' in release


def test_deploys_queue_every_push_and_drift_shares_their_group() -> None:
    """Defects 7 and 11: one pending run per group drops pushes (queue: max keeps them), and a
    drift plan waits for the deploy of its environment (same group), with the state lock."""
    for workflow, group in (("main.yml", "deploy-dev"), ("release.yml", "deploy-prod")):
        assert load(WORKFLOWS_DIR / workflow)["concurrency"] == {
            "group": group,
            "cancel-in-progress": False,
            "queue": "max",
        }, workflow
    drift = load(WORKFLOWS_DIR / "drift.yml")["jobs"]
    assert drift["plan-dev"]["concurrency"]["group"] == "deploy-dev"
    assert drift["plan-prod"]["concurrency"]["group"] == "deploy-prod"
    assert drift["plan-dev"]["concurrency"]["queue"] == "max"
    for path in ALL_FILES:
        assert "-lock=false" not in path.read_text(), f"{path.name}: plans must take the state lock"


def test_a_destructive_plan_stops_before_apply_unless_approved() -> None:
    """Defect 9: the `destructive` output stops the run before any apply, saying how to approve."""
    steps = load(WORKFLOWS_DIR / "reusable-terraform.yml")["jobs"]["plan"]["steps"]
    stop = next(s for s in steps if "stop-if-destructive" in str(s.get("if")))
    assert "APPROVE_DESTRUCTIVE_PLAN_SHA" in stop["run"]
    assert "exit 1" in stop["run"]
    for workflow in ("main.yml", "release.yml"):
        jobs = load(WORKFLOWS_DIR / workflow)["jobs"]
        appliers = [i for i, j in jobs.items() if "apply" in str(j.get("uses")) or "apply-reviewed" in str(j)]
        assert appliers, workflow
        for job_id in appliers:
            sealed_by = re.findall(r"needs\.([\w-]+)\.outputs\.seal", str(jobs[job_id]))
            assert len(sealed_by) == 1, f"{workflow}:{job_id} applies no reviewed plan"
            assert sealed_by[0] in jobs[job_id]["needs"]
            assert jobs[sealed_by[0]]["with"]["stop-if-destructive"] is True, f"{workflow}:{sealed_by[0]}"


def test_a_release_asks_for_one_approval() -> None:
    """Defect 10: every job naming an environment with required reviewers (prod) waits for its own
    approval, so exactly one job of a release runs in `prod`, and it needs no artifact."""
    in_prod = [j for j in _live("release.yml", "push") if j.environment == "prod"]
    assert [j.name for j in in_prod] == ["release.yml:release"], [j.name for j in in_prod]
    steps = str(in_prod[0].steps)
    assert "download-artifact" not in steps
    for needed in (
        "apply-reviewed",
        "make sync-secrets ENV=prod",
        "publish-static",
        "make smoke",
        "deploy_record.py record",
    ):
        assert needed in steps, f"the approved release job does not run {needed}"


def _run_blocks() -> list[str]:
    """Every `run:` of every workflow and composite action."""
    blocks = []
    for path in ALL_FILES:
        data = load(path)
        jobs = list((data.get("jobs") or {}).values())
        steps = [s for j in jobs for s in (j.get("steps") or [])] + (
            (data.get("runs") or {}).get("steps") or []
        )
        blocks += [s["run"] for s in steps if "run" in s]
    return blocks


def test_every_make_target_and_script_the_workflows_call_exists() -> None:
    runs = _run_blocks()
    targets = set()
    for run in runs:
        targets |= set(re.findall(r"(?:^|[;&|]\s*|\s)make\s+\"?([a-z][a-z0-9-]*)", run, flags=re.MULTILINE))
    targets.discard("quality-")  # make "quality-$CHECK": every matrix value below
    quality = load(WORKFLOWS_DIR / "reusable-quality.yml")["jobs"]["check"]["strategy"]["matrix"]["check"]
    targets |= {f"quality-{c}" for c in quality}
    assert {
        "quality-python",
        "plan",
        "plan-seal",
        "plan-verify",
        "apply",
        "smoke",
        "publish-static",
    } <= targets
    for target in sorted(targets):
        result = subprocess.run(
            ["make", "-n", target, "ENV=dev"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
        )
        assert "No rule to make target" not in result.stderr, f"make {target}: {result.stderr.strip()}"
    for run in runs:
        for script in re.findall(r"\b(scripts/[\w/.-]+\.(?:py|sh))", run):
            assert (REPO_ROOT / script).is_file(), f"workflows call {script}, which does not exist"


def test_every_file_an_image_build_names_exists() -> None:
    """build-push-action's `context` and `file` exist for every service the matrix can take."""
    services = sorted(p.parent.name for p in (REPO_ROOT / "services").glob("*/service.yaml"))
    builds = [
        step["with"]
        for path in workflow_files()
        for job in (load(path).get("jobs") or {}).values()
        for step in job.get("steps") or []
        if "docker/build-push-action" in str(step.get("uses", ""))
    ]
    assert builds, "no image build step found: the parser or the workflows changed"
    for given in builds:
        for service in services:
            for key in ("context", "file"):
                rel = str(given[key]).replace("${{ matrix.service }}", service)
                assert (REPO_ROOT / rel).exists(), f"image build {key} {given[key]!r}: {rel} does not exist"


# Jobs that run whatever some of their needs' results are, and why (each decides in its own steps).
RUN_WHATEVER_THEIR_NEEDS = {
    "main.yml": {
        "checks": "the gate: its step fails unless every check passed here or on the pull request",
        "rollback": "needs last-good only for its outputs; rollback-plan's success implies last-good's",
        "rollback-smoke": "needs last-good only for its outputs; rollback's success implies last-good's",
        "rolled-back": "the summary of a rollback: reports every result, fails the run",
    },
    "pull-request.yml": {"comment": "posts each plan's report, a failed plan's included"},
}


def _ancestors(jobs: dict, job_id: str) -> set[str]:
    needs = jobs[job_id].get("needs") or []
    found: set[str] = set()
    for parent in [needs] if isinstance(needs, str) else needs:
        found |= {parent} | _ancestors(jobs, parent)
    return found


@pytest.mark.parametrize("path", workflow_files(), ids=_ids(workflow_files()))
def test_no_job_relies_on_success_over_a_chain_that_can_skip(path: Path) -> None:
    """A job without `if:` runs on the implicit `success()`, which GitHub evaluates over every job
    it depends on, transitively, not only over its own `needs`: when any ancestor was skipped (a
    check skipped because the tree was tested on its pull request) the job is skipped too, even
    though its direct needs succeeded (actions/runner#2205; "Using conditions to control job
    execution"). So a job with an ancestor that has an `if:` (one that can be skipped) must state
    its own condition with a status function (`!cancelled()`, `always()`, `failure()`), and,
    since `!cancelled()` alone would also run it after a failed need, name the result of each of
    its needs, unless it is one of the jobs below that run whatever their needs' results by design."""
    jobs = load(path).get("jobs") or {}
    wrong = []
    for job_id, job in jobs.items():
        skippable = sorted(a for a in _ancestors(jobs, job_id) if "if" in jobs[a])
        if not skippable:
            continue
        condition = str(job.get("if", ""))
        needs = job.get("needs") or []
        unchecked = [
            n for n in ([needs] if isinstance(needs, str) else needs) if f"needs.{n}.result" not in condition
        ]
        if not any(f in condition for f in ("!cancelled()", "always()", "failure()")):
            wrong.append(f"{job_id} (ancestors that can be skipped: {', '.join(skippable)})")
        elif unchecked and job_id not in RUN_WHATEVER_THEIR_NEEDS.get(path.name, {}):
            wrong.append(f"{job_id} (would run after a failed {', '.join(unchecked)})")
    assert not wrong, f"{path.name}: jobs whose condition a skipped or failed need gets wrong: {wrong}"
