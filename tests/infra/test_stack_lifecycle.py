"""The whole `local` environment, for real, against a moto server started here.

In order (one module-scoped emulator, tests depend on the previous ones):
bootstrap the backend with scripts/bootstrap_backend.py -> init -> apply from scratch -> check the
result with boto3 (the edge checks of tests/infra/edge_checks.py included) -> prove the state lock
-> re-plan shows no changes -> drift report empty once a plan is applied (tests/infra/drift_checks.py)
-> the edge steps that need an applied stack (tests/infra/edge_flow.py:
faults caught, static publish, custom-domain plan, origin secret rotation). No destroy here: the
stack applied by the pipeline's roles is destroyed by the deploy role and checked to leave
nothing behind (tests/infra/test_stack_as_roles.py); this emulator is thrown away.
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
import manifests
import pytest

from tests.infra import drift_checks, edge_flow
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

PROJECT = manifests.project_name()
SERVICES = manifests.load_all()
ENV = "local"

CHECKS: list[str] = []
TIMES: dict[str, float] = {}
FACTS: dict[str, Any] = {}


class Stack:
    """Shared state of this module's tests."""

    def __init__(self, moto: MotoServer, root: Path, data: Path):
        self.moto = moto
        self.root = root
        self.env = {**moto.env, "AWS_MAX_ATTEMPTS": "1"}
        self.tf = Terraform(root / "stack", data / "stack", self.env)
        self.backend_file = root / "envs" / ENV / "backend.hcl"
        self.data = data

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.moto.url, **_creds())

    def backend(self) -> dict[str, str]:
        return backend_settings(self.backend_file)

    def var_file(self, env: str) -> str:
        return f"-var-file={self.root / 'envs' / env / 'terraform.tfvars'}"


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


