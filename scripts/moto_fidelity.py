"""Where moto answers differently from AWS in a way our stack sees, corrected in the emulator process.

APIs moto lacks and our stacks use are added by their own modules, installed from here:
emu_cloudfront_policies.py, emu_cloudfront_distribution.py, emu_autoscaling_tags.py,
emu_composite_alarms.py, emu_ecs_service_fields.py, emu_route53_private_zones.py,
emu_s3_default_encryption.py.

- Security group rule descriptions: AWS keeps the description of every rule (CIDR, referenced
  security group, prefix list) and DescribeSecurityGroupRules returns it. moto 5.2.5 keeps it for
  CIDR rules only, so Terraform sees the description of a group-to-group or prefix-list rule vanish
  after every apply and plans to set it again, forever.
- ListSecretVersionIds: AWS returns each version's CreatedDate; moto 5.2.5 returns the time of the
  call, so every value would look newer than any ECS deployment (scripts/roll_services.py).
"""

from __future__ import annotations

import json
from typing import Any


def _keep_rule_descriptions() -> None:
    from moto.ec2.models.security_groups import SecurityGroupRule

    if getattr(SecurityGroupRule, "_storefront_descriptions", False):
        return
    original_init = SecurityGroupRule.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        prefix_list = kwargs.get("prefix_list_id") or (args[7] if len(args) > 7 else None)
        self._prefix_list_description = (prefix_list or {}).get("Description")

    def description(self: Any) -> str | None:
        return (
            self.ip_range.get("Description")
            or (self.source_group or {}).get("Description")
            or getattr(self, "_prefix_list_description", None)
        )

    SecurityGroupRule.__init__ = init  # type: ignore[method-assign]
    SecurityGroupRule.description = property(description)  # type: ignore[assignment,method-assign]
    SecurityGroupRule._storefront_descriptions = True  # type: ignore[attr-defined]


def _version_dates() -> None:
    from moto.secretsmanager.models import SecretsManagerBackend

    if getattr(SecretsManagerBackend, "_storefront_version_dates", False):
        return
    original = SecretsManagerBackend.list_secret_version_ids

    def list_secret_version_ids(self: Any, secret_id: str) -> str:
        answer = json.loads(original(self, secret_id))
        versions = self.secrets[secret_id].versions
        for version in answer.get("Versions", []):
            created = versions.get(version["VersionId"], {}).get("createdate")
            if created is not None:
                version["CreatedDate"] = created
        return json.dumps(answer)

    SecretsManagerBackend.list_secret_version_ids = list_secret_version_ids  # type: ignore[method-assign]
    SecretsManagerBackend._storefront_version_dates = True  # type: ignore[attr-defined]


def install() -> None:
    """Apply every correction above, and add the APIs moto lacks (idempotent)."""
    import emu_autoscaling_tags
    import emu_cloudfront_distribution
    import emu_cloudfront_policies
    import emu_composite_alarms
    import emu_ecs_service_fields
    import emu_route53_private_zones
    import emu_s3_default_encryption

    _keep_rule_descriptions()
    emu_cloudfront_distribution.install()  # CloudFront distribution fields kept as given
    emu_cloudfront_policies.install()  # CloudFront cache/origin-request/response-headers policies
    emu_autoscaling_tags.install()  # Application Auto Scaling tags
    emu_composite_alarms.install()  # CloudWatch PutCompositeAlarm
    emu_ecs_service_fields.install()  # ECS service settings CreateService dropped
    emu_route53_private_zones.install()  # a zone created with a VPC is private
    emu_s3_default_encryption.install()  # every bucket has SSE-S3 unless told otherwise
    _version_dates()
