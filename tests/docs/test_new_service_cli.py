"""scripts/new_service.py: bad input is refused with one line and changes nothing (fast).

The full guide (plan, matrix, local stack) is tests/docs/test_new_service.py.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import manifests
import new_service
import pytest
import yaml
from tooling import service_images

from tests.support.tools import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "new_service.py"


# The names these tests create: a services/reviews/ a person made by following the README is left out.
CREATED = {"reviews", "gift-cards"}


@pytest.fixture
def services(tmp_path: Path) -> Path:
    """A services/ folder holding copies of the real manifests and catalog's copied files."""
    root = tmp_path / "services"
    for m in manifests.load_all():
        if m.name in CREATED:
            continue
        (root / m.name).mkdir(parents=True)
        shutil.copy2(m.directory / "service.yaml", root / m.name / "service.yaml")
    for rel in new_service.COPIED_FILES:
        shutil.copy2(REPO_ROOT / "services" / "catalog" / rel, root / "catalog" / rel)
    return root


def snapshot(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    ("name", "port", "message"),
    [
        ("Reviews", None, "invalid service name"),
        ("re_views", None, "invalid service name"),
        ("reviews-", None, "invalid service name"),
        ("a--b", None, "invalid service name"),
        ("catalog", None, "already exists"),
        ("common", None, "reserved"),
        ("json", None, "clashes with a Python module"),
        ("averyveryverylongname", None, "too long"),
        ("reviews", 8081, "already used by catalog"),
        ("reviews", 80, "between 1024 and 65535"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(services: Path, name: str, port: int | None, message: str):
    before = snapshot(services)
    with pytest.raises(new_service.ScaffoldError, match=message) as info:
        new_service.scaffold(name, port, services_dir=services)
    assert info.value.code == 2
    assert snapshot(services) == before


def test_scaffold_takes_the_next_free_port_and_copies_from_the_template(services: Path) -> None:
    path = new_service.scaffold("reviews", services_dir=services, description="Product reviews")
    data = yaml.safe_load((path / "service.yaml").read_text())
    used = [m.port for m in manifests.load_all(services) if m.name != "reviews"]
    assert data["port"] == max(used) + 1
    assert data["path_prefix"] == "/reviews"
    assert data["health_path"] == "/reviews/health"
    assert data["description"] == "Product reviews."
    catalog = manifests.get("catalog")
    assert data["resources"] == catalog.resources.model_dump()
    assert data["scaling"] == catalog.scaling.model_dump()
    # No Dockerfile of its own: services/Dockerfile builds it from build args its manifest gives.
    assert not (path / "Dockerfile").exists()
    reviews = next(m for m in manifests.load_all(services) if m.name == "reviews")
    args = service_images.build_args(reviews, base="b", tag="t")
    assert (args["SERVICE"], args["PACKAGE"], args["PORT"]) == ("reviews", "reviews", str(data["port"]))
    shutil.copy2(REPO_ROOT / "services" / "Dockerfile", services / "Dockerfile")
    shutil.copytree(REPO_ROOT / "services" / "common" / "svc_common", services / "common" / "svc_common")
    service_images.check_sources(reviews, services)  # everything the shared Dockerfile copies is there
    lock = (path / "requirements.txt").read_text()
    assert "services/reviews/requirements.in" in lock
    assert "services/catalog/" not in lock
    assert (path / "reviews" / "main.py").is_file()
    assert (path / "tests" / "test_reviews_api.py").is_file()
    assert 'PATH_PREFIX = "/reviews"' in (path / "reviews" / "core" / "config.py").read_text()
    # All manifests, the new one included, still load together (unique ports, valid fields).
    before = sorted(
        p.parent.name
        for p in REPO_ROOT.joinpath("services").glob("*/service.yaml")
        if p.parent.name not in CREATED
    )
    assert [m.name for m in manifests.load_all(services)] == sorted([*before, "reviews"])
    # Hyphenated names get an importable package.
    other = new_service.scaffold("gift-cards", services_dir=services)
    assert (other / "gift_cards" / "main.py").is_file()
    assert yaml.safe_load((other / "service.yaml").read_text())["package"] == "gift_cards"


def test_cli_reports_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "catalog"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "new_service: services/catalog already exists"
    assert result.stdout == ""


@pytest.mark.parametrize(
    "description",
    ['Says "hi".', "back\\slash", "tick `x`", "two\nlines", "x" * 201, "   "],
)
def test_bad_description_is_refused_and_changes_nothing(services: Path, description: str) -> None:
    before = snapshot(services)
    with pytest.raises(new_service.ScaffoldError, match="description must be one line") as info:
        new_service.scaffold("reviews", services_dir=services, description=description)
    assert info.value.code == 2
    assert snapshot(services) == before


@pytest.mark.parametrize("name", ["reviews", "zz-top", "a1"])
def test_generated_code_passes_ruff_and_bandit_as_it_is(services: Path, name: str) -> None:
    """The templates (scripts/service_template/*.tmpl) rendered are checked by `make lint`'s linters.

    Import order depends on the package name (before or after svc_*): any name is clean.
    """
    long = "Reviews of products, " * 9  # wrapped over several lines in core/config.py
    path = new_service.scaffold(name, services_dir=services, description=long.strip())
    assert sorted(p.name for p in path.rglob("*.py")), "the scaffold rendered no Python code"
    config = REPO_ROOT / "pyproject.toml"
    tool = Path(sys.executable).with_name
    for argv in (
        [tool("ruff"), "check", "--config", config],
        [tool("ruff"), "format", "--check", "--config", config],
        [tool("bandit"), "-q", "-c", config, "-r"],
    ):
        result = subprocess.run(
            [*map(str, argv), str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_next_steps_hint_uses_the_edge_port_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_EDGE_PORT", raising=False)
    assert new_service.edge_url() == "http://127.0.0.1:8080"
    monkeypatch.setenv("LOCAL_EDGE_PORT", "8090")
    assert new_service.edge_url() == "http://127.0.0.1:8090"
