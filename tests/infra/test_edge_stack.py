"""The edge, WAF, DNS/TLS and monitoring files of the stack, applied for real against moto.

One module-scoped emulator and a private copy of infra/: apply the `local` environment, run every
check of tests/infra/edge_checks.py, publish a small site with scripts/publish_static.py, then plan
the same stack with a custom domain (certificates, aliases, HTTPS origin) to prove it has no
dependency cycle and that the ALB knows at plan time it gets an HTTPS listener.

Until the stack's main.tf and the alb/ecs_service modules take the edge wiring (see
EDGE_WIRING below and the part 2 report), the copy gets it through Terraform override files; each
shim is added only while the real file lacks it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.infra import edge_checks
from tests.infra.tfkit import Terraform, copy_tree, terraform_binary
from tests.support.aws import FAKE_AWS_ENV, REGION, MotoServer
from tests.support.tools import REPO_ROOT, output_dir

pytestmark = [pytest.mark.slow, pytest.mark.tool("terraform")]

ENV = "local"

# Stack wiring of the edge outputs into part 1's modules (the change requested from part 1):
# (module, argument, expression).
STACK_WIRING = [
    ("alb", "ingress_prefix_list_ids", "local.edge_alb_ingress_prefix_list_ids"),
    ("alb", "certificate_arn", "local.edge_alb_certificate_arn"),
    ("alb", "origin_verify_header", "local.edge_alb_origin_verify_header"),
    ("service", "deployment_alarm_names", "local.edge_deployment_alarm_names[each.key]"),
]

# alb module: accept two origin secret values (rotation), answer 403 without the header.
ALB_SHIM = r"""
variable "origin_verify_header" {
  type = object({
    name   = string
    values = list(string)
  })
  default = null
}

resource "aws_lb_listener" "http" {
  default_action {
    type = local.https ? "redirect" : "fixed-response"

    dynamic "redirect" {
      for_each = local.https ? [1] : []
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }

    dynamic "fixed_response" {
      for_each = local.https ? [] : [1]
      content {
        content_type = "application/json"
        message_body = jsonencode({ detail = var.origin_verify_header == null ? "Not Found" : "Forbidden" })
        status_code  = var.origin_verify_header == null ? "404" : "403"
      }
    }
  }
}

