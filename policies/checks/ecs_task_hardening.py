"""Every container of every ECS task definition has a read-only root filesystem and a non-root user."""

from __future__ import annotations

import json
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

ROOT_USERS = {"root", "0"}


def containers(raw: Any) -> list[dict[str, Any]] | None:
    """Container definitions from checkov's view (JSON text, parsed list, or plan-style list of dicts)."""
    value = raw[0] if isinstance(raw, list) and len(raw) == 1 and not isinstance(raw[0], dict) else raw
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
        return None
    return value


def runs_as_root(user: Any) -> bool:
    if not isinstance(user, str) or not user.strip():
        return True  # no user: the image default, root for most images
    return user.split(":", 1)[0].strip() in ROOT_USERS


class ECSTaskReadOnlyNonRoot(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure ECS containers have a read-only root filesystem and run as a non-root user",
            id="CKV_SF_8",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("aws_ecs_task_definition",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["container_definitions"]
        defs = containers(conf.get("container_definitions"))
        if not defs:
            return CheckResult.UNKNOWN
        for c in defs:
            if c.get("readonlyRootFilesystem") is not True or runs_as_root(c.get("user")):
                return CheckResult.FAILED
        return CheckResult.PASSED


check = ECSTaskReadOnlyNonRoot()
