"""Scaffold a new service from the existing ones: ``make new-service NAME=reviews [PORT=8083]``.

Creates ``services/<name>/`` and nothing else:

- ``service.yaml``: a new manifest with a unique port and path prefix ``/<name>``; cpu, memory
  and scaling copied from the template service (``--from``, default ``catalog``); a single-table
  key schema (pk/sk); one owned secret, ``API_KEY``; no dependencies;
- ``Dockerfile``, ``requirements.in``, ``requirements.txt``: copied from the template service
  (every service's Dockerfile is the same text; the lock keeps its hashes);
- ``<package>/``: a working FastAPI app on the shared library (``svc_common``) with liveness
  ``/<name>/health``, readiness ``/<name>/ready`` (own table reachable) and one resource,
  ``/<name>/items`` (POST with X-Api-Key, GET by id);
- ``tests/test_<package>_api.py``: tests of that app against the emulator.

Everything else in the repository reads the manifests, so with no edit outside ``services/<name>/``
Terraform plans the service (ECS service, table, target group, listener rule, secret, alarms),
the pipeline's image matrix lists it and ``make up`` serves it at ``/<name>/``.

The folder is written to a temporary sibling and renamed at the end: on any error nothing is
left behind. Exit codes: 0 created, 1 could not create, 2 invalid input.
"""

from __future__ import annotations

import argparse
import keyword
import re
import shutil
import sys
import tempfile
from pathlib import Path

import manifests
import yaml

# Longest AWS name we derive from a service name: the ALB target group "<project>-<env>-<service>"
# (32 characters at most), with the longest environment name.
TARGET_GROUP_MAX = 32
LONGEST_ENV = "prod"
RESERVED = {"common", "project", "web", "static", "api", "health", "test", "tests"}
COPIED_FILES = ("Dockerfile", "requirements.in", "requirements.txt")


class ScaffoldError(Exception):
    """Input or repository state that prevents scaffolding (one line for the person)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------------------------
# Templates. Placeholders: __NAME__ (service), __PKG__ (Python package), __PREFIX__ (path prefix).

INIT = '"""__NAME__: __DESCRIPTION__"""\n'

CONFIG = '''"""__NAME__ settings (environment) and the service's own API facts."""

from __future__ import annotations

from svc_common.settings import ServiceSettings

# The public path prefix of this service's API; tests check it equals path_prefix in service.yaml.
PATH_PREFIX = "__PREFIX__"
API_VERSION = "0.1.0"


class Settings(ServiceSettings):
    """Environment of the __NAME__ service (see the runtime contract). Add your own settings here."""
