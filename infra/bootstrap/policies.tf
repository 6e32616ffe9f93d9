# The permissions of the GitHub roles, written out. Resource ARNs are scoped to this project and
# environment by name (<project>-<env>-*) wherever the service supports resource-level permissions;
# the few actions AWS only grants on "*" (Describe/List calls, ecr:GetAuthorizationToken, creating
# task definitions) are named one by one and limited to the stack's region.

locals {
  arn_prefix = {
    s3       = "arn:${local.partition}:s3:::"
    dynamodb = "arn:${local.partition}:dynamodb:${local.region}:${local.account}"
    ecr      = "arn:${local.partition}:ecr:${local.region}:${local.account}"
    elb      = "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account}"
    ecs      = "arn:${local.partition}:ecs:${local.region}:${local.account}"
    iam      = "arn:${local.partition}:iam::${local.account}"
    secrets  = "arn:${local.partition}:secretsmanager:${local.region}:${local.account}"
    logs     = "arn:${local.partition}:logs:${local.region}:${local.account}"
    sns      = "arn:${local.partition}:sns:${local.region}:${local.account}"
    cw       = "arn:${local.partition}:cloudwatch:${local.region}:${local.account}"
    ssm      = "arn:${local.partition}:ssm:${local.region}:${local.account}"
  }
  alarm_regions = distinct([local.region, "us-east-1"])

  # Read-only calls terraform plan makes to refresh the stack (no secret values, no object reads
  # outside the state buckets).
  read_actions = [
    "acm:DescribeCertificate", "acm:ListCertificates", "acm:ListTagsForCertificate",
    "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:ListTagsForResource",
    "cloudfront:GetCachePolicy", "cloudfront:GetDistribution", "cloudfront:GetDistributionConfig",
    "cloudfront:GetOriginAccessControl", "cloudfront:GetOriginRequestPolicy", "cloudfront:GetResponseHeadersPolicy",
    "cloudfront:GetFunction", "cloudfront:DescribeFunction", "cloudfront:ListCachePolicies", "cloudfront:ListDistributions",
    "cloudfront:ListOriginAccessControls", "cloudfront:ListTagsForResource", "cloudfront:GetVpcOrigin",
    "cloudwatch:DescribeAlarms", "cloudwatch:DescribeAnomalyDetectors", "cloudwatch:GetDashboard",
    "cloudwatch:ListDashboards", "cloudwatch:ListTagsForResource",
    "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive",
    "dynamodb:ListTables", "dynamodb:ListTagsOfResource",
    "ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute", "ec2:DescribeAvailabilityZones", "ec2:DescribeFlowLogs",
    "ec2:DescribeInternetGateways", "ec2:DescribeManagedPrefixLists", "ec2:DescribeNatGateways", "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribePrefixLists", "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeTags",
    "ec2:DescribeVpcAttribute", "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcs", "ec2:GetManagedPrefixListEntries",
    "ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:ListTagsForResource",
    "ecs:DescribeCapacityProviders", "ecs:DescribeClusters", "ecs:DescribeServices", "ecs:DescribeTaskDefinition",
    "ecs:ListClusters", "ecs:ListServices", "ecs:ListTagsForResource", "ecs:ListTaskDefinitions",
    "elasticloadbalancing:DescribeCapacityReservation", "elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetGroups",
    "iam:GetOpenIDConnectProvider", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole", "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:ListRoleTags",
    "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListResourceTags",
    "logs:DescribeLogGroups", "logs:DescribeMetricFilters", "logs:DescribeResourcePolicies", "logs:ListTagsForResource",
    "logs:ListTagsLogGroup",
    "route53:GetChange", "route53:GetHostedZone", "route53:ListHostedZones", "route53:ListResourceRecordSets",
    "route53:ListTagsForResource",
    "s3:GetAccelerateConfiguration", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketLocation",
    "s3:GetBucketLogging", "s3:GetBucketObjectLockConfiguration", "s3:GetBucketOwnershipControls",
    "s3:GetBucketPolicy", "s3:GetBucketPublicAccessBlock", "s3:GetBucketRequestPayment", "s3:GetBucketTagging",
    "s3:GetBucketVersioning", "s3:GetBucketWebsite", "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration",
    "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:ListSecrets",
    "servicediscovery:GetNamespace", "servicediscovery:GetOperation", "servicediscovery:GetService",
    "servicediscovery:ListNamespaces", "servicediscovery:ListServices", "servicediscovery:ListTagsForResource",
    "sns:GetSubscriptionAttributes", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource",
    "sts:GetCallerIdentity",
    "wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:GetLoggingConfiguration", "wafv2:ListResourcesForWebACL",
    "wafv2:ListTagsForResource", "wafv2:ListWebACLs",
  ]
}

