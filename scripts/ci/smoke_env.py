"""Smoke-test one environment: URLs from its Terraform outputs, API keys from its Secrets Manager.

Runs scripts/smoke_test.py (with --waf-probe in dev and prod) with CATALOG_API_KEY and
ORDERS_API_KEY taken from the environment's secrets (names from the manifests), never printing
them. The Terraform root must be initialised for the environment (``make smoke`` runs
``make tf-init`` first).

    python scripts/ci/smoke_env.py --env dev [--revision SHA] [--base-url URL] [--timeout S] [--out-dir DIR]

--revision: first waits until every ECS service's deployment is COMPLETED (old tasks gone: exit 1
with the reason when one fails or the timeout passes), then every health answer must name it (the
new task definition serves), retried until then.

--base-url overrides the public URL (the workflow proof points it at its loopback data plane).
Exit status: smoke_test.py's (0 passed, 1 a check failed, 2 usage), or 2 when outputs are missing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import manifests
import roll_services
import sync_secrets

STACK = manifests.REPO_ROOT / "infra" / "stack"
# Outputs that may hold the public URL, best first (the CDN when the stack has one).
URL_OUTPUTS = ("site_url", "cloudfront_url", "public_url")


def terraform_outputs(chdir: Path) -> dict:
    result = subprocess.run(
        ["terraform", f"-chdir={chdir}", "output", "-json"], capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise ValueError(f"terraform output failed: {result.stderr.strip().splitlines()[-1:]}")
    return {k: v.get("value") for k, v in json.loads(result.stdout or "{}").items()}


def public_url(outputs: dict) -> str | None:
    """The public URL (CloudFront) from the stack's outputs."""
    return next((outputs[k] for k in URL_OUTPUTS if outputs.get(k)), None)


def api_keys(env: str) -> dict[str, str]:
    """CATALOG_API_KEY etc. from Secrets Manager, for every service that has an API_KEY."""
    client = boto3.client("secretsmanager")
    keys = {}
    for m in manifests.load_all():
        for secret in m.secrets:
            if secret.name != "API_KEY":
                continue
            secret_id = manifests.resolve_secret(m.name, secret, env)
            value = client.get_secret_value(SecretId=secret_id)["SecretString"]
            if os.environ.get("GITHUB_ACTIONS") == "true":
                print(f"::add-mask::{value}")
            keys[sync_secrets.variable_name(m.name, "API_KEY")] = value
    return keys


def wait_for_deployments(outputs: dict, seconds: float) -> str | None:
    """Wait until every ECS service's PRIMARY deployment is COMPLETED with all its tasks running:
    the apply returns at UpdateService and, during the rolling update, old and new tasks serve side
    by side behind the load balancer, so a check answered by an old task proves nothing about the
    new revision. ECS marks a deployment COMPLETED once the service reached a steady state
    (ECS API reference, Deployment.rolloutState). None when all did, else a one-line reason."""
    cluster = outputs.get("cluster_name")
    services = [v["service_name"] for v in (outputs.get("services") or {}).values() if v.get("service_name")]
    if not cluster or not services:
        return "the stack's outputs name no ECS cluster or services"
    print(f"waiting for the ECS deployments of {', '.join(services)} to complete", flush=True)
    outcome = roll_services.wait_completed(boto3.client("ecs"), cluster, services, seconds)
    bad = {name: state for name, state in outcome.items() if state != "COMPLETED"}
    return "; ".join(f"{name}: {state}" for name, state in sorted(bad.items())) or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, choices=("dev", "prod", "local"))
    parser.add_argument("--base-url", help="public URL (default: from the Terraform outputs)")
    parser.add_argument("--revision", help="the revision the health answers must name (waits for it)")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--out-dir", type=Path, default=manifests.REPO_ROOT / ".local" / "smoke")
    parser.add_argument("--chdir", type=Path, default=STACK, help="Terraform root (initialised)")
    args = parser.parse_args(argv)
    try:
        outputs = terraform_outputs(args.chdir)
        base = args.base_url or public_url(outputs)
        if not base:
            raise ValueError(f"no public URL: the {args.env} stack has none of the outputs {URL_OUTPUTS}")
        keys = api_keys(args.env)
    except (ValueError, BotoCoreError, ClientError) as exc:
        print(f"smoke_env: {exc}", file=sys.stderr)
        return 2
    if args.revision:  # the new revision only: no old task may answer the checks
        try:
            reason = wait_for_deployments(outputs, args.timeout)
        except (BotoCoreError, ClientError) as exc:
            reason = f"DescribeServices failed: {exc}"
        if reason:
            print(f"smoke_env: the deployment of {args.revision} did not complete: {reason}", file=sys.stderr)
            return 1
    argv_smoke = [sys.executable, str(manifests.REPO_ROOT / "scripts" / "smoke_test.py"), "--base-url", base]
    # The checks go through the public URL only: in AWS the load balancer is internal (a runner
    # cannot reach it) and answers only requests carrying CloudFront's origin header; the WAF sits
    # in front of it and must block an injection probe.
    if args.env in ("dev", "prod") and not args.base_url:
        argv_smoke.append("--waf-probe")
    if args.revision:
        argv_smoke += ["--revision", args.revision]
    argv_smoke += ["--timeout", str(args.timeout), "--report", str(args.out_dir / f"smoke-{args.env}.json")]
    argv_smoke += ["--junit", str(args.out_dir / f"smoke-{args.env}-junit.xml")]
    print(f"smoke test of {args.env} at {base}", flush=True)
    return subprocess.run(argv_smoke, env={**os.environ, **keys}, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
