"""The whole `local` environment, for real, against a moto server started here, applied by the
pipeline's roles with IAM enforced (tests/infra/roles_flow.py).

In order (one module-scoped emulator, tests depend on the previous ones):
bootstrap the backend with scripts/bootstrap_backend.py -> infra/bootstrap's roles applied by an
administrator -> init as the plan role -> apply from scratch as the deploy role -> check the
result with boto3 (the edge checks of tests/infra/edge_checks.py included) -> prove the state lock
-> re-plan as the plan role shows no changes (it reads every resource and data source) -> drift
report empty once a plan is applied (tests/infra/drift_checks.py) -> the edge steps that need an
applied stack (tests/infra/edge_flow.py: faults caught, static publish) -> the deploy workflow's
other steps as the deploy role (`make sync-secrets` starting every service, the static publish, the
smoke step's reads) -> the edge steps that plan or change the stack (custom-domain plan, origin
secret rotation) -> destroy as the deploy role, after which nothing of the stack is left
(tests/infra/leftovers.py) -> no call of a role was denied.
ONE apply serves every read of the stack (a second apply of the same stack elsewhere would prove
nothing more). The plans of prod's and dev's tfvars need no applied stack: they are in
tests/infra/test_env_plans.py, on an emulator of their own, so the two run on different workers.
Prints one line naming the checks that ran, and the measured times.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.infra import drift_checks, edge_flow, roles_flow, stack_checks
from tests.infra.tfkit import (
    Terraform,
    all_resources,
    backend_settings,
    bootstrap_backend,
    copy_tree,
    terraform_binary,
)
from tests.support.aws import FAKE_AWS_ENV, REGION, MotoServer
from tests.support.tools import REPO_ROOT, output_dir

pytestmark = [pytest.mark.slow, pytest.mark.tool("terraform")]

ENV = roles_flow.ENV

CHECKS: list[str] = []
TIMES: dict[str, float] = {}
FACTS: dict[str, Any] = {}


class Stack:
    """Shared state of this module's tests."""

    def __init__(self, moto: MotoServer, root: Path, data: Path):
        self.moto = moto
        self.root = root
        self.data = data
        self.env = {**moto.env, "AWS_MAX_ATTEMPTS": "1"}
        self.tf = self._terraform(self.env)  # as an administrator
        self.backend_file = root / "envs" / ENV / "backend.hcl"

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.moto.url, **_creds())

    def backend(self) -> dict[str, str]:
        return backend_settings(self.backend_file)

    def var_file(self, env: str) -> str:
        return f"-var-file={self.root / 'envs' / env / 'terraform.tfvars'}"

    def _terraform(self, env: dict[str, str]) -> Terraform:
        return Terraform(self.root / "stack", self.data / "stack", env)

    def plan_tf(self) -> Terraform:
        """terraform as the pipeline's plan role (fresh credentials from a GitHub-shaped token)."""
        return self._terraform(
            roles_flow.role_env(self.moto, roles_flow.PLAN_ROLE, roles_flow.PLAN_ENVIRONMENT)
        )

    def deploy_tf(self) -> Terraform:
        """terraform as the deploy role of `local`."""
        return self._terraform(roles_flow.role_env(self.moto, roles_flow.DEPLOY_ROLE, ENV))


