"""The checks every service image must pass; each service's test file imports them and defines
the ``service`` fixture (one file per service, so pytest-xdist builds the images in parallel).

Each check runs the real image built from the local base, hardened as in production:
``--read-only`` (only a tmpfs /tmp), ``--user`` the fixed non-root UID, ``--cap-drop ALL``,
``--security-opt no-new-privileges``, ulimits, against the session's moto server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import manifests
import pytest
from tooling import podman as podman_tool
from tooling import service_images

from tests.images import harness
from tests.support.aws import MotoServer
from tests.support.procs import free_port
from tests.support.tables import create_table

pytestmark = [pytest.mark.slow, pytest.mark.tool("podman")]

# Grace given to `podman stop` (ECS's stopTimeout plays this role in production).
STOP_TIMEOUT = 30
# How long the emulator is slowed down while a request is in flight during shutdown.
SLOW_SECONDS = 3.0


@pytest.fixture(scope="module")
def image(service: str) -> str:
    return harness.build_service_image(service).image


@pytest.fixture(scope="module")
def image_data(image: str) -> dict:
    return service_images.inspect(image)


@pytest.fixture(scope="module")
def proxy(moto: MotoServer) -> Iterator[harness.DelayProxy]:
    p = harness.DelayProxy(moto.port)
    yield p
    p.close()


def _start(service: str, moto: MotoServer, proxy: harness.DelayProxy, suffix: str):
    table = manifests.table_name(service, f"img{suffix}{free_port()}")
    create_table(service, table, endpoint_url=moto.url)
    port = free_port()
    # Dependencies (orders -> catalog) are not called by health/ready; a closed loopback port.
    env = harness.service_env(
        service, port=port, table=table, aws_endpoint=proxy.url, catalog_url=f"http://127.0.0.1:{free_port()}"
    )
    return port, env


@pytest.fixture(scope="module")
def running(service: str, image: str, moto: MotoServer, proxy: harness.DelayProxy):
    port, env = _start(service, moto, proxy, "a")
    with harness.container(service, env) as box:
        yield box, port


def test_metadata_comes_from_the_manifest(service: str, image_data: dict) -> None:
    manifest = manifests.get(service)
    config = image_data["Config"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PORT"] == str(manifest.port)
    assert env["HEALTH_PATH"] == manifest.health_path
    assert env["APP"] == manifest.app
    assert env["SERVICE_NAME"] == manifest.name
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert f"{manifest.port}/tcp" in config["ExposedPorts"]
    assert config["User"] == f"{service_images.APP_UID}:{service_images.APP_UID}"
    assert image_data["Healthcheck"]["Test"] == ["CMD", "python3", "-m", "svc_common.healthcheck"]
    assert config["Entrypoint"][0] == "python3"  # exec form: no shell in front of Python
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == f"{manifests.project_name()}-{service}"
    assert labels["org.opencontainers.image.version"] == harness.TAG
    assert labels["org.opencontainers.image.revision"] == service_images.revision()
    assert labels["org.opencontainers.image.source"] == service_images.source_url()


def test_image_holds_no_compilers_caches_or_tests(image: str, service: str) -> None:
    package = manifests.get(service).package
    code = f"""
import importlib.util, os, shutil, sys
found = []
for tool in ("gcc", "cc", "c++", "g++", "clang", "make", "pip", "pip3", "curl", "wget"):
    if shutil.which(tool):
        found.append("tool " + tool)
for mod in ("pip", "setuptools"):
    if importlib.util.find_spec(mod):
        found.append("module " + mod)
for path in ("/root/.cache", "/tmp/.cache", "/var/cache/apt/archives", "/tmp/requirements.txt",
             "/app/{package}/tests", "/app/tests"):
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        found.append("path " + path)
for folder in ("/var/lib/apt/lists",):
    if os.path.isdir(folder) and [f for f in os.listdir(folder) if f not in ("partial", "lock")]:
        found.append("path " + folder)
for root, dirs, files in os.walk("/app"):
    found += ["secret-like " + os.path.join(root, f) for f in files if f.endswith((".pem", ".key", ".env"))]
