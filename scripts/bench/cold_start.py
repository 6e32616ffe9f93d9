"""Cold starts for `make bench`: a service process to ready, a service container to healthy."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time

import manifests
from tooling import podman as podman_tool
from tooling import service_images
from tooling.net import HOST, free_port, wait_http
from tooling.services import service_env
from tooling.stack_settings import REGION, ROOT, Settings

from bench import stack
from bench.report import ColdStart

COLD_START_RUNS = 3


def process_cold_start(s: stack.Stack, service: str) -> ColdStart:
    """Seconds from spawning ``python -m svc_common.serve`` to its ready path answering 200."""
    manifest = manifests.get(service)
    runs = []
    for _ in range(COLD_START_RUNS):
        port = free_port()
        settings = Settings(
            state=s.settings.state,
            edge_port=s.settings.edge_port,
            aws_port=s.settings.aws_port,
            service_ports={**s.settings.service_ports, service: port},
        )
        env = service_env(settings, manifest)
        log = s.settings.logs / f"coldstart-{service}.log"
        with log.open("ab") as fh:
            start = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, "-m", "svc_common.serve", manifest.app],
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
            try:
                wait_http(f"http://{HOST}:{port}{manifest.ready_path}", timeout=30)
                runs.append(round(time.monotonic() - start, 3))
            finally:
                proc.terminate()
                proc.wait(15)
    return ColdStart(what=f"{service}: process start to ready ({manifest.ready_path} = 200)", runs_s=runs)


def container_cold_start(service: str, tag: str = "local", count: int = COLD_START_RUNS) -> ColdStart:
    what = f"{service}: container start to healthy"
    reason = podman_tool.unavailable_reason()
    if reason:
        return ColdStart(what=what, runs_s=[], note=f"not measured: {reason}")
    ref = service_images.image_ref(service, tag)
    if not podman_tool.image_exists(ref):
        return ColdStart(
            what=what, runs_s=[], note=f"not measured: image {ref} is not built (run `make images`)"
        )
    manifest = manifests.get(service)
    # Values the settings require; random, used for this container only, never printed.
    env = {
        "SERVICE_NAME": service,
        "ENVIRONMENT": "local",
        "TABLE_NAME": manifests.table_name(service, "local"),
        "HEALTH_PATH": manifest.health_path,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        **{s.name: secrets.token_urlsafe(24) for s in manifest.secrets},
        **{d.env: "http://127.0.0.1:9" for d in manifest.dependencies},
    }
    runs, note = [], ""
    for i in range(count):
        name = f"bench-{service}-{os.getpid()}-{i}"
        port = free_port()
        start = time.monotonic()
        try:
            podman_tool.podman(
                *service_images.run_argv(service, name=name, tag=tag, host_port=port, env=env), timeout=120
            )
            wait_http(f"http://127.0.0.1:{port}{manifest.health_path}", timeout=60)
            runs.append(round(time.monotonic() - start, 3))
            hc = podman_tool.podman("healthcheck", "run", name, check=False, timeout=30)
            note = "podman healthcheck run: " + ("healthy" if hc.returncode == 0 else f"exit {hc.returncode}")
        except (podman_tool.ImageError, TimeoutError, subprocess.TimeoutExpired) as exc:
            note = f"run {i + 1} failed: {str(exc)[:200]}"
            break
        finally:
            podman_tool.podman("rm", "--force", "--time", "5", name, check=False, timeout=60)
    return ColdStart(
        what=what + f" ({manifest.health_path} = 200 on the published port)", runs_s=runs, note=note
    )


def image_sizes() -> list[tuple[str, float, int]]:
    """Size and layers of the service images and bases present (what `make image-report` prints)."""
    if podman_tool.unavailable_reason():
        return []
    return [(i.image, i.size_mb, i.layers) for i in service_images.report()]
