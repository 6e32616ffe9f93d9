"""Which IAM action, on which resource ARN, with which condition keys, an AWS API request is.

The emulator (iam_enforce.py) hands each signed request here as a ``Call``; ``authorizations``
answers the list of (action, resource, context) that must all be allowed. The names follow the
Service Authorization Reference (the "Actions, resources, and condition keys" page of each service):

- the action prefix is the service's IAM prefix (the SigV4 signing name, except CloudWatch's
  ``monitoring``), the action name the API operation, except S3, whose IAM actions differ from its
  operations (HeadObject is s3:GetObject, PutBucketEncryption is s3:PutEncryptionConfiguration...);
- the resource is the ARN the request names, for the services whose policies here scope resources
  (S3, DynamoDB, Secrets Manager, Logs, ECS, ELB, IAM, SNS, CloudWatch, SSM, ECR); for the others
  (EC2, CloudFront, WAF, Route 53, Cloud Map, Application Auto Scaling, ACM, KMS) it is None and
  only the action and conditions decide, as for AWS actions that take no resource;
- ``aws:RequestedRegion`` always; ``iam:AWSServiceName`` for CreateServiceLinkedRole;
  ``iam:PermissionsBoundary``: the boundary a CreateRole or PutRolePermissionsBoundary request
  names, and the role's current boundary for the calls that change an existing role's permissions
  (PutRolePolicy, AttachRolePolicy, DetachRolePolicy, DeleteRolePolicy, DeleteRolePermissionsBoundary);
- passing a role (ECS task and execution roles, the flow-log role) also needs ``iam:PassRole`` on
  that role with ``iam:PassedToService``, as AWS checks it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PREFIX = {"monitoring": "cloudwatch"}

# S3: (method, sub-resource in the query string) -> IAM action, bucket level and object level.
S3_BUCKET = {
    "GET": {
        "acl": "GetBucketAcl",
        "cors": "GetBucketCORS",
        "encryption": "GetEncryptionConfiguration",
        "lifecycle": "GetLifecycleConfiguration",
        "location": "GetBucketLocation",
        "logging": "GetBucketLogging",
        "notification": "GetBucketNotification",
        "object-lock": "GetBucketObjectLockConfiguration",
        "ownershipControls": "GetBucketOwnershipControls",
        "policy": "GetBucketPolicy",
        "policyStatus": "GetBucketPolicyStatus",
        "publicAccessBlock": "GetBucketPublicAccessBlock",
        "replication": "GetReplicationConfiguration",
        "requestPayment": "GetBucketRequestPayment",
        "tagging": "GetBucketTagging",
        "versioning": "GetBucketVersioning",
        "website": "GetBucketWebsite",
        "accelerate": "GetAccelerateConfiguration",
        "versions": "ListBucketVersions",
        "uploads": "ListBucketMultipartUploads",
        "": "ListBucket",
    },
    "PUT": {
        "acl": "PutBucketAcl",
        "cors": "PutBucketCORS",
        "encryption": "PutEncryptionConfiguration",
        "lifecycle": "PutLifecycleConfiguration",
        "logging": "PutBucketLogging",
        "notification": "PutBucketNotification",
        "object-lock": "PutBucketObjectLockConfiguration",
        "ownershipControls": "PutBucketOwnershipControls",
        "policy": "PutBucketPolicy",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "replication": "PutReplicationConfiguration",
        "requestPayment": "PutBucketRequestPayment",
        "tagging": "PutBucketTagging",
        "versioning": "PutBucketVersioning",
        "website": "PutBucketWebsite",
        "accelerate": "PutAccelerateConfiguration",
        "": "CreateBucket",
    },
    "DELETE": {
        "cors": "PutBucketCORS",
        "encryption": "PutEncryptionConfiguration",
        "lifecycle": "PutLifecycleConfiguration",
        "ownershipControls": "PutBucketOwnershipControls",
        "policy": "DeleteBucketPolicy",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "replication": "PutReplicationConfiguration",
        "tagging": "PutBucketTagging",
        "website": "DeleteBucketWebsite",
        "": "DeleteBucket",
    },
    "HEAD": {"": "ListBucket"},
    "POST": {"delete": "DeleteObject", "": "PutObject"},
}
S3_OBJECT = {
    "GET": {
        "acl": "GetObjectAcl",
        "tagging": "GetObjectTagging",
        "versionId": "GetObjectVersion",
        "": "GetObject",
    },
    "HEAD": {"versionId": "GetObjectVersion", "": "GetObject"},
    "PUT": {"acl": "PutObjectAcl", "tagging": "PutObjectTagging", "": "PutObject"},
    "DELETE": {"versionId": "DeleteObjectVersion", "uploadId": "AbortMultipartUpload", "": "DeleteObject"},
    "POST": {"": "PutObject"},
}

# Roles an API call passes to a service: (IAM action) -> [(parameter, service the role is passed to)].
PASSES = {
    "ecs:RegisterTaskDefinition": [
        ("taskRoleArn", "ecs-tasks.amazonaws.com"),
        ("executionRoleArn", "ecs-tasks.amazonaws.com"),
    ],
    "ec2:CreateFlowLogs": [("DeliverLogsPermissionArn", "vpc-flow-logs.amazonaws.com")],
}


# API operations whose IAM permissions are other actions (the operation's API reference says so:
# "This API operation requires the following IAM permissions").
REQUIRES = {
    "cloudfront:CreateDistributionWithTags": ("cloudfront:CreateDistribution", "cloudfront:TagResource"),
}


@dataclass
class Call:
    """One signed request, as the emulator sees it."""

    service: str  # SigV4 signing name
    operation: str  # API operation name (moto's routing)
    region: str
    account: str
    params: Mapping[str, Any] = field(default_factory=dict)  # JSON body, or query/form (first values)
    method: str = "POST"
    query: Mapping[str, Any] = field(default_factory=dict)
    s3_resource: str | None = None  # arn:aws:s3:::bucket[/key], as moto names it
    partition: str = "aws"


Authorization = tuple[str, str | None, dict[str, Any]]
SecretArn = Callable[[str, str, str], str]  # (account, region, name or ARN) -> the secret's ARN
RoleBoundary = Callable[[str, str], str | None]  # (account, role name) -> its boundary's ARN

BOUNDARY_IN_REQUEST = {"iam:CreateRole", "iam:PutRolePermissionsBoundary"}
BOUNDARY_OF_ROLE = {
    "iam:AttachRolePolicy",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePolicy",
}


def s3_action(call: Call) -> str:
    is_object = bool(call.s3_resource) and "/" in (call.s3_resource or "").split(":::", 1)[-1]
    table = (S3_OBJECT if is_object else S3_BUCKET).get(call.method, {})
    for key, action in table.items():
        if key and key in call.query:
            return action
    if call.s3_resource is None or call.s3_resource.endswith(":::*"):
        return "ListAllMyBuckets"
    return table.get("", call.operation)


def _arn(call: Call, service: str, rest: str, region: bool = True, account: bool = True) -> str:
    where = call.region if region else ""
    owner = call.account if account else ""
    return f"arn:{call.partition}:{service}:{where}:{owner}:{rest}"


def _name_or_arn(call: Call, value: str, service: str, rest: str) -> str:
    return value if value.startswith("arn:") else _arn(call, service, rest)


def _members(params: Mapping[str, Any], name: str) -> list[str]:
    """Query-protocol lists (Name.member.1...) or JSON lists."""
    if isinstance(params.get(name), list):
        return [str(v) for v in params[name]]
    return [str(v) for k, v in sorted(params.items()) if k.startswith(f"{name}.member.")]


Resources = list[str | None]


def resources(call: Call, prefix: str, secret_arn: SecretArn | None = None) -> Resources:
    """The ARNs a request names (several for batch deletes), or [None] when not derived."""
    if prefix == "secretsmanager":
        found = _secretsmanager_resources(call, secret_arn)
    else:
        step = _RESOURCES_BY_PREFIX.get(prefix)
        found = step(call) if step else None
    return found if found is not None else [None]


# One step per service prefix: the ARNs it derives, or None when the request names none.


def _s3_resources(call: Call) -> Resources:
    return [call.s3_resource if call.s3_resource and not call.s3_resource.endswith(":::*") else None]


def _dynamodb_resources(call: Call) -> Resources | None:
    table = call.params.get("TableName")
    return [_name_or_arn(call, str(table), "dynamodb", f"table/{table}")] if table else None


def _secretsmanager_resources(call: Call, secret_arn: SecretArn | None) -> Resources | None:
    name = call.params.get("SecretId") or call.params.get("Name")
    return [secret_arn(call.account, call.region, str(name))] if name and secret_arn is not None else None


def _logs_resources(call: Call) -> Resources | None:
    p = call.params
    arn = p.get("resourceArn")
    name = p.get("logGroupName") or p.get("logGroupIdentifier")
    if arn:
        return [str(arn)]
    return [_name_or_arn(call, str(name), "logs", f"log-group:{name}")] if name else None


def _sns_resources(call: Call) -> Resources | None:
    p = call.params
    arn = p.get("TopicArn") or p.get("ResourceArn") or p.get("SubscriptionArn")
    if arn:
        return [str(arn) if "SubscriptionArn" not in p else str(arn).rsplit(":", 1)[0]]
    return [_arn(call, "sns", str(p["Name"]))] if p.get("Name") else None


def _listed(params: Mapping[str, Any], many: str, one: str) -> list[str]:
    """The names of a batch parameter (``many``), else of its single form (``one``)."""
    return _members(params, many) or ([str(params[one])] if params.get(one) else [])


def _cloudwatch_resources(call: Call) -> Resources | None:
    p = call.params
    names = _listed(p, "AlarmNames", "AlarmName")
    if names:
        return [_arn(call, "cloudwatch", f"alarm:{n}") for n in names]
    dashboards = _listed(p, "DashboardNames", "DashboardName")
    if dashboards:
        return [_arn(call, "cloudwatch", f"dashboard/{d}", region=False) for d in dashboards]
    return [str(p["ResourceARN"])] if p.get("ResourceARN") else None


def _ssm_resources(call: Call) -> Resources | None:
    name = call.params.get("Name")
    return [_arn(call, "ssm", f"parameter/{str(name).lstrip('/')}")] if name else None


def _ecr_resources(call: Call) -> Resources | None:
    repository = call.params.get("repositoryName")
    return [_arn(call, "ecr", f"repository/{repository}")] if repository else None


def _ecs_resource(call: Call) -> str | None:
    p = call.params
    cluster = str(p.get("cluster") or p.get("clusterName") or "default").rsplit("/", 1)[-1]
    if p.get("resourceArn"):
        return str(p["resourceArn"])
    service = p.get("service") or p.get("serviceName")
    if service:
        return _name_or_arn(call, str(service), "ecs", f"service/{cluster}/{service}")
    if call.operation in ("DescribeTaskDefinition", "DeregisterTaskDefinition") and p.get("taskDefinition"):
        return _name_or_arn(call, str(p["taskDefinition"]), "ecs", f"task-definition/{p['taskDefinition']}")
    if call.operation in (
        "RegisterTaskDefinition",
        "ListTaskDefinitions",
        "ListClusters",
        "DescribeClusters",
    ):
        return None
    if p.get("cluster") or p.get("clusterName"):
        return _name_or_arn(call, str(p.get("cluster") or p.get("clusterName")), "ecs", f"cluster/{cluster}")
    return None


def _elb_resource(call: Call) -> str | None:
    p = call.params
    named = _members(p, "ResourceArns")
    for key in ("RuleArn", "ListenerArn", "TargetGroupArn", "LoadBalancerArn"):
        if p.get(key):
            named.append(str(p[key]))
    if named:
        return named[0]
    if call.operation == "CreateLoadBalancer" and p.get("Name"):
        return _arn(call, "elasticloadbalancing", f"loadbalancer/app/{p['Name']}/0000000000000000")
    if call.operation == "CreateTargetGroup" and p.get("Name"):
        return _arn(call, "elasticloadbalancing", f"targetgroup/{p['Name']}/0000000000000000")
    return None


def _iam_resource(call: Call) -> str | None:
    p = call.params
    if call.operation == "CreateServiceLinkedRole":
        return _arn(call, "iam", f"role/aws-service-role/{p.get('AWSServiceName', '')}/*", region=False)
    for key in ("PolicyArn", "OpenIDConnectProviderArn"):
        if p.get(key):
            return str(p[key])
    if p.get("RoleName"):
        return _arn(call, "iam", f"role/{p['RoleName']}", region=False)
    return None


def authorizations(
    call: Call, secret_arn: SecretArn | None = None, role_boundary: RoleBoundary | None = None
) -> list[Authorization]:
    """Every (action, resource, context) this request needs allowed."""
    prefix = PREFIX.get(call.service, call.service)
    operation = s3_action(call) if prefix == "s3" else call.operation
    action = f"{prefix}:{operation}"
    context: dict[str, Any] = {"aws:RequestedRegion": call.region}
    p = call.params
    if action == "iam:CreateServiceLinkedRole" and p.get("AWSServiceName"):
        context["iam:AWSServiceName"] = str(p["AWSServiceName"])
    if action in BOUNDARY_IN_REQUEST and p.get("PermissionsBoundary"):
        context["iam:PermissionsBoundary"] = str(p["PermissionsBoundary"])
    elif action in BOUNDARY_OF_ROLE and role_boundary is not None and p.get("RoleName"):
        boundary = role_boundary(call.account, str(p["RoleName"]))
        if boundary:
            context["iam:PermissionsBoundary"] = boundary
    needed: list[Authorization] = [
        (required, r, context)
        for required in REQUIRES.get(action, (action,))
        for r in resources(call, prefix, secret_arn)
    ]
    for param, service in PASSES.get(action, []):
        role = call.params.get(param)
        if role:
            needed.append(("iam:PassRole", str(role), {**context, "iam:PassedToService": service}))
    return needed


_RESOURCES_BY_PREFIX: dict[str, Callable[[Call], Resources | None]] = {
    "s3": _s3_resources,
    "dynamodb": _dynamodb_resources,
    "logs": _logs_resources,
    "ecs": lambda call: [_ecs_resource(call)],
    "elasticloadbalancing": lambda call: [_elb_resource(call)],
    "iam": lambda call: [_iam_resource(call)],
    "sns": _sns_resources,
    "cloudwatch": _cloudwatch_resources,
    "ssm": _ssm_resources,
    "ecr": _ecr_resources,
}
