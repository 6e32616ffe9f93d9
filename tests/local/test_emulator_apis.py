"""APIs and fields the emulator adds to moto (scripts/emu_*.py), through the server as the SDKs see them.

Each test names the stock-moto behaviour it replaces; every one fails with the module unregistered
from scripts/moto_fidelity.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.aws import REGION, MotoServer


def _client(moto: MotoServer, service: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=moto.url)


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    error = exc.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]


def _service(moto: MotoServer, cluster: str, **settings: Any) -> dict[str, Any]:
    """An awsvpc ECS service ``svc`` in a new cluster ``cluster``; its DescribeServices answer."""
    ecs, ec2 = _client(moto, "ecs"), _client(moto, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=cluster, Description="x", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName=cluster, capacityProviders=["FARGATE", "FARGATE_SPOT"])
    container = {"name": "a", "image": "a", "memory": 128}
    ecs.register_task_definition(family=cluster, containerDefinitions=[container])
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    ecs.create_service(
        cluster=cluster, serviceName="svc", taskDefinition=cluster, desiredCount=1,
        networkConfiguration=network, **settings,
    )  # fmt: skip
    return ecs.describe_services(cluster=cluster, services=["svc"])["services"][0]


CACHE_CONFIG = {
    "MinTTL": 0,
    "DefaultTTL": 60,
    "MaxTTL": 600,
    "ParametersInCacheKeyAndForwardedToOrigin": {
        "EnableAcceptEncodingGzip": True,
        "EnableAcceptEncodingBrotli": True,
        "HeadersConfig": {"HeaderBehavior": "none"},
        "CookiesConfig": {"CookieBehavior": "none"},
        "QueryStringsConfig": {"QueryStringBehavior": "none"},
    },
}


def test_cloudfront_cache_policy_lifecycle_with_etags(moto: MotoServer) -> None:
    """Stock moto: 404 on every policy path (no such API)."""
    cf = _client(moto, "cloudfront")
    name = f"static-{uuid.uuid4().hex[:8]}"
    created = cf.create_cache_policy(CachePolicyConfig={"Name": name, **CACHE_CONFIG})
    policy_id, etag = created["CachePolicy"]["Id"], created["ETag"]
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["Location"].endswith(f"/cache-policy/{policy_id}")
    got = cf.get_cache_policy(Id=policy_id)
    assert got["ETag"] == etag
    assert got["CachePolicy"]["CachePolicyConfig"]["DefaultTTL"] == 60
    assert cf.get_cache_policy_config(Id=policy_id)["CachePolicyConfig"]["Name"] == name
    listed = cf.list_cache_policies(Type="custom")["CachePolicyList"]["Items"]
    assert policy_id in [item["CachePolicy"]["Id"] for item in listed]

    with pytest.raises(ClientError) as duplicate:
        cf.create_cache_policy(CachePolicyConfig={"Name": name, **CACHE_CONFIG})
    assert _code(duplicate) == ("CachePolicyAlreadyExists", 409)

    with pytest.raises(ClientError) as stale:
        cf.update_cache_policy(
            Id=policy_id, IfMatch="STALE", CachePolicyConfig={"Name": name, **CACHE_CONFIG}
        )
    assert _code(stale) == ("PreconditionFailed", 412)
    updated = cf.update_cache_policy(
        Id=policy_id, IfMatch=etag, CachePolicyConfig={"Name": name, **CACHE_CONFIG, "DefaultTTL": 120}
    )
    assert updated["ETag"] != etag
    assert cf.get_cache_policy(Id=policy_id)["CachePolicy"]["CachePolicyConfig"]["DefaultTTL"] == 120

    with pytest.raises(ClientError) as old_etag:
        cf.delete_cache_policy(Id=policy_id, IfMatch=etag)
    assert _code(old_etag) == ("PreconditionFailed", 412)
    cf.delete_cache_policy(Id=policy_id, IfMatch=updated["ETag"])
    with pytest.raises(ClientError) as gone:
        cf.get_cache_policy(Id=policy_id)
    assert _code(gone) == ("NoSuchCachePolicy", 404)


def test_cloudfront_origin_request_and_response_headers_policies(moto: MotoServer) -> None:
    cf = _client(moto, "cloudfront")
    suffix = uuid.uuid4().hex[:8]
    origin = cf.create_origin_request_policy(
        OriginRequestPolicyConfig={
            "Name": f"api-{suffix}",
            "HeadersConfig": {"HeaderBehavior": "allViewerAndWhitelistCloudFront",
                              "Headers": {"Quantity": 1, "Items": ["CloudFront-Viewer-Country"]}},
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "all"},
        }
    )  # fmt: skip
    got = cf.get_origin_request_policy(Id=origin["OriginRequestPolicy"]["Id"])
    headers = got["OriginRequestPolicy"]["OriginRequestPolicyConfig"]["HeadersConfig"]["Headers"]
    assert headers["Items"] == ["CloudFront-Viewer-Country"]

    security = cf.create_response_headers_policy(
        ResponseHeadersPolicyConfig={
            "Name": f"security-{suffix}",
            "SecurityHeadersConfig": {
                "ContentTypeOptions": {"Override": True},
                "StrictTransportSecurity": {"Override": True, "AccessControlMaxAgeSec": 63072000,
                                            "IncludeSubdomains": True, "Preload": False},
            },
        }
    )  # fmt: skip
    policy_id = security["ResponseHeadersPolicy"]["Id"]
    config = cf.get_response_headers_policy(Id=policy_id)["ResponseHeadersPolicy"][
        "ResponseHeadersPolicyConfig"
    ]
    assert config["SecurityHeadersConfig"]["StrictTransportSecurity"]["AccessControlMaxAgeSec"] == 63072000
    with pytest.raises(ClientError) as missing_if_match:
        cf.delete_response_headers_policy(Id=policy_id)
    assert _code(missing_if_match)[0] == "InvalidIfMatchVersion"


def test_autoscaling_target_tags(moto: MotoServer) -> None:
    """Stock moto: ListTagsForResource answers 500 (not implemented); the AWS provider retried it
    for minutes on every scalable target."""
    cluster = f"tags-{uuid.uuid4().hex[:6]}"
    _service(moto, cluster)
    scaling = _client(moto, "application-autoscaling")
    target = {"ServiceNamespace": "ecs", "ResourceId": f"service/{cluster}/svc",
              "ScalableDimension": "ecs:service:DesiredCount"}  # fmt: skip
    arn = scaling.register_scalable_target(**target, MinCapacity=1, MaxCapacity=4, Tags={"team": "shop"})[
        "ScalableTargetARN"
    ]
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "shop"}
    scaling.tag_resource(ResourceARN=arn, Tags={"env": "dev"})
    scaling.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"env": "dev"}
    scaling.deregister_scalable_target(**target)
    with pytest.raises(ClientError) as gone:
        scaling.list_tags_for_resource(ResourceARN=arn)
    assert _code(gone)[0] == "ResourceNotFoundException"


def test_composite_alarm(moto: MotoServer) -> None:
    """Stock moto: PutCompositeAlarm is not an operation (error), though DescribeAlarms knows them."""
    cw = _client(moto, "cloudwatch")
    child = f"child-{uuid.uuid4().hex[:8]}"
    cw.put_metric_alarm(
        AlarmName=child, MetricName="5xx", Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    name = f"deployment-{uuid.uuid4().hex[:8]}"
    cw.put_composite_alarm(AlarmName=name, AlarmRule=f'ALARM("{child}")', AlarmDescription="guard")
    found = cw.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    assert [(a["AlarmName"], a["AlarmRule"], a["AlarmDescription"]) for a in found] == [
        (name, f'ALARM("{child}")', "guard")
    ]
    with pytest.raises(ClientError) as unknown_child:
        cw.put_composite_alarm(AlarmName=f"{name}-2", AlarmRule='ALARM("no-such-alarm")')
    assert _code(unknown_child)[0] == "ValidationError"
    cw.delete_alarms(AlarmNames=[name])
    assert cw.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"] == []


def test_ecs_service_keeps_its_capacity_provider_strategy(moto: MotoServer) -> None:
    """Stock moto: the strategy, managed tags and grace period are dropped and launchType is EC2,
    so Terraform replaced every Fargate Spot service on each plan."""
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]
    service = _service(
        moto, f"spot-{uuid.uuid4().hex[:6]}",
        capacityProviderStrategy=strategy, enableECSManagedTags=True, healthCheckGracePeriodSeconds=30,
        availabilityZoneRebalancing="ENABLED",
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                 "alarms": {"alarmNames": ["a"], "enable": True, "rollback": True}},
    )  # fmt: skip
    assert service["capacityProviderStrategy"] == strategy
    assert "launchType" not in service
    assert service["enableECSManagedTags"] is True
    assert service["healthCheckGracePeriodSeconds"] == 30
    assert service["availabilityZoneRebalancing"] == "ENABLED"
    assert service["deploymentConfiguration"]["alarms"]["alarmNames"] == ["a"]


def _distribution(origin: dict[str, Any]) -> dict[str, Any]:
    """A minimal DistributionConfig whose one origin (and default behaviour's target) is ``origin``."""
    return {
        "CallerReference": uuid.uuid4().hex,
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": origin["Id"], "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        },
        "ViewerCertificate": {"CloudFrontDefaultCertificate": True},
    }  # fmt: skip


