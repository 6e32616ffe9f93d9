output "web_acl_arn" {
  description = "ARN of the web ACL (CloudFront: pass it as the distribution's web_acl_id)."
  value       = aws_wafv2_web_acl.this.arn
}

output "web_acl_id" {
  description = "ID of the web ACL."
  value       = aws_wafv2_web_acl.this.id
}

output "web_acl_name" {
  description = "Name of the web ACL (the WebACL dimension of the AWS/WAFV2 metrics)."
  value       = aws_wafv2_web_acl.this.name
}

output "log_group_name" {
  description = "CloudWatch Logs group receiving the ACL's logs (aws-waf-logs-...)."
  value       = aws_cloudwatch_log_group.this.name
}

output "count_only" {
  description = "Whether the rules only count (true) or block (false)."
  value       = var.count_only
}
