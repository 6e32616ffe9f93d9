variable "github_repository" {
  description = <<-EOT
    GitHub repository allowed to assume the roles, exactly as GitHub writes it in the OIDC token's
    sub claim: owner@OWNER_ID/name@REPO_ID for repositories with immutable subject claims (the
    default for repositories created or renamed on or after 2026-07-15), owner/name for older ones.
    `gh api repos/OWNER/REPO --jq '"\(.owner.login)@\(.owner.id)/\(.name)@\(.id)"'` prints the first form.
  EOT
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}(@[0-9]+)?/[A-Za-z0-9._-]{1,100}(@[0-9]+)?$", var.github_repository))
    error_message = "github_repository must be owner/name or, with immutable subject claims, owner@OWNER_ID/name@REPO_ID (both IDs or neither)."
  }

  validation {
    condition     = length(regexall("@", var.github_repository)) != 1
    error_message = "github_repository: give both immutable IDs (owner@OWNER_ID/name@REPO_ID) or neither."
  }
}

variable "environments" {
  description = "Environments that get a deploy role (each trusted only from its GitHub environment). local is the AWS emulator's account (tests apply the stack there as the roles)."
  type        = list(string)
  default     = ["dev", "prod"]

  validation {
    condition     = length(var.environments) > 0 && alltrue([for e in var.environments : contains(["dev", "prod", "local"], e)])
    error_message = "environments may contain dev, prod and local (the emulator)."
  }
}

variable "region" {
  description = "Region of the stacks, the state backends and the ECR repositories."
  type        = string
  default     = "eu-west-1"
}

variable "max_retries" {
  description = "AWS provider retries (small for the emulator)."
  type        = number
  default     = 25
}

variable "ecr_keep_deployed" {
  description = "How many of the images last deployed to each environment each ECR repository keeps (tag <env>-<commit>), whatever the number of builds."
  type        = number
  default     = 20

  validation {
    condition     = var.ecr_keep_deployed >= 2 && var.ecr_keep_deployed <= 1000
    error_message = "ecr_keep_deployed must be 2-1000 (the running image and the one to roll back to)."
  }
}

variable "ecr_keep_images" {
  description = "How many images each ECR repository keeps in all, not counting deployed ones beyond their own rule (older ones expire)."
  type        = number
  default     = 30

  validation {
    condition     = var.ecr_keep_images >= 5 && var.ecr_keep_images <= 1000
    error_message = "ecr_keep_images must be 5-1000."
  }
}

variable "create_oidc_provider" {
  description = "Create the GitHub OIDC provider (false when the account already has one)."
  type        = bool
  default     = true
}

variable "role_max_session_seconds" {
  description = "Maximum session length of the plan and deploy roles."
  type        = number
  default     = 3600
}

variable "plan_role_github_environments" {
  description = "GitHub environments whose jobs may assume the read-only plan role. The workflows' plan jobs run in <env>-plan environments (every role-assuming job has an environment, so its OIDC subject is environment-based, never pull_request)."
  type        = list(string)
  default     = ["dev-plan", "prod-plan"]

  validation {
    condition     = length(var.plan_role_github_environments) > 0 && alltrue([for e in var.plan_role_github_environments : can(regex("^[A-Za-z0-9._-]{1,255}$", e))])
    error_message = "plan_role_github_environments must be GitHub environment names."
  }
}