# Both kinds of role use the backend of their environment(s): state objects and the lock table.
# The reads of a plan, in their own managed policy attached to the plan role and every deploy role
# (a managed policy holds at most 6,144 characters without whitespace: scripts/quotas.py).
data "aws_iam_policy_document" "read_stacks" {
  statement {
    sid       = "ReadTheStacks"
    actions   = local.read_actions
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region, "us-east-1"] # us-east-1: CloudFront, WAF for CloudFront, Route 53, ACM for CloudFront
    }
  }
}

data "aws_iam_policy_document" "plan" {
  # s3:ListBucket is also what HeadBucket needs: without it on the stack's buckets the provider
  # reads a 403 as "bucket gone" and the plan replaces them (found by tests/infra/test_stack_lifecycle.py).
  statement {
    sid     = "ListBuckets"
    actions = ["s3:ListBucket"]
    resources = concat([for b in values(local.state_bucket) : "${local.arn_prefix.s3}${b}"], [
      for kind in ["site", "alb-logs", "edge-logs"] : "${local.arn_prefix.s3}${local.project}-*-${kind}-${local.account}"
    ])
  }

  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = [for b in values(local.state_bucket) : "${local.arn_prefix.s3}${b}/*"]
  }

  # Planning the edge reads the CloudFront origin secret (its value is in the CloudFront header and
  # the ALB rule); no other secret value is readable with this role.
  statement {
    sid       = "ReadOriginSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["${local.arn_prefix.secrets}:secret:${local.project}/*/edge/ORIGIN_VERIFY_*"]
  }

  statement {
    sid       = "GenerateOriginSecret"
    actions   = ["secretsmanager:GetRandomPassword"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadDeployRecords" # scripts/ci/deploy_record.py: last good images per environment
    actions   = ["ssm:GetParameter"]
    resources = ["${local.arn_prefix.ssm}:parameter/${local.project}/*/deploy/*"]
  }

  statement {
    sid       = "TakeTheStateLock"
    actions   = ["dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem"]
    resources = [for t in values(local.lock_table) : "${local.arn_prefix.dynamodb}:table/${t}"]
  }
}

data "aws_iam_policy_document" "deploy_platform" {
  for_each = toset(var.environments)

  statement {
    sid       = "State"
    actions   = ["s3:ListBucket"]
    resources = ["${local.arn_prefix.s3}${local.state_bucket[each.key]}"]
  }

  statement {
    sid       = "StateObjects"
    actions   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = ["${local.arn_prefix.s3}${local.state_bucket[each.key]}/*"]
  }

  statement {
    sid       = "StateLock"
    actions   = ["dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem"]
    resources = ["${local.arn_prefix.dynamodb}:table/${local.lock_table[each.key]}"]
  }

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PushImages"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
    ]
    resources = local.ecr_repository_arns
  }

  statement {
    sid = "Network"
    actions = [
      "ec2:AllocateAddress", "ec2:AssociateRouteTable", "ec2:AttachInternetGateway", "ec2:AuthorizeSecurityGroupEgress",
      "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateFlowLogs", "ec2:CreateInternetGateway", "ec2:CreateNatGateway",
      "ec2:CreateRoute", "ec2:CreateRouteTable", "ec2:CreateSecurityGroup", "ec2:CreateSubnet", "ec2:CreateTags",
      "ec2:CreateVpc", "ec2:CreateVpcEndpoint", "ec2:DeleteFlowLogs", "ec2:DeleteInternetGateway",
      "ec2:DeleteNatGateway", "ec2:DeleteRoute", "ec2:DeleteRouteTable", "ec2:DeleteSecurityGroup",
      "ec2:DeleteSubnet", "ec2:DeleteTags", "ec2:DeleteVpc", "ec2:DeleteVpcEndpoints", "ec2:DetachInternetGateway",
      "ec2:DisassociateAddress", "ec2:DisassociateRouteTable", "ec2:ModifySecurityGroupRules",
      "ec2:ModifySubnetAttribute", "ec2:ModifyVpcAttribute", "ec2:ModifyVpcEndpoint", "ec2:ReleaseAddress",
      "ec2:ReplaceRoute", "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress",
      "ec2:UpdateSecurityGroupRuleDescriptionsEgress", "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }

  statement {
    sid = "LoadBalancer"
    actions = [
      "elasticloadbalancing:AddTags", "elasticloadbalancing:CreateListener", "elasticloadbalancing:CreateLoadBalancer",
      "elasticloadbalancing:CreateRule", "elasticloadbalancing:CreateTargetGroup",
      "elasticloadbalancing:DeleteListener", "elasticloadbalancing:DeleteLoadBalancer",
      "elasticloadbalancing:DeleteRule", "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyListenerAttributes",
      "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:ModifyRule",
      "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
      "elasticloadbalancing:RemoveTags", "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
      "elasticloadbalancing:SetWebAcl",
    ]
    resources = [
      "${local.arn_prefix.elb}:loadbalancer/app/${local.project}-${each.key}-*/*",
      "${local.arn_prefix.elb}:targetgroup/${local.project}-${each.key}-*/*",
      "${local.arn_prefix.elb}:listener/app/${local.project}-${each.key}-*/*",
      "${local.arn_prefix.elb}:listener-rule/app/${local.project}-${each.key}-*/*",
    ]
  }

  statement {
    sid       = "ServiceLinkedRoles"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["${local.arn_prefix.iam}:role/aws-service-role/*"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values = [
        "ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com",
        "ecs.application-autoscaling.amazonaws.com",
        # AWSServiceRoleForCloudFrontVPCOrigin, created with the account's first VPC origin.
        "vpcorigin.cloudfront.amazonaws.com",
      ]
    }
  }

  # The deploy role may not re-configure or delete its own state backend.
  statement {
    sid    = "ProtectTheBackend"
    effect = "Deny"
    actions = [
      "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketPolicy", "s3:PutBucketVersioning",
      "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration", "s3:PutBucketPublicAccessBlock",
      "dynamodb:DeleteTable", "dynamodb:UpdateTable",
    ]
    resources = [
      "${local.arn_prefix.s3}${local.state_bucket[each.key]}",
      "${local.arn_prefix.dynamodb}:table/${local.lock_table[each.key]}",
    ]
  }
}

