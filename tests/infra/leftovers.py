"""What a destroyed stack may not leave behind in the emulator account (tests/infra/roles_flow.py
checks it after the deploy role's destroy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def leftovers(client: Callable[[str], Any], prefix: str, lock_table: str) -> dict[str, list[str]]:
    """Every kind of resource the stack creates that still exists, by kind (empty lists left out).
    The state backend (bucket ``*-tfstate-*``, ``lock_table``) and infra/bootstrap's roles (named
    ``<project>-github-...``, not ``prefix``) are not the stack's."""
    ec2, elbv2, ecs = client("ec2"), client("elbv2"), client("ecs")
    left = {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")],
        "nat": [
            n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] != "deleted"
        ],
        "eips": [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]],
        "albs": [lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]],
        "target_groups": [t["TargetGroupName"] for t in elbv2.describe_target_groups()["TargetGroups"]],
        "clusters": [
            c
            for c in ecs.list_clusters()["clusterArns"]
            if ecs.describe_clusters(clusters=[c])["clusters"][0]["status"] == "ACTIVE"
        ],
        "tables": [
            t
            for t in client("dynamodb").list_tables()["TableNames"]
            if t.startswith(prefix) and t != lock_table
        ],
        "secrets": [s["Name"] for s in client("secretsmanager").list_secrets()["SecretList"]],
        "roles": [
            r["RoleName"] for r in client("iam").list_roles()["Roles"] if r["RoleName"].startswith(prefix)
        ],
        "log_groups": [g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"]],
        "buckets": [
            b["Name"] for b in client("s3").list_buckets()["Buckets"] if "-tfstate-" not in b["Name"]
        ],
        "namespaces": [n["Name"] for n in client("servicediscovery").list_namespaces()["Namespaces"]],
    }
    return {kind: names for kind, names in left.items() if names}
