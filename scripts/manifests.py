"""Service manifests: the one place that says what each service is.

Every Python consumer (local stack, pipelines, tests, scripts) reads services through this
module; Terraform reads the same YAML files with ``yamldecode``.

CLI (used by the Makefile and workflows)::

    python scripts/manifests.py names            # one service name per line
    python scripts/manifests.py matrix           # JSON list for a GitHub Actions matrix
    python scripts/manifests.py get catalog port # one field (dotted path allowed)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = REPO_ROOT / "services"
PROJECT_FILE = SERVICES_DIR / "project.yaml"

_NAME = r"^[a-z][a-z0-9-]{1,30}$"
_ENV_NAME = r"^[A-Z][A-Z0-9_]{1,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyAttr(_Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    type: Literal["S", "N", "B"]


class Index(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    hash_key: KeyAttr
    range_key: KeyAttr | None = None
    projection: Literal["ALL", "KEYS_ONLY"] = "ALL"


class Table(_Strict):
    hash_key: KeyAttr
    range_key: KeyAttr | None = None
    indexes: list[Index] = []
    # Number attribute (epoch seconds) after which DynamoDB's TTL deletes an item; None: no TTL.
    ttl_attribute: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

    def ttl_args(self, table_name: str) -> dict[str, Any] | None:
        """DynamoDB UpdateTimeToLive arguments (None without a TTL attribute); Terraform's ttl block."""
        if self.ttl_attribute is None:
            return None
        return {
            "TableName": table_name,
            "TimeToLiveSpecification": {"Enabled": True, "AttributeName": self.ttl_attribute},
        }

    def attributes(self) -> list[KeyAttr]:
        """Every key attribute of the table and its indexes, once each."""
        seen: dict[str, KeyAttr] = {}
        for attr in [self.hash_key, self.range_key] + [
            a for i in self.indexes for a in (i.hash_key, i.range_key)
        ]:
            if attr is not None:
                seen.setdefault(attr.name, attr)
        return list(seen.values())

    def create_table_args(self, table_name: str) -> dict[str, Any]:
        """DynamoDB CreateTable arguments (on-demand) for the emulator; Terraform builds the same."""

        def key_schema(hash_key: KeyAttr, range_key: KeyAttr | None) -> list[dict[str, str]]:
            schema = [{"AttributeName": hash_key.name, "KeyType": "HASH"}]
            if range_key is not None:
                schema.append({"AttributeName": range_key.name, "KeyType": "RANGE"})
            return schema

        args: dict[str, Any] = {
            "TableName": table_name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": a.name, "AttributeType": a.type} for a in self.attributes()
            ],
            "KeySchema": key_schema(self.hash_key, self.range_key),
        }
        if self.indexes:
            args["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index.name,
                    "KeySchema": key_schema(index.hash_key, index.range_key),
                    "Projection": {"ProjectionType": index.projection},
                }
                for index in self.indexes
            ]
        return args


class Resources(_Strict):
    cpu: Literal[256, 512, 1024, 2048, 4096]
    memory: int = Field(ge=512, le=30720)


class Scaling(_Strict):
    min: int = Field(ge=1, le=100)
    max: int = Field(ge=1, le=100)
    cpu_target: int = Field(ge=10, le=95)
    requests_per_target: int = Field(ge=1)

    @model_validator(mode="after")
    def _bounds(self) -> Scaling:
        if self.max < self.min:
            raise ValueError("scaling.max must be >= scaling.min")
        return self


class Secret(_Strict):
    name: str = Field(pattern=_ENV_NAME)
    description: str
    # "<service>/<SECRET>": reuse another service's secret instead of owning one.
    from_: str | None = Field(default=None, alias="from", pattern=r"^[a-z][a-z0-9-]+/[A-Z][A-Z0-9_]+$")

    @property
    def owned(self) -> bool:
        return self.from_ is None


class Dependency(_Strict):
    service: str = Field(pattern=_NAME)
    env: str = Field(pattern=_ENV_NAME)


