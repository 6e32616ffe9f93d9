"""Every AWS provider configuration tags everything it creates (default_tags) with the required keys.

Tagging is enforced at the provider, not per resource: one place, nothing forgotten. Modules carry no
provider blocks, so the stack's providers (the default one and every alias) are what is checked.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.provider.base_check import BaseProviderCheck

REQUIRED_TAGS = ("project", "environment", "managed-by")


class ProviderDefaultTags(BaseProviderCheck):
    def __init__(self) -> None:
        super().__init__(
            name=f"Ensure every AWS provider sets default_tags with {', '.join(REQUIRED_TAGS)}",
            id="CKV_SF_7",
            categories=(CheckCategories.CONVENTION,),
            supported_provider=("aws",),
        )

    def scan_provider_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["default_tags"]
        blocks = conf.get("default_tags") or []
        block = blocks[0] if blocks and isinstance(blocks[0], dict) else {}
        tags = block.get("tags") or [{}]
        tags = tags[0] if isinstance(tags, list) and tags else tags
        if not isinstance(tags, dict):
            return CheckResult.FAILED
        missing = [k for k in REQUIRED_TAGS if tags.get(k) in (None, "", [None], [""])]
        return CheckResult.FAILED if missing else CheckResult.PASSED


check = ProviderDefaultTags()
