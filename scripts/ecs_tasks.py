"""The emulator's ECS services start tasks only when ECS could: every secret of the task has a value.

moto 5.2.5 accepts a service and never runs anything: ``runningCount`` stays at 0 (or whatever
``MOTO_ECS_SERVICE_RUNNING`` says, for every service alike), a new task definition or
``forceNewDeployment`` creates no deployment, and nothing looks at the task's secrets. Real ECS
injects each ``secrets[].valueFrom`` when the task starts: a secret that does not exist, is
scheduled for deletion or has no ``AWSCURRENT`` value stops the task before its containers run
(``ResourceInitializationError: unable to pull secrets or registry auth``), the deployment circuit
breaker counts the failure and fails the deployment, rolling back to the last deployment that
completed when there is one (ECS developer guide: "Specifying sensitive data using Secrets Manager
secrets", "Amazon ECS deployment circuit breaker", "Troubleshoot ResourceInitializationError").

Installed into the emulator process (scripts/emulator.py), this module makes CreateService and
UpdateService do what ECS does with our services, at once instead of over minutes:

- a new deployment (PRIMARY, with its own id and ``createdAt``) on CreateService, on an
  UpdateService that changes the task definition, and on ``forceNewDeployment``;
- its tasks start when every secret of every container has a current value: ``runningCount`` =
  ``desiredCount``, rollout COMPLETED; otherwise none starts: rollout FAILED with the
  ResourceInitializationError as reason and in the service's events, and, when an earlier
  deployment had completed, a rollback deployment of that task definition takes over (the
  service's ``taskDefinition`` is the old one again), as the circuit breaker with rollback does;
- a change of ``desiredCount`` alone scales the current deployment (a failed one stays at 0).

Secrets are resolved in the same account and region as the service; the task execution role's
permission to read them is not checked here (the IAM policies are checked by iam_enforce.py for
the callers, and by the Terraform module's own policy tests).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

INSTALLED = "_storefront_strict_tasks"


def secret_problem(account_id: str, region: str, value_from: str) -> str | None:
    """Why ECS could not inject ``value_from`` (a Secrets Manager ARN or name), or None when it could."""
    from moto.secretsmanager.models import secretsmanager_backends

    parts = value_from.split(":")
    secret_id = ":".join(parts[:7]) if value_from.startswith("arn:") else value_from  # drop json-key etc.
    backend = secretsmanager_backends[account_id][region]
    try:
        backend.get_secret_value(secret_id, None, None)  # type: ignore[arg-type]
    except Exception as exc:  # moto raises its own exception types; each is a reason a task cannot start
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return (
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
            f"retrieval failed: unable to retrieve secret from asm: failed to fetch secret {value_from} "
            f"from secrets manager: {type(exc).__name__}: {message}"
        )
    return None


def task_problem(backend: Any, task_definition_arn: str) -> str | None:
    """The first reason a task of this task definition cannot start, or None."""
    task_definition = backend.describe_task_definition(task_definition_arn)
    for container in task_definition.container_definitions:
        for secret in container.get("secrets") or []:
            problem = secret_problem(backend.account_id, backend.region_name, secret["valueFrom"])
            if problem is not None:
                return problem
    return None


def _now() -> datetime:
    return datetime.now(UTC)


def _event(service: Any, message: str) -> None:
    from moto.moto_api._internal import mock_random

    service.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": _now(), "message": message})


def _deployment(service: Any, task_definition_arn: str, running: bool, reason: str) -> dict[str, Any]:
    from moto.moto_api._internal import mock_random

    deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
    now = _now()
    count = service.desired_count if running else 0
    return {
        "id": deployment_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition_arn,
        "desiredCount": service.desired_count,
        "runningCount": count,
        "pendingCount": 0,
        "failedTasks": 0 if running else max(service.desired_count, 1),
        "createdAt": now,
        "updatedAt": now,
        "launchType": service.launch_type,
        "platformVersion": service.platform_version,
        "platformFamily": "EC2" if service.launch_type == "EC2" else "FARGATE",
        "networkConfiguration": service.network_configuration or None,
        "rolloutState": "COMPLETED" if running else "FAILED",
        "rolloutStateReason": reason.replace("{id}", deployment_id),
    }


def _set_running(backend: Any, service: Any, count: int) -> None:
    """The service's task counts (the cluster's own counters are moto's and not kept in step)."""
    service.running_count = count
    service.pending_count = 0