def test_cloudfront_distribution_answers_what_it_was_given(moto: MotoServer) -> None:
    """Stock moto: the origin's OAC id is dropped, legacy ForwardedValues and SSLSupportMethod are
    invented (a perpetual Terraform diff on every distribution)."""
    cf = _client(moto, "cloudfront")
    oac = cf.create_origin_access_control(
        OriginAccessControlConfig={"Name": f"oac-{uuid.uuid4().hex[:8]}", "SigningProtocol": "sigv4",
                                   "SigningBehavior": "always", "OriginAccessControlOriginType": "s3"}
    )["OriginAccessControl"]["Id"]  # fmt: skip
    config = _distribution({
        "Id": "site", "DomainName": "site.s3.eu-west-1.amazonaws.com", "OriginAccessControlId": oac,
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    })  # fmt: skip
    created = cf.create_distribution(DistributionConfig=config)["Distribution"]
    answered = cf.get_distribution_config(Id=created["Id"])["DistributionConfig"]
    assert answered["Origins"]["Items"][0]["OriginAccessControlId"] == oac
    assert "ForwardedValues" not in answered["DefaultCacheBehavior"]
    assert "SSLSupportMethod" not in answered["ViewerCertificate"]


def test_cloudfront_distribution_keeps_an_origins_vpc_origin(moto: MotoServer) -> None:
    """Stock moto: an origin's VpcOriginConfig is dropped (the API origin would read back without
    its VPC origin, a perpetual Terraform diff)."""
    cf = _client(moto, "cloudfront")
    config = _distribution({
        "Id": "alb-api", "DomainName": "internal-x-alb-1.eu-west-1.elb.amazonaws.com",
        "VpcOriginConfig": {"VpcOriginId": "vo_0123456789abcdef", "OriginReadTimeout": 30,
                            "OriginKeepaliveTimeout": 5},
    })  # fmt: skip
    created = cf.create_distribution(DistributionConfig=config)["Distribution"]
    answered = cf.get_distribution_config(Id=created["Id"])["DistributionConfig"]
    origin = answered["Origins"]["Items"][0]
    assert origin["VpcOriginConfig"] == {
        "VpcOriginId": "vo_0123456789abcdef", "OriginReadTimeout": 30, "OriginKeepaliveTimeout": 5,
    }  # fmt: skip
    assert "CustomOriginConfig" not in origin


def test_route53_zone_created_with_a_vpc_is_private(moto: MotoServer) -> None:
    """Stock moto: a zone created with a VPC but no HostedZoneConfig.PrivateZone (what the AWS
    provider sends) was public and forgot its VPC (a replacement planned after every apply)."""
    vpc = _client(moto, "ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    route53 = _client(moto, "route53")
    zone = route53.create_hosted_zone(
        Name=f"z{uuid.uuid4().hex[:6]}.internal", CallerReference=uuid.uuid4().hex,
        VPC={"VPCRegion": REGION, "VPCId": vpc}, HostedZoneConfig={"Comment": "c"},
    )["HostedZone"]  # fmt: skip
    answered = route53.get_hosted_zone(Id=zone["Id"])
    assert answered["HostedZone"]["Config"]["PrivateZone"] is True
    assert answered["VPCs"] == [{"VPCRegion": REGION, "VPCId": vpc}]
