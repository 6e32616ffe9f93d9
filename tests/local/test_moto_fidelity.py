"""scripts/moto_fidelity.py: the emulator answers like AWS where stock moto does not (through the server)."""

from __future__ import annotations

import boto3

from tests.support.aws import REGION, MotoServer


def test_security_group_rules_keep_their_descriptions(moto: MotoServer) -> None:
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=moto.url)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="fidelity-a", Description="a", VpcId=vpc)["GroupId"]
    other = ec2.create_security_group(GroupName="fidelity-b", Description="b", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 80,
                "ToPort": 80,
                "UserIdGroupPairs": [{"GroupId": other, "Description": "from b"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 81,
                "ToPort": 81,
                "IpRanges": [{"CidrIp": "10.9.0.0/24", "Description": "from a CIDR"}],
            },
        ],
    )
    ec2.authorize_security_group_egress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "PrefixListIds": [{"PrefixListId": "pl-6da54004", "Description": "to s3"}],
            }
        ],
    )
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])[
        "SecurityGroupRules"
    ]
    described = {r.get("FromPort"): r.get("Description") for r in rules}
    assert described[80] == "from b"  # stock moto: None
    assert described[81] == "from a CIDR"
    assert described[443] == "to s3"  # stock moto: None