def _creds() -> dict[str, str]:
    return {
        "aws_access_key_id": FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": FAKE_AWS_ENV["AWS_SESSION_TOKEN"],
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    terraform_binary()
    work = tmp_path_factory.mktemp("stack-lifecycle")
    root = copy_tree(work)
    # The committed backend.hcl of `local` is re-created by the bootstrap script below.
    (root / "envs" / ENV / "backend.hcl").unlink()
    server = MotoServer(output_dir("logs"))
    stack = Stack(server, root, work / "tfdata")
    try:
        yield stack
    finally:
        roles_flow.write_iam_report(server)
        server.stop()
        _report()


def _report() -> None:
    """One line naming the checks that ran (and one with the measurements), on the real stderr
    (visible even when pytest captures output) and in test-output/infra/lifecycle.txt."""
    lines = ["infra lifecycle checks run: " + ("; ".join(CHECKS) or "none")]
    if TIMES:
        times = ", ".join(f"{k} {v:.1f}s" for k, v in TIMES.items())
        lines.append(f"infra lifecycle measurements: resources={FACTS.get('resources', '?')}, {times}")
    (output_dir("infra") / "lifecycle.txt").write_text("\n".join(lines) + "\n")
    for line in lines:
        print(line, file=sys.__stderr__)


def _bootstrap(stack: Stack, env: str, backend_file: Path) -> subprocess.CompletedProcess[str]:
    return bootstrap_backend(env, backend_file, stack.env)


def test_backend_bootstrap_is_idempotent(stack: Stack) -> None:
    first = _bootstrap(stack, ENV, stack.backend_file)
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    second = _bootstrap(stack, ENV, stack.backend_file)
    assert second.returncode == 0, second.stderr
    assert "0 change(s)" in second.stdout, second.stdout
    committed = (REPO_ROOT / "infra" / "envs" / ENV / "backend.hcl").read_text()
    assert stack.backend_file.read_text() == committed, "committed local backend.hcl is stale"
    CHECKS.append("backend bootstrap x2 (created, then unchanged)")


def test_bootstrap_roles_then_init_as_the_plan_role(stack: Stack) -> None:
    """infra/bootstrap applied by an administrator; init reads the state backend as the plan role.
    No plan of the empty account: it would call only what the re-plan after the apply calls too."""
    roles_flow.bootstrap_roles(stack.moto, stack.root, stack.data, stack.backend_file)
    init = stack.plan_tf().run(
        "init", "-input=false", "-no-color", f"-backend-config={stack.backend_file}", check=False
    )
    TIMES["init"] = init.seconds
    assert init.returncode == 0, f"first denials: {roles_flow.denials(stack.moto)[:5]}\n{init.output[-3000:]}"
    CHECKS.append("bootstrap roles applied by a person; init as the plan role")


def test_apply_from_scratch_as_the_deploy_role(stack: Stack) -> None:
    apply = stack.deploy_tf().run(
        "apply",
        "-input=false",
        "-no-color",
        "-auto-approve",
        "-lock-timeout=30s",
        stack.var_file(ENV),
        timeout=600,
        check=False,
    )
    TIMES["apply"] = apply.seconds
    assert apply.returncode == 0, (
        f"first denials: {roles_flow.denials(stack.moto)[:5]}\n{apply.output[-3000:]}"
    )
    assert "Apply complete!" in apply.stdout
    resources = all_resources(_state(stack)["values"]["root_module"])
    FACTS["resources"] = len([r for r in resources if r["mode"] == "managed"])
    CHECKS.append(f"apply local from scratch as the deploy role ({FACTS['resources']} resources)")


def _state(stack: Stack) -> dict[str, Any]:
    """`terraform show -json` of the applied stack, read once: the reads after the apply change
    nothing (each terraform run starts the provider, seconds of CPU)."""
    if "state" not in FACTS:
        FACTS["state"] = stack.tf.run("show", "-json").json()
    return FACTS["state"]  # type: ignore[no-any-return]


def _outputs(stack: Stack) -> dict[str, Any]:
    if "outputs" not in FACTS:
        FACTS["outputs"] = {k: v["value"] for k, v in stack.tf.run("output", "-json").json().items()}  # type: ignore[union-attr]
    return FACTS["outputs"]


def test_network_and_load_balancer(stack: Stack) -> None:
    stack_checks.network_and_load_balancer(stack.client, _outputs(stack))
    CHECKS.append(
        "subnets in >=2 AZs, internal ALB in the private subnets, path rule per service, internal paths 404"
    )


def test_services_tables_and_permissions(stack: Stack) -> None:
    stack_checks.services_tables_and_permissions(stack.client, _outputs(stack))
    CHECKS.append(
        "services in private subnets behind their target groups, circuit-breaker rollback (state), "
        "tables with PITR, task roles scoped to own table, execution roles to own secrets, SG rules"
    )


def test_state_is_in_the_bucket(stack: Stack) -> None:
    backend = stack.backend()
    head = stack.client("s3").head_object(Bucket=backend["bucket"], Key=backend["key"])
    assert head["ContentLength"] > 1000
    CHECKS.append("state object in the bucket")


def test_state_lock_refuses_a_second_operation(stack: Stack) -> None:
    backend = stack.backend()
    lock_id = f"{backend['bucket']}/{backend['key']}"
    info = {
        "ID": str(uuid.uuid4()),
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": f"tests@{socket.gethostname()}",
        "Version": "1.11.4",
        "Created": datetime.now(UTC).isoformat(),
        "Path": lock_id,
    }
    ddb = stack.client("dynamodb")
    # Exactly what terraform writes when it takes the lock (conditional: nobody else holds it).
    ddb.put_item(
        TableName=backend["dynamodb_table"],
        Item={"LockID": {"S": lock_id}, "Info": {"S": json.dumps(info)}},
        ConditionExpression="attribute_not_exists(LockID)",
    )
    try:
        blocked = stack.tf.run(
            "plan", "-input=false", "-no-color", "-lock-timeout=1s", stack.var_file(ENV), check=False
        )
    finally:
        ddb.delete_item(TableName=backend["dynamodb_table"], Key={"LockID": {"S": lock_id}})
    assert blocked.returncode != 0
    assert "Error acquiring the state lock" in blocked.output, blocked.output[-2000:]
    assert info["ID"] in blocked.output
    CHECKS.append("state lock held -> second plan refused")


# --- part 2 (edge) checks go here ---


def _edge_session() -> boto3.Session:
    return boto3.Session(region_name=REGION, **_creds())


def test_edge_cloudfront_waf_bucket_and_alarms(stack: Stack) -> None:
    """Part 2 checks (tests/infra/edge_checks.py) on the applied stack."""
    from tests.infra import edge_checks

    for check in (
        edge_checks.check_distribution,
        edge_checks.check_waf,
        edge_checks.check_bucket_private,
        edge_checks.check_anomaly_alarms,
    ):
        check(_edge_session(), _outputs(stack), stack.moto.url)
    CHECKS.append("edge: CloudFront behaviours, WAF on CloudFront and ALB, private bucket, anomaly alarms")


def test_edge_alb_exposure_and_deployment_guards(stack: Stack) -> None:
    """Part 2 checks that need the edge wiring in main.tf and the alb/ecs_service modules."""
    from tests.infra import dns_checks, edge_checks

    session, outputs = _edge_session(), _outputs(stack)
    edge_checks.check_alb_is_internal(session, outputs, stack.moto.url)
    edge_checks.check_alb_admits_only_cloudfront(session, outputs, stack.moto.url)
    edge_checks.check_alb_requires_origin_header(session, outputs, stack.moto.url)
    dns_checks.check_private_zone(session, outputs, stack.moto.url)
    edge_checks.check_deployment_alarms(session, outputs, stack.moto.url, state=_state(stack))
    CHECKS.append(
        "edge: internal ALB, only from CloudFront with the origin header, ECS deployments guarded by alarms;"
        " private zone of the VPC: ALB alias + CNAME, distribution CNAME"
    )


# (tests that inspect the applied edge/WAF/DNS/monitoring resources; they run after the checks
# above and before the re-plan and the edge steps that change things)


def test_replan_as_the_plan_role_shows_no_changes(stack: Stack) -> None:
    """The plan role reads every resource and data source of the applied stack: no denial, no change."""
    plan = stack.plan_tf().run(
        "plan",
        "-input=false",
        "-no-color",
        "-detailed-exitcode",
        "-out=replan.tfplan",
        stack.var_file(ENV),
        check=False,
    )
    TIMES["plan"] = plan.seconds
    assert plan.returncode in (0, 2), (
        f"first denials: {roles_flow.denials(stack.moto)[:5]}\n{plan.output[-4000:]}"
    )
    FACTS["replan"] = stack.tf.run("show", "-json", "replan.tfplan").json()  # the drift check reads it too
    changes = FACTS["replan"]["resource_changes"]
    # Strict: the emulator answers every resource as it was given (scripts/emu_*.py).
    changed = [c["address"] for c in changes if c["change"]["actions"] != ["no-op"]]
    assert changed == [], f"re-plan after apply wants to change: {changed}"
    assert plan.returncode == 0, "re-plan after apply is not empty"
    CHECKS.append("re-plan after apply as the plan role: no changes")


def test_drift_report_is_empty(stack: Stack) -> None:
    """tests/infra/drift_checks.py: only creation-time drift, none once a plan is applied (the plan
    role's saved re-plan, applied by the deploy role as a deploy applies the reviewed plan)."""
    started = time.monotonic()
    drifted = drift_checks.check_drift_report_empty(
        stack.deploy_tf(), stack.var_file(ENV), "replan.tfplan", stack.data, FACTS.get("replan")
    )
    TIMES["drift check"] = time.monotonic() - started
    CHECKS.append(f"drift: {drifted} creation-time only, none after a deploy's apply (drift issue closes)")


def test_secret_sync_as_the_deploy_role_starts_every_service(stack: Stack) -> None:
    """roles_flow.secret_sync_starts_every_service, against the task definitions of the state."""
    registered = {r["address"]: r["values"] for r in all_resources(_state(stack)["values"]["root_module"])}
    roles_flow.secret_sync_starts_every_service(stack.moto, registered)
    CHECKS.append(
        "make sync-secrets as the deploy role: values written, every service running; again: no change"
    )


def test_static_publish_and_smoke_reads_as_the_deploy_role(stack: Stack) -> None:
    roles_flow.static_publish_and_smoke_reads(stack.moto, stack.deploy_tf())
    CHECKS.append("static publish and the smoke step's reads as the deploy role")


def _edge(stack: Stack) -> edge_flow.EdgeStack:
    return edge_flow.EdgeStack(stack.moto, stack.root, stack.tf, _outputs(stack), TIMES)


def test_edge_checks_catch_a_public_bucket_and_a_detached_waf(stack: Stack) -> None:
    edge_flow.faults_are_caught(_edge(stack))
    CHECKS.append("edge checks fail on a public bucket and a detached WAF (stack put back)")


def test_edge_publish_static_site(stack: Stack, tmp_path: Path) -> None:
    edge_flow.publish_static_site(_edge(stack), tmp_path)
    CHECKS.append("publish_static.py into the applied bucket: uploads and invalidates only changes")


def test_edge_created_zone_is_applied_alone_first(stack: Stack) -> None:
    edge_flow.created_zone_is_applied_alone_first(_edge(stack))
    CHECKS.append("create_hosted_zone: the zone alone first, no certificate waiting on delegation")


def test_edge_custom_domain_plan(stack: Stack) -> None:
    edge_flow.custom_domain_plan(_edge(stack))
    CHECKS.append("plan with a custom domain: certificates, aliases, HTTPS origin and listener")


def test_edge_origin_secret_rotation_without_downtime(stack: Stack) -> None:
    """Changes the stack (two applies): the last step before the destroy."""
    edge_flow.origin_secret_rotation(_edge(stack))
    CHECKS.append("origin secret rotated in two applies, both values accepted throughout")


def test_destroy_as_the_deploy_role_leaves_nothing(stack: Stack) -> None:
    roles_flow.destroy_leaves_nothing(stack.moto, stack.deploy_tf(), stack.var_file(ENV), stack.backend_file)
    CHECKS.append("destroy as the deploy role: nothing of the stack left")


def test_no_call_of_a_role_was_denied(stack: Stack) -> None:
    assert roles_flow.denials(stack.moto) == []
    CHECKS.append("no call of the plan or deploy role denied (test-output/infra/iam-report.txt)")
