output "arn" {
  description = "ARN of the load balancer (e.g. for a WAF web ACL association)."
  value       = aws_lb.this.arn
}

output "arn_suffix" {
  description = "ARN suffix of the load balancer (CloudWatch LoadBalancer dimension)."
  value       = aws_lb.this.arn_suffix
}

output "dns_name" {
  description = "Public DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "zone_id" {
  description = "Route 53 hosted zone ID of the load balancer (for alias records)."
  value       = aws_lb.this.zone_id
}

output "security_group_id" {
  description = "Security group of the load balancer."
  value       = aws_security_group.this.id
}

output "listener_arn" {
  description = "Listener that serves requests (HTTPS when a certificate is set, else HTTP)."
  value       = local.serving_listener_arn
}

output "http_listener_arn" {
  description = "Port 80 listener (redirects to HTTPS when a certificate is set)."
  value       = aws_lb_listener.http.arn
}

output "https_enabled" {
  description = "Whether an HTTPS listener exists."
  value       = local.https
}

output "rule_arns" {
  description = "Path rule ARN per service."
  value       = { for k, r in aws_lb_listener_rule.route : k => r.arn }
}

output "access_logs_bucket" {
  description = "Bucket receiving the access logs."
  value       = aws_s3_bucket.logs.id
}

output "target_group_arns" {
  description = "Target group ARN per service, returned once the service's path rule exists (so ECS services are created after their routing)."
  value       = { for k, r in aws_lb_listener_rule.route : k => r.action[0].target_group_arn }
}

output "target_group_arn_suffixes" {
  description = "Target group ARN suffix per service (CloudWatch TargetGroup dimension, request-count scaling)."
  value       = { for k, tg in aws_lb_target_group.route : k => tg.arn_suffix }
}
