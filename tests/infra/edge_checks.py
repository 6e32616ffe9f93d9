"""Checks of an applied stack's edge, WAF, ALB exposure and monitoring, against AWS or the emulator.

Every check takes a boto3 session (credentials and region of the stack), the stack's outputs
(``terraform output -json``, raw or already reduced to values) and, for the emulator, its endpoint
URL. A check returns nothing and raises AssertionError with a readable reason. Secret values are
compared, never printed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import ClientError

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # AWS managed cache policy
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
MANAGED_RULE_GROUPS = {
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
}
EDGE_REGION = "us-east-1"


def values(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """``terraform output -json`` reduced to name -> value (accepts already-reduced dicts)."""
    return {
        k: v["value"] if isinstance(v, Mapping) and "value" in v and "type" in v else v
        for k, v in outputs.items()
    }


def _client(session: boto3.Session, service: str, endpoint_url: str | None, region: str | None = None):
    return session.client(service, endpoint_url=endpoint_url, region_name=region or session.region_name)


def _distribution_config(session: boto3.Session, out: dict[str, Any], endpoint_url: str | None) -> dict:
    cloudfront = _client(session, "cloudfront", endpoint_url, EDGE_REGION)
    return cloudfront.get_distribution(Id=out["cloudfront_distribution_id"])["Distribution"][
        "DistributionConfig"
    ]


def check_distribution(
    session: boto3.Session, outputs: Mapping[str, Any], endpoint_url: str | None = None
) -> None:
    """Two origins (private S3 site, the ALB's VPC origin with the origin header, no internet origin);
    static default, APIs uncached."""
    out = values(outputs)
    config = _distribution_config(session, out, endpoint_url)
    origins = {o["Id"]: o for o in config["Origins"]["Items"]}
    assert len(origins) == 2, f"expected the S3 and ALB origins, found {sorted(origins)}"

    site = next(
        (o for o in origins.values() if o["DomainName"].startswith(out["site_bucket_name"] + ".")), None
    )
    assert site is not None, "no origin points at the site bucket"
    assert not site.get("S3OriginConfig", {}).get("OriginAccessIdentity"), "legacy OAI in use; expected OAC"
    # The emulator keeps it as AWS does (scripts/emu_cloudfront_distribution.py).
    assert site.get("OriginAccessControlId"), "the S3 origin has no Origin Access Control"

    # No origin is reached over the internet: the ALB only through its VPC origin (private hop).
    public = sorted(i for i, o in origins.items() if "CustomOriginConfig" in o)
    assert not public, f"origins {public} are custom (internet) origins"
    alb = next((o for o in origins.values() if o.get("VpcOriginConfig", {}).get("VpcOriginId")), None)
    assert alb is not None, "no VPC (ALB) origin"
    cloudfront = _client(session, "cloudfront", endpoint_url, EDGE_REGION)
    vpc_origin = cloudfront.get_vpc_origin(Id=alb["VpcOriginConfig"]["VpcOriginId"])["VpcOrigin"]
    assert vpc_origin["VpcOriginEndpointConfig"]["Arn"] == out["alb_arn"], "the VPC origin is not the ALB"
    headers = {h["HeaderName"] for h in alb.get("CustomHeaders", {}).get("Items", [])}
    assert out["origin_verify_header_name"] in headers, "CloudFront does not add the origin secret header"

    default = config["DefaultCacheBehavior"]
    assert default["TargetOriginId"] == site["Id"], "the default behaviour must serve the S3 site"
    assert default["ViewerProtocolPolicy"] == "redirect-to-https", "static site reachable over plain HTTP"
    assert default.get("CachePolicyId"), "static files have no cache policy"
    assert default["CachePolicyId"] != CACHING_DISABLED, "static files uncached"
    assert default.get("ResponseHeadersPolicyId"), "no security response headers on the site"

    behaviours = config.get("CacheBehaviors", {}).get("Items", [])
    patterns = [b["PathPattern"] for b in behaviours]
    assert patterns == list(out["api_path_patterns"]), (
        f"API behaviours {patterns} != {out['api_path_patterns']}"
    )
    for b in behaviours:
        where = f"behaviour {b['PathPattern']}"
        assert b["TargetOriginId"] == alb["Id"], f"{where} does not go to the ALB"
        assert b["ViewerProtocolPolicy"] == "redirect-to-https", f"{where} allows plain HTTP"
        assert set(b["AllowedMethods"]["Items"]) == ALL_METHODS, f"{where} does not allow every method"
        assert b.get("CachePolicyId") == CACHING_DISABLED, f"{where} caches API answers"
        assert b.get("OriginRequestPolicyId"), f"{where} forwards no headers or query strings"
        assert b.get("ResponseHeadersPolicyId"), f"{where} has no security response headers"

    assert config["HttpVersion"] == "http2and3", "HTTP/3 is off"
    assert config["Logging"]["Enabled"], "access logging is off"
    assert config["Logging"]["Bucket"].startswith(out["edge_log_bucket_name"] + "."), "logs go elsewhere"
    assert config.get("DefaultRootObject") == "index.html", "no default root object"


def check_waf(session: boto3.Session, outputs: Mapping[str, Any], endpoint_url: str | None = None) -> None:
    """The CLOUDFRONT ACL is on the distribution, the REGIONAL one on the ALB; both complete and logged."""
    out = values(outputs)
    config = _distribution_config(session, out, endpoint_url)
    assert config.get("WebACLId") == out["waf_edge_web_acl_arn"], (
        "the distribution is not protected by the edge ACL"
    )

    regional = _client(session, "wafv2", endpoint_url)
    attached = regional.get_web_acl_for_resource(ResourceArn=out["alb_arn"]).get("WebACL") or {}
    assert attached.get("ARN") == out["waf_alb_web_acl_arn"], "the ALB is not associated with its web ACL"

    for scope, arn, region in (
        ("CLOUDFRONT", out["waf_edge_web_acl_arn"], EDGE_REGION),
        ("REGIONAL", out["waf_alb_web_acl_arn"], session.region_name),
    ):
        waf = _client(session, "wafv2", endpoint_url, region)
        name, acl_id = arn.split("/")[-2:]
        acl = waf.get_web_acl(Name=name, Scope=scope, Id=acl_id)["WebACL"]
        rules = acl["Rules"]
        groups = {
            r["Statement"]["ManagedRuleGroupStatement"]["Name"]
            for r in rules
            if "ManagedRuleGroupStatement" in r["Statement"]
        }
        rate = [r for r in rules if "RateBasedStatement" in r["Statement"]]
        if scope == "CLOUDFRONT":  # sees the viewers' addresses: every rule
            assert groups >= MANAGED_RULE_GROUPS, (
                f"{scope} ACL lacks managed groups {sorted(MANAGED_RULE_GROUPS - groups)}"
            )
            assert rate, f"{scope}: no rate-based rule"
            assert rate[0]["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP", (
                f"{scope}: not per IP"
            )
        else:  # behind CloudFront: connecting addresses are CloudFront's, so no IP-keyed rule
            content = MANAGED_RULE_GROUPS - {"AWSManagedRulesAmazonIpReputationList"}
            assert groups == content, f"{scope} ACL groups {sorted(groups)}, expected {sorted(content)}"
            assert rate == [], f"{scope}: a per-IP rate rule behind CloudFront keys on CloudFront's addresses"

        logging = waf.get_logging_configuration(ResourceArn=arn)["LoggingConfiguration"]
        destinations = logging["LogDestinationConfigs"]
        assert destinations, f"{scope}: WAF logging has no destination"
        assert all(":log-group:aws-waf-logs-" in d for d in destinations), (
            f"{scope}: logs not in aws-waf-logs-*"
        )
        redacted = {
            f["SingleHeader"]["Name"].lower()
            for f in logging.get("RedactedFields", [])
            if "SingleHeader" in f
        }
        needed = {"x-api-key", out["origin_verify_header_name"].lower()}
        assert needed <= redacted, (
            f"{scope}: headers {sorted(needed - redacted)} are not redacted in WAF logs"
        )


def check_alb_is_internal(
    session: boto3.Session, outputs: Mapping[str, Any], endpoint_url: str | None = None
) -> None:
    """The ALB has no public address: internal, in the private subnets only."""
    out = values(outputs)
    elb = _client(session, "elbv2", endpoint_url)
    (alb,) = elb.describe_load_balancers(LoadBalancerArns=[out["alb_arn"]])["LoadBalancers"]
    assert alb["Scheme"] == "internal", f"the ALB is {alb['Scheme']}"
    subnets = {z["SubnetId"] for z in alb["AvailabilityZones"]}
    assert subnets == set(out["private_subnet_ids"]), "the ALB is not in exactly the private subnets"


def check_alb_admits_only_cloudfront(
    session: boto3.Session, outputs: Mapping[str, Any], endpoint_url: str | None = None
) -> None:
    """The ALB security group admits nothing but the CloudFront origin-facing prefix list."""
    out = values(outputs)
    ec2 = _client(session, "ec2", endpoint_url)
    lists = ec2.describe_managed_prefix_lists(PrefixListIds=[out["cloudfront_prefix_list_id"]])["PrefixLists"]
    assert lists, "the admitted prefix list does not exist"
    assert lists[0]["PrefixListName"] == CLOUDFRONT_PREFIX_LIST, "the admitted list is not CloudFront's"

    group = ec2.describe_security_groups(GroupIds=[out["alb_security_group_id"]])["SecurityGroups"][0]
    assert group["IpPermissions"], "the ALB admits no traffic at all"
    for perm in group["IpPermissions"]:
        where = f"ingress {perm.get('FromPort')}-{perm.get('ToPort')}"
        assert not perm.get("IpRanges"), f"{where} admits IPv4 ranges"
        assert not perm.get("Ipv6Ranges"), f"{where} admits IPv6 ranges"
        assert not perm.get("UserIdGroupPairs"), f"{where} admits other security groups"
        assert [p["PrefixListId"] for p in perm.get("PrefixListIds", [])] == [
            out["cloudfront_prefix_list_id"]
        ], f"{where} admits something other than the CloudFront prefix list"


def check_alb_requires_origin_header(
    session: boto3.Session, outputs: Mapping[str, Any], endpoint_url: str | None = None
) -> None:
    """Every forwarding rule requires the origin header with both slot values; the default answers 403."""
    out = values(outputs)
    secrets = _client(session, "secretsmanager", endpoint_url)
    expected = {
        secrets.get_secret_value(SecretId=arn)["SecretString"] for arn in out["origin_secret_arns"].values()
    }
    assert len(expected) == 2, "the two origin secret slots must hold different values"

    elb = _client(session, "elbv2", endpoint_url)
    rules = elb.describe_rules(ListenerArn=out["alb_listener_arn"])["Rules"]
    default = next(r for r in rules if r["IsDefault"])
    fixed = default["Actions"][0].get("FixedResponseConfig", {})
    assert fixed.get("StatusCode") == "403", "requests without the origin header must get 403"
    forwarding = [r for r in rules if not r["IsDefault"] and r["Actions"][0]["Type"] == "forward"]
    assert forwarding, "no forwarding rules on the serving listener"
    for rule in forwarding:
        accepted = {
            v
            for c in rule["Conditions"]
            if c.get("Field") == "http-header"
            and c["HttpHeaderConfig"]["HttpHeaderName"].lower() == out["origin_verify_header_name"].lower()
            for v in c["HttpHeaderConfig"]["Values"]
        }
        assert accepted == expected, (
            f"rule {rule['Priority']} does not accept exactly the two origin secret slots"
        )


def check_bucket_private(
    session: boto3.Session, outputs: Mapping[str, Any], endpoint_url: str | None = None
) -> None:
    """The site bucket blocks public access and is versioned; only the distribution reads it.

    Encryption is not read back here: every S3 bucket has SSE-S3 by default (on AWS and in the
    emulator, scripts/emu_s3_default_encryption.py), so the read could not fail; the module test
    (infra/modules/edge/tests/edge.tftest.hcl) checks that the configuration states it."""
    out = values(outputs)
    s3 = _client(session, "s3", endpoint_url)
    bucket = out["site_bucket_name"]
    try:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except ClientError as exc:
        raise AssertionError(
            f"no public access block on {bucket}: {exc.response['Error'].get('Code')}"
        ) from exc
    assert len(block) == 4, f"public access block incomplete: {block}"
    assert all(block.values()), f"public access not fully blocked: {block}"
    assert s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled", (
        "the site bucket is not versioned"
    )

    distribution_arn = _client(session, "cloudfront", endpoint_url, EDGE_REGION).get_distribution(
        Id=out["cloudfront_distribution_id"]
    )["Distribution"]["ARN"]
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    for stmt in policy["Statement"]:
        if stmt["Effect"] != "Allow":
            continue
        assert stmt["Principal"] == {"Service": "cloudfront.amazonaws.com"}, (
            f"{stmt.get('Sid')}: not CloudFront only"
        )
        assert stmt["Condition"]["StringEquals"]["AWS:SourceArn"] == distribution_arn, (
            f"{stmt.get('Sid')}: admits other distributions"
        )
        actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        assert actions == ["s3:GetObject"], f"{stmt.get('Sid')}: CloudFront may do more than read objects"


def _alarms(
    session: boto3.Session, endpoint_url: str | None, region: str, names: list[str]
) -> dict[str, dict]:
    cloudwatch = _client(session, "cloudwatch", endpoint_url, region)
    found: dict[str, dict] = {}
    for i in range(0, len(names), 100):
        page = cloudwatch.describe_alarms(
            AlarmNames=names[i : i + 100], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
        )
        for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            found[alarm["AlarmName"]] = alarm
    return found


def check_anomaly_alarms(
    session: boto3.Session, outputs: Mapping[str, Any], endpoint_url: str | None = None
) -> None:
    """Every anomaly alarm compares its metric with an ANOMALY_DETECTION_BAND and notifies the topic."""
    out = values(outputs)
    names = list(out["anomaly_alarm_names"])
    assert names, "no anomaly alarms"
    found = _alarms(session, endpoint_url, session.region_name, names)
    found.update(_alarms(session, endpoint_url, EDGE_REGION, [n for n in names if n not in found]))
    assert set(found) == set(names), f"missing alarms: {sorted(set(names) - set(found))}"
    topics = {out["alarm_topic_arn"], out["edge_alarm_topic_arn"]}
    for name, alarm in found.items():
        bands = [
            m
            for m in alarm.get("Metrics", [])
            if m.get("Expression", "").startswith("ANOMALY_DETECTION_BAND(")
        ]
        assert len(bands) == 1, f"{name}: no anomaly detection band"
        assert alarm.get("ThresholdMetricId") == bands[0]["Id"], f"{name}: the band is not its threshold"
        assert set(alarm.get("AlarmActions", [])) & topics, f"{name}: does not notify the alarm topic"


def _applied_alarms(state: Mapping[str, Any] | None) -> dict[str, dict]:
    """ECS service name -> its ``alarms`` block as Terraform applied it (``terraform show -json``)."""
    found: dict[str, dict] = {}

    def walk(module: Mapping[str, Any]) -> None:
        for r in module.get("resources", []):
            if r.get("type") == "aws_ecs_service" and r.get("mode") == "managed":
                blocks = r["values"].get("alarms") or []
                found[r["values"]["name"]] = (
                    {
                        "enable": blocks[0]["enable"],
                        "rollback": blocks[0]["rollback"],
                        "alarmNames": blocks[0]["alarm_names"],
                    }
                    if blocks
                    else {}
                )
        for child in module.get("child_modules", []):
            walk(child)

    if state:
        walk(state.get("values", {}).get("root_module", {}))
    return found


def check_deployment_alarms(
    session: boto3.Session,
    outputs: Mapping[str, Any],
    endpoint_url: str | None = None,
    state: Mapping[str, Any] | None = None,
) -> None:
    """Each ECS service rolls back on its deployment guard, which exists and notifies the topic.

    ``state`` (``terraform show -json``) is used only where the API answer lacks the deployment
    configuration: moto 5.2.5 drops it from DescribeServices.
    """
    out = values(outputs)
    ecs = _client(session, "ecs", endpoint_url)
    expected: dict[str, list[str]] = out["deployment_alarm_names"]
    services = out["services"]
    described = ecs.describe_services(
        cluster=out["cluster_name"], services=[services[s]["service_name"] for s in sorted(expected)]
    )["services"]
    by_name = {s["serviceName"]: s for s in described}
    applied = _applied_alarms(state)
    for service, names in expected.items():
        name = services[service]["service_name"]
        assert name in by_name, f"ECS service of {service} not found"
        config = by_name[name].get("deploymentConfiguration")
        if config is None:
            assert name in applied, f"{service}: no deployment configuration from the API and no state given"
            alarms = applied[name]
        else:
            alarms = config.get("alarms") or {}
        assert alarms.get("enable"), f"{service}: deployment alarms are off"
        assert alarms.get("rollback"), f"{service}: deployment alarms do not roll back"
        assert sorted(alarms.get("alarmNames", [])) == sorted(names), (
            f"{service}: watches {alarms.get('alarmNames')}"
        )
        found = _alarms(session, endpoint_url, session.region_name, names)
        assert set(found) == set(names), f"{service}: guard alarms missing: {sorted(set(names) - set(found))}"
        for alarm_name, alarm in found.items():
            assert out["alarm_topic_arn"] in alarm.get("AlarmActions", []), (
                f"{alarm_name}: does not notify the topic"
            )
            if "AlarmRule" in alarm:  # the composite: every child it names must exist
                children = [part.split('"')[1] for part in alarm["AlarmRule"].split("ALARM(")[1:]]
                assert children, f"{alarm_name}: the composite names no alarms"
                existing = _alarms(session, endpoint_url, session.region_name, children)
                assert set(existing) == set(children), f"{alarm_name}: refers to missing alarms"


ALL_CHECKS = (
    check_distribution,
    check_waf,
    check_alb_is_internal,
    check_alb_admits_only_cloudfront,
    check_alb_requires_origin_header,
    check_bucket_private,
    check_anomaly_alarms,
    check_deployment_alarms,
)
