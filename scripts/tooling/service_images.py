"""Service images: build args from the manifests, build, inspect and run a hardened container.

Every fact about a service (package, port, health path) comes from its manifest through
``manifests``; this module turns them into build args for the Dockerfile.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import manifests
from pydantic import BaseModel

from tooling.base_image import BASE_FLAVOURS, DEFAULT_SUITE, base_ref, ensure_base
from tooling.podman import ImageError, file_lock, image_exists, podman, storage_dir

REPO_ROOT = manifests.REPO_ROOT
SERVICES_DIR = manifests.SERVICES_DIR
# The official slim image (short name: resolved by the machine's registries configuration).
OFFICIAL_BASE = "python:3.11-slim-bookworm"
# The only writable path a running service needs: a small private tmpfs inside the container.
TMPFS = "/tmp:rw,noexec,nosuid,nodev,size=16m"  # noqa: S108 # nosec B108
# The AWS APIs the services call (svc_common.dynamo makes their only client): the images keep
# botocore's models of these only, about 21 MB less (tests/images: no other client in the code).
AWS_APIS = ("dynamodb",)
# The image runs as this user; never root. Also the Dockerfile's build arg default.
APP_UID = 10001


def image_ref(service: str, tag: str = "local") -> str:
    return f"localhost/{manifests.project_name()}-{service}:{tag}"


def _git(*args: str) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def source_url() -> str:
    """Where the image's source lives: $IMAGE_SOURCE (CI), else the git remote, else 'local'."""
    return os.environ.get("IMAGE_SOURCE", "").strip() or _git("remote", "get-url", "origin") or "local"


def revision() -> str:
    rev = _git("rev-parse", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--", "services")
    return f"{rev}-dirty" if dirty else rev


def build_args(manifest: manifests.Manifest, base: str, tag: str) -> dict[str, str]:
    """Everything the Dockerfile needs to know, from the manifest and the repository."""
    return {
        "BASE_IMAGE": base,
        "SERVICE": manifest.name,
        "PACKAGE": manifest.package,
        "PORT": str(manifest.port),
        "HEALTH_PATH": manifest.health_path,
        "APP_UID": str(APP_UID),
        "AWS_APIS": " ".join(AWS_APIS),
        "SOURCE": source_url(),
        "REVISION": revision(),
        "VERSION": tag,
        "TITLE": f"{manifests.project_name()}-{manifest.name}",
        "DESCRIPTION": manifest.description,
    }


def check_sources(manifest: manifests.Manifest, context: Path = SERVICES_DIR) -> None:
    """Fail with one clear line when something the image needs is missing from the build context."""
    service_dir = context / manifest.name
    needed = [
        context / "Dockerfile",
        service_dir / "requirements.txt",
        service_dir / manifest.package / "main.py",
        context / "common" / "svc_common" / "serve.py",
        context / "common" / "svc_common" / "healthcheck.py",
    ]
    missing = [f"services/{p.relative_to(context)}" for p in needed if not p.is_file()]
    if missing:
        raise ImageError(f"{manifest.name}: cannot build, missing {', '.join(missing)}")


class BuildResult(BaseModel):
    service: str
    image: str
    base: str
    seconds: float


def resolve_base(base: str, root: Path | None = None) -> tuple[str, str]:
    """(build-stage base, runtime-stage base) for --base local|stripped|official."""
    if base == "local":
        return ensure_base(root=root), ensure_base(flavour="runtime", root=root)
    if base == "stripped":
        full = ensure_base(root=root)
        return full, ensure_base(flavour="stripped", root=root)
    if base == "official":
        return OFFICIAL_BASE, OFFICIAL_BASE
    raise ImageError(f"unknown base {base!r} (local, stripped or official)")


def build(
    service: str,
    base: str = "local",
    tag: str = "local",
    root: Path | None = None,
    quiet: bool = True,
    context: Path = SERVICES_DIR,
) -> BuildResult:
    """Build ``service``'s image from ``context`` (the services/ folder, or a copy of it)."""
    manifest = manifests.get(service)
    check_sources(manifest, context)
    build_base, runtime_base = resolve_base(base, root)
    ref = image_ref(service, tag)
    args = build_args(manifest, build_base, tag)
    args["RUNTIME_IMAGE"] = runtime_base
    argv = ["build", "--network", "host", "--pull=never" if base != "official" else "--pull=missing"]
    argv += ["--layers", "--format", "docker", "-f", str(context / "Dockerfile"), "-t", ref]
    for key, value in args.items():
        argv += ["--build-arg", f"{key}={value}"]
    argv.append(str(context))
    started = time.monotonic()
    # One build of a service at a time per storage: a second build (another test worker, another
    # terminal) waits, then reuses the first one's layers instead of racing it to a second copy.
    with file_lock((root or storage_dir()) / "locks" / f"build-{service}.lock"):
        result = podman(*argv, root=root, check=False, capture=quiet, timeout=1200)
    if result.returncode != 0:
        out = ((result.stdout or "") + (result.stderr or "")).strip().splitlines()
        detail = " | ".join(out[-6:]) if quiet else "see the build output above"
        raise ImageError(f"{service}: image build failed ({result.returncode}): {detail}")
    return BuildResult(service=service, image=ref, base=base, seconds=round(time.monotonic() - started, 1))


class ImageInfo(BaseModel):
    image: str
    size_bytes: int
    layers: int
    created: str

    @property
    def size_mb(self) -> float:
        return round(self.size_bytes / 1_000_000, 1)


def inspect(ref: str, root: Path | None = None) -> dict:
    out = podman("image", "inspect", ref, root=root).stdout
    return json.loads(out)[0]


def info(ref: str, root: Path | None = None) -> ImageInfo:
    data = inspect(ref, root)
    return ImageInfo(
        image=ref,
        size_bytes=int(data.get("Size", 0)),
        layers=len(data.get("RootFS", {}).get("Layers", [])),
        created=str(data.get("Created", "")),
    )


def report(tag: str = "local", root: Path | None = None) -> list[ImageInfo]:
    refs = [image_ref(m.name, tag) for m in manifests.load_all()]
    refs += [base_ref(DEFAULT_SUITE, f) for f in BASE_FLAVOURS]
    return [info(r, root) for r in refs if image_exists(r, root)]


def run_argv(
    service: str,
    *,
    name: str,
    tag: str = "local",
    host_port: int | None = None,
    env: dict[str, str] | None = None,
    network: str = "slirp4netns",
) -> list[str]:
    """`podman run` arguments for a service container with the production hardening."""
    manifest = manifests.get(service)
    argv = [
        "run", "--detach", "--name", name,
        "--read-only", "--read-only-tmpfs=false",
        "--tmpfs", TMPFS,
        "--user", f"{APP_UID}:{APP_UID}",
        "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges",
        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
        "--network", network,
    ]  # fmt: skip
    if host_port is not None:
        argv += ["-p", f"127.0.0.1:{host_port}:{manifest.port}"]
    for key, value in (env or {}).items():
        argv += ["-e", f"{key}={value}"]
    argv.append(image_ref(service, tag))
    return argv