class Manifest(_Strict):
    name: str = Field(pattern=_NAME)
    description: str
    package: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    port: int = Field(ge=1024, le=65535)
    path_prefix: str = Field(pattern=r"^/[a-z0-9-]+$")
    health_path: str
    ready_path: str
    resources: Resources
    scaling: Scaling
    table: Table
    secrets: list[Secret] = []
    dependencies: list[Dependency] = []
    # Paths under path_prefix that only other services call, inside the network: the public edge
    # (local Caddy; ALB listener rules behind CloudFront) answers them 404. '*' matches any text.
    # At most 3: they are the values of one ALB path-pattern condition, and AWS allows 3 per
    # condition, 5 per rule (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html).
    internal_paths: list[str] = Field(default=[], max_length=3)
    # Alarm when the service's reconciler repairs more than this many items in 5 minutes.
    repairs_alarm_threshold: int | None = Field(default=None, ge=1, le=100_000)

    @field_validator("health_path", "ready_path")
    @classmethod
    def _under_prefix(cls, v: str, info) -> str:
        prefix = info.data.get("path_prefix")
        if prefix and not v.startswith(prefix + "/"):
            raise ValueError(f"{info.field_name} must live under path_prefix {prefix}")
        return v

    @field_validator("internal_paths")
    @classmethod
    def _internal_under_prefix(cls, v: list[str], info) -> list[str]:
        prefix = info.data.get("path_prefix")
        for path in v:
            if not re.fullmatch(r"/[A-Za-z0-9/_.*-]{1,120}", path):
                raise ValueError(f"internal path {path!r}: only letters, digits, '/', '_', '.', '-' and '*'")
            if prefix and not path.startswith(prefix + "/"):
                raise ValueError(f"internal path {path!r} must live under path_prefix {prefix}")
        return v

    @property
    def directory(self) -> Path:
        return SERVICES_DIR / self.name

    @property
    def app(self) -> str:
        """The import string of the service's app factory (svc_common.serve calls it at start)."""
        return f"{self.package}.main:create_app"


def project_name() -> str:
    data = yaml.safe_load(PROJECT_FILE.read_text())
    name = data["project"]
    if not re.match(_NAME, name):
        raise ValueError(f"{PROJECT_FILE}: invalid project name {name!r}")
    return name


def table_name(service: str, env: str) -> str:
    return f"{project_name()}-{env}-{service}"


def secret_id(service: str, secret: str, env: str) -> str:
    return f"{project_name()}/{env}/{service}/{secret}"


def resolve_secret(owner: str, secret: Secret, env: str) -> str:
    """Secrets Manager name of a service's secret, following ``from`` references."""
    if secret.from_:
        other, name = secret.from_.split("/", 1)
        return secret_id(other, name, env)
    return secret_id(owner, secret.name, env)


def load(path: Path) -> Manifest:
    try:
        manifest = Manifest.model_validate(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    if manifest.name != path.parent.name:
        raise ValueError(f"{path}: name {manifest.name!r} must match its folder")
    return manifest


def load_all(services_dir: Path = SERVICES_DIR) -> list[Manifest]:
    """Every service manifest, sorted by name, with cross-references checked."""
    manifests = [load(p) for p in sorted(services_dir.glob("*/service.yaml"))]
    by_name = {m.name: m for m in manifests}
    ports: dict[int, str] = {}
    for m in manifests:
        if m.port in ports:
            raise ValueError(f"{m.name}: port {m.port} already used by {ports[m.port]}")
        ports[m.port] = m.name
        for dep in m.dependencies:
            if dep.service not in by_name:
                raise ValueError(f"{m.name}: depends on unknown service {dep.service!r}")
        for s in m.secrets:
            if s.from_:
                other, name = s.from_.split("/", 1)
                if other not in by_name or name not in {x.name for x in by_name[other].secrets}:
                    raise ValueError(f"{m.name}: secret {s.name} refers to unknown {s.from_}")
    return manifests


def get(name: str) -> Manifest:
    for m in load_all():
        if m.name == name:
            return m
    raise KeyError(f"no service named {name!r}")


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("names")
    sub.add_parser("matrix")
    g = sub.add_parser("get")
    g.add_argument("service")
    g.add_argument("field", help="dotted path, e.g. port or resources.cpu")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "names":
            print("\n".join(m.name for m in load_all()))
        elif args.cmd == "matrix":
            print(json.dumps([{"service": m.name, "port": m.port} for m in load_all()]))
        else:
            value: object = get(args.service).model_dump(by_alias=True)
            for part in args.field.split("."):
                value = value[part]  # type: ignore[index]
            print(json.dumps(value) if isinstance(value, (dict, list)) else value)
    except (KeyError, ValueError) as exc:
        print(f"manifests: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main())
