"""scripts/cloudfront_vpc_origins.py: the emulator's CloudFront VPC origin API (stock moto: none)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.aws import REGION, MotoServer

ALB = (
    f"arn:aws:elasticloadbalancing:{REGION}:123456789012:loadbalancer/app/storefront-dev-alb/0123456789abcdef"
)


def _config(name: str = "storefront-dev-alb", port: int = 80) -> dict:
    return {
        "Name": name,
        "Arn": ALB,
        "HTTPPort": port,
        "HTTPSPort": 443,
        "OriginProtocolPolicy": "http-only",
        "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]},
    }


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_create_get_update_list_delete(aws: MotoServer) -> None:
    cf = boto3.client("cloudfront", region_name="us-east-1")
    made = cf.create_vpc_origin(
        VpcOriginEndpointConfig=_config(), Tags={"Items": [{"Key": "environment", "Value": "dev"}]}
    )
    origin = made["VpcOrigin"]
    assert origin["Status"] == "Deploying"
    assert origin["Arn"].endswith(f":vpcorigin/{origin['Id']}")
    got = cf.get_vpc_origin(Id=origin["Id"])
    assert got["VpcOrigin"]["Status"] == "Deployed"
    assert got["VpcOrigin"]["VpcOriginEndpointConfig"]["Arn"] == ALB
    assert got["ETag"] == made["ETag"]
    assert cf.list_tags_for_resource(Resource=origin["Arn"])["Tags"]["Items"] == [
        {"Key": "environment", "Value": "dev"}
    ]

    with pytest.raises(ClientError) as exc:
        cf.update_vpc_origin(Id=origin["Id"], IfMatch="STALE", VpcOriginEndpointConfig=_config(port=8080))
    assert _code(exc) == "PreconditionFailed"
    updated = cf.update_vpc_origin(
        Id=origin["Id"], IfMatch=got["ETag"], VpcOriginEndpointConfig=_config(port=8080)
    )
    assert updated["ETag"] != got["ETag"]
    assert cf.get_vpc_origin(Id=origin["Id"])["VpcOrigin"]["VpcOriginEndpointConfig"]["HTTPPort"] == 8080
    listed = cf.list_vpc_origins()["VpcOriginList"]
    assert origin["Id"] in [i["Id"] for i in listed["Items"]]

    with pytest.raises(ClientError) as exc:
        cf.delete_vpc_origin(Id=origin["Id"], IfMatch=got["ETag"])  # the ETag before the update
    assert _code(exc) == "PreconditionFailed"
    cf.delete_vpc_origin(Id=origin["Id"], IfMatch=updated["ETag"])
    with pytest.raises(ClientError) as exc:
        cf.get_vpc_origin(Id=origin["Id"])
    assert _code(exc) == "EntityNotFound"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
