# Account bootstrap, applied once by an administrator (see README): the GitHub OIDC provider,
# a read-only `plan` role for the <env>-plan GitHub environments (PR plans, drift), one `deploy` role per environment, and one ECR
# repository per service. Every permission is written out; none is `*` on `*`.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  repo_root = "${path.module}/../.."
  project   = yamldecode(file("${local.repo_root}/services/project.yaml")).project
  services  = sort([for f in fileset("${local.repo_root}/services", "*/service.yaml") : dirname(f)])

  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = var.region
  oidc_host = "token.actions.githubusercontent.com"
  # Built from their documented ARN formats (not read from the created resources), so every policy
  # document is rendered at plan time and scripts/quotas.py can measure it before the apply.
  oidc_arn = "arn:${local.partition}:iam::${local.account}:oidc-provider/${local.oidc_host}"

  # The state backend of each environment (same names as scripts/bootstrap_backend.py).
  state_bucket = { for e in var.environments : e => "${local.project}-${e}-tfstate-${local.region}" }
  lock_table   = { for e in var.environments : e => "${local.project}-${e}-tflock" }

  ecr_repository_arns = [for s in local.services : "arn:${local.partition}:ecr:${local.region}:${local.account}:repository/${local.project}/${s}"]
}

# --- GitHub OIDC ---------------------------------------------------------------------------------

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
}

# Who may assume each role: "plan" (read-only) from the <env>-plan GitHub environments, where the
# plan jobs (pull requests, drift, release checks) run without reviewers or secrets; each deploy
# role from its own GitHub environment only. One statement per environment, each with a literal
# subject (what checkov's CKV_AWS_358 can verify).
data "aws_iam_policy_document" "trust" {
  for_each = merge({ plan = var.plan_role_github_environments }, { for e in var.environments : e => [e] })

  dynamic "statement" {
    for_each = each.value

    content {
      sid     = "GitHubEnvironment${statement.key}OfThisRepository"
      actions = ["sts:AssumeRoleWithWebIdentity"]

      principals {
        type        = "Federated"
        identifiers = [local.oidc_arn]
      }

      condition {
        test     = "StringEquals"
        variable = "${local.oidc_host}:aud"
        values   = ["sts.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "${local.oidc_host}:sub"
        values   = ["repo:${var.github_repository}:environment:${statement.value}"]
      }
    }
  }
}

# --- plan role: read-only, for the <env>-plan environments -------------------------------------------------------

resource "aws_iam_role" "plan" {
  name                 = "${local.project}-github-plan"
  description          = "terraform plan (pull requests, drift) of ${var.github_repository} (read-only)"
  assume_role_policy   = data.aws_iam_policy_document.trust["plan"].json
  max_session_duration = var.role_max_session_seconds

  depends_on = [aws_iam_openid_connect_provider.github] # the trusted principal exists first
}

resource "aws_iam_policy" "plan" {
  name        = "${local.project}-github-plan"
  description = "Read the stacks and their state; take the state lock. No secret values, no writes."
  policy      = data.aws_iam_policy_document.plan.json
}

resource "aws_iam_role_policy_attachment" "plan" {
  role       = aws_iam_role.plan.name
  policy_arn = aws_iam_policy.plan.arn
}

resource "aws_iam_policy" "read_stacks" {
  name        = "${local.project}-github-read-stacks"
  description = "The read-only calls of terraform plan (plan and deploy roles)."
  policy      = data.aws_iam_policy_document.read_stacks.json
}

resource "aws_iam_role_policy_attachment" "read_stacks" {
  for_each = toset(concat(["plan"], var.environments))

  role       = each.key == "plan" ? aws_iam_role.plan.name : aws_iam_role.deploy[each.key].name
  policy_arn = aws_iam_policy.read_stacks.arn
}

# --- deploy roles: one per environment ----------------------------------------------------------

resource "aws_iam_role" "deploy" {
  for_each = toset(var.environments)

  name                 = "${local.project}-github-deploy-${each.key}"
  description          = "terraform apply of ${each.key} from the GitHub environment ${each.key} of ${var.github_repository}"
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = var.role_max_session_seconds

  depends_on = [aws_iam_openid_connect_provider.github] # the trusted principal exists first
}

resource "aws_iam_policy" "deploy_platform" {
  for_each = toset(var.environments)

  name        = "${local.project}-deploy-${each.key}-platform"
  description = "State, images, network and load balancer of ${each.key}"
  policy      = data.aws_iam_policy_document.deploy_platform[each.key].json
}

resource "aws_iam_policy" "deploy_services" {
  for_each = toset(var.environments)

  name        = "${local.project}-deploy-${each.key}-services"
  description = "ECS, IAM roles, tables, secrets (no values), logs, discovery and scaling of ${each.key}"
  policy      = data.aws_iam_policy_document.deploy_services[each.key].json
}

resource "aws_iam_policy" "deploy_edge" {
  for_each = toset(var.environments)

  name        = "${local.project}-deploy-${each.key}-edge"
  description = "CDN, WAF, DNS, static site and monitoring of ${each.key}"
  policy      = data.aws_iam_policy_document.deploy_edge[each.key].json
}

resource "aws_iam_policy" "deploy_monitoring" {
  for_each = toset(var.environments)

  name        = "${local.project}-deploy-${each.key}-monitoring"
  description = "Alarms, alarm topics and their keys, metric filters and WAF logs of ${each.key}"
  policy      = data.aws_iam_policy_document.deploy_monitoring[each.key].json
}

resource "aws_iam_role_policy_attachment" "deploy" {
  for_each = {
    for pair in setproduct(var.environments, ["platform", "services", "edge", "monitoring"]) : "${pair[0]}-${pair[1]}" => {
      env    = pair[0]
      policy = pair[1]
    }
  }

  role = aws_iam_role.deploy[each.value.env].name
  policy_arn = {
    platform   = aws_iam_policy.deploy_platform
    services   = aws_iam_policy.deploy_services
    edge       = aws_iam_policy.deploy_edge
    monitoring = aws_iam_policy.deploy_monitoring
  }[each.value.policy][each.value.env].arn
}

# --- ECR: one repository per service -----------------------------------------------------------

resource "aws_ecr_repository" "service" {
  for_each = toset(local.services)

  name                 = "${local.project}/${each.key}"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }

  tags = { service = each.key }
}

