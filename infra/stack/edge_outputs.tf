output "site_url" {
  description = "Address users open: https://<app_hostname> with a domain, else the CloudFront default name."
  value       = "https://${local.edge_dns_enabled ? local.edge_app_host : module.edge.distribution_domain_name}"
}

output "cloudfront_distribution_id" {
  description = "CloudFront distribution (invalidations, metrics)."
  value       = module.edge.distribution_id
}

output "cloudfront_domain_name" {
  description = "Default domain name of the distribution."
  value       = module.edge.distribution_domain_name
}

output "cloudfront_prefix_list_id" {
  description = "CloudFront origin-facing prefix list admitted by the ALB security group."
  value       = local.edge_cloudfront_prefix_list_id
}

output "site_bucket_name" {
  description = "Private bucket of the static site (scripts/publish_static.py uploads here)."
  value       = module.edge.site_bucket_name
}

output "edge_log_bucket_name" {
  description = "Bucket with CloudFront and S3 access logs."
  value       = module.edge.log_bucket_name
}

output "api_path_patterns" {
  description = "CloudFront path patterns routed to the ALB."
  value       = local.edge_api_path_patterns
}

output "origin_verify_header_name" {
  description = "Secret header CloudFront adds and the ALB requires."
  value       = module.edge.origin_verify_header_name
}

output "origin_secret_arns" {
  description = "Secrets Manager ARNs of the two origin secret slots (a, b)."
  value       = module.edge.origin_secret_arns
}

output "origin_secret_active" {
  description = "Origin secret slot CloudFront sends."
  value       = module.edge.origin_secret_active
}

output "waf_edge_web_acl_arn" {
  description = "CLOUDFRONT-scope web ACL on the distribution."
  value       = module.waf_edge.web_acl_arn
}

output "waf_alb_web_acl_arn" {
  description = "REGIONAL web ACL on the ALB."
  value       = module.waf_alb.web_acl_arn
}

output "waf_log_groups" {
  description = "CloudWatch Logs groups of the two web ACLs."
  value       = { edge = module.waf_edge.log_group_name, alb = module.waf_alb.log_group_name }
}

output "alarm_topic_arn" {
  description = "SNS topic receiving every alarm of the region."
  value       = module.monitoring.alarm_topic_arn
}

output "edge_alarm_topic_arn" {
  description = "SNS topic (us-east-1) receiving the edge WAF alarm."
  value       = module.monitoring.edge_alarm_topic_arn
}

output "anomaly_alarm_names" {
  description = "Alarms that use anomaly detection bands."
  value       = module.monitoring.anomaly_alarm_names
}

output "deployment_alarm_names" {
  description = "Per service: alarms its ECS deployments watch (rollback when one fires)."
  value       = local.edge_deployment_alarm_names
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the environment."
  value       = module.monitoring.dashboard_name
}

output "dns_name_servers" {
  description = "Name servers of a created hosted zone (delegate the domain to them); empty otherwise."
  value       = local.edge_dns_zone ? module.dns[0].name_servers : []
}

output "dns_next_step" {
  description = "What to do before the custom domain can be used (null when nothing is pending)."
  value = local.edge_dns_zone && !local.edge_dns_enabled ? join(" ", [
    "The zone ${var.domain_name} exists but the domain is not delegated to it yet, so no certificate can be validated (nothing else of the domain was created).",
    "At your registrar, set the name servers of ${var.domain_name} to those of the dns_name_servers output (printed after this apply; later: make tf-init ENV=${var.environment} && terraform -chdir=infra/stack output dns_name_servers).",
    "When `dig +short NS ${var.domain_name}` lists them, set hosted_zone_delegated = true in infra/envs/${var.environment}/terraform.tfvars and deploy again.",
  ]) : null
}

output "private_dns" {
  description = "Private zone of the VPC and its names: api (A/alias) and alb (CNAME) for the internal ALB, cdn (CNAME) for the distribution."
  value = {
    zone_id   = module.private_dns.zone_id
    zone_name = module.private_dns.zone_name
    alb_alias = module.private_dns.alb_alias_name
    alb_cname = module.private_dns.alb_cname
    cdn_cname = module.private_dns.cdn_cname
  }
}
