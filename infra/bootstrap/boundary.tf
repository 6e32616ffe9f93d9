# Permissions boundary of every role the stack of an environment creates (ECS task and execution
# roles, the VPC flow-log role). A role's effective permissions are the intersection of its own
# policies and its boundary ("Permissions boundaries for IAM entities", IAM user guide), so
# whatever policy a deploy role writes into a role, that role can do no more than this: pull the
# project's images, write the environment's ECS and flow logs, read the environment's secrets,
# use the environment's tables. The deploy role may create a role or change its policies only
# when the role carries this boundary (iam:PermissionsBoundary: policies.tf, StackRoles), may
# not remove it, and cannot edit this policy. The stack computes the same ARN
# (infra/stack/locals.tf permissions_boundary_arn).

locals {
  boundary_arn = { for e in var.environments : e => "${local.arn_prefix.iam}:policy/${local.project}-boundary-${e}" }
}

data "aws_iam_policy_document" "boundary" {
  for_each = toset(var.environments)

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullProjectImages" # any registry of the project (images may come from a promotion source)
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = ["arn:${local.partition}:ecr:*:*:repository/${local.project}/*"]
  }

  statement {
    sid     = "WriteEnvironmentLogs"
    actions = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    resources = [
      "${local.arn_prefix.logs}:log-group:/ecs/${local.project}-${each.key}/*",
      "${local.arn_prefix.logs}:log-group:/vpc/${local.project}-${each.key}/*",
    ]
  }

  statement {
    sid       = "ReadEnvironmentSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["${local.arn_prefix.secrets}:secret:${local.project}/${each.key}/*"]
  }

  statement {
    sid = "UseEnvironmentTables"
    actions = [
      "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
      "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
    ]
    resources = ["${local.arn_prefix.dynamodb}:table/${local.project}-${each.key}-*"]
  }
}

resource "aws_iam_policy" "boundary" {
  for_each = toset(var.environments)

  name        = "${local.project}-boundary-${each.key}"
  description = "Permissions boundary of the roles the ${each.key} stack creates"
  policy      = data.aws_iam_policy_document.boundary[each.key].json
}
