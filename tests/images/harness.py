"""Helpers for the image tests: build through scripts/images.py, run hardened containers, and a
TCP proxy that can slow the emulator down (a genuinely slow dependency, no test hook in the app).

Networking choice: the containers in these tests run with ``--network host`` and PORT set to a
free port, so they reach the moto server on 127.0.0.1 directly and every byte stays on loopback.
(slirp4netns could reach the host only through its 10.0.2.2 gateway address; tests talk to
127.0.0.1 only.) Port publishing through slirp4netns (``-p 127.0.0.1:HOST:CONTAINER``, the way
people run the images) is covered separately by a health check in each service's image test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import manifests
from tooling import podman as podman_tool
from tooling import service_images

from tests.support.aws import FAKE_AWS_ENV
from tests.support.procs import free_port
from tests.support.tools import output_dir, unavailable

TAG = "test"


def require_podman() -> None:
    reason = podman_tool.unavailable_reason()
    if reason:
        unavailable(reason)


_BUILT: dict[str, service_images.BuildResult] = {}


def build_service_image(service: str) -> service_images.BuildResult:
    """The service's image from the local base and the current code, built once per test process
    (the base once per machine; other processes get podman's layer cache)."""
    require_podman()
    if service not in _BUILT:
        _BUILT[service] = service_images.build(service, base="local", tag=TAG)
    return _BUILT[service]


def service_env(
    service: str, *, port: int, table: str, aws_endpoint: str, catalog_url: str
) -> dict[str, str]:
    """The runtime contract's environment for one container (fresh random secrets)."""
    manifest = manifests.get(service)
    env = {
        **FAKE_AWS_ENV,
        "AWS_ENDPOINT_URL": aws_endpoint,
        "PORT": str(port),
        "ENVIRONMENT": "local",
        "TABLE_NAME": table,
        "LOG_LEVEL": "INFO",
        "SHUTDOWN_GRACE_SECONDS": "20",
        # Generous client timeout: the slow-dependency test delays DynamoDB by a few seconds.
        "DYNAMODB_READ_TIMEOUT": "15",
    }
    for secret in manifest.secrets:
        env[secret.name] = secrets.token_urlsafe(24)
    for dep in manifest.dependencies:
        env[dep.env] = catalog_url
    return env


class Container:
    """A service container started with the production hardening; removed on exit."""

    def __init__(self, service: str, name: str, env: dict[str, str], network: str, host_port: int | None):
        self.service = service
        self.name = name
        argv = service_images.run_argv(
            service, name=name, tag=TAG, host_port=host_port, env=env, network=network
        )
        podman_tool.podman(*argv, timeout=120)

    def inspect(self) -> dict:
        return json.loads(podman_tool.podman("container", "inspect", self.name).stdout)[0]

    def logs(self) -> str:
        result = podman_tool.podman("logs", self.name, check=False)
        return (result.stdout or "") + (result.stderr or "")

    def exec_python(self, code: str) -> subprocess.CompletedProcess[str]:
        return podman_tool.podman("exec", self.name, "python3", "-c", code, check=False, timeout=60)

    def remove(self) -> None:
        log = output_dir("images") / f"{self.name}.log"
        log.write_text(self.logs())
        for _ in range(3):  # podman can be briefly busy (storage locks) on a loaded machine
            result = podman_tool.podman("rm", "--force", "--time", "2", self.name, check=False, timeout=120)
            if result.returncode == 0 or "no such container" in result.stderr.lower():
                return
            time.sleep(2)
        raise AssertionError(f"could not remove container {self.name}: {result.stderr.strip()[-300:]}")


@contextlib.contextmanager
def container(
    service: str, env: dict[str, str], network: str = "host", host_port: int | None = None
) -> Iterator[Container]:
    name = f"test-{service}-{secrets.token_hex(4)}"
    box = Container(service, name, env, network, host_port)
    try:
        yield box
    finally:
        box.remove()


def wait_ok(url: str, box: Container, timeout: float = 30.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url, timeout=3.0)
            if r.status_code == 200:
                return r
            last = f"HTTP {r.status_code}: {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        state = box.inspect()["State"]
        if not state.get("Running"):
            raise AssertionError(f"container exited ({state.get('ExitCode')}):\n{box.logs()[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"{url} not OK after {timeout}s ({last}):\n{box.logs()[-3000:]}")


class DelayProxy:
    """TCP proxy on 127.0.0.1 in front of ``target``; while ``delay`` > 0 it holds each chunk a
    client sends for that long before forwarding it (every request to the emulator gets slow)."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = free_port()
        self.delay = 0.0
        self.delayed = threading.Event()  # set when a request was held back
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("delay proxy did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port)
        )
        self._started.set()
        self._loop.run_forever()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, hold: bool) -> None:
        try:
            while data := await reader.read(65536):
                if hold and self.delay > 0:
                    self.delayed.set()
                    await asyncio.sleep(self.delay)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer, True), self._pipe(up_reader, writer, False))

    def close(self) -> None:
        def _stop() -> None:
            if self._server:
                self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(_stop)
        self._thread.join(5)


def podman_python(image: str, code: str) -> subprocess.CompletedProcess[str]:
    """Run a Python snippet in a throwaway container of ``image`` (as its own user, read-only)."""
    return podman_tool.podman(
        "run", "--rm", "--read-only", "--network", "none", "--no-healthcheck",
        "--entrypoint", "python3", image, "-c", code,
        check=False, timeout=120,
    )  # fmt: skip


def copy_context(dest: Path) -> Path:
    """A copy of the services/ build context (to change code without touching the work tree)."""
    target = dest / "services"
    shutil.copytree(
        service_images.SERVICES_DIR,
        target,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "tests"),
    )
    return target
