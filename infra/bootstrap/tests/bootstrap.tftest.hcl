# The account bootstrap with a mocked AWS provider: who may assume which role, ECR settings,
# and that no statement grants every action on every resource.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
  }
  mock_resource "aws_ecr_repository" {
    defaults = { arn = "arn:aws:ecr:eu-west-1:123456789012:repository/storefront/catalog" }
  }
  mock_resource "aws_iam_policy" {
    defaults = { arn = "arn:aws:iam::123456789012:policy/storefront-deploy" }
  }
}

variables {
  github_repository = "example-org/storefront-gitops"
}

run "roles_are_trusted_only_from_this_repository" {
  command = apply

  assert {
    condition     = flatten([for st in data.aws_iam_policy_document.trust["plan"].statement : [for c in st.condition : tolist(c.values) if c.variable == "token.actions.githubusercontent.com:sub"]]) == ["repo:example-org/storefront-gitops:environment:dev-plan", "repo:example-org/storefront-gitops:environment:prod-plan"]
    error_message = "The plan role is for this repository's <env>-plan environments only."
  }

  assert {
    condition = alltrue([
      for e in ["dev", "prod"] :
      flatten([for c in data.aws_iam_policy_document.trust[e].statement[0].condition : tolist(c.values) if c.variable == "token.actions.githubusercontent.com:sub"]) == ["repo:example-org/storefront-gitops:environment:${e}"]
    ])
    error_message = "Each deploy role is for its own GitHub environment only."
  }

  assert {
    condition = alltrue(flatten([
      for doc in values(data.aws_iam_policy_document.trust) : [
        for s in doc.statement : contains([for c in s.condition : c.variable], "token.actions.githubusercontent.com:aud")
      ]
    ]))
    error_message = "Every trust statement pins the audience."
  }

  assert {
    condition     = toset(keys(aws_iam_role.deploy)) == toset(["dev", "prod"]) && length(aws_iam_role_policy_attachment.deploy) == 8 && length(aws_iam_role_policy_attachment.read_stacks) == 3
    error_message = "One deploy role per environment with its four policies, and the shared reads on the plan and deploy roles."
  }
}

run "plan_role_trusts_exactly_the_named_environments" {
  command = plan

  variables {
    plan_role_github_environments = ["dev-plan"]
  }

  assert {
    condition     = toset(flatten([for st in data.aws_iam_policy_document.trust["plan"].statement : [for c in st.condition : tolist(c.values) if c.variable == "token.actions.githubusercontent.com:sub"]])) == toset(["repo:example-org/storefront-gitops:environment:dev-plan"])
    error_message = "Only the listed GitHub environments may assume the plan role."
  }
}

run "no_statement_allows_everything" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for doc in concat(
        [data.aws_iam_policy_document.plan, data.aws_iam_policy_document.read_stacks],
        values(data.aws_iam_policy_document.deploy_platform),
        values(data.aws_iam_policy_document.deploy_monitoring),
        values(data.aws_iam_policy_document.deploy_services),
        values(data.aws_iam_policy_document.deploy_edge),
        ) : [
        for s in doc.statement : !(anytrue([for a in s.actions : a == "*" || endswith(a, ":*")]) && contains(try(s.resources, []), "*"))
      ]
    ]))
    error_message = "No statement may grant * (or service:*) actions on * resources."
  }

  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.plan.statement : alltrue([for a in s.actions : !contains(["s3:PutObject", "iam:PassRole"], a)])])
    error_message = "The plan role must not write state or pass roles."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.plan.statement :
      alltrue([for r in s.resources : can(regex("/edge/ORIGIN_VERIFY_[*]$", r))]) if contains(s.actions, "secretsmanager:GetSecretValue")
    ])
    error_message = "The plan role may read no secret value but the edge's origin secret (planned into CloudFront and the ALB)."
  }

  assert {
    condition     = alltrue([for a in data.aws_iam_policy_document.read_stacks.statement[0].actions : can(regex(":(Describe|Get|List)", a))])
    error_message = "The plan role's stack permissions are read-only calls."
  }
}

run "ecr_repositories_per_service" {
  command = plan

  assert {
    condition     = toset(keys(aws_ecr_repository.service)) == toset(["catalog", "orders"])
    error_message = "One repository per service manifest."
  }

  assert {
    condition     = alltrue([for r in aws_ecr_repository.service : r.image_tag_mutability == "IMMUTABLE" && r.image_scanning_configuration[0].scan_on_push])
    error_message = "Tags are immutable and images are scanned on push."
  }

  assert {
    condition     = [for r in jsondecode(aws_ecr_lifecycle_policy.service["orders"].policy).rules : try(r.selection.tagPatternList[0], r.selection.tagStatus)] == ["prod-*", "dev-*", "any"]
    error_message = "The lifecycle policy keeps deployed images per environment, prod's rule first, and counts every build last."
  }

  assert {
    condition     = [for r in jsondecode(aws_ecr_lifecycle_policy.service["orders"].policy).rules : r.selection.countNumber] == [20, 20, 30]
    error_message = "The lifecycle policy keeps the last 20 deployed images per environment and the last 30 builds."
  }
}

run "unknown_environment_is_refused" {
  command = plan

  variables {
    environments = ["staging"]
  }

  expect_failures = [var.environments]
}

run "immutable_subject_claims_are_trusted_as_github_writes_them" {
  command = plan

  variables {
    github_repository = "example-org@1001/storefront-gitops@2002"
  }

  assert {
    condition     = flatten([for c in data.aws_iam_policy_document.trust["prod"].statement[0].condition : tolist(c.values) if c.variable == "token.actions.githubusercontent.com:sub"]) == ["repo:example-org@1001/storefront-gitops@2002:environment:prod"]
    error_message = "A repository with immutable subject claims is trusted by owner@id/name@id."
  }
}

run "half_an_immutable_subject_is_refused" {
  command = plan

  variables {
    github_repository = "example-org@1001/storefront-gitops"
  }

  expect_failures = [var.github_repository]
}

run "bad_repository_is_refused" {
  command = plan

  variables {
    github_repository = "not a repo"
  }

  expect_failures = [var.github_repository]
}

run "plan_role_without_environments_is_refused" {
  command = plan

  variables {
    plan_role_github_environments = []
  }

  expect_failures = [var.plan_role_github_environments]
}
