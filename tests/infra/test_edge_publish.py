"""scripts/publish_static.py against the emulator: content types, cache headers, change detection."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import publish_static
import pytest

from tests.support.aws import REGION, MotoServer
from tests.support.tools import REPO_ROOT

pytestmark = pytest.mark.slow

SCRIPT = REPO_ROOT / "scripts" / "publish_static.py"
ACCOUNT = "123456789012"  # moto's account


def _distribution(bucket: str) -> str:
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    origin_id = "s3-site"
    config = {
        "CallerReference": str(uuid.uuid4()),
        "Comment": "publish test",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": origin_id,
                    "DomainName": f"{bucket}.s3.{REGION}.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": origin_id,
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        },
    }
    return cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]


@pytest.fixture
def site(aws: MotoServer, tmp_path: Path) -> tuple[Path, str, str]:
    env = f"t{uuid.uuid4().hex[:6]}"
    bucket = f"storefront-{env}-site-{ACCOUNT}"
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    folder = tmp_path / "web"
    (folder / "assets").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    (folder / "index.html").write_text("<!doctype html><title>shop</title>")
    (folder / "assets" / "app.3f2a1b9c0d.js").write_text("console.log(1)")
    (folder / "assets" / "style.css").write_text("body{}")
    (folder / "manifest.webmanifest").write_text("{}")
    (folder / ".hidden" / "secret.txt").write_text("not published")
    return folder, bucket, _distribution(bucket)


def _run(aws: MotoServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=aws.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_first_publish_uploads_with_types_and_cache_headers(aws: MotoServer, site) -> None:
    folder, bucket, dist = site
    result = _run(aws, str(folder), "--bucket", bucket, "--distribution-id", dist, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(report["uploaded"]) == [
        "assets/app.3f2a1b9c0d.js",
        "assets/style.css",
        "index.html",
        "manifest.webmanifest",
    ]
    assert report["invalidated"][0] == "/"
    assert "/index.html" in report["invalidated"]
    s3 = boto3.client("s3", region_name=REGION)
    expected = {
        "index.html": ("text/html; charset=utf-8", publish_static.NO_CACHE),
        "assets/app.3f2a1b9c0d.js": ("text/javascript; charset=utf-8", publish_static.IMMUTABLE),
        "assets/style.css": ("text/css; charset=utf-8", publish_static.SHORT),
        "manifest.webmanifest": ("application/manifest+json", publish_static.NO_CACHE),
    }
    for key, (ctype, cache) in expected.items():
        head = s3.head_object(Bucket=bucket, Key=key)
        assert (head["ContentType"], head["CacheControl"]) == (ctype, cache), key
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert not any(k.startswith(".") for k in keys), "hidden files must not be published"


def test_republish_touches_only_changed_files(aws: MotoServer, site) -> None:
    folder, bucket, dist = site
    assert _run(aws, str(folder), "--bucket", bucket, "--distribution-id", dist).returncode == 0
    again = json.loads(_run(aws, str(folder), "--bucket", bucket, "--distribution-id", dist, "--json").stdout)
    assert again["uploaded"] == []
    assert again["invalidated"] == []
    assert again["invalidation_id"] is None
    (folder / "assets" / "style.css").write_text("body{color:red}")
    changed = json.loads(
        _run(aws, str(folder), "--bucket", bucket, "--distribution-id", dist, "--json").stdout
    )
    assert changed["uploaded"] == ["assets/style.css"]
    assert changed["invalidated"] == ["/assets/style.css"]
    invalidations = boto3.client("cloudfront", region_name="us-east-1").list_invalidations(
        DistributionId=dist
    )
    assert invalidations["InvalidationList"]["Quantity"] == 2


def test_remote_only_files_are_deleted_only_when_asked(aws: MotoServer, site) -> None:
    folder, bucket, dist = site
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=bucket, Key="old/page.html", Body=b"old")
    kept = json.loads(_run(aws, str(folder), "--bucket", bucket, "--distribution-id", dist, "--json").stdout)
    assert kept["kept_remote"] == ["old/page.html"]
    assert kept["deleted"] == []
    s3.head_object(Bucket=bucket, Key="old/page.html")
    dry = json.loads(_run(aws, str(folder), "--bucket", bucket, "--delete", "--dry-run", "--json").stdout)
    assert dry["deleted"] == ["old/page.html"]
    s3.head_object(Bucket=bucket, Key="old/page.html")
    gone = json.loads(
        _run(aws, str(folder), "--bucket", bucket, "--distribution-id", dist, "--delete", "--json").stdout
    )
    assert gone["deleted"] == ["old/page.html"]
    assert gone["invalidated"] == ["/old/page.html"]
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="old/page.html")


def test_env_finds_bucket_and_distribution_by_convention(aws: MotoServer, site) -> None:
    _folder, bucket, dist = site
    env = bucket.split("-")[1]
    assert publish_static.find_targets(boto3.Session(region_name=REGION), env) == (bucket, dist)


def test_multipart_uploads_are_compared_by_their_md5(aws: MotoServer, site, monkeypatch) -> None:
    folder, bucket, dist = site
    monkeypatch.setattr(publish_static, "MULTIPART_THRESHOLD", 1024)
    (folder / "big.bin").write_bytes(b"x" * (9 * 1024 * 1024))
    session = boto3.Session(region_name=REGION)
    first = publish_static.publish(session, folder, bucket, dist)
    assert "big.bin" in first.uploaded
    second = publish_static.publish(session, folder, bucket, dist)
    assert second.uploaded == []
    assert "big.bin" in second.unchanged


def test_bad_input_fails_with_one_line_and_changes_nothing(aws: MotoServer, site, tmp_path: Path) -> None:
    folder, bucket, dist = site
    missing = _run(aws, str(tmp_path / "nope"), "--bucket", bucket)
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0
    assert "is not a folder" in missing.stderr
    no_bucket = _run(aws, str(folder), "--bucket", "storefront-nobucket-site-000")
    assert no_bucket.returncode == 2
    assert "not reachable" in no_bucket.stderr
    assert "Contents" not in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=bucket)
    assert _run(aws, str(folder), "--distribution-id", dist).returncode == 2  # a target is required