def test_apply_from_scratch(stack: Stack) -> None:
    init = stack.tf.run("init", "-input=false", "-no-color", f"-backend-config={stack.backend_file}")
    TIMES["init"] = init.seconds
    apply = stack.tf.run(
        "apply",
        "-input=false",
        "-no-color",
        "-auto-approve",
        "-lock-timeout=30s",
        stack.var_file(ENV),
        timeout=400,
    )
    TIMES["apply"] = apply.seconds
    assert "Apply complete!" in apply.stdout
    resources = all_resources(_state(stack)["values"]["root_module"])
    FACTS["resources"] = len([r for r in resources if r["mode"] == "managed"])
    CHECKS.append(f"apply local from scratch ({FACTS['resources']} resources)")


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
    ec2, elb = stack.client("ec2"), stack.client("elbv2")
    outputs = _outputs(stack)
    vpc = outputs["vpc_id"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    by_id = {s["SubnetId"]: s for s in subnets}
    public = [by_id[i] for i in outputs["public_subnet_ids"]]
    private = [by_id[i] for i in outputs["private_subnet_ids"]]
    azs = {s["AvailabilityZone"] for s in subnets}
    assert len(azs) >= 2, azs
    assert {s["AvailabilityZone"] for s in public} == azs == {s["AvailabilityZone"] for s in private}
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NatGateways"]
    assert {n["SubnetId"] for n in nats} == set(outputs["public_subnet_ids"]), "a NAT gateway per AZ"
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]
    assert {e["ServiceName"].rsplit(".", 1)[1] for e in endpoints} == {"s3", "dynamodb"}
    assert ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc]}])["FlowLogs"]

    (lb,) = elb.describe_load_balancers(LoadBalancerArns=[outputs["alb_arn"]])["LoadBalancers"]
    assert lb["Type"] == "application"
    # Internal, in the private subnets: CloudFront reaches it through its VPC origin only.
    assert lb["Scheme"] == "internal"
    assert {z["SubnetId"] for z in lb["AvailabilityZones"]} == set(outputs["private_subnet_ids"])
    attrs = {
        a["Key"]: a["Value"]
        for a in elb.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]
    }
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attrs["access_logs.s3.enabled"] == "true"
    (listener,) = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert listener["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "403"  # no origin header
    rules = [
        r for r in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if not r["IsDefault"]
    ]
    routed, refused = {}, {}
    for rule in rules:
        (cond,) = [c for c in rule["Conditions"] if c["Field"] == "path-pattern"]
        paths = set(cond.get("Values") or cond["PathPatternConfig"]["Values"])
        action = rule["Actions"][0]
        if action["Type"] == "fixed-response":  # internal paths: a 404 before the service's rule
            refused[frozenset(paths)] = (int(rule["Priority"]), action["FixedResponseConfig"]["StatusCode"])
        else:
            routed[action["TargetGroupArn"]] = (int(rule["Priority"]), paths)
    groups = elb.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
    for m in SERVICES:
        (tg,) = [g for g in groups if g["TargetGroupName"] == f"{PROJECT}-{ENV}-{m.name}"]
        priority, paths = routed[tg["TargetGroupArn"]]
        assert paths == {m.path_prefix, f"{m.path_prefix}/*"}
        if m.internal_paths:
            assert refused[frozenset(m.internal_paths)][0] < priority
            assert refused[frozenset(m.internal_paths)][1] == "404"
        assert tg["HealthCheckPath"] == m.health_path
        assert tg["Port"] == m.port
    assert len(refused) == len([m for m in SERVICES if m.internal_paths])
    CHECKS.append("subnets in >=2 AZs, ALB in every public subnet, path rule per service, internal paths 404")


def test_services_tables_and_permissions(stack: Stack) -> None:
    ecs, iam, ddb, ec2 = (
        stack.client("ecs"),
        stack.client("iam"),
        stack.client("dynamodb"),
        stack.client("ec2"),
    )
    outputs = _outputs(stack)
    cluster = outputs["cluster_name"]
    services = ecs.describe_services(cluster=cluster, services=[m.name for m in SERVICES])["services"]
    assert len(services) == len(SERVICES)
    groups = {
        g["TargetGroupName"]: g["TargetGroupArn"]
        for g in stack.client("elbv2").describe_target_groups()["TargetGroups"]
    }
    for svc in services:
        name = svc["serviceName"]
        manifest = manifests.get(name)
        net = svc["networkConfiguration"]["awsvpcConfiguration"]
        assert set(net["subnets"]) == set(outputs["private_subnet_ids"]), (
            f"{name} not in every private subnet"
        )
        assert net.get("assignPublicIp", "DISABLED") == "DISABLED"
        assert svc["loadBalancers"][0]["targetGroupArn"] == groups[f"{PROJECT}-{ENV}-{name}"]
        assert svc["loadBalancers"][0]["containerPort"] == manifest.port
        assert svc["desiredCount"] >= 2
        # The emulator keeps deploymentConfiguration as AWS does (scripts/emu_ecs_service_fields.py).
        deployment = svc["deploymentConfiguration"]
        assert deployment["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert deployment["minimumHealthyPercent"] == 100
        assert deployment["maximumPercent"] == 200
        assert deployment["alarms"]["alarmNames"] == [f"{PROJECT}-{ENV}-{name}-deployment"]
        assert svc["capacityProviderStrategy"]
        assert "launchType" not in svc

        task = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
        (container,) = task["containerDefinitions"]
        assert container["readonlyRootFilesystem"] is True
        assert container["user"] == "10001"
        assert container["healthCheck"]["command"] == ["CMD", "python", "-m", "svc_common.healthcheck"]
        env = {e["name"]: e["value"] for e in container["environment"]}
        assert env["PORT"] == str(manifest.port)
        assert env["TABLE_NAME"] == manifests.table_name(name, ENV)
        assert env["HEALTH_PATH"] == manifest.health_path
        assert env["SERVICE_NAME"] == name
        for dep in manifest.dependencies:
            port = manifests.get(dep.service).port
            assert env[dep.env] == f"http://{dep.service}.{outputs['service_discovery_namespace']}:{port}"
        secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
        assert set(secrets) == {s.name for s in manifest.secrets}
        for s in manifest.secrets:
            assert f":secret:{manifests.resolve_secret(name, s, ENV)}" in secrets[s.name]
        assert container["logConfiguration"]["logDriver"] == "awslogs"

        # Task role: only its own table and that table's indexes.
        table = ddb.describe_table(TableName=manifests.table_name(name, ENV))["Table"]
        task_role = task["taskRoleArn"].rsplit("/", 1)[1]
        policy_resources = _role_resources(iam, task_role)
        assert policy_resources == {table["TableArn"], f"{table['TableArn']}/index/*"}, policy_resources
        # Execution role: only this service's secrets (own + referenced).
        exec_role = task["executionRoleArn"].rsplit("/", 1)[1]
        exec_secrets = {r for r in _role_resources(iam, exec_role) if ":secretsmanager:" in r}
        assert exec_secrets == set(secrets.values())

        backups = ddb.describe_continuous_backups(TableName=table["TableName"])[
            "ContinuousBackupsDescription"
        ]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        ttl = ddb.describe_time_to_live(TableName=table["TableName"])["TimeToLiveDescription"]
        if manifest.table.ttl_attribute:
            assert ttl["TimeToLiveStatus"] == "ENABLED"
            assert ttl["AttributeName"] == manifest.table.ttl_attribute
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"

    # Security groups: a service accepts its port from the ALB and its declared callers only.
    sgs = {s: outputs["services"][s]["security_group_id"] for s in outputs["services"]}
    for m in SERVICES:
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [sgs[m.name]]}])
        ingress = [r for r in rules["SecurityGroupRules"] if not r["IsEgress"]]
        sources = {r["ReferencedGroupInfo"]["GroupId"] for r in ingress}
        callers = {sgs[c.name] for c in SERVICES if any(d.service == m.name for d in c.dependencies)}
        assert sources == {outputs["alb_security_group_id"], *callers}
        assert all(r["FromPort"] == r["ToPort"] == m.port for r in ingress)
    CHECKS.append(
        "services in private subnets behind their target groups, circuit-breaker rollback (state), "
        "tables with PITR, task roles scoped to own table, execution roles to own secrets, SG rules"
    )


