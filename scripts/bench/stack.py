"""A private copy of the local stack for benchmarks and fault tests, on free loopback ports.

Built only from the local stack's own pieces (scripts/tooling/) (its Settings, process manager, table and
secret provisioning, service environment and Caddy generator), in a temporary state folder, so
it never touches a stack started with `make up` and never uses the default ports.

Additions for measurement:
- the bare ``hello_app`` (scripts/bench/hello_app.py), started like a service
  (``python -m svc_common.serve``) and routed by the same generated edge configuration under
  ``/hello/*`` with the same health checks (the generator is given a manifest for it);
- optional extra replicas of a service as extra upstreams of the same edge route.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import emulator
import httpx
import manifests
import sync_secrets
from tooling import stack_commands
from tooling.edge_config import caddyfile, edge_env
from tooling.emulator_setup import ensure_tables, sync_secret_values
from tooling.net import HOST, free_port, wait_http
from tooling.services import service_env
from tooling.stack_settings import EMULATOR_AWS_ENV, ENVIRONMENT, REGION, ROOT, Settings, base_env
from tooling.supervisor import Processes

BENCH_DIR = Path(__file__).resolve().parent
HELLO = "hello"
HELLO_PREFIX = "/hello"
HELLO_HEALTH = "/hello/health"


def hello_manifest() -> manifests.Manifest:
    """A manifest for the baseline app, so the edge generator routes it like a real service."""
    return manifests.Manifest.model_validate(
        {
            "name": HELLO,
            "description": "Bare FastAPI baseline for make bench (not a product service).",
            "package": "hello_app",
            "port": 8099,
            "path_prefix": HELLO_PREFIX,
            "health_path": HELLO_HEALTH,
            "ready_path": HELLO_HEALTH,
            "resources": {"cpu": 256, "memory": 512},
            "scaling": {"min": 1, "max": 1, "cpu_target": 60, "requests_per_target": 500},
            "table": {"hash_key": {"name": "pk", "type": "S"}},
        }
    )


def replica_name(service: str, index: int) -> str:
    return service if index == 0 else f"{service}-{index + 1}"


@dataclasses.dataclass
class Stack:
    """A running private stack. Build it with :func:`start`; stop it with :meth:`stop`."""

    settings: Settings
    hello_port: int | None = None
    replicas: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    edge_config: str = ""

    @property
    def procs(self) -> Processes:
        return Processes(self.settings)

    @property
    def edge(self) -> str:
        return self.settings.edge_url

    @property
    def aws_url(self) -> str:
        return self.settings.aws_url

    @property
    def keys(self) -> dict[str, str]:
        """Local secret values by variable name (CATALOG_API_KEY, ORDERS_API_KEY, ...)."""
        return sync_secrets.read_values_file(self.settings.secrets_file)

    def api_key(self, service: str) -> str:
        return self.keys[sync_secrets.variable_name(service, "API_KEY")]

    def service_url(self, service: str, replica: int = 0) -> str:
        return f"http://{HOST}:{self.replicas[service][replica]}"

    def create_products(
        self, count: int, stock: int, tag: str, price: str = "5.00", timeout: float = 20.0
    ) -> list[str]:
        """``count`` products with ``stock`` each, created through the edge as a client would; their ids."""
        ids = []
        with httpx.Client(base_url=self.edge, timeout=timeout) as client:
            for i in range(count):
                r = client.post(
                    "/catalog/products",
                    headers={"X-Api-Key": self.api_key("catalog")},
                    json={
                        "sku": f"{tag}-{i:04d}",
                        "name": f"{tag} {i}",
                        "price": price,
                        "currency": "EUR",
                        "stock": stock,
                    },
                )
                if r.status_code != 201:
                    raise RuntimeError(f"creating a product answered HTTP {r.status_code}: {r.text[:200]}")
                ids.append(r.json()["id"])
        return ids

    def table(self, service: str) -> str:
        return manifests.table_name(service, ENVIRONMENT)

    def dynamodb(self) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.aws_url,
            region_name=REGION,
            aws_access_key_id=EMULATOR_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=EMULATOR_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    def item_count(self, service: str) -> int:
        """Exact number of items in a service's table (a full scan; tests use small tables)."""
        ddb = self.dynamodb()
        total, kwargs = 0, {"TableName": self.table(service), "Select": "COUNT"}
        for _ in range(10_000):
            page = ddb.scan(**kwargs)
            total += page["Count"]
            if "LastEvaluatedKey" not in page:
                return total
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        raise RuntimeError("table scan did not finish")

    def scan(self, service: str) -> list[dict[str, Any]]:
        ddb = self.dynamodb()
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table(service)}
        for _ in range(10_000):
            page = ddb.scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        raise RuntimeError("table scan did not finish")

    def pid(self, name: str) -> int:
        rec = self.procs.running(name)
        if rec is None:
            raise RuntimeError(f"{name} is not running")
        return rec.pid

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to a component's process group (SIGKILL: an abrupt crash)."""
        os.killpg(self.pid(name), sig)

    def wait_gone(self, name: str, timeout: float = 15.0) -> float:
        """Seconds until the component's process has exited (reaped when it is our child)."""
        return self.wait_exit(name, timeout)[0]

    def wait_exit(self, name: str, timeout: float = 15.0) -> tuple[float, int | None]:
        """(seconds until the component's process exited, its exit code when it was our child)."""
        rec = self.procs.record(name)
        if rec is None:
            return 0.0, None
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(rec.pid, os.WNOHANG)
                if pid == rec.pid:
                    return time.monotonic() - start, os.waitstatus_to_exitcode(status)
            if not rec.is_ours():  # gone or a zombie: collect its status when it is our child
                elapsed = time.monotonic() - start
                with contextlib.suppress(ChildProcessError):
                    pid, status = os.waitpid(rec.pid, 0)
                    if pid == rec.pid:
                        return elapsed, os.waitstatus_to_exitcode(status)
                return elapsed, None
            time.sleep(0.02)
        raise TimeoutError(f"{name} still running {timeout}s after it was told to stop")

    def restart_emulator(self) -> None:
        """Start moto again on the same port and recreate the tables (a restart loses all state).

        Secrets Manager values are reloaded too; running services keep the values they read at
        start, as ECS tasks do.
        """
        self.procs.start(
            "moto",
            emulator.argv(self.settings.python, self.settings.aws_port, HOST),
            {**base_env(), **EMULATOR_AWS_ENV},
            self.settings.aws_port,
            f"{self.aws_url}/moto-api/",
        )
        ensure_tables(self.settings)
        sync_secret_values(self.settings)

    def start_replica(self, service: str, index: int, extra_env: dict[str, str] | None = None) -> None:
        manifest = manifests.get(service)
        port = self.replicas[service][index]
        settings = dataclasses.replace(
            self.settings, service_ports={**self.settings.service_ports, service: port}
        )
        env = {**service_env(settings, manifest), **(extra_env or {})}
        argv = [settings.python, "-m", "svc_common.serve", manifest.app]
        self.procs.start(
            replica_name(service, index), argv, env, port, f"http://{HOST}:{port}{manifest.ready_path}"
        )

    def stop(self) -> None:
        procs = self.procs
        for name in ["edge", *[n for n in procs.names() if n not in ("edge", "moto")], "moto"]:
            if procs.record(name) is not None:
                procs.stop(name)


