"""Checks of the applied stack's private zone (infra/modules/private_dns), against AWS or the emulator.

Same shape as tests/infra/edge_checks.py: a boto3 session, the stack's outputs and, for the
emulator, its endpoint URL; AssertionError with a readable reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3

from tests.infra.edge_checks import values


def _records(route53: Any, zone_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    pages = route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id)
    return {(r["Name"].rstrip("."), r["Type"]): r for page in pages for r in page["ResourceRecordSets"]}


def _cname(records: Mapping[tuple[str, str], dict[str, Any]], name: str) -> list[str]:
    record = records.get((name, "CNAME"))
    assert record is not None, f"no CNAME {name}"
    return [r["Value"].rstrip(".") for r in record.get("ResourceRecords", [])]


def check_private_zone(
    session: boto3.Session, outputs: Mapping[str, Any], endpoint_url: str | None = None
) -> None:
    """A private zone associated with the stack's VPC holding api (A/alias) and alb (CNAME) for the
    ALB and cdn (CNAME) for the distribution."""
    out = values(outputs)
    names = out["private_dns"]
    route53 = session.client("route53", endpoint_url=endpoint_url, region_name=session.region_name)
    zone = route53.get_hosted_zone(Id=names["zone_id"])
    assert zone["HostedZone"]["Config"].get("PrivateZone") is True, "the zone is not private"
    vpcs = {v["VPCId"] for v in zone.get("VPCs", [])}
    assert vpcs == {out["vpc_id"]}, f"the zone is associated with {sorted(vpcs)}, not the stack's VPC"

    records = _records(route53, names["zone_id"])
    alias = records.get((names["alb_alias"], "A"), {}).get("AliasTarget")
    assert alias is not None, f"no A/alias record {names['alb_alias']}"
    assert alias["DNSName"].rstrip(".").lower() == out["alb_dns_name"].lower(), "the A/alias is not the ALB"
    assert alias["HostedZoneId"] == out["alb_zone_id"], "the A/alias names another zone than the ALB's"
    assert _cname(records, names["alb_cname"]) == [out["alb_dns_name"]], "the ALB CNAME is not the ALB"
    assert _cname(records, names["cdn_cname"]) == [out["cloudfront_domain_name"]], (
        "the CDN CNAME is not the distribution"
    )