'''

MODELS = '''"""__NAME__ API models (requests are strict, bounded and reject unknown fields)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from svc_common.fields import text

Name = text(1, 200, "Item name.")


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class Item(BaseModel):
    id: str
    name: str
    created_at: str
'''

REPOSITORY = '''"""All DynamoDB access of __NAME__ (single-table design on the manifest's pk/sk schema).

Items:
- item  pk=ITEM#<id>  sk=ITEM  name, created_at
"""

from __future__ import annotations

import uuid
from typing import Any

from svc_common.dynamo import TableRepository, from_item, to_item, to_value, utc_now
from svc_common.errors import NotFoundError

# Key attribute names (tests check they match services/__NAME__/service.yaml).
HASH_KEY, RANGE_KEY = "pk", "sk"
ITEM_SK = "ITEM"


def _item_key(item_id: str) -> dict[str, Any]:
    return {HASH_KEY: to_value(f"ITEM#{item_id}"), RANGE_KEY: to_value(ITEM_SK)}


class ItemRepository(TableRepository):
    """All access to this service's table (calls go through TableRepository._call: 503 on outage)."""

    def ping(self) -> None:
        """Raises when the table cannot be read (readiness)."""
        self._call("get_item", TableName=self.table, Key=_item_key("__ready__"), ProjectionExpression="pk")

    def create_item(self, name: str) -> dict[str, Any]:
        item = {"id": str(uuid.uuid4()), "name": name, "created_at": utc_now()}
        self._call(
            "put_item",
            TableName=self.table,
            Item={**_item_key(item["id"]), **to_item(item)},
            ConditionExpression="attribute_not_exists(pk)",  # a new id never overwrites anything
        )
        return item

    def get_item(self, item_id: str) -> dict[str, Any]:
        found = self._call("get_item", TableName=self.table, Key=_item_key(item_id), ConsistentRead=True)
        if "Item" not in found:
            raise NotFoundError(f"item {item_id} not found")
        data = from_item(found["Item"])
        return {"id": data["id"], "name": data["name"], "created_at": data["created_at"]}
'''

API_INIT = '"""HTTP routes of __NAME__."""\n'

ROUTES = '''"""Item routes (thin: validation by the models, storage by the repository)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from svc_common.errors import responses
from svc_common.security import require_api_key

from __PKG__.core.config import PATH_PREFIX
from __PKG__.models import Item, ItemCreate
from __PKG__.repository import ItemRepository


def repository(request: Request) -> ItemRepository:
    return request.app.state.repository


router = APIRouter(prefix=f"{PATH_PREFIX}/items", tags=["items"])
Repo = Annotated[ItemRepository, Depends(repository)]
ItemId = Annotated[str, Path(min_length=1, max_length=64, description="Item id.")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Item,
    summary="Create an item",
    dependencies=[Depends(require_api_key)],
    responses=responses(400, 401, 413, 422, 503),
)
def create_item(body: ItemCreate, repo: Repo, response: Response) -> dict:
    item = repo.create_item(body.name)
    response.headers["Location"] = f"{router.prefix}/{item['id']}"
    return item


@router.get("/{item_id}", response_model=Item, summary="Get an item", responses=responses(404, 422, 503))
def get_item(item_id: ItemId, repo: Repo) -> dict:
    return repo.get_item(item_id)
'''

MAIN = '''"""ASGI entry point: ``python -m svc_common.serve __PKG__.main:app``."""

from __future__ import annotations

from fastapi import FastAPI
from svc_common.app import create_service_app
from svc_common.dynamo import make_client

from __PKG__.api import items
from __PKG__.core.config import API_VERSION, PATH_PREFIX, Settings
from __PKG__.repository import ItemRepository


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()  # type: ignore[call-arg] # values come from the environment
    client = make_client(settings)
    repo = ItemRepository(client, settings.table_name)
    return create_service_app(
        settings=settings,
        prefix=PATH_PREFIX,
        title="__NAME__",
        description="__DESCRIPTION__ Mutating calls need `X-Api-Key`. Errors are `{\\"detail\\": ...}`.",
        version=API_VERSION,
        routers=[items.router],
        ready_check=repo.ping,
        on_shutdown=[client.close],
        state={"repository": repo},
    )


def __getattr__(name: str) -> FastAPI:
    """``app`` is built on first access, so importing create_app needs no environment."""
    if name == "app":
        globals()["app"] = application = create_app()
        return application
    raise AttributeError(name)
'''

TESTS = '''"""__NAME__ API against a real table in the emulator (in-process app)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import manifests
import pytest
from fastapi.testclient import TestClient
from svc_testing import SECRETS, app_env, unique_table

from __PKG__.core.config import PATH_PREFIX
from __PKG__.main import create_app
from __PKG__.repository import HASH_KEY, RANGE_KEY
from tests.support.tables import create_table

API = {"X-Api-Key": SECRETS["API_KEY"]}
BASE = f"{PATH_PREFIX}/items"


@pytest.fixture(scope="module")
def client(moto) -> Iterator[TestClient]:
    table = create_table("__NAME__", unique_table("__NAME__"), endpoint_url=moto.url)
    with app_env("__NAME__", table, moto.env):
        app = create_app()
    with TestClient(app) as c:
        yield c


def test_code_matches_the_manifest() -> None:
    m = manifests.get("__NAME__")
    assert PATH_PREFIX == m.path_prefix
    assert (HASH_KEY, RANGE_KEY) == (m.table.hash_key.name, m.table.range_key.name)


def test_health_and_ready(client: TestClient) -> None:
    m = manifests.get("__NAME__")
    assert client.get(m.health_path).json()["status"] == "ok"
    r = client.get(m.ready_path)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ready"


def test_create_then_get(client: TestClient) -> None:
    r = client.post(BASE, json={"name": "first"}, headers=API)
    assert r.status_code == 201, r.text
    item = r.json()
    uuid.UUID(item["id"])
    assert r.headers["Location"] == f"{BASE}/{item['id']}"
    got = client.get(f"{BASE}/{item['id']}")
    assert got.status_code == 200
    assert got.json() == item


def test_create_needs_the_api_key(client: TestClient) -> None:
    r = client.post(BASE, json={"name": "x"}, headers={"X-Api-Key": "wrong-key-0123456789"})
    assert r.status_code == 401
    assert "X-Api-Key" in r.json()["detail"]


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 201}, {"name": "x", "extra": 1}])
def test_invalid_body_is_422(client: TestClient, body: dict) -> None:
    r = client.post(BASE, json=body, headers=API)
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], list)


