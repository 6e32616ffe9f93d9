output "zone_id" {
  description = "ID of the private hosted zone."
  value       = aws_route53_zone.this.zone_id
}

output "zone_name" {
  description = "Name of the private hosted zone."
  value       = aws_route53_zone.this.name
}

output "alb_alias_name" {
  description = "A/alias name of the internal ALB."
  value       = aws_route53_record.alb_alias.name
}

output "alb_cname" {
  description = "CNAME name of the internal ALB."
  value       = aws_route53_record.cname["alb"].name
}

output "cdn_cname" {
  description = "CNAME name of the CloudFront distribution."
  value       = aws_route53_record.cname["cdn"].name
}
