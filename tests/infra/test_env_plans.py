"""prod's and dev's tfvars planned for real against a moto server started here (no apply needed).

Each environment's state backend is bootstrapped in the emulator with scripts/bootstrap_backend.py
(and must match the committed backend.hcl), then `terraform plan` of infra/stack with that
environment's tfvars, checked on the plan JSON: prod is highly available (its AZs, a NAT gateway
per AZ, >= 2 tasks, autoscaling, deletion protection) and refuses to plan without an alarm
subscription; dev is cheap (one NAT gateway, Fargate Spot, one task); both fit AWS quotas
(scripts/quotas.py). Apart from tests/infra/test_stack_lifecycle.py (the applied `local` stack) so
the two run on different workers.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import manifests
import pytest
import quotas

from tests.infra.tfkit import Terraform, bootstrap_backend, copy_tree, terraform_binary
from tests.support.aws import MotoServer
from tests.support.tools import REPO_ROOT, output_dir

pytestmark = [pytest.mark.slow, pytest.mark.tool("terraform")]

SERVICES = manifests.load_all()
IMAGE_TAG = "git-4f9c2e1a7b3d"

# prod's tfvars leave alarm_emails for the team to fill in; the prod plan refuses an empty list.
EXTRA_VARS = {"prod": ['-var=alarm_emails=["oncall@example.com"]']}

CHECKS: list[str] = []
TIMES: dict[str, float] = {}


class Plans:
    def __init__(self, moto: MotoServer, root: Path, data: Path):
        self.moto = moto
        self.root = root
        self.data = data
        self.env = {**moto.env, "AWS_MAX_ATTEMPTS": "1"}

    def var_file(self, env: str) -> str:
        return f"-var-file={self.root / 'envs' / env / 'terraform.tfvars'}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plans]:
    terraform_binary()
    work = tmp_path_factory.mktemp("env-plans")
    server = MotoServer(output_dir("logs"))
    try:
        yield Plans(server, copy_tree(work), work / "tfdata")
    finally:
        server.stop()
        times = ", ".join(f"{k} {v:.1f}s" for k, v in TIMES.items())
        print(f"env plan checks run: {'; '.join(CHECKS) or 'none'} ({times})", file=sys.__stderr__)


def _plan_json(stack: Plans, env: str) -> dict[str, Any]:
    """Plan ``env``'s tfvars against the emulator, with that env's own backend bootstrapped there."""
    backend_file = stack.data / f"{env}-backend.hcl"
    done = bootstrap_backend(env, backend_file, stack.env)
    assert done.returncode == 0, done.stderr
    committed = (REPO_ROOT / "infra" / "envs" / env / "backend.hcl").read_text()
    assert backend_file.read_text() == committed, (
        f"committed {env} backend.hcl differs from the bootstrap output"
    )
    tf = Terraform(stack.root / "stack", stack.data / env, stack.env)
    tf.run(
        "init", "-input=false", "-no-color", f"-backend-config={stack.root / 'envs' / env / 'backend.hcl'}"
    )
    plan = tf.run(
        "plan",
        "-input=false",
        "-no-color",
        "-out=plan.tfplan",
        stack.var_file(env),
        f"-var=image_tag={IMAGE_TAG}",
        "-var=max_retries=2",
        *EXTRA_VARS.get(env, []),
    )
    TIMES[f"plan {env}"] = plan.seconds
    rendered: dict[str, Any] = tf.run("show", "-json", "plan.tfplan").json()  # type: ignore[assignment]
    exceeded = [f.line() for f in quotas.check_plan(rendered).exceeded]
    assert exceeded == [], f"{env} plan exceeds AWS quotas (scripts/quotas.py): {exceeded}"
    return rendered


def _planned(plan: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [
        c["change"]["after"]
        for c in plan["resource_changes"]
        if c["type"] == rtype and c["change"]["actions"] == ["create"]
    ]


def test_prod_plan_is_highly_available(stack: Plans) -> None:
    plan = _plan_json(stack, "prod")
    subnets = _planned(plan, "aws_subnet")
    azs = {s["availability_zone"] for s in subnets}
    assert len(azs) >= 2
    with (REPO_ROOT / "infra" / "envs" / "prod" / "terraform.tfvars").open() as fh:
        named = {az.strip('"') for az in hcl2.load(fh)["availability_zones"]}  # hcl2 keeps the quotes
    assert azs == named, "subnets are in exactly the AZs prod names"
    assert len(subnets) == 2 * len(azs)
    assert len(_planned(plan, "aws_nat_gateway")) == len(azs), "prod needs a NAT gateway per AZ"
    services = _planned(plan, "aws_ecs_service")
    assert len(services) == len(SERVICES)
    assert all(s["desired_count"] >= 2 for s in services)
    assert all(s["capacity_provider_strategy"][0]["capacity_provider"] == "FARGATE" for s in services)
    assert all(t["min_capacity"] >= 2 for t in _planned(plan, "aws_appautoscaling_target"))
    assert len(_planned(plan, "aws_appautoscaling_policy")) == 2 * len(SERVICES)
    (lb,) = _planned(plan, "aws_lb")
    assert lb["enable_deletion_protection"] is True
    assert all(t["deletion_protection_enabled"] for t in _planned(plan, "aws_dynamodb_table"))
    CHECKS.append(f"prod plan: {len(azs)} AZs, NAT per AZ, >=2 tasks, autoscaling, deletion protection")


def test_prod_refuses_to_plan_without_an_alarm_subscription(stack: Plans) -> None:
    """prod's tfvars as committed (no alarm_emails) are refused; the same plan also asks for a
    delegated zone it does not create, refused too: terraform reports every refused variable of
    a plan at once, so one plan of the whole stack checks both validations."""
    tf = Terraform(stack.root / "stack", stack.data / "prod", stack.env)  # initialised by the prod plan
    refused = tf.run(
        "plan",
        "-input=false",
        "-no-color",
        stack.var_file("prod"),
        f"-var=image_tag={IMAGE_TAG}",
        "-var=create_hosted_zone=false",
        "-var=hosted_zone_delegated=true",
        check=False,
    )
    tail = refused.output[-2000:]
    assert refused.returncode != 0
    assert "prod needs at least one alarm_emails address" in refused.output, tail
    assert "hosted_zone_delegated only applies with create_hosted_zone" in refused.output, tail
    CHECKS.append(
        "prod plan refused without alarm_emails, and hosted_zone_delegated without create_hosted_zone"
    )


def test_dev_plan_is_cheap(stack: Plans) -> None:
    plan = _plan_json(stack, "dev")
    assert len(_planned(plan, "aws_nat_gateway")) == 1
    services = _planned(plan, "aws_ecs_service")
    assert all(s["desired_count"] == 1 for s in services)
    assert all(s["capacity_provider_strategy"][0]["capacity_provider"] == "FARGATE_SPOT" for s in services)
    CHECKS.append("dev plan: single NAT, Fargate Spot, 1 task")