def test_unknown_item_is_404(client: TestClient) -> None:
    r = client.get(f"{BASE}/{uuid.uuid4()}")
    assert r.status_code == 404
    assert "not found" in r.json()["detail"]
'''


# ---------------------------------------------------------------------------------------------


def package_name(name: str) -> str:
    return name.replace("-", "_")


def validate_name(name: str, existing: list[manifests.Manifest], services_dir: Path) -> None:
    if not re.match(manifests._NAME, name) or name.endswith("-") or "--" in name:
        raise ScaffoldError(
            f"invalid service name {name!r}: use lowercase letters, digits and single hyphens, "
            "starting with a letter (e.g. reviews)"
        )
    if (services_dir / name).exists():
        raise ScaffoldError(f"services/{name} already exists")
    package = package_name(name)
    if name in RESERVED or keyword.iskeyword(package) or package in sys.stdlib_module_names:
        raise ScaffoldError(f"service name {name!r} is reserved or clashes with a Python module name")
    if package.startswith("svc_") or package in {m.package for m in existing}:
        raise ScaffoldError(f"Python package {package!r} is already used; pick another service name")
    longest = f"{manifests.project_name()}-{LONGEST_ENV}-{name}"
    if len(longest) > TARGET_GROUP_MAX:
        raise ScaffoldError(
            f"service name {name!r} is too long: AWS names like {longest!r} must fit in "
            f"{TARGET_GROUP_MAX} characters (at most {TARGET_GROUP_MAX - len(longest) + len(name)} "
            "for the service name)"
        )
    prefix = f"/{name}"
    if prefix in {m.path_prefix for m in existing}:
        raise ScaffoldError(f"path prefix {prefix} is already served by another service")


def choose_port(requested: int | None, existing: list[manifests.Manifest]) -> int:
    used = {m.port for m in existing}
    if requested is not None:
        if not 1024 <= requested <= 65535:
            raise ScaffoldError(f"PORT must be between 1024 and 65535, got {requested}")
        if requested in used:
            owner = next(m.name for m in existing if m.port == requested)
            raise ScaffoldError(f"port {requested} is already used by {owner}")
        return requested
    port = max(used, default=8080) + 1
    while port in used:
        port += 1
    return port


def manifest_text(name: str, port: int, description: str, template: manifests.Manifest) -> str:
    data = {
        "name": name,
        "description": description,
        "package": package_name(name),
        "port": port,
        "path_prefix": f"/{name}",
        "health_path": f"/{name}/health",
        "ready_path": f"/{name}/ready",
        "resources": template.resources.model_dump(),
        "scaling": template.scaling.model_dump(),
        "table": {"hash_key": {"name": "pk", "type": "S"}, "range_key": {"name": "sk", "type": "S"}},
        "secrets": [{"name": "API_KEY", "description": "Key clients send in X-Api-Key for mutating calls."}],
        "dependencies": [],
    }
    header = (
        f"# The one source of truth for what the rest of the repository needs to know about `{name}`.\n"
        f"# Scaffolded by scripts/new_service.py from `{template.name}`; see\n"
        "# services/catalog/service.yaml for the meaning of each field.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def render(text: str, name: str, description: str) -> str:
    return (
        text.replace("__PKG__", package_name(name))
        .replace("__PREFIX__", f"/{name}")
        .replace("__NAME__", name)
        .replace("__DESCRIPTION__", description)
    )


def scaffold(
    name: str,
    port: int | None = None,
    template_name: str = "catalog",
    description: str | None = None,
    services_dir: Path = manifests.SERVICES_DIR,
) -> Path:
    """Create services/<name>/ and return its path (raises ScaffoldError, leaving nothing behind)."""
    existing = manifests.load_all(services_dir)
    validate_name(name, existing, services_dir)
    template = next((m for m in existing if m.name == template_name), None)
    if template is None:
        raise ScaffoldError(f"template service {template_name!r} not found in {services_dir}")
    chosen_port = choose_port(port, existing)
    description = (description or f"The {name} service.").strip()
    if not description or "\n" in description or len(description) > 200:
        raise ScaffoldError("description must be one line of at most 200 characters")
    if not description.endswith("."):
        description += "."

    package = package_name(name)
    files = {
        "service.yaml": manifest_text(name, chosen_port, description, template),
        f"{package}/__init__.py": INIT,
        f"{package}/main.py": MAIN,
        f"{package}/models.py": MODELS,
        f"{package}/repository.py": REPOSITORY,
        f"{package}/core/__init__.py": '"""Settings and API facts of __NAME__."""\n',
        f"{package}/core/config.py": CONFIG,
        f"{package}/api/__init__.py": API_INIT,
        f"{package}/api/items.py": ROUTES,
        f"tests/test_{package}_api.py": TESTS,
    }
    staging = Path(tempfile.mkdtemp(prefix=f".new-{name}-", dir=services_dir))
    try:
        for rel, text in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            content = text if rel == "service.yaml" else render(text, name, description)
            target.write_text(content)
        source_dir = services_dir / template.name
        for rel in COPIED_FILES:
            source = source_dir / rel
            if not source.is_file():
                raise ScaffoldError(f"{source} is missing: cannot copy it from {template.name}", code=1)
            text = source.read_text()
            if rel == "requirements.txt":
                # The lock's header names the file it was compiled from; the pins stay identical.
                text = text.replace(f"services/{template.name}/", f"services/{name}/")
            (staging / rel).write_text(text)
        staging.chmod(0o755)
        final = services_dir / name
        staging.rename(final)
        # The new manifest must load with every other one (unique port, valid fields).
        try:
            manifests.load_all(services_dir)
        except ValueError as exc:
            shutil.rmtree(final)
            raise ScaffoldError(f"the generated manifest is invalid: {exc}", code=1) from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return final


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="service name: lowercase letters, digits, hyphens (e.g. reviews)")
    parser.add_argument("--port", type=int, help="container port (default: the next free one)")
    parser.add_argument("--from", dest="template", default="catalog", help="service to copy from")
    parser.add_argument("--description", help="one line saying what the service owns")
    args = parser.parse_args(argv)
    try:
        path = scaffold(args.name, args.port, args.template, args.description)
    except ScaffoldError as exc:
        print(f"new_service: {exc}", file=sys.stderr)
        return exc.code
    except OSError as exc:
        print(f"new_service: could not write the service: {exc}", file=sys.stderr)
        return 1
    m = manifests.get(args.name)
    rel = path.relative_to(manifests.REPO_ROOT)
    print(
        f"Created {rel}/ (port {m.port}, path prefix {m.path_prefix}, package {m.package}).\n"
        "Next:\n"
        f"  make test PYTEST_ARGS={rel}          # its own tests\n"
        f"  make up && curl http://127.0.0.1:8080{m.health_path}\n"
        "  open a pull request: the plan comment shows its ECS service, table, target group and route"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