resource "aws_lb_listener_rule" "route" {
  condition {
    path_pattern {
      values = [each.value.path_prefix, "${each.value.path_prefix}/*"]
    }
  }

  dynamic "condition" {
    for_each = var.origin_verify_header == null ? [] : [1]
    content {
      http_header {
        http_header_name = var.origin_verify_header.name
        values           = var.origin_verify_header.values
      }
    }
  }
}
"""

# ecs_service module: ECS deployment alarms with rollback.
ECS_VARIABLE = """
variable "deployment_alarm_names" {
  description = "CloudWatch alarms that roll a deployment back when one fires (empty: none)."
  type        = list(string)
  default     = []
}
"""
ECS_SHIM = """
resource "aws_ecs_service" "this" {
  dynamic "alarms" {
    for_each = length(var.deployment_alarm_names) > 0 ? [1] : []
    content {
      alarm_names = var.deployment_alarm_names
      enable      = true
      rollback    = true
    }
  }
}
"""

TIMES: dict[str, float] = {}


def _wire(infra: Path) -> list[str]:
    """Add each missing piece of edge wiring to the copy; return what had to be shimmed."""
    shims: list[str] = []
    main = (infra / "stack" / "main.tf").read_text()
    for module, argument, expression in STACK_WIRING:
        if expression.split("[")[0] not in main:
            block = f'module "{module}" {{\n  {argument} = {expression}\n}}\n'
            (infra / "stack" / f"edge_wiring_{argument}_override.tf").write_text(block)
            shims.append(f"stack:{argument}")
    alb_vars = (infra / "modules" / "alb" / "variables.tf").read_text()
    if "values = list(string)" not in alb_vars.replace("  ", " ").replace("  ", " "):
        (infra / "modules" / "alb" / "edge_origin_override.tf").write_text(ALB_SHIM)
        shims.append("alb:origin_verify_header.values+403")
    ecs_vars = (infra / "modules" / "ecs_service" / "variables.tf").read_text()
    if "deployment_alarm_names" not in ecs_vars:
        (infra / "modules" / "ecs_service" / "edge_deployment_alarms.tf").write_text(ECS_VARIABLE)
        (infra / "modules" / "ecs_service" / "edge_deployment_alarms_override.tf").write_text(ECS_SHIM)
        shims.append("ecs_service:deployment_alarm_names")
    (infra / "stack" / "edge_backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    return shims


class EdgeStack:
    def __init__(self, moto: MotoServer, infra: Path, data: Path, shims: list[str]):
        self.moto = moto
        self.infra = infra
        self.shims = shims
        self.tf = Terraform(infra / "stack", data, {**moto.env, "AWS_MAX_ATTEMPTS": "1"})
        self.session = boto3.Session(
            aws_access_key_id=FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_AWS_ENV["AWS_SESSION_TOKEN"],
            region_name=REGION,
        )
        self.outputs: dict[str, Any] = {}
        self.state: dict[str, Any] = {}

    @property
    def var_file(self) -> str:
        return f"-var-file={self.infra / 'envs' / ENV / 'terraform.tfvars'}"


@pytest.fixture(scope="module")
def edge_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeStack]:
    terraform_binary()
    work = tmp_path_factory.mktemp("edge-stack")
    infra = copy_tree(work)
    shims = _wire(infra)
    server = MotoServer(output_dir("logs"))
    try:
        stack = EdgeStack(server, infra, work / "tfdata", shims)
        started = time.monotonic()
        stack.tf.run("init", "-input=false", "-no-color")
        stack.tf.run("apply", "-input=false", "-no-color", "-auto-approve", stack.var_file, timeout=420)
        TIMES["init+apply"] = time.monotonic() - started
        stack.outputs = edge_checks.values(stack.tf.run("output", "-json").json())  # type: ignore[arg-type]
        stack.state = stack.tf.run("show", "-json").json()  # type: ignore[assignment]
        yield stack
    finally:
        server.stop()
        print(
            f"\nedge stack: shims {stack.shims if 'stack' in locals() else shims}; "
            + ", ".join(f"{k} {v:.1f}s" for k, v in TIMES.items()),
            file=sys.stderr,
        )


@pytest.mark.parametrize("check", edge_checks.ALL_CHECKS, ids=lambda c: c.__name__)
def test_applied_edge(edge_stack: EdgeStack, check) -> None:
    kwargs = {"state": edge_stack.state} if check is edge_checks.check_deployment_alarms else {}
    check(edge_stack.session, edge_stack.outputs, edge_stack.moto.url, **kwargs)


def test_checks_catch_a_public_bucket_and_a_detached_waf(edge_stack: EdgeStack) -> None:
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


def test_publish_static_site(edge_stack: EdgeStack, tmp_path: Path) -> None:
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


def test_custom_domain_plan(edge_stack: EdgeStack) -> None:
    """With a domain: certificates in both regions, aliases, HTTPS to the origin, HTTPS listener."""
    started = time.monotonic()
    edge_stack.tf.run(
        "plan",
        "-input=false",
        "-no-color",
        "-refresh=false",
        "-out=domain.tfplan",
        edge_stack.var_file,
        "-var=domain_name=shop.example.com",
        "-var=create_hosted_zone=true",
        timeout=300,
    )
    TIMES["domain plan"] = time.monotonic() - started
    plan = edge_stack.tf.run("show", "-json", "domain.tfplan").json()
    changes = {c["address"]: c for c in plan["resource_changes"]}  # type: ignore[index]
    certs = [c for a, c in changes.items() if c["type"] == "aws_acm_certificate"]
    assert sorted(c["change"]["after"]["domain_name"] for c in certs) == [
        "origin.shop.example.com",
        "shop.example.com",
    ]
    assert {c["provider_name"] for c in certs} == {"registry.terraform.io/hashicorp/aws"}
    assert any(a.endswith("module.alb.aws_lb_listener.https[0]") for a in changes), (
        "no HTTPS listener planned"
    )
    distribution = changes["module.edge.aws_cloudfront_distribution.this"]["change"]["after"]
    assert distribution["aliases"] == ["shop.example.com"]
    (viewer,) = distribution["viewer_certificate"]
    assert viewer["minimum_protocol_version"] == "TLSv1.2_2021"
    records = [c["change"]["after"] for c in changes.values() if c["type"] == "aws_route53_record"]
    assert {(r["name"], r["type"]) for r in records if r.get("alias")} >= {
        ("shop.example.com", "A"),
        ("shop.example.com", "AAAA"),
        ("origin.shop.example.com", "A"),
    }