def _role_resources(iam: Any, role: str) -> set[str]:
    resources: set[str] = set()
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        for statement in doc["Statement"]:
            res = statement["Resource"]
            resources |= {res} if isinstance(res, str) else set(res)
    return resources


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


def test_replan_shows_no_changes(stack: Stack) -> None:
    plan = stack.tf.run(
        "plan",
        "-input=false",
        "-no-color",
        "-detailed-exitcode",
        "-out=replan.tfplan",
        stack.var_file(ENV),
        check=False,
    )
    TIMES["plan"] = plan.seconds
    assert plan.returncode in (0, 2), plan.output[-4000:]
    FACTS["replan"] = stack.tf.run("show", "-json", "replan.tfplan").json()  # the drift check reads it too
    changes = FACTS["replan"]["resource_changes"]
    # Strict: the emulator answers every resource as it was given (scripts/emu_*.py).
    changed = [c["address"] for c in changes if c["change"]["actions"] != ["no-op"]]
    assert changed == [], f"re-plan after apply wants to change: {changed}"
    assert plan.returncode == 0, "re-plan after apply is not empty"
    CHECKS.append("re-plan after apply: no changes")


def test_drift_report_is_empty(stack: Stack) -> None:
    """tests/infra/drift_checks.py: only creation-time drift, none once a plan is applied."""
    started = time.monotonic()
    drifted = drift_checks.check_drift_report_empty(
        stack.tf, stack.var_file(ENV), "replan.tfplan", stack.data, FACTS.get("replan")
    )
    TIMES["drift check"] = time.monotonic() - started
    CHECKS.append(f"drift: {drifted} creation-time only, none after a deploy's apply (drift issue closes)")


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
    """Changes the stack (two applies): the last step."""
    edge_flow.origin_secret_rotation(_edge(stack))
    CHECKS.append("origin secret rotated in two applies, both values accepted throughout")
