"""The edge, WAF, DNS/TLS and monitoring steps that need the applied `local` stack.

tests/infra/test_stack_lifecycle.py calls these on ITS applied stack (one apply serves every read
of the stack; the seven checks of tests/infra/edge_checks.py run there too), after its re-plan,
its drift check and the deploy role's steps, in this order: the checks catch the faults they exist
for (and the stack is put back); scripts/publish_static.py against the applied bucket; the zone
created alone first (a plan); a plan of the same stack with a custom domain (certificates,
aliases, HTTPS origin: no dependency cycle, and the ALB knows at plan time it gets an HTTPS
listener); the origin secret rotated in two applies without downtime (this one changes the
stack: it runs last, before the deploy role destroys the stack).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import manifests
import pytest

from tests.infra import edge_checks
from tests.infra.tfkit import Terraform
from tests.support.aws import FAKE_AWS_ENV, REGION, MotoServer
from tests.support.tools import REPO_ROOT

ENV = "local"


@dataclass
class EdgeStack:
    """The applied stack as these steps see it: emulator, infra copy, terraform, outputs."""

    moto: MotoServer
    infra: Path
    tf: Terraform
    outputs: dict[str, Any]
    times: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.session = boto3.Session(
            aws_access_key_id=FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_AWS_ENV["AWS_SESSION_TOKEN"],
            region_name=REGION,
        )

    @property
    def var_file(self) -> str:
        return f"-var-file={self.infra / 'envs' / ENV / 'terraform.tfvars'}"


def faults_are_caught(edge_stack: EdgeStack) -> None:
    """The checks fail on the faults they exist for (then the stack is put back)."""
    out, url = edge_stack.outputs, edge_stack.moto.url
    s3 = edge_stack.session.client("s3", endpoint_url=url)
    s3.delete_public_access_block(Bucket=out["site_bucket_name"])
    try:
        with pytest.raises(AssertionError):
            edge_checks.check_bucket_private(edge_stack.session, out, url)
    finally:
        s3.put_public_access_block(
            Bucket=out["site_bucket_name"],
            PublicAccessBlockConfiguration=dict.fromkeys(
                ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"], True
            ),
        )
    waf = edge_stack.session.client("wafv2", endpoint_url=url)
    waf.disassociate_web_acl(ResourceArn=out["alb_arn"])
    try:
        with pytest.raises(AssertionError, match="not associated"):
            edge_checks.check_waf(edge_stack.session, out, url)
    finally:
        waf.associate_web_acl(WebACLArn=out["waf_alb_web_acl_arn"], ResourceArn=out["alb_arn"])
    edge_checks.check_waf(edge_stack.session, out, url)


def publish_static_site(edge_stack: EdgeStack, tmp_path: Path) -> None:
    """scripts/publish_static.py uploads to the applied bucket and invalidates only what changed."""
    site = tmp_path / "site"
    (site / "assets").mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><title>shop</title>")
    (site / "assets" / "app.js").write_text("console.log('v1');")
    argv = [
        sys.executable,
        str(REPO_ROOT / "scripts" / "publish_static.py"),
        str(site),
        "--bucket",
        edge_stack.outputs["site_bucket_name"],
        "--distribution-id",
        edge_stack.outputs["cloudfront_distribution_id"],
        "--json",
    ]
    env = {**edge_stack.moto.env}
    first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert first.returncode == 0, first.stderr
    assert sorted(json.loads(first.stdout)["uploaded"]) == ["assets/app.js", "index.html"]
    (site / "assets" / "app.js").write_text("console.log('v2');")
    second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["uploaded"] == ["assets/app.js"]
    assert report["invalidated"] == ["/assets/app.js"]


def created_zone_is_applied_alone_first(edge_stack: EdgeStack) -> None:
    """create_hosted_zone without hosted_zone_delegated: the zone and nothing that would wait for a
    certificate validation in it; the output says which name servers and which next command."""
    edge_stack.tf.run(
        "plan",
        "-input=false",
        "-no-color",
        "-refresh=false",
        "-out=zone.tfplan",
        edge_stack.var_file,
        "-var=emulator=false",
        "-var=domain_name=shop.example.com",
        "-var=create_hosted_zone=true",
        timeout=300,
    )
    plan = edge_stack.tf.run("show", "-json", "zone.tfplan").json()
    kinds = {c["type"] for c in plan["resource_changes"] if c["change"]["actions"] != ["no-op"]}  # type: ignore[index]
    assert "aws_route53_zone" in kinds
    assert not kinds & {"aws_acm_certificate", "aws_acm_certificate_validation", "aws_route53_record"}
    step = plan["planned_values"]["outputs"]["dns_next_step"]  # type: ignore[index]
    assert "hosted_zone_delegated = true" in step["value"]
    # hosted_zone_delegated without create_hosted_zone is refused at plan time: checked in the
    # refused prod plan of tests/infra/test_env_plans.py (a plan reports every refused variable at
    # once, and every plan of the whole stack costs about 9 CPU seconds).


def custom_domain_plan(edge_stack: EdgeStack) -> None:
    """As on AWS (no emulator shortcuts) with a domain: certificates in both regions, aliases, HTTPS
    origin and listener, our own CDN policies with the headers of web/security-headers.json, and
    composite deployment alarms wired into the ECS services."""
    started = time.monotonic()
    edge_stack.tf.run(
        "plan",
        "-input=false",
        "-no-color",
        "-refresh=false",
        "-out=domain.tfplan",
        edge_stack.var_file,
        "-var=emulator=false",
        "-var=domain_name=shop.example.com",
        "-var=create_hosted_zone=true",
        "-var=hosted_zone_delegated=true",
        timeout=300,
    )
    edge_stack.times["domain plan"] = time.monotonic() - started
    plan = edge_stack.tf.run("show", "-json", "domain.tfplan").json()
    changes = {c["address"]: c for c in plan["resource_changes"]}  # type: ignore[index]
    after = {a: c["change"]["after"] for a, c in changes.items()}
    certs = [c for c in changes.values() if c["type"] == "aws_acm_certificate"]
    assert sorted(c["change"]["after"]["domain_name"] for c in certs) == [
        "origin.shop.example.com",
        "shop.example.com",
    ]
    assert any(a.endswith("module.alb.aws_lb_listener.https[0]") for a in changes), (
        "no HTTPS listener planned"
    )
    distribution = after["module.edge.aws_cloudfront_distribution.this"]
    assert distribution["aliases"] == ["shop.example.com"]
    (viewer,) = distribution["viewer_certificate"]
    assert viewer["minimum_protocol_version"] == "TLSv1.2_2021"
    origins = {o["origin_id"]: o for o in distribution["origin"]}
    assert origins["alb-api"]["domain_name"] == "origin.shop.example.com"
    assert not origins["alb-api"]["custom_origin_config"], "the ALB must not be an internet origin"
    assert origins["alb-api"]["vpc_origin_config"], "the ALB must be reached through its VPC origin"
    (vpc_origin,) = after["module.edge.aws_cloudfront_vpc_origin.alb"]["vpc_origin_endpoint_config"]
    assert vpc_origin["origin_protocol_policy"] == "https-only"
    records = [c for c in after.values() if c and "alias" in c and c.get("alias")]
    assert {(r["name"], r["type"]) for r in records} >= {
        ("shop.example.com", "A"),
        ("shop.example.com", "AAAA"),
        ("origin.shop.example.com", "A"),
    }

    (headers_policy,) = [
        a for c, a in after.items() if changes[c]["type"] == "aws_cloudfront_response_headers_policy"
    ]
    security = headers_policy["security_headers_config"][0]
    source = REPO_ROOT / "web" / "security-headers.json"
    if source.exists():
        wanted = json.loads(source.read_text())
        assert (
            security["content_security_policy"][0]["content_security_policy"]
            == wanted["Content-Security-Policy"]
        )
        assert security["referrer_policy"][0]["referrer_policy"] == wanted["Referrer-Policy"]
        custom = {i["header"]: i["value"] for i in headers_policy["custom_headers_config"][0]["items"]}
        assert custom == {
            k: v for k, v in wanted.items() if k in {"Permissions-Policy", "Cross-Origin-Opener-Policy"}
        }
    assert security["frame_options"][0]["frame_option"] == "DENY"
    assert security["strict_transport_security"][0]["access_control_max_age_sec"] >= 31536000

    composites = [a for c, a in after.items() if changes[c]["type"] == "aws_cloudwatch_composite_alarm"]
    services = [a for c, a in after.items() if changes[c]["type"] == "aws_ecs_service"]
    prefix = f"{manifests.project_name()}-{ENV}"
    assert sorted(a["alarm_name"] for a in composites) == sorted(
        f"{prefix}-{s}-deployment" for s in edge_stack.outputs["services"]
    )
    for service in services:
        (alarms,) = service["alarms"]
        assert alarms["rollback"] is True
        assert alarms["alarm_names"] == [f"{prefix}-{service['name']}-deployment"]


def _origin_secret_view(stack: EdgeStack) -> dict[str, Any]:
    """Fingerprints (never values) of the two slots, what CloudFront sends and what the ALB accepts."""
    out, url = stack.outputs, stack.moto.url
    secrets = stack.session.client("secretsmanager", endpoint_url=url)
    slots = {
        k: secrets.get_secret_value(SecretId=arn)["SecretString"]
        for k, arn in out["origin_secret_arns"].items()
    }
    fingerprint = {v: k for k, v in slots.items()}
    cloudfront = stack.session.client("cloudfront", endpoint_url=url, region_name="us-east-1")
    config = cloudfront.get_distribution(Id=out["cloudfront_distribution_id"])["Distribution"][
        "DistributionConfig"
    ]
    sent = [
        fingerprint.get(h["HeaderValue"], "unknown")
        for o in config["Origins"]["Items"]
        for h in o.get("CustomHeaders", {}).get("Items", [])
    ]
    rules = stack.session.client("elbv2", endpoint_url=url).describe_rules(
        ListenerArn=out["alb_listener_arn"]
    )
    accepted = {
        fingerprint.get(v, "unknown")
        for r in rules["Rules"]
        for c in r["Conditions"]
        if c.get("Field") == "http-header"
        for v in c["HttpHeaderConfig"]["Values"]
    }
    return {"slots": slots, "sent": sent, "accepted": accepted}


def origin_secret_rotation(edge_stack: EdgeStack) -> None:
    """Step 1 (new value in the idle slot) keeps CloudFront's value; step 2 switches; both accepted."""
    before = _origin_secret_view(edge_stack)
    assert before["sent"] == ["a"]
    assert before["accepted"] == {"a", "b"}
    started = time.monotonic()
    args = ["apply", "-input=false", "-no-color", "-auto-approve", "-refresh=false", edge_stack.var_file]
    edge_stack.tf.run(*args, "-var=origin_secret_versions={a=1,b=2}", timeout=300)
    step1 = _origin_secret_view(edge_stack)
    assert step1["slots"]["a"] == before["slots"]["a"], "the active slot must not change"
    assert step1["slots"]["b"] != before["slots"]["b"], "the idle slot must get a new value"
    assert step1["sent"] == ["a"], "CloudFront must keep sending the active slot"
    assert step1["accepted"] == {"a", "b"}, "the ALB must accept the current and the new value"
    edge_stack.tf.run(
        *args, "-var=origin_secret_versions={a=1,b=2}", "-var=origin_secret_active=b", timeout=300
    )
    step2 = _origin_secret_view(edge_stack)
    assert step2["slots"] == step1["slots"]
    assert step2["sent"] == ["b"], "CloudFront must send the new value after the switch"
    assert step2["accepted"] == {"a", "b"}, "the old value stays accepted until it is retired"
    edge_stack.times["rotation (2 applies)"] = time.monotonic() - started