data "aws_iam_policy_document" "deploy_services" {
  for_each = toset(var.environments)

  statement {
    sid = "Cluster"
    actions = [
      "ecs:CreateCluster", "ecs:CreateService", "ecs:DeleteCluster", "ecs:DeleteService",
      "ecs:PutClusterCapacityProviders", "ecs:TagResource", "ecs:UntagResource", "ecs:UpdateCluster",
      "ecs:UpdateClusterSettings", "ecs:UpdateService",
    ]
    resources = [
      "${local.arn_prefix.ecs}:cluster/${local.project}-${each.key}",
      "${local.arn_prefix.ecs}:service/${local.project}-${each.key}/*",
      "${local.arn_prefix.ecs}:task-definition/${local.project}-${each.key}-*:*",
    ]
  }

  statement {
    sid       = "TaskDefinitions" # no resource-level permissions exist for these two
    actions   = ["ecs:DeregisterTaskDefinition", "ecs:RegisterTaskDefinition"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }

  # Roles only with the environment's permissions boundary (boundary.tf): iam:PermissionsBoundary
  # is the boundary named in CreateRole/PutRolePermissionsBoundary and the role's current one for
  # PutRolePolicy (Service Authorization Reference, IAM: condition keys).
  statement {
    sid       = "StackRolesBounded"
    actions   = ["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"]
    resources = ["${local.arn_prefix.iam}:role/${local.project}-${each.key}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.boundary_arn[each.key]]
    }
  }

  statement {
    sid = "StackRoles"
    actions = [
      "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:ListInstanceProfilesForRole", "iam:TagRole", "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
    ]
    resources = ["${local.arn_prefix.iam}:role/${local.project}-${each.key}-*"]
  }

  statement {
    sid       = "KeepBoundaries"
    effect    = "Deny"
    actions   = ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:DeleteRolePermissionsBoundary", "iam:SetDefaultPolicyVersion"]
    resources = concat(values(local.boundary_arn), ["${local.arn_prefix.iam}:role/*"])
  }

  statement {
    sid       = "PassStackRoles"
    actions   = ["iam:PassRole"]
    resources = ["${local.arn_prefix.iam}:role/${local.project}-${each.key}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com", "vpc-flow-logs.amazonaws.com"]
    }
  }

  statement {
    sid = "Tables"
    actions = [
      "dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:TagResource", "dynamodb:UntagResource",
      "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTable", "dynamodb:UpdateTimeToLive",
    ]
    resources = ["${local.arn_prefix.dynamodb}:table/${local.project}-${each.key}-*"]
  }

  # The edge module's origin secret starts from Secrets Manager's random password generator (an
  # API with no resource to scope to).
  statement {
    sid       = "GenerateOriginSecret"
    actions   = ["secretsmanager:GetRandomPassword"]
    resources = ["*"]
  }

  # Terraform creates the secrets without values; scripts/sync_secrets.py (deploy workflow) writes
  # and compares the values with this same role, and scripts/roll_services.py reads when the
  # current value was written (ListSecretVersionIds: dates, never values).
  statement {
    sid = "Secrets"
    actions = [
      "secretsmanager:CreateSecret", "secretsmanager:DeleteSecret", "secretsmanager:GetSecretValue",
      "secretsmanager:ListSecretVersionIds", "secretsmanager:PutSecretValue", "secretsmanager:TagResource",
      "secretsmanager:UntagResource", "secretsmanager:UpdateSecret",
    ]
    resources = ["${local.arn_prefix.secrets}:secret:${local.project}/${each.key}/*"]
  }

  statement {
    sid = "LogGroups"
    actions = [
      "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DeleteRetentionPolicy", "logs:PutRetentionPolicy",
      "logs:TagLogGroup", "logs:TagResource", "logs:UntagLogGroup", "logs:UntagResource",
    ]
    resources = [
      "${local.arn_prefix.logs}:log-group:/ecs/${local.project}-${each.key}/*",
      "${local.arn_prefix.logs}:log-group:/vpc/${local.project}-${each.key}/*",
    ]
  }

  statement {
    sid = "ServiceDiscovery"
    actions = [
      "route53:AssociateVPCWithHostedZone", "route53:ChangeResourceRecordSets", "route53:CreateHostedZone",
      "route53:DeleteHostedZone", "servicediscovery:CreatePrivateDnsNamespace", "servicediscovery:CreateService",
      "servicediscovery:DeleteNamespace", "servicediscovery:DeleteService", "servicediscovery:TagResource",
      "servicediscovery:UntagResource", "servicediscovery:UpdateService",
      # What Cloud Map itself calls for CreatePrivateDnsNamespace (AWS Cloud Map API permissions
      # reference); the emulator checks only each API's own action, so these are not exercised.
      # The same Route 53 actions create and delete the VPC's private zone (modules/private_dns):
      # CreateHostedZone with the VPC (AWS also checks AssociateVPCWithHostedZone and
      # ec2:DescribeVpcs for a private zone), records, DeleteHostedZone; tags and reads are in
      # CdnWafDns and the plan role. Route 53 has no tag or name condition on CreateHostedZone and
      # zone ARNs carry no account: "*" in the requested regions is as tight as IAM allows.
      # DisassociateVPCFromHostedZone is not granted: one VPC, set at create, never changed.
      "route53:GetHostedZone", "route53:ListHostedZonesByName", "ec2:DescribeRegions", "ec2:DescribeVpcs",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region, "us-east-1"]
    }
  }

  statement {
    sid       = "DeployRecords" # scripts/ci/deploy_record.py
    actions   = ["ssm:GetParameter", "ssm:PutParameter", "ssm:AddTagsToResource"]
    resources = ["${local.arn_prefix.ssm}:parameter/${local.project}/${each.key}/deploy/*"]
  }

  statement {
    sid = "Autoscaling"
    actions = [
      "application-autoscaling:DeleteScalingPolicy", "application-autoscaling:DeregisterScalableTarget",
      "application-autoscaling:PutScalingPolicy", "application-autoscaling:RegisterScalableTarget",
      "application-autoscaling:TagResource", "application-autoscaling:UntagResource",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }
}

