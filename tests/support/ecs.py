"""ECS services shaped like the stack's (cluster ``<project>-<env>``, one service per manifest, each
task injecting its manifest's secrets with valueFrom), for tests of the deploy steps without Terraform."""

from __future__ import annotations

from typing import Any

import manifests
import roll_services


def register(ecs: Any, family: str, secret_arns: dict[str, str]) -> str:
    """A task definition whose one container injects ``secret_arns`` (env var name -> secret ARN)."""
    return ecs.register_task_definition(  # type: ignore[no-any-return]
        family=family,
        containerDefinitions=[
            {
                "name": family,
                "image": "example/app:1",
                "memory": 512,
                "secrets": [{"name": k, "valueFrom": v} for k, v in secret_arns.items()],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]


def stack_services(ecs: Any, sm: Any, env: str, desired: int = 2) -> dict[str, list[str]]:
    """The cluster and services of ``env``; secrets are created without a value where missing (as
    Terraform does). Returns service -> the secret ids its task reads."""
    cluster = roll_services.cluster_name(env)
    ecs.create_cluster(clusterName=cluster)
    ids: dict[str, list[str]] = {}
    for m in manifests.load_all():
        arns = {}
        for secret in m.secrets:
            secret_id = manifests.resolve_secret(m.name, secret, env)
            try:
                arns[secret.name] = sm.describe_secret(SecretId=secret_id)["ARN"]
            except sm.exceptions.ResourceNotFoundException:
                arns[secret.name] = sm.create_secret(Name=secret_id)["ARN"]
            ids.setdefault(m.name, []).append(secret_id)
        definition = register(ecs, f"{cluster}-{m.name}", arns)
        ecs.create_service(
            cluster=cluster, serviceName=m.name, taskDefinition=definition, desiredCount=desired
        )
    return ids


def running_all(ecs: Any, env: str) -> bool:
    """Every service's only deployment COMPLETED with its current task definition, all tasks running."""
    names = [m.name for m in manifests.load_all()]
    services = ecs.describe_services(cluster=roll_services.cluster_name(env), services=names)["services"]
    return len(services) == len(names) and all(
        len(s["deployments"]) == 1
        and s["deployments"][0]["rolloutState"] == "COMPLETED"
        and s["deployments"][0]["taskDefinition"] == s["taskDefinition"]
        and s["runningCount"] == s["desiredCount"] > 0
        for s in services
    )
