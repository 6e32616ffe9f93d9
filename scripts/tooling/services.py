"""The local stack's services: the order they start in and each one's runtime environment."""

from __future__ import annotations

import os

import manifests

from tooling.emulator_setup import service_secrets
from tooling.net import HOST
from tooling.stack_settings import ENVIRONMENT, ROOT, Settings, StackError, base_env


def start_order(all_manifests: list[manifests.Manifest]) -> list[manifests.Manifest]:
    """Services ordered so that each starts after the services it depends on."""
    by_name = {m.name: m for m in all_manifests}
    ordered: list[manifests.Manifest] = []
    visiting: set[str] = set()

    def visit(m: manifests.Manifest) -> None:
        if m in ordered:
            return
        if m.name in visiting:
            raise StackError(f"dependency cycle through service {m.name}")
        visiting.add(m.name)
        for dep in m.dependencies:
            visit(by_name[dep.service])
        visiting.discard(m.name)
        ordered.append(m)

    for m in all_manifests:
        visit(m)
    return ordered


def service_env(settings: Settings, manifest: manifests.Manifest) -> dict[str, str]:
    """The runtime contract's environment for one service."""
    env = {
        **base_env(),
        **settings.aws_env(),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "services" / "common"), str(manifest.directory)]),
        "PYTHONUNBUFFERED": "1",
        "PORT": str(settings.service_ports[manifest.name]),
        "HOST": HOST,
        "SERVICE_NAME": manifest.name,
        "ENVIRONMENT": ENVIRONMENT,
        "TABLE_NAME": manifests.table_name(manifest.name, ENVIRONMENT),
        "HEALTH_PATH": manifest.health_path,
        "LOG_LEVEL": os.environ.get("LOCAL_LOG_LEVEL", "INFO"),
        "SHUTDOWN_GRACE_SECONDS": "5",
    }
    for dep in manifest.dependencies:
        env[dep.env] = f"http://{HOST}:{settings.service_ports[dep.service]}"
    env.update(service_secrets(settings, manifest))
    return env
