"""Test double of docker/build-push-action v7.3.0 (pinned) for the workflow proof.

The real action drives BuildKit (docker buildx) and pushes through the registry's HTTP API. Neither
exists offline, so the double keeps the action's contract and ECR's:

inputs    `context` (a folder; missing -> the step FAILS, as buildx fails), `file` (default
          `<context>/Dockerfile`; missing -> FAILS), `build-args` (KEY=VALUE lines), `labels`,
          `tags` (newline- or comma-separated; at least one when `push` is true), `push`
          (true|false); `sbom`, `provenance` and the cache/platform inputs are accepted and ignored
          (no attestation manifests are made: the `digest` output is the image manifest's own).
outputs   `imageid` (config digest), `digest` (manifest digest), `metadata` (JSON with
          `containerimage.digest`, `containerimage.config.digest`, `image.name`), as buildx reports.

What it "builds": it does NOT run the Dockerfile (tests/images builds that very Dockerfile with
podman; here that would cost minutes per push). The image is one layer: the build context as a tar
(honouring the context's .dockerignore), and an OCI config whose labels are the Dockerfile's
LABELs filled from `build-args` (org.opencontainers.image.revision = REVISION, ...). The manifest
goes to ECR through the ECR API (PutImage, digest = SHA-256 of the manifest bytes; immutable tags
are the registry's to enforce: a different image under an existing tag fails the step). The
emulator's ECR keeps manifests only, so the blobs (config, layer) go to $IMAGE_BLOB_STORE, the
registry's blob storage in this proof, where the ECS stand-in (tests/pipeline/gha/data_plane.py)
reads the code a task runs.

    image_push.py        (inputs from INPUT_* environment variables, as a JavaScript action gets them)
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import re
import sys
import tarfile
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from docker_config import config_file  # run as a script: its folder is on sys.path

ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$")
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
# The LABELs of services/Dockerfile, filled from the build args of the same names.
LABELS = {
    "org.opencontainers.image.source": "SOURCE",
    "org.opencontainers.image.revision": "REVISION",
    "org.opencontainers.image.version": "VERSION",
    "org.opencontainers.image.title": "TITLE",
    "org.opencontainers.image.description": "DESCRIPTION",
}


class StepFailedError(Exception):
    """The step fails with this one line."""


def _input(name: str) -> str:
    return os.environ.get(f"INPUT_{name.upper()}", "").strip()


def _list(raw: str, comma: bool = False) -> list[str]:
    parts = re.split(r"[\n,]" if comma else r"\n", raw)
    return [p.strip() for p in parts if p.strip()]


def _ignored(rel: str, patterns: list[str]) -> bool:
    """Docker's rule: a path is excluded when it, or a folder above it, matches a pattern
    (``**/`` matches any number of folders)."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[:k]) for k in range(1, len(parts) + 1)]
    for pattern in patterns:
        tail = pattern.removeprefix("**/")
        for prefix in prefixes:
            if fnmatch.fnmatch(prefix, pattern):
                return True
            names = prefix.split("/")
            if pattern.startswith("**/") and any(
                fnmatch.fnmatch("/".join(names[i:]), tail) for i in range(len(names))
            ):
                return True
    return False


def context_layer(context: Path) -> bytes:
    """The build context as one reproducible tar (sorted, no times or owners), .dockerignore honoured."""
    ignore_file = context / ".dockerignore"
    lines = ignore_file.read_text().splitlines() if ignore_file.is_file() else []
    patterns = [p.strip().rstrip("/") for p in lines if p.strip() and not p.startswith("#")]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(context.rglob("*")):
            rel = path.relative_to(context).as_posix()
            if not path.is_file() or _ignored(rel, patterns):
                continue
            info = tarfile.TarInfo(rel)
            info.size, info.mode = path.stat().st_size, 0o644
            with path.open("rb") as fh:
                tar.addfile(info, fh)
    return buffer.getvalue()


def _blob(store: Path, data: bytes) -> dict:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    target = store / digest.replace(":", "-")
    if not target.exists():
        target.write_bytes(data)
    return {"digest": digest, "size": len(data)}