data "aws_iam_policy_document" "deploy_edge" {
  for_each = toset(var.environments)

  statement {
    sid = "SiteAndLogBuckets"
    actions = [
      "s3:CreateBucket", "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:DeleteObject", "s3:DeleteObjectVersion",
      "s3:GetObject", "s3:ListBucket", "s3:ListBucketVersions", "s3:PutBucketAcl", "s3:PutBucketLogging",
      "s3:PutBucketOwnershipControls", "s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock", "s3:PutBucketTagging",
      "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration", "s3:PutObject",
    ]
    resources = [
      "${local.arn_prefix.s3}${local.project}-${each.key}-alb-logs-${local.account}",
      "${local.arn_prefix.s3}${local.project}-${each.key}-alb-logs-${local.account}/*",
      "${local.arn_prefix.s3}${local.project}-${each.key}-edge-logs-${local.account}",
      "${local.arn_prefix.s3}${local.project}-${each.key}-edge-logs-${local.account}/*",
      "${local.arn_prefix.s3}${local.project}-${each.key}-site-*",
      "${local.arn_prefix.s3}${local.project}-${each.key}-site-*/*",
    ]
  }

  statement {
    sid = "CdnWafDns"
    actions = [
      "cloudfront:CreateCachePolicy", "cloudfront:CreateDistribution", "cloudfront:CreateInvalidation",
      "cloudfront:CreateOriginAccessControl", "cloudfront:CreateOriginRequestPolicy",
      "cloudfront:CreateResponseHeadersPolicy", "cloudfront:DeleteCachePolicy", "cloudfront:DeleteDistribution",
      "cloudfront:DeleteOriginAccessControl", "cloudfront:DeleteOriginRequestPolicy",
      "cloudfront:DeleteResponseHeadersPolicy", "cloudfront:TagResource", "cloudfront:UntagResource",
      "cloudfront:UpdateCachePolicy", "cloudfront:UpdateDistribution", "cloudfront:UpdateOriginAccessControl",
      "cloudfront:UpdateOriginRequestPolicy", "cloudfront:UpdateResponseHeadersPolicy",
      # The API origin: a VPC origin to the internal ALB (modules/edge/vpc_origin.tf).
      "cloudfront:CreateVpcOrigin", "cloudfront:DeleteVpcOrigin", "cloudfront:UpdateVpcOrigin",
      "route53:ChangeResourceRecordSets", "route53:ChangeTagsForResource",
      # Certificates for a custom domain_name (modules/dns): in us-east-1 for CloudFront, regional for the ALB.
      "acm:AddTagsToCertificate", "acm:DeleteCertificate", "acm:RemoveTagsFromCertificate", "acm:RequestCertificate",
      "wafv2:AssociateWebACL", "wafv2:CreateWebACL", "wafv2:DeleteLoggingConfiguration", "wafv2:DeleteWebACL",
      "wafv2:DisassociateWebACL", "wafv2:PutLoggingConfiguration", "wafv2:TagResource", "wafv2:UntagResource",
      "wafv2:UpdateWebACL",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region, "us-east-1"]
    }
  }
}

