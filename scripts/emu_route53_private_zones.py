"""Route 53 private hosted zones as AWS makes them, in the emulator.

AWS makes a hosted zone private when CreateHostedZone names a ``VPC`` (Route 53 API reference,
CreateHostedZone: "To create a private hosted zone, specify ... the VPC"); the AWS provider sends
the VPC and no ``HostedZoneConfig.PrivateZone``. moto 5.2.5 reads only ``PrivateZone``: it made a
public zone, dropped the VPC, and GetHostedZone answered no VPCs, so Terraform planned to replace
the zone after every apply. Installed into the emulator process (moto_fidelity.install), this
treats a create request with ``VPC.VPCId`` as private, as AWS does.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    """Patch moto's CreateHostedZone handler (idempotent)."""
    from moto.route53.responses import Route53

    if getattr(Route53, "_storefront_private_zones", False):
        return
    original = Route53.create_hosted_zone

    def create_hosted_zone(self: Any) -> Any:
        if self._get_param("VPC.VPCId"):
            get_bool = self._get_bool_param

            def private(name: str, if_none: Any = None) -> Any:
                return True if name == "HostedZoneConfig.PrivateZone" else get_bool(name, if_none)

            self._get_bool_param = private
        return original(self)

    Route53.create_hosted_zone = create_hosted_zone  # type: ignore[method-assign]
    Route53._storefront_private_zones = True  # type: ignore[attr-defined]
