"""Checks of the applied `local` stack's network, load balancer, services, tables and permissions,
read with boto3 (tests/infra/test_stack_lifecycle.py calls them after its apply)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import manifests

from tests.infra.roles_flow import ENV

PROJECT = manifests.project_name()
SERVICES = manifests.load_all()


def network_and_load_balancer(client: Callable[[str], Any], outputs: dict[str, Any]) -> None:
    """Subnets in every AZ, a NAT gateway per AZ, the internal ALB, a path rule per service."""
    ec2, elb = client("ec2"), client("elbv2")
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


def services_tables_and_permissions(client: Callable[[str], Any], outputs: dict[str, Any]) -> None:
    """ECS services, task definitions, task and execution roles, tables, security groups."""
    ecs, iam, ddb, ec2 = (
        client("ecs"),
        client("iam"),
        client("dynamodb"),
        client("ec2"),
    )
    cluster = outputs["cluster_name"]
    services = ecs.describe_services(cluster=cluster, services=[m.name for m in SERVICES])["services"]
    assert len(services) == len(SERVICES)
    groups = {
        g["TargetGroupName"]: g["TargetGroupArn"]
        for g in client("elbv2").describe_target_groups()["TargetGroups"]
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


def _role_resources(iam: Any, role: str) -> set[str]:
    resources: set[str] = set()
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        for statement in doc["Statement"]:
            res = statement["Resource"]
            resources |= {res} if isinstance(res, str) else set(res)
    return resources
