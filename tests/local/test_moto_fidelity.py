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


def test_every_bucket_has_sse_s3_default_encryption(moto: MotoServer) -> None:
    """AWS: every bucket has SSE-S3 default encryption; deleting a configuration puts it back."""
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto.url)
    bucket = "fidelity-default-encryption"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    sse_s3 = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}

    def rules() -> list[dict[str, object]]:
        return s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]

    assert rules() == [sse_s3]  # stock moto: ServerSideEncryptionConfigurationNotFoundError
    put = s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    assert put["ServerSideEncryption"] == "AES256"  # stock moto: no header
    kms = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [kms]})
    assert rules() == [kms]
    s3.delete_bucket_encryption(Bucket=bucket)
    assert rules() == [sse_s3]  # stock moto: not found again
