"""Publish the static site folder to an environment's private S3 bucket, then invalidate CloudFront.

    python scripts/publish_static.py [FOLDER] --env ENV [--delete] [--dry-run] [--json]
    python scripts/publish_static.py [FOLDER] --bucket NAME [--distribution-id ID]

FOLDER defaults to web/. Without --bucket, the bucket is found by the stack's naming rule
(<project>-<env>-site-<account id>, see infra/modules/edge) and the distribution as the one whose
origin is that bucket. Only files whose content changed are uploaded (local MD5 against the S3
ETag, or the md5 metadata for multipart uploads); remote files missing locally are deleted only
with --delete (the bucket is versioned: a deleted file can be restored). CloudFront is invalidated
for exactly the changed paths. Works against the emulator through AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import re
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import manifests
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_FOLDER = manifests.REPO_ROOT / "web"

# Types browsers must get right (mimetypes differs between systems for some of them).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
}
# Entry points must be revalidated on every visit so a publish shows at once; files whose name
# carries a content hash never change; everything else may be cached for an hour.
NO_CACHE = "public, max-age=0, must-revalidate"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=3600"
REVALIDATE_SUFFIXES = {".html", ".json", ".webmanifest", ".txt", ".xml"}
HASHED_NAME = re.compile(r"[.-][0-9a-f]{8,}\.[A-Za-z0-9]+$")
# Above this many changed paths one wildcard invalidation is cheaper than listing them.
MAX_LISTED_PATHS = 1000
MULTIPART_THRESHOLD = 8 * 1024 * 1024


class PublishError(Exception):
    """A reason to stop, printed as one line."""


class LocalFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str = Field(pattern=r"^[^/].*$")
    path: Path
    md5: str = Field(pattern=r"^[0-9a-f]{32}$")
    content_type: str
    cache_control: str


class Report(BaseModel):
    bucket: str
    distribution_id: str | None
    uploaded: list[str] = []
    unchanged: list[str] = []
    deleted: list[str] = []
    kept_remote: list[str] = []
    invalidated: list[str] = []
    invalidation_id: str | None = None
    dry_run: bool = False


def content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def cache_control(path: Path) -> str:
    if path.suffix.lower() in REVALIDATE_SUFFIXES:
        return NO_CACHE
    if HASHED_NAME.search(path.name):
        return IMMUTABLE
    return SHORT


def scan(folder: Path) -> list[LocalFile]:
    """Every publishable file below ``folder`` (hidden files and folders skipped, no symlink escapes)."""
    root = folder.resolve()
    if not root.is_dir():
        raise PublishError(f"{folder} is not a folder")
    found: list[LocalFile] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if not path.resolve().is_relative_to(root):
            raise PublishError(f"{rel} points outside {folder}")
        data = path.read_bytes()
        found.append(
            LocalFile(
                key=rel.as_posix(),
                path=path,
                md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
                content_type=content_type(path),
                cache_control=cache_control(path),
            )
        )
    if not found:
        raise PublishError(f"{folder} has no files to publish")
    return found


def remote_md5s(s3: Any, bucket: str) -> dict[str, str]:
    """Key -> MD5 of every object in the bucket (ETag, or our md5 metadata after a multipart upload)."""
    result: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            etag = obj["ETag"].strip('"')
            if "-" in etag:
                etag = s3.head_object(Bucket=bucket, Key=obj["Key"]).get("Metadata", {}).get("md5", "")
            result[obj["Key"]] = etag
    return result


def invalidation_paths(keys: list[str]) -> list[str]:
    paths = sorted({"/" + k for k in keys})
    if "/index.html" in paths:
        paths.insert(0, "/")  # the default root object is also served at /
    return ["/*"] if len(paths) > MAX_LISTED_PATHS else paths


def site_bucket(env: str, account: str) -> str:
    """The site bucket of ``env`` (infra/modules/edge's naming rule)."""
    return f"{manifests.project_name()}-{env}-site-{account}"


def find_targets(session: boto3.Session, env: str) -> tuple[str, str | None]:
    """Bucket and distribution of ``env`` by the stack's naming rule."""
    account = session.client("sts").get_caller_identity()["Account"]
    bucket = site_bucket(env, account)
    cloudfront = session.client("cloudfront")
    for page in cloudfront.get_paginator("list_distributions").paginate():
        for dist in page.get("DistributionList", {}).get("Items", []):
            domains = [o["DomainName"] for o in dist.get("Origins", {}).get("Items", [])]
            if any(d.split(".s3.")[0] == bucket for d in domains):
                return bucket, dist["Id"]
    return bucket, None


def publish(
    session: boto3.Session,
    folder: Path,
    bucket: str,
    distribution_id: str | None,
    delete: bool = False,
    dry_run: bool = False,
) -> Report:
    files = scan(folder)
    s3 = session.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        raise PublishError(f"bucket {bucket} is not reachable: {exc.response['Error'].get('Code')}") from exc
    remote = remote_md5s(s3, bucket)
    report = Report(bucket=bucket, distribution_id=distribution_id, dry_run=dry_run)

    for f in files:
        if remote.get(f.key) == f.md5:
            report.unchanged.append(f.key)
            continue
        report.uploaded.append(f.key)
        if dry_run:
            continue
        extra = {"ContentType": f.content_type, "CacheControl": f.cache_control, "Metadata": {"md5": f.md5}}
        if f.path.stat().st_size >= MULTIPART_THRESHOLD:
            s3.upload_file(str(f.path), bucket, f.key, ExtraArgs=extra)
        else:
            s3.put_object(Bucket=bucket, Key=f.key, Body=f.path.read_bytes(), **extra)

    local_keys = {f.key for f in files}
    extra_remote = sorted(set(remote) - local_keys)
    if delete:
        report.deleted = extra_remote
        if not dry_run:
            for i in range(0, len(extra_remote), 1000):
                chunk = [{"Key": k} for k in extra_remote[i : i + 1000]]
                s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
    else:
        report.kept_remote = extra_remote

    changed = report.uploaded + report.deleted
    if changed and distribution_id:
        report.invalidated = invalidation_paths(changed)
        if not dry_run:
            digest = hashlib.sha256("\n".join(report.invalidated).encode()).hexdigest()[:16]
            answer = session.client("cloudfront").create_invalidation(
                DistributionId=distribution_id,
                InvalidationBatch={
                    "Paths": {"Quantity": len(report.invalidated), "Items": report.invalidated},
                    "CallerReference": f"publish-{int(time.time())}-{digest}",
                },
            )
            report.invalidation_id = answer["Invalidation"]["Id"]
    return report


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "folder", nargs="?", type=Path, default=DEFAULT_FOLDER, help="site folder (default web/)"
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--env", choices=["local", "dev", "prod"], help="environment (names by convention)")
    target.add_argument("--bucket", help="site bucket name (with --distribution-id)")
    parser.add_argument("--distribution-id", help="CloudFront distribution to invalidate (with --bucket)")
    parser.add_argument("--delete", action="store_true", help="delete remote files that are not in FOLDER")
    parser.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.distribution_id and not args.bucket:
        parser.error("--distribution-id needs --bucket")

    session = boto3.Session()
    try:
        if args.env:
            bucket, distribution_id = find_targets(session, args.env)
            if distribution_id is None:
                raise PublishError(f"no CloudFront distribution serves bucket {bucket}")
        else:
            bucket, distribution_id = args.bucket, args.distribution_id
        report = publish(session, args.folder, bucket, distribution_id, args.delete, args.dry_run)
    except PublishError as exc:
        print(f"publish_static: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"publish_static: AWS call failed: {exc}", file=sys.stderr)
        return 1

    if args.json:
        print(json.dumps(report.model_dump(), indent=2, sort_keys=True))
    else:
        prefix = "would " if report.dry_run else ""
        print(
            f"{report.bucket}: {prefix}upload {len(report.uploaded)}, unchanged {len(report.unchanged)}, "
            f"{prefix}delete {len(report.deleted)}, kept remote-only {len(report.kept_remote)}; "
            f"{prefix}invalidate {len(report.invalidated)} path(s)"
            + (f" ({report.invalidation_id})" if report.invalidation_id else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(_main())