def build(store: Path) -> tuple[str, str, bytes]:
    """(config digest, manifest digest, manifest bytes) of the image the inputs describe."""
    context = Path(_input("context") or ".")
    if not context.is_dir():
        raise StepFailedError(
            f"ERROR: failed to build: unable to prepare context: path {str(context)!r} not found"
        )
    dockerfile = Path(_input("file")) if _input("file") else context / "Dockerfile"
    if not dockerfile.is_file():
        raise StepFailedError(
            f"ERROR: failed to build: failed to read dockerfile: open {dockerfile}: no such file"
        )
    args = dict(a.split("=", 1) for a in _list(_input("build-args")) if "=" in a)
    labels = {k: args[v] for k, v in LABELS.items() if v in args}
    labels.update(dict(label.split("=", 1) for label in _list(_input("labels")) if "=" in label))
    config = {"architecture": "amd64", "os": "linux", "config": {"Labels": labels},
              "rootfs": {"type": "layers", "diff_ids": []}}  # fmt: skip
    layer = _blob(store, context_layer(context))
    config["rootfs"]["diff_ids"] = [layer["digest"]]  # an uncompressed layer: diff id = digest
    config_ref = _blob(store, json.dumps(config, sort_keys=True).encode())
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, **config_ref},
        "layers": [{"mediaType": LAYER_TYPE, **layer}],
    }).encode()  # fmt: skip
    return config_ref["digest"], "sha256:" + hashlib.sha256(manifest).hexdigest(), manifest


def _logins() -> set[str]:
    """Registries the docker CLI is logged in to (its config file, as amazon-ecr-login leaves it)."""
    config = config_file()
    return set(json.loads(config.read_text()).get("auths", {})) if config.is_file() else set()


def _tagged(ecr: object, registry: str, repository: str, tag: str) -> str | None:
    found = ecr.describe_images(  # type: ignore[attr-defined]
        registryId=registry, repositoryName=repository, imageIds=[{"imageTag": tag}]
    )["imageDetails"]
    return found[0]["imageDigest"] if found else None


def push(tag_ref: str, manifest: bytes, digest: str) -> None:
    host, _, rest = tag_ref.partition("/")
    repository, _, tag = rest.rpartition(":")
    found = ECR_HOST.match(host)
    if not found or not repository or not tag:
        raise StepFailedError(f"ERROR: {tag_ref}: not an ECR image reference <registry>/<repository>:<tag>")
    if host not in _logins():
        raise StepFailedError(
            f"ERROR: failed to push {tag_ref}: no basic auth credentials (log in to {host} first)"
        )
    ecr = boto3.client("ecr", region_name=found.group(2))
    try:
        ecr.put_image(registryId=found.group(1), repositoryName=repository, imageManifest=manifest.decode(),
                      imageManifestMediaType=MANIFEST_TYPE, imageTag=tag, imageDigest=digest)  # fmt: skip
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "ImageAlreadyExistsException" and _tagged(ecr, found.group(1), repository, tag) == digest:
            return  # the same image under the same tag: nothing to do (a re-run)
        if code == "ImageAlreadyExistsException":  # the emulator's answer for a taken immutable tag
            code = "ImageTagAlreadyExistsException"
        raise StepFailedError(
            f"ERROR: failed to push {tag_ref}: {code}: {exc.response['Error'].get('Message', '')}"
        ) from exc
    print(f"pushed {tag_ref} ({digest})")


def main() -> int:
    store = Path(os.environ["IMAGE_BLOB_STORE"])
    store.mkdir(parents=True, exist_ok=True)
    try:
        tags = _list(_input("tags"), comma=True)
        wants_push = _input("push") == "true"
        if wants_push and not tags:
            raise StepFailedError("ERROR: tag is needed when pushing to registry")
        image_id, digest, manifest = build(store)
        if wants_push:
            for tag_ref in tags:
                push(tag_ref, manifest, digest)
    except StepFailedError as exc:
        print(f"::error::{exc}")
        return 1
    except BotoCoreError as exc:
        print(f"::error::ERROR: failed to push: {exc}")
        return 1
    metadata = {"containerimage.digest": digest, "containerimage.config.digest": image_id,
                "image.name": ",".join(tags)}  # fmt: skip
    with open(os.environ["GITHUB_OUTPUT"], "a") as fh:
        fh.write(f"imageid={image_id}\ndigest={digest}\nmetadata={json.dumps(metadata)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
