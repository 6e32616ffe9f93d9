"""ECS service settings the emulator forgot, kept as AWS keeps them.

moto 5.2.5's CreateService drops ``capacityProviderStrategy``, ``enableECSManagedTags``,
``healthCheckGracePeriodSeconds``, ``availabilityZoneRebalancing``, ``deploymentConfiguration`` and
``enableExecuteCommand``, and answers ``launchType: EC2`` for a service created with a capacity
provider strategy. Terraform then plans to replace every Fargate Spot service after each apply
(a changed capacity provider strategy forces a new service). Installed into the emulator process
(moto_fidelity.install), this module keeps what CreateService was given and answers it in
DescribeServices, as the ECS API reference documents the Service object:

- ``capacityProviderStrategy`` as given; a service created with one has no ``launchType``
  ("If a capacityProviderStrategy is specified, the launchType parameter must be omitted");
- with neither, the cluster's default capacity provider strategy applies, else launchType EC2;
- the other settings as given (UpdateService already stores what it is sent).
"""

from __future__ import annotations

from typing import Any

# CreateService request member -> the Service attribute moto's serializer reads for it.
KEPT = {
    "capacityProviderStrategy": "capacity_provider_strategy",
    "enableECSManagedTags": "enable_ecs_managed_tags",
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "availabilityZoneRebalancing": "availability_zone_rebalancing",
    "deploymentConfiguration": "deployment_configuration",
    "enableExecuteCommand": "enable_execute_command",
}


def install() -> None:
    """Wrap moto's CreateService (idempotent)."""
    from moto.ecs.responses import EC2ContainerServiceResponse

    if getattr(EC2ContainerServiceResponse, "_storefront_service_fields", False):
        return
    create = EC2ContainerServiceResponse.create_service

    def create_service(self: Any) -> Any:
        strategy = self._get_param("capacityProviderStrategy")
        launch_type = self._get_param("launchType")
        answer = create(self)
        service = answer.result["service"]
        for member, attribute in KEPT.items():
            value = self._get_param(member)
            if value is not None:
                setattr(service, attribute, value)
        if not launch_type:
            cluster = self.ecs_backend._get_cluster(self._get_param("cluster", "default"))
            default = getattr(cluster, "default_capacity_provider_strategy", None) or []
            if strategy or default:
                service.capacity_provider_strategy = strategy or default
                service.launch_type = None
                for deployment in service.deployments:
                    deployment["launchType"] = None
                    deployment["capacityProviderStrategy"] = service.capacity_provider_strategy
        return answer

    EC2ContainerServiceResponse.create_service = create_service  # type: ignore[method-assign]
    EC2ContainerServiceResponse._storefront_service_fields = True  # type: ignore[attr-defined]
