"""The service manifests are valid and cross-consistent; the loader rejects bad ones clearly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import manifests
import pytest
import yaml

from tests.support.tools import REPO_ROOT


def test_every_service_folder_has_a_valid_manifest() -> None:
    loaded = manifests.load_all()
    assert [m.name for m in loaded] == sorted(
        p.parent.name for p in (REPO_ROOT / "services").glob("*/service.yaml")
    )
    assert {m.name for m in loaded} >= {"catalog", "orders"}
    for m in loaded:
        assert (m.directory / m.package / "main.py").exists(), f"{m.name}: no {m.package}/main.py"
        assert m.health_path.startswith(m.path_prefix + "/")


def test_cross_references_resolve() -> None:
    orders = manifests.get("orders")
    token = next(s for s in orders.secrets if s.name == "CATALOG_SERVICE_TOKEN")
    assert manifests.resolve_secret("orders", token, "dev") == "storefront/dev/catalog/SERVICE_TOKEN"
    assert manifests.table_name("catalog", "prod") == "storefront-prod-catalog"


def _copy_services(tmp_path: Path) -> Path:
    dst = tmp_path / "services"
    for m in manifests.load_all():
        (dst / m.name).mkdir(parents=True)
        shutil.copy(m.directory / "service.yaml", dst / m.name / "service.yaml")
    return dst


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(port=80), "port"),
        (lambda d: d.update(unknown_field=1), "unknown_field"),
        (lambda d: d.update(health_path="/elsewhere/health"), "path_prefix"),
        (lambda d: d["scaling"].update(min=5, max=2), "scaling.max"),
        (lambda d: d["resources"].update(cpu=300), "cpu"),
        # One ALB path-pattern condition holds at most 3 values (AWS refuses a 4th).
        (lambda d: d.update(internal_paths=[f"/catalog/x{i}" for i in range(4)]), "internal_paths"),
    ],
)
def test_bad_manifest_is_rejected_with_its_file_name(tmp_path: Path, mutate, message: str) -> None:
    services = _copy_services(tmp_path)
    path = services / "catalog" / "service.yaml"
    data = yaml.safe_load(path.read_text())
    mutate(data)
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match=message) as exc:
        manifests.load_all(services)
    assert "catalog/service.yaml" in str(exc.value)


def test_duplicate_port_and_dangling_secret_reference(tmp_path: Path) -> None:
    services = _copy_services(tmp_path)
    path = services / "orders" / "service.yaml"
    data = yaml.safe_load(path.read_text())
    data["port"] = manifests.get("catalog").port
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="already used"):
        manifests.load_all(services)
    data["port"] = 9999
    data["secrets"][1]["from"] = "catalog/NOPE"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="unknown catalog/NOPE"):
        manifests.load_all(services)


def test_cli_prints_matrix_and_fields_and_fails_cleanly() -> None:
    script = str(REPO_ROOT / "scripts" / "manifests.py")
    out = subprocess.run([sys.executable, script, "matrix"], capture_output=True, text=True, check=True)
    assert {row["service"] for row in json.loads(out.stdout)} >= {"catalog", "orders"}
    port = subprocess.run(
        [sys.executable, script, "get", "catalog", "port"], capture_output=True, text=True, check=True
    )
    assert port.stdout.strip() == str(manifests.get("catalog").port)
    bad = subprocess.run([sys.executable, script, "get", "nope", "port"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1
    assert "nope" in bad.stderr