# Lifecycle: an image an environment runs or may roll back to never expires. Before an apply, the
# pipeline tags every image it deploys to <env> with "<env>-<commit>" (scripts/ci/ci_images.py
# keep; a second tag on the same digest, allowed with immutable tags). ECR evaluates rules from
# the lowest rulePriority; an image that matches the tag requirements of a rule cannot be expired by
# a rule with a lower priority, and the "any" rule must come last ("Lifecycle policy properties in
# Amazon ECR", "How lifecycle policies work"). So rules 1..n keep the last ecr_keep_deployed images
# deployed to each environment (the running one, the last good one and the ones before), and only
# the last rule counts every image (ecr_keep_images), expiring the oldest builds nobody deployed.
# Order matters: an image prod runs was deployed to dev first and carries both tags, and the rule
# that claims it first decides alone. Prod's rule comes first: an image leaves it only after 20
# newer ones went to prod, which all went to dev before (so it is beyond dev's 20 newest as well).
# Proven by tests/infra/test_bootstrap_roles.py (evaluates the applied policy against 35 dev
# builds with prod running and rolling back to old ones).
locals {
  ecr_environments = [for env in ["prod", "dev", "local"] : env if contains(var.environments, env)]
}

resource "aws_ecr_lifecycle_policy" "service" {
  for_each = toset(local.services)

  repository = aws_ecr_repository.service[each.key].name
  policy = jsonencode({
    rules = concat(
      [for i, env in local.ecr_environments : {
        rulePriority = i + 1
        description  = "Keep the last ${var.ecr_keep_deployed} images deployed to ${env}"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = ["${env}-*"]
          countType      = "imageCountMoreThan"
          countNumber    = var.ecr_keep_deployed
        }
        action = { type = "expire" }
      }],
      [{
        rulePriority = length(var.environments) + 1
        description  = "Keep the last ${var.ecr_keep_images} images (deployed ones: rules above)"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.ecr_keep_images
        }
        action = { type = "expire" }
      }],
    )
  })
}
