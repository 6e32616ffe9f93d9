output "zone_id" {
  description = "ID of the hosted zone."
  value       = local.zone_id
}

output "name_servers" {
  description = "Name servers of a created zone (delegate the domain to them); empty for a looked-up zone."
  value       = var.create_zone ? aws_route53_zone.this[0].name_servers : []
}

output "app_hostname" {
  description = "Name users open."
  value       = var.app_hostname
}

output "origin_hostname" {
  description = "Name CloudFront uses for the ALB origin."
  value       = local.origin_hostname
}

output "cloudfront_certificate_arn" {
  description = "Validated us-east-1 certificate for the distribution's alias."
  value       = local.ready ? aws_acm_certificate_validation.cloudfront[0].certificate_arn : null
}

output "alb_certificate_arn" {
  description = "Validated regional certificate for the ALB's HTTPS listener (covers origin_hostname)."
  value       = local.ready ? aws_acm_certificate_validation.alb[0].certificate_arn : null
}

output "ready" {
  description = "Certificates and records exist (false: a created zone waits for its delegation)."
  value       = local.ready
}

output "cdn_hostname" {
  description = "CNAME name of the distribution in the public zone."
  value       = local.cdn_hostname
}