def edge_config(settings: Settings, hello_port: int | None, replicas: dict[str, list[int]]) -> str:
    """The generator's Caddyfile, with the hello route and extra replicas as extra upstreams."""
    real = manifests.load_all()
    extra = [hello_manifest()] if hello_port else []
    ports = {**settings.service_ports, **({HELLO: hello_port} if hello_port else {})}
    with mock.patch.object(manifests, "load_all", return_value=[*real, *extra]):
        config = caddyfile(dataclasses.replace(settings, service_ports=ports))
    for service, ports_of in replicas.items():
        if len(ports_of) < 2:
            continue
        first = f"reverse_proxy {HOST}:{ports_of[0]} {{"
        if config.count(first) != 1:
            raise RuntimeError(f"cannot find the edge route of {service} in the generated configuration")
        config = config.replace(first, "reverse_proxy " + " ".join(f"{HOST}:{p}" for p in ports_of) + " {")
    return config


def start_edge(stack: Stack) -> None:
    config = edge_config(stack.settings, stack.hello_port, stack.replicas)
    stack.edge_config = config
    path = stack.settings.state / "caddy" / "Caddyfile"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config)
    argv = [stack.settings.caddy, "run", "--config", str(path), "--adapter", "caddyfile"]
    stack.procs.start(
        "edge", argv, edge_env(stack.settings), stack.settings.edge_port, f"{stack.edge}/", config
    )
    routes = [m.ready_path for m in manifests.load_all()] + ([HELLO_HEALTH] if stack.hello_port else [])
    for path_ in routes:
        wait_http(f"{stack.edge}{path_}", timeout=30)


