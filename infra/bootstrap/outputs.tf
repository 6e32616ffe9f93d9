output "plan_role_arn" {
  description = "Role the plan jobs (<env>-plan environments) assume for terraform plan (AWS_PLAN_ROLE_ARN)."
  value       = aws_iam_role.plan.arn
}

output "deploy_role_arns" {
  description = "Role per environment the deploy workflow assumes from its GitHub environment."
  value       = { for e, r in aws_iam_role.deploy : e => r.arn }
}

output "ecr_repository_urls" {
  description = "ECR repository URL per service (images are pushed as <url>:<tag>)."
  value       = { for s, r in aws_ecr_repository.service : s => r.repository_url }
}

output "oidc_provider_arn" {
  description = "GitHub OIDC provider ARN."
  value       = local.oidc_arn
}
