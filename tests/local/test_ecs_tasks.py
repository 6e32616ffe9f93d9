"""scripts/ecs_tasks.py (the emulator starts a task only when its secrets have values, as ECS does)
and scripts/roll_services.py (new deployments for services whose tasks lack the current values)."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
import roll_services

from tests.support.aws import REGION, MotoServer
from tests.support.ecs import register, running_all, stack_services

ENV = "local"


@pytest.fixture
def clients(aws: MotoServer) -> tuple[Any, Any]:
    """ECS and Secrets Manager clients of the session's emulator, emptied (names are the stack's)."""
    aws.reset()
    return boto3.client("ecs", region_name=REGION), boto3.client("secretsmanager", region_name=REGION)


def _service(ecs: Any, cluster: str, name: str) -> dict[str, Any]:
    return ecs.describe_services(cluster=cluster, services=[name])["services"][0]  # type: ignore[no-any-return]


def test_a_task_whose_secret_has_no_value_does_not_start(clients: tuple[Any, Any]) -> None:
    ecs, sm = clients
    ecs.create_cluster(clusterName="c")
    empty = sm.create_secret(Name="app/EMPTY")["ARN"]  # created without a value, as Terraform does
    definition = register(ecs, "app", {"TOKEN": empty})
    ecs.create_service(cluster="c", serviceName="app", taskDefinition=definition, desiredCount=2)
    service = _service(ecs, "c", "app")
    assert service["runningCount"] == 0
    (deployment,) = service["deployments"]
    assert deployment["rolloutState"] == "FAILED"  # stock moto: IN_PROGRESS, forever
    assert "ResourceInitializationError" in deployment["rolloutStateReason"]
    assert "ResourceInitializationError" in service["events"][0]["message"]


def test_a_task_whose_secrets_have_values_runs_and_a_failed_update_rolls_back(
    clients: tuple[Any, Any],
) -> None:
    ecs, sm = clients
    ecs.create_cluster(clusterName="c")
    good = sm.create_secret(Name="app/GOOD", SecretString="x")["ARN"]
    first = register(ecs, "app", {"TOKEN": good})
    ecs.create_service(cluster="c", serviceName="app", taskDefinition=first, desiredCount=2)
    service = _service(ecs, "c", "app")
    assert (service["runningCount"], service["deployments"][0]["rolloutState"]) == (2, "COMPLETED")

    missing = good.replace("GOOD", "GONE")  # names a secret that does not exist
    second = register(ecs, "app", {"TOKEN": missing})
    ecs.update_service(cluster="c", service="app", taskDefinition=second)
    service = _service(ecs, "c", "app")
    assert service["taskDefinition"] == first  # the circuit breaker rolled back
    assert service["runningCount"] == 2
    assert "rolling back" in service["deployments"][0]["rolloutStateReason"]

    ecs.update_service(cluster="c", service="app", desiredCount=3)  # scaling keeps the deployment
    service = _service(ecs, "c", "app")
    assert (service["runningCount"], len(service["deployments"])) == (3, 1)


def test_roll_services_brings_a_first_deploy_to_running_tasks_and_then_changes_nothing(
    clients: tuple[Any, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    ecs, sm = clients
    cluster = roll_services.cluster_name(ENV)
    ids = stack_services(ecs, sm, ENV)
    names = sorted(ids)

    assert (
        roll_services.run(["--env", ENV, "--wait-seconds", "0"]) == roll_services.EXIT_FAILED
    )  # no values yet
    for secret_id in {s for group in ids.values() for s in group}:
        sm.put_secret_value(SecretId=secret_id, SecretString=f"value-of-{secret_id}")
    assert roll_services.run(["--env", ENV, "--wait-seconds", "5"]) == roll_services.EXIT_OK
    assert running_all(ecs, ENV)
    services = ecs.describe_services(cluster=cluster, services=names)["services"]
    before = {s["serviceName"]: s["deployments"][0]["id"] for s in services}

    capsys.readouterr()
    assert roll_services.run(["--env", ENV]) == roll_services.EXIT_OK
    assert "0 rolled" in capsys.readouterr().out
    after = {
        s["serviceName"]: s["deployments"][0]["id"]
        for s in ecs.describe_services(cluster=cluster, services=names)["services"]
    }
    assert after == before

    time.sleep(1.1)  # the emulator dates secret versions to the second
    rotated = names[0]
    sm.put_secret_value(SecretId=ids[rotated][0], SecretString="value-after-rotation")
    assert roll_services.run(["--env", ENV, "--wait-seconds", "5"]) == roll_services.EXIT_OK
    out = capsys.readouterr().out
    assert f"rolled     {rotated}: " in out
    assert "1 rolled" in out
    assert "value-after-rotation" not in out  # names only, never a value


def test_roll_services_refuses_an_environment_without_its_services(
    clients: tuple[Any, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    ecs, _ = clients
    ecs.create_cluster(clusterName=roll_services.cluster_name(ENV))
    assert roll_services.run(["--env", ENV]) == roll_services.EXIT_USAGE
    assert "apply the stack first" in capsys.readouterr().err