def deploy(backend: Any, service: Any) -> None:
    """Start a new deployment of the service's task definition, as ECS would (module docstring)."""
    arn = backend.describe_task_definition(service.task_definition).arn
    service.task_definition = arn
    previous = next((d for d in service.deployments if d.get("rolloutState") == "COMPLETED"), None)
    problem = task_problem(backend, arn)
    if problem is None:
        service.deployments = [_deployment(service, arn, True, "ECS deployment {id} completed.")]
        _event(service, f"(service {service.name}) has reached a steady state.")
        _set_running(backend, service, service.desired_count)
        return
    failed = _deployment(
        service, arn, False, f"ECS deployment circuit breaker: tasks failed to start. {problem}"
    )
    _event(service, f"(service {service.name}) failed to launch a task with (error {problem}).")
    if previous is None or task_problem(backend, previous["taskDefinition"]) is not None:
        service.deployments = [failed]
        _set_running(backend, service, 0)
        return
    # The circuit breaker rolls back to the deployment that had completed.
    service.task_definition = previous["taskDefinition"]
    back = _deployment(
        service,
        previous["taskDefinition"],
        True,
        f"ECS deployment circuit breaker: rolling back to deploymentId {previous['id']}.",
    )
    failed["status"] = "INACTIVE"
    service.deployments = [back]
    _event(service, f"(service {service.name}) (deployment {failed['id']}) deployment failed: {problem}")
    _set_running(backend, service, service.desired_count)


def _scale(backend: Any, service: Any) -> None:
    primary = service.deployments[0] if service.deployments else None
    running = primary is not None and primary.get("rolloutState") == "COMPLETED"
    count = service.desired_count if running else 0
    if primary is not None:
        primary.update(desiredCount=service.desired_count, runningCount=count, updatedAt=_now())
    _set_running(backend, service, count)


def install() -> None:
    """Make moto's ECS backend run deployments as above (idempotent)."""
    from moto.ecs.models import EC2ContainerServiceBackend

    if getattr(EC2ContainerServiceBackend, INSTALLED, False):
        return
    original_create = EC2ContainerServiceBackend.create_service
    original_update = EC2ContainerServiceBackend.update_service

    def create_service(self: Any, *args: Any, **kwargs: Any) -> Any:
        service = original_create(self, *args, **kwargs)
        if service.task_definition and service.deployment_controller.get("type", "ECS") == "ECS":
            deploy(self, service)
        return service

    def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
        force = bool(service_properties.get("force_new_deployment"))
        wanted = service_properties.get("task_definition")
        before = self._get_service(
            service_properties.get("cluster", "default"), service_properties["service"].split("/")[-1]
        )
        old_definition, old_running = before.task_definition, before.running_count
        service = original_update(self, service_properties)
        service.running_count = old_running  # moto counts every desired task as running at once
        changed = wanted is not None and self.describe_task_definition(wanted).arn != old_definition
        if service.task_definition and service.deployment_controller.get("type", "ECS") == "ECS":
            if force or changed or not service.deployments:
                deploy(self, service)
            else:
                _scale(self, service)
        return service

    EC2ContainerServiceBackend.create_service = create_service  # type: ignore[method-assign]
    EC2ContainerServiceBackend.update_service = update_service  # type: ignore[method-assign]
    setattr(EC2ContainerServiceBackend, INSTALLED, True)