def start(
    state: Path,
    *,
    hello: bool = False,
    replicas: dict[str, int] | None = None,
    service_env: dict[str, dict[str, str]] | None = None,
) -> Stack:
    """Emulator, tables, secrets, every service (``replicas`` per service), optional hello, edge."""
    service_ports = {m.name: free_port() for m in manifests.load_all()}
    settings = Settings(state=state, edge_port=free_port(), aws_port=free_port(), service_ports=service_ports)
    stack = Stack(settings=settings, hello_port=free_port() if hello else None)
    stack.replicas = {
        name: [port] + [free_port() for _ in range((replicas or {}).get(name, 1) - 1)]
        for name, port in service_ports.items()
    }
    try:
        # up() without seed and smoke test starts moto, tables, secrets, services, edge.
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            stack_commands.up(settings, seed=False, smoke=False)
        for name, count in (replicas or {}).items():
            for index in range(1, count):
                stack.start_replica(name, index)
        for name, extra in (service_env or {}).items():
            for index in range(len(stack.replicas[name])):  # restarted: its environment changed
                stack.start_replica(name, index, extra)
        if stack.hello_port:
            env = {
                **base_env(),
                "PYTHONPATH": os.pathsep.join([str(ROOT / "services" / "common"), str(BENCH_DIR)]),
                "PYTHONUNBUFFERED": "1",
                "PORT": str(stack.hello_port),
                "HOST": HOST,
                "SERVICE_NAME": HELLO,
                "ENVIRONMENT": ENVIRONMENT,
                "HEALTH_PATH": HELLO_HEALTH,
                "LOG_LEVEL": os.environ.get("LOCAL_LOG_LEVEL", "INFO"),
                "SHUTDOWN_GRACE_SECONDS": "5",
            }
            argv = [settings.python, "-m", "svc_common.serve", "hello_app:create_app"]
            stack.procs.start(
                HELLO, argv, env, stack.hello_port, f"http://{HOST}:{stack.hello_port}{HELLO_HEALTH}"
            )
        if stack.hello_port or any(len(p) > 1 for p in stack.replicas.values()):
            start_edge(stack)
        else:
            stack.edge_config = (state / "caddy" / "Caddyfile").read_text()
        # A restarted upstream is back in the edge's rotation after its next health check.
        for m in manifests.load_all():
            wait_http(f"{stack.edge}{m.ready_path}", timeout=30)
    except BaseException:
        stack.stop()
        raise
    return stack


@contextlib.contextmanager
def running(state: Path, **kwargs: Any) -> Iterator[Stack]:
    stack = start(state, **kwargs)
    try:
        yield stack
    finally:
        stack.stop()
