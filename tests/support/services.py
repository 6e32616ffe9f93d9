"""Test helpers for the services: start one as its container does, its environment, its table.

Starts a service exactly as its container does (``python -m svc_common.serve <package>.main:create_app``)
on a free loopback port against the test session's moto server, with a fresh table created from
the service's manifest.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import emulator
import manifests

from tests.support.aws import FAKE_AWS_ENV
from tests.support.procs import Proc, free_port, wait_http
from tests.support.tables import create_table
from tests.support.tools import REPO_ROOT, output_dir

# Distinct, recognisable secrets, fresh for each test process (the log tests search for them).
SECRETS = {
    "API_KEY": f"test-api-key-{secrets.token_hex(8)}",
    "SERVICE_TOKEN": f"test-service-token-{secrets.token_hex(8)}",
}
SECRETS["CATALOG_SERVICE_TOKEN"] = SECRETS["SERVICE_TOKEN"]


def unique_table(service: str) -> str:
    return f"test-{service}-{uuid.uuid4().hex[:10]}"


def service_env(
    service: str, table: str, aws_env: Mapping[str, str], port: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The runtime-contract environment of ``service`` (as the local stack and ECS give it)."""
    m = manifests.get(service)
    env = {
        **aws_env,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "services" / "common"), str(m.directory)]),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "SERVICE_NAME": m.name,
        "ENVIRONMENT": "local",
        "TABLE_NAME": table,
        "HEALTH_PATH": m.health_path,
        "LOG_LEVEL": "INFO",
        "SHUTDOWN_GRACE_SECONDS": "10",
        # Fail fast in tests: a dead dependency must turn into a quick 503.
        "DYNAMODB_CONNECT_TIMEOUT": "1",
        "DYNAMODB_READ_TIMEOUT": "3",
        # The services' default retries (the test session sets 1 for its own clients); retries of a
        # transaction are made idempotent by its ClientRequestToken, as in real DynamoDB.
        "AWS_MAX_ATTEMPTS": "3",
    }
    for secret in m.secrets:
        env[secret.name] = SECRETS[secret.name]
    return {**env, **(extra or {})}


def settings_env(
    service: str, table: str, aws_env: Mapping[str, str], extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment for building the app in-process (``create_app()`` reads it)."""
    env = service_env(service, table, aws_env, 0, extra)
    env.pop("PYTHONPATH")
    return env


@dataclass
class RunningService:
    name: str
    url: str
    port: int
    table: str
    env: dict[str, str]
    proc: Proc
    prefix: str = field(default="")

    def log_lines(self) -> list[str]:
        return self.proc.log.read_text(errors="replace").splitlines()


@contextlib.contextmanager
def app_env(service: str, table: str, aws_env: Mapping[str, str], extra: Mapping[str, str] | None = None):
    """Set the service's environment in this process while building an app in-process."""
    saved = dict(os.environ)
    os.environ.update(settings_env(service, table, aws_env, extra))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def run_service(
    service: str,
    aws_env: Mapping[str, str],
    *,
    table: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    create: bool = True,
) -> Iterator[RunningService]:
    """Start ``service`` as a real process; stop it (SIGTERM) afterwards."""
    m = manifests.get(service)
    table = table or unique_table(service)
    if create:
        create_table(service, table, endpoint_url=aws_env.get("AWS_ENDPOINT_URL"))
    port = free_port()
    env = service_env(service, table, aws_env, port, extra_env)
    log = output_dir("logs") / f"{service}-{port}-{uuid.uuid4().hex[:6]}.log"
    proc = Proc([sys.executable, "-m", "svc_common.serve", m.app], log, env=env, cwd=str(REPO_ROOT))
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(url + m.health_path, timeout=30)
        except TimeoutError as exc:
            raise RuntimeError(f"{service} did not start: {exc}\n{proc.tail()}") from exc
        yield RunningService(service, url, port, table, env, proc, m.path_prefix)
    finally:
        proc.stop()


class PrivateEmulator:
    """An emulator of the test's own (scripts/emulator.py: each API call atomic, as in AWS).

    The concurrency tests race many writers against one item; their own emulator keeps them from
    slowing the session's shared one.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log = output_dir("logs") / f"emulator-{self.port}.log"
        self.proc = Proc(emulator.argv(sys.executable, self.port), log, env=FAKE_AWS_ENV)
        wait_http(f"{self.url}/moto-api/", timeout=30)

    @property
    def env(self) -> dict[str, str]:
        return {**FAKE_AWS_ENV, "AWS_ENDPOINT_URL": self.url}

    def stop(self) -> None:
        self.proc.stop()


@contextlib.contextmanager
def private_emulator() -> Iterator[PrivateEmulator]:
    server = PrivateEmulator()
    try:
        yield server
    finally:
        server.stop()
