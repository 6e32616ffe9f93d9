"""Scaffold a new service from the existing ones: ``make new-service NAME=reviews [PORT=8083]``.

Creates ``services/<name>/`` and nothing else:

- ``service.yaml``: a new manifest with a unique port and path prefix ``/<name>``; cpu, memory
  and scaling copied from the template service (``--from``, default ``catalog``); a single-table
  key schema (pk/sk); one owned secret, ``API_KEY``; no dependencies;
- ``requirements.in``, ``requirements.txt``: copied from the template service (the lock keeps
  its hashes); no Dockerfile: ``services/Dockerfile`` builds every service from its manifest;
- ``<package>/``: a working FastAPI app on the shared library (``svc_common``) with liveness
  ``/<name>/health``, readiness ``/<name>/ready`` (own table reachable) and one resource,
  ``/<name>/items`` (POST with X-Api-Key, GET by id);
- ``tests/test_<package>_api.py``: tests of that app against the emulator.

The code comes from the template files in ``scripts/service_template/`` (``__PKG__`` in a path and
``__NAME__``, ``__PKG__``, ``__PREFIX__``, ``__DESCRIPTION_LITERAL__`` in a text are replaced); the
result is then import-sorted and formatted with the repository's ruff settings (import order
depends on the package name), so it passes ``make lint`` as it is. The command line (``make
new-service``) then redraws ``docs/architecture.png``, which shows every service.

Everything else in the repository reads the manifests, so with no edit outside ``services/<name>/``
Terraform plans the service (ECS service, table, target group, listener rule, secret, alarms),
the pipeline's image matrix lists it and ``make up`` serves it at ``/<name>/``.

The folder is written to a temporary sibling and renamed at the end: on any error nothing is
left behind. Exit codes: 0 created, 1 could not create, 2 invalid input.
"""

from __future__ import annotations

import argparse
import json
import keyword
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import diagram
import manifests
import yaml

# Longest AWS name we derive from a service name: the ALB target group "<project>-<env>-<service>"
# (32 characters at most), with the longest environment name.
TARGET_GROUP_MAX = 32
LONGEST_ENV = "prod"
RESERVED = {"common", "project", "web", "static", "api", "health", "test", "tests"}
COPIED_FILES = ("requirements.in", "requirements.txt")
TEMPLATE_DIR = Path(__file__).resolve().parent / "service_template"
DESCRIPTION_MAX = 200
LINE_LENGTH = 110  # pyproject.toml [tool.ruff]


class ScaffoldError(Exception):
    """Input or repository state that prevents scaffolding (one line for the person)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


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


def python_literal(text: str, prefix: str = "DESCRIPTION = ") -> str:
    """``text`` as a Python string expression that ruff leaves as it is (wrapped when long)."""
    one = json.dumps(text, ensure_ascii=False)
    if len(prefix) + len(one) <= LINE_LENGTH:
        return one
    chunks, current = [], ""
    for word in text.split(" "):
        if current and len(current) + len(word) + 1 > LINE_LENGTH - 10:
            chunks.append(current + " ")
            current = word
        else:
            current = f"{current} {word}" if current else word
    chunks.append(current)
    return "(\n" + "".join(f"    {json.dumps(c, ensure_ascii=False)}\n" for c in chunks) + ")"


def render(text: str, name: str, description: str) -> str:
    return (
        text.replace("__PKG__", package_name(name))
        .replace("__PREFIX__", f"/{name}")
        .replace("__NAME__", name)
        .replace("__DESCRIPTION_LITERAL__", python_literal(description))
    )


def template_files(name: str, description: str) -> dict[str, str]:
    """Relative path -> rendered text of every file in scripts/service_template/."""
    files = {}
    for source in sorted(TEMPLATE_DIR.rglob("*.tmpl")):
        rel = str(source.relative_to(TEMPLATE_DIR)).removesuffix(".tmpl")
        files[rel.replace("__PKG__", package_name(name))] = render(source.read_text(), name, description)
    if not files:
        raise ScaffoldError(f"no template files in {TEMPLATE_DIR}", code=1)
    return files


def check_description(description: str) -> str:
    description = description.strip()
    if (
        not description
        or len(description) > DESCRIPTION_MAX
        or not description.isprintable()
        or any(ch in description for ch in '"\\`')
    ):
        raise ScaffoldError(
            f"description must be one line of at most {DESCRIPTION_MAX} printable characters, "
            "without quotes, backslashes or backticks"
        )
    return description if description.endswith(".") else description + "."


def tidy(folder: Path) -> None:
    """Sort imports and format the new code with the repository's ruff settings."""
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.is_file():
        raise ScaffoldError(f"ruff not found at {ruff}; run `make venv`", code=1)
    for args in (["check", "--fix", "--select", "I", "--quiet"], ["format", "--quiet"]):
        result = subprocess.run(
            [str(ruff), *args, str(folder)],
            cwd=manifests.REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise ScaffoldError(f"ruff {args[0]} failed on the new code: {result.stdout}{result.stderr}", 1)


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
    description = check_description(description or f"The {name} service.")
    files = {
        "service.yaml": manifest_text(name, chosen_port, description, template),
        **template_files(name, description),
    }
    staging = Path(tempfile.mkdtemp(prefix=f".new-{name}-", dir=services_dir))
    try:
        for rel, text in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
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
        tidy(staging)
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


def edge_url() -> str:
    """Where `make up` serves the edge (LOCAL_EDGE_PORT, as scripts/tooling/stack_settings.py reads it)."""
    port = os.environ.get("LOCAL_EDGE_PORT", "").strip() or "8080"
    return f"http://127.0.0.1:{port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="service name: lowercase letters, digits, hyphens (e.g. reviews)")
    parser.add_argument("--port", type=int, help="container port (default: the next free one)")
    parser.add_argument("--from", dest="template", default="catalog", help="service to copy from")
    parser.add_argument("--description", help="one line saying what the service owns")
    parser.add_argument("--no-diagram", action="store_true", help="do not redraw docs/architecture.png")
    args = parser.parse_args(argv)
    if not args.no_diagram and shutil.which("dot") is None:
        print(
            "new_service: graphviz 'dot' not found (docs/architecture.png shows every service); "
            "run: sudo bash scripts/install_system_deps.sh",
            file=sys.stderr,
        )
        return 1
    try:
        path = scaffold(args.name, args.port, args.template, args.description)
    except ScaffoldError as exc:
        print(f"new_service: {exc}", file=sys.stderr)
        return exc.code
    except OSError as exc:
        print(f"new_service: could not write the service: {exc}", file=sys.stderr)
        return 1
    rel = path.relative_to(manifests.REPO_ROOT)
    if not args.no_diagram:
        try:
            diagram.draw(diagram.DEFAULT_OUT)
        except (diagram.DiagramError, OSError) as exc:
            shutil.rmtree(path)
            print(f"new_service: removed {rel}/ again: could not redraw the diagram: {exc}", file=sys.stderr)
            return 1
    m = manifests.get(args.name)
    print(
        f"Created {rel}/ (port {m.port}, path prefix {m.path_prefix}, package {m.package})"
        + ("" if args.no_diagram else "; redrew docs/architecture.png")
        + ".\nNext:\n"
        f"  make test PYTEST_ARGS={rel}          # its own tests\n"
        f"  make up && curl {edge_url()}{m.health_path}\n"
        "  open a pull request: the plan comment shows its ECS service, table, target group and route"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
