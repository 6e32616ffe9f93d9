"""Draw the architecture picture (docs/architecture.png) from the code: ``make diagram``.

What is drawn comes from the repository, not from memory: one ECS service and one DynamoDB table
per manifest (services/*/service.yaml, through scripts/manifests.py), the calls between services
from each manifest's ``dependencies``, their path prefixes on the load balancer, and the number
of availability zones of each environment from infra/envs/<env>/terraform.tfvars. The AWS parts
around them (edge, WAF, DNS, monitoring, pipeline) are those in infra/stack and infra/bootstrap.

Needs the ``diagrams`` package (tooling venv) and Graphviz ``dot`` (Debian package graphviz).
Usage: python scripts/diagram.py [--out docs/architecture.png]
Exit codes: 0 written, 1 could not draw (one line says why).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import hcl2
import manifests

ROOT = manifests.REPO_ROOT
DEFAULT_OUT = ROOT / "docs" / "architecture.png"
ENVS = ("dev", "prod")


class DiagramError(Exception):
    """Something that prevents drawing (one line for the person)."""


def az_counts() -> dict[str, int]:
    """Number of availability zones of each deployed environment (its tfvars' availability_zones)."""
    counts = {}
    for env in ENVS:
        path = ROOT / "infra" / "envs" / env / "terraform.tfvars"
        try:
            with path.open() as fh:
                data = hcl2.load(fh)
        except (OSError, ValueError) as exc:
            raise DiagramError(f"cannot read {path.relative_to(ROOT)}: {exc}") from exc
        value = data.get("availability_zones")
        if not isinstance(value, list) or not value:
            raise DiagramError(f"{path.relative_to(ROOT)} has no availability_zones list")
        counts[env] = len(value)
    return counts


def draw(out: Path) -> Path:
    """Render the picture into ``out`` (PNG) and return it."""
    if shutil.which("dot") is None:
        raise DiagramError("graphviz 'dot' not found on PATH (Debian package graphviz)")
    # Imported here so that --help works without the package.
    from diagrams import Cluster, Diagram, Edge
    from diagrams.aws.compute import ECR, ElasticContainerServiceService
    from diagrams.aws.database import DynamodbTable
    from diagrams.aws.integration import SNS
    from diagrams.aws.management import Cloudwatch, CloudwatchAlarm
    from diagrams.aws.network import ALB, CloudFront, NATGateway, Route53
    from diagrams.aws.security import WAF, IAMRole, SecretsManager
    from diagrams.aws.storage import S3
    from diagrams.onprem.ci import GithubActions
    from diagrams.onprem.client import Users

    services = manifests.load_all()
    project = manifests.project_name()
    azs = az_counts()
    by_name = {m.name: m for m in services}

    graph_attr = {"fontsize": "20", "pad": "0.4", "nodesep": "0.55", "ranksep": "0.9", "splines": "spline"}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "architecture"
        cwd = Path.cwd()
        os.chdir(tmp)  # diagrams writes its intermediate files in the working directory
        try:
            with Diagram(
                f"{project}: one environment on AWS (eu-west-1)",
                filename=str(base),
                outformat="png",
                show=False,
                direction="LR",
                graph_attr=graph_attr,
            ):
                users = Users("browsers and\nAPI clients")
                dns = Route53("Route 53\nalias record")
                with Cluster("Edge (global)"):
                    waf_edge = WAF("WAF (CloudFront)\nmanaged rules + rate limit")
                    cdn = CloudFront("CloudFront\nsecurity headers")
                    site = S3("static site bucket\nprivate, OAC only")

                with Cluster(
                    f"VPC: {azs['dev']} AZs in dev, {azs['prod']} AZs in prod",
                    graph_attr={"bgcolor": "#f3f7fb"},
                ):
                    with Cluster("public subnets"):
                        waf_alb = WAF("WAF (regional)")
                        alb = ALB("Application Load Balancer\npath rules")
                        nat = NATGateway("NAT gateway(s)")
                    with Cluster("private subnets: ECS Fargate, tasks spread over the AZs"):
                        ecs = {
                            m.name: ElasticContainerServiceService(
                                f"{m.name}\n{m.path_prefix}/*  port {m.port}\n"
                                f"{m.scaling.min}-{m.scaling.max} tasks (prod)"
                            )
                            for m in services
                        }

                with Cluster("Regional services"):
                    tables = {m.name: DynamodbTable(f"{project}-<env>-{m.name}\nPITR on") for m in services}
                    secrets = SecretsManager("Secrets Manager\n" + f"{project}/<env>/<service>/*")
                    ecr = ECR("ECR\nimmutable tags")

                with Cluster("Monitoring"):
                    cw = Cloudwatch("CloudWatch\nlogs, metrics, dashboard")
                    alarms = CloudwatchAlarm("alarms\n(anomaly bands)")
                    sns = SNS("SNS topic\n(email)")

                with Cluster("Delivery"):
                    gha = GithubActions("GitHub Actions\nplan on PR, apply on merge/tag")
                    role = IAMRole("OIDC roles\nplan / deploy")
                    state = S3("Terraform state\nS3 + DynamoDB lock")

                users >> dns >> cdn
                waf_edge - Edge(style="dashed") - cdn
                cdn >> Edge(label="static files") >> site
                cdn >> Edge(label="API paths") >> alb
                waf_alb - Edge(style="dashed") - alb
                for m in services:
                    alb >> Edge(label=m.path_prefix) >> ecs[m.name]
                    ecs[m.name] >> tables[m.name]
                    for dep in m.dependencies:
                        if dep.service in by_name:
                            (
                                ecs[m.name]
                                >> Edge(label=f"{dep.env}\n(private DNS)", color="darkgreen")
                                >> ecs[dep.service]
                            )
                first = services[0].name
                secrets >> Edge(style="dashed", label="injected at start") >> ecs[first]
                ecr >> Edge(style="dashed", label="image by digest") >> ecs[first]
                ecs[first] >> Edge(style="dotted") >> nat
                ecs[first] >> Edge(style="dotted", label="logs, EMF metrics") >> cw
                cw >> alarms >> sns
                gha >> Edge(label="OIDC") >> role
                role >> state
                role >> Edge(label="push") >> ecr
        finally:
            os.chdir(cwd)
        produced = base.with_suffix(".png")
        if not produced.is_file():
            raise DiagramError("graphviz produced no picture")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(produced, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="PNG file to write")
    args = parser.parse_args(argv)
    try:
        path = draw(args.out.resolve())
    except DiagramError as exc:
        print(f"diagram: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # an invalid manifest
        print(f"diagram: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"diagram: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"diagram: wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