print("\\n".join(found))
sys.exit(1 if found else 0)
"""
    result = harness.podman_python(image, code)
    assert result.returncode == 0, f"unwanted content in the image:\n{result.stdout}{result.stderr}"


def test_health_ready_user_and_read_only(running, service: str) -> None:
    box, port = running
    manifest = manifests.get(service)
    base = f"http://127.0.0.1:{port}"
    assert harness.wait_ok(base + manifest.health_path, box).json()
    ready = harness.wait_ok(base + manifest.ready_path, box)
    assert ready.json()["status"] == "ready"
    # The process (PID 1, no shell in front) runs as the fixed non-root user.
    uid = box.exec_python("import os; print(os.getuid(), os.getgid(), open('/proc/1/status').read())")
    assert uid.returncode == 0, uid.stderr
    assert uid.stdout.split()[:2] == [str(service_images.APP_UID)] * 2
    assert f"Uid:\t{service_images.APP_UID}\t{service_images.APP_UID}" in uid.stdout
    assert "NoNewPrivs:\t1" in uid.stdout
    assert "CapEff:\t0000000000000000" in uid.stdout
    # Read-only root filesystem; only /tmp is writable.
    write = box.exec_python(
        "import tempfile\n"
        "try:\n    open('/app/probe', 'w')\nexcept OSError as e:\n    print('ro', e.errno)\n"
        "with tempfile.NamedTemporaryFile(dir='/tmp') as f:\n    f.write(b'x'); print('tmp ok')"
    )
    assert "ro 30" in write.stdout, write.stdout + write.stderr  # EROFS
    assert "tmp ok" in write.stdout, write.stdout + write.stderr


def test_container_healthcheck_reports_healthy(running) -> None:
    box, _ = running
    result = podman_tool.podman("healthcheck", "run", box.name, check=False, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert box.inspect()["State"]["Health"]["Status"] == "healthy"


def test_sigterm_finishes_in_flight_request_then_exits_cleanly(
    service: str, image: str, moto: MotoServer, proxy: harness.DelayProxy
) -> None:
    """`podman stop` sends SIGTERM to PID 1; a request waiting on a slow table still completes."""
    manifest = manifests.get(service)
    port, env = _start(service, moto, proxy, "b")
    with harness.container(service, env) as box:
        url = f"http://127.0.0.1:{port}{manifest.ready_path}"
        harness.wait_ok(url, box)
        outcome: dict[str, object] = {}

        def slow_request() -> None:
            try:
                outcome["response"] = httpx.get(url, timeout=STOP_TIMEOUT)
            except httpx.HTTPError as exc:
                outcome["error"] = repr(exc)

        proxy.delayed.clear()
        proxy.delay = SLOW_SECONDS
        try:
            worker = threading.Thread(target=slow_request)
            worker.start()
            assert proxy.delayed.wait(10), "the request never reached the (slowed) table"
            podman_tool.podman("stop", "--time", str(STOP_TIMEOUT), box.name, timeout=STOP_TIMEOUT + 30)
            worker.join(STOP_TIMEOUT)
        finally:
            proxy.delay = 0.0
        state = box.inspect()["State"]
        response = outcome.get("response")
        assert isinstance(response, httpx.Response), outcome.get("error")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ready"
        # The process exited by itself on SIGTERM, inside the grace period: a SIGKILL from
        # `podman stop` at the end of the grace period would give exit code 137.
        assert state["ExitCode"] == 0, box.logs()[-2000:]
        assert "shutdown complete" in box.logs()


def test_port_published_on_loopback_with_slirp4netns(service: str, image: str) -> None:
    """How people run the image: user-mode network, container port published on 127.0.0.1."""
    manifest = manifests.get(service)
    host_port = free_port()
    env = harness.service_env(
        service,
        port=manifest.port,
        table=manifests.table_name(service, "nowhere"),
        aws_endpoint="http://127.0.0.1:9",  # nothing listens there inside the container
        catalog_url="http://127.0.0.1:9",
    )
    env["DYNAMODB_CONNECT_TIMEOUT"] = "1"
    with harness.container(service, env, network="slirp4netns", host_port=host_port) as box:
        base = f"http://127.0.0.1:{host_port}"
        harness.wait_ok(base + manifest.health_path, box)
        # Readiness really checks the table: unreachable here, so 503 and never a fake 200.
        ready = httpx.get(base + manifest.ready_path, timeout=20)
        assert ready.status_code == 503, ready.text