# Alarms, their topics and keys, metric filters and WAF log groups: in the stack's region and in
# us-east-1 (CloudFront's metrics and the CloudFront web ACL live there).
data "aws_iam_policy_document" "deploy_monitoring" {
  for_each = toset(var.environments)

  statement {
    sid = "Alarms"
    actions = [
      "cloudwatch:DeleteAlarms", "cloudwatch:PutCompositeAlarm", "cloudwatch:PutMetricAlarm",
      "cloudwatch:TagResource", "cloudwatch:UntagResource",
    ]
    resources = [for r in local.alarm_regions : "arn:${local.partition}:cloudwatch:${r}:${local.account}:alarm:${local.project}-${each.key}-*"]
  }

  statement {
    sid       = "Dashboards"
    actions   = ["cloudwatch:DeleteDashboards", "cloudwatch:PutDashboard"]
    resources = ["arn:${local.partition}:cloudwatch::${local.account}:dashboard/${local.project}-${each.key}*"]
  }

  statement {
    sid = "AlarmTopics"
    actions = [
      "sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:TagResource",
      "sns:Unsubscribe", "sns:UntagResource",
    ]
    resources = [for r in local.alarm_regions : "arn:${local.partition}:sns:${r}:${local.account}:${local.project}-${each.key}-*"]
  }

  # The alarm topics are encrypted with their own keys (below).
  statement {
    sid = "ManageKeys"
    actions = [
      "kms:CreateAlias", "kms:DeleteAlias", "kms:EnableKeyRotation", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion",
      "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
    ]
    resources = flatten([for r in local.alarm_regions : [
      "arn:${local.partition}:kms:${r}:${local.account}:key/*",
      "arn:${local.partition}:kms:${r}:${local.account}:alias/${local.project}-${each.key}-*",
    ]])
  }

  statement {
    sid = "MetricFiltersAndWafLogs"
    actions = [
      "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DeleteMetricFilter", "logs:DeleteRetentionPolicy",
      "logs:PutMetricFilter", "logs:PutRetentionPolicy", "logs:TagResource", "logs:UntagResource",
    ]
    resources = flatten([for r in local.alarm_regions : [
      "arn:${local.partition}:logs:${r}:${local.account}:log-group:aws-waf-logs-${local.project}-${each.key}-*",
      "arn:${local.partition}:logs:${r}:${local.account}:log-group:/ecs/${local.project}-${each.key}/*",
    ]])
  }

  # Calls that take no resource ("*" in the Service Authorization Reference): anomaly detectors,
  # creating KMS keys and listing aliases, and WAF logging's log-group resource policy and log
  # delivery (AWS WAF developer guide, "Permissions required to publish logs to CloudWatch Logs").
  statement {
    sid = "NoResourceLevel"
    actions = [
      "cloudwatch:DeleteAnomalyDetector", "cloudwatch:PutAnomalyDetector", "kms:CreateKey", "kms:ListAliases",
      "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DeleteResourcePolicy", "logs:PutResourcePolicy",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = local.alarm_regions
    }
  }
}
