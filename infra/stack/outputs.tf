output "project" {
  description = "Project name (services/project.yaml)."
  value       = local.project
}

output "environment" {
  description = "Environment of this stack."
  value       = var.environment
}

output "vpc_id" {
  description = "VPC ID."
  value       = module.network.vpc_id
}

output "public_subnet_ids" {
  description = "Public subnets (one per AZ)."
  value       = module.network.public_subnet_ids
}

output "private_subnet_ids" {
  description = "Private subnets (one per AZ)."
  value       = module.network.private_subnet_ids
}

output "alb_arn" {
  description = "Load balancer ARN (WAF association)."
  value       = module.alb.arn
}

output "alb_arn_suffix" {
  description = "Load balancer ARN suffix (CloudWatch dimension)."
  value       = module.alb.arn_suffix
}

output "alb_dns_name" {
  description = "Load balancer DNS name (CDN origin)."
  value       = module.alb.dns_name
}

output "alb_zone_id" {
  description = "Load balancer hosted zone ID (alias records)."
  value       = module.alb.zone_id
}

output "alb_security_group_id" {
  description = "Load balancer security group."
  value       = module.alb.security_group_id
}

output "alb_listener_arn" {
  description = "Listener serving requests (HTTPS with a certificate, else HTTP)."
  value       = module.alb.listener_arn
}

output "cluster_name" {
  description = "ECS cluster name."
  value       = module.cluster.cluster_name
}

output "services" {
  description = "Per service: ECS service name, target group ARN suffix, security group, log group, table, path prefix."
  value = {
    for s in local.service_names : s => {
      service_name            = module.service[s].service_name
      target_group_arn_suffix = module.service[s].target_group_arn_suffix
      security_group_id       = module.service[s].security_group_id
      log_group_name          = module.service[s].log_group_name
      table_name              = module.table[s].name
      path_prefix             = local.manifests[s].path_prefix
      health_path             = local.manifests[s].health_path
      image                   = local.images[s]
    }
  }
}

output "secret_arns" {
  description = "Secrets Manager ARN per owned secret (<service>/<NAME>); values are set by scripts/sync_secrets.py."
  value       = { for k, s in aws_secretsmanager_secret.service : k => s.arn }
}

output "service_discovery_namespace" {
  description = "Private DNS namespace: services reach each other at <service>.<namespace>."
  value       = module.cluster.namespace_name
}
