"""Start a new ECS deployment of every service whose tasks cannot hold its secrets' current values.

    python scripts/roll_services.py --env dev [--wait-seconds 900] [--dry-run]

ECS reads a task's secrets (``secrets[].valueFrom``) once, when the task starts; a value written
later reaches only tasks started after it ("Specifying sensitive data using Secrets Manager
secrets", ECS developer guide: to pick up a changed value, start a new deployment). And a task
whose secret has no value does not start at all (ResourceInitializationError): in an empty
account Terraform creates the secrets without values and the services in the same apply, so the
first deployment of every service fails. ``make sync-secrets`` therefore runs this script right
after scripts/sync_secrets.py has written the values.

A service is rolled (UpdateService with forceNewDeployment) when its PRIMARY deployment
- FAILED (e.g. the first deployment, before the values existed), or
- was created before the current value (AWSCURRENT) of one of its task definition's secrets.
Both facts are read from AWS, not remembered: a run that was interrupted is completed by the next
one, and a run after which nothing changed rolls nothing (idempotent). Then it waits until every
rolled service's deployment COMPLETED (all tasks running), or reports the ECS reason on one line.

Exit codes: 0 every service runs with current values, 1 a deployment failed or did not finish in
time, 2 usage error or AWS unreachable (nothing was changed).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from typing import Any

import boto3
import manifests
from botocore.exceptions import BotoCoreError, ClientError

ENVIRONMENTS = ("dev", "prod", "local")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def cluster_name(env: str) -> str:
    """The stack's ECS cluster: ``<project>-<env>`` (infra/stack/locals.tf ``name``)."""
    return f"{manifests.project_name()}-{env}"


def primary(service: dict[str, Any]) -> dict[str, Any] | None:
    return next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), None)


def current_value_date(sm: Any, secret_id: str) -> datetime | None:
    """When the secret's AWSCURRENT version was created (None: no value yet)."""
    token: dict[str, str] = {}
    while True:  # boto3 has no paginator for this call
        page = sm.list_secret_version_ids(SecretId=secret_id, **token)
        for version in page.get("Versions", []):
            if "AWSCURRENT" in version.get("VersionStages", []):
                created: datetime = version["CreatedDate"]
                return created
        if not page.get("NextToken"):
            return None
        token = {"NextToken": page["NextToken"]}


def roll_reason(ecs: Any, sm: Any, service: dict[str, Any]) -> str | None:
    """Why this service needs a new deployment, or None."""
    deployment = primary(service)
    if deployment is None:
        return "it has no deployment"
    if deployment.get("rolloutState") == "FAILED":
        return f"its deployment failed ({deployment.get('rolloutStateReason', 'no reason given')[:200]})"
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    for container in definition.get("containerDefinitions", []):
        for secret in container.get("secrets", []):
            arn = ":".join(secret["valueFrom"].split(":")[:7])
            created = current_value_date(sm, arn)
            if created is not None and created > deployment["createdAt"]:
                return f"{secret['name']} has a newer value than its tasks"
    return None


def wait_completed(ecs: Any, cluster: str, names: list[str], seconds: float) -> dict[str, str]:
    """Service -> "COMPLETED" or the reason it is not, once every one is settled or time is up."""
    deadline = time.monotonic() + seconds
    outcome: dict[str, str] = {}
    while True:
        described = ecs.describe_services(cluster=cluster, services=names)["services"]
        for service in described:
            deployment = primary(service) or {}
            state = deployment.get("rolloutState", "?")
            if state == "COMPLETED" and service.get("runningCount", 0) >= service.get("desiredCount", 0):
                outcome[service["serviceName"]] = "COMPLETED"
            elif state == "FAILED":
                outcome[service["serviceName"]] = f"FAILED: {deployment.get('rolloutStateReason', '')[:300]}"
        pending = [n for n in names if n not in outcome]
        if not pending:
            return outcome
        if time.monotonic() >= deadline:
            for name in pending:
                outcome[name] = f"not finished after {seconds:.0f} s"
            return outcome
        time.sleep(min(10.0, max(0.0, deadline - time.monotonic())))


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog=__doc__.split("Exit codes:")[-1]
    )
    parser.add_argument("--env", required=True, choices=ENVIRONMENTS, help="target environment")
    parser.add_argument(
        "--wait-seconds", type=float, default=900.0, help="how long to wait for the deployments"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="say which services would roll, change nothing"
    )
    args = parser.parse_args(argv)
    if args.wait_seconds < 0:
        parser.error("--wait-seconds must be >= 0")
    cluster = cluster_name(args.env)
    names = [m.name for m in manifests.load_all()]
    prefix = "(dry run) " if args.dry_run else ""
    try:
        ecs, sm = boto3.client("ecs"), boto3.client("secretsmanager")
        services = ecs.describe_services(cluster=cluster, services=names)
        reasons = {s["serviceName"]: roll_reason(ecs, sm, s) for s in services["services"]}
    except (BotoCoreError, ClientError) as exc:
        print(f"roll_services: cannot read the services of {cluster}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    missing = [f["arn"].rsplit("/", 1)[-1] for f in services.get("failures", [])]
    if missing:
        print(
            f"roll_services: not in cluster {cluster}: {', '.join(missing)} (apply the stack first)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    rolled = [name for name, reason in reasons.items() if reason]
    for name, reason in reasons.items():
        print(f"{prefix}{'rolled' if reason else 'unchanged':<10} {name}{': ' + reason if reason else ''}")
    if args.dry_run or not rolled:
        unchanged = len(reasons) - len(rolled)
        print(f"{prefix}roll_services ({args.env}): {len(rolled)} rolled, {unchanged} unchanged")
        return EXIT_OK
    try:
        for name in rolled:
            ecs.update_service(cluster=cluster, service=name, forceNewDeployment=True)
        outcome = wait_completed(ecs, cluster, rolled, args.wait_seconds)
    except (BotoCoreError, ClientError) as exc:
        print(f"roll_services: {exc}", file=sys.stderr)
        return EXIT_FAILED
    bad = {n: o for n, o in outcome.items() if o != "COMPLETED"}
    for name, state in sorted(outcome.items()):
        print(f"deployment {name}: {state}")
    print(f"roll_services ({args.env}): {len(rolled)} rolled, {len(bad)} not running")
    return EXIT_FAILED if bad else EXIT_OK


if __name__ == "__main__":
    sys.exit(run())
