output "distribution_id" {
  description = "ID of the CloudFront distribution (for invalidations and the AWS/CloudFront metrics)."
  value       = aws_cloudfront_distribution.this.id
}

output "distribution_arn" {
  description = "ARN of the CloudFront distribution."
  value       = aws_cloudfront_distribution.this.arn
}

output "distribution_domain_name" {
  description = "Default domain name of the distribution (dxxxx.cloudfront.net)."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "distribution_hosted_zone_id" {
  description = "Route 53 zone ID for alias records pointing at the distribution."
  value       = aws_cloudfront_distribution.this.hosted_zone_id
}

output "site_bucket_name" {
  description = "Private bucket holding the static site (publish with scripts/publish_static.py)."
  value       = aws_s3_bucket.site.id
}

output "site_bucket_arn" {
  description = "ARN of the static site bucket."
  value       = aws_s3_bucket.site.arn
}

output "log_bucket_name" {
  description = "Bucket receiving CloudFront and S3 access logs."
  value       = aws_s3_bucket.logs.id
}

output "origin_verify_header_name" {
  description = "Name of the secret header CloudFront adds for the ALB."
  value       = var.origin_verify_header_name
}

output "origin_verify_values" {
  description = "Values the ALB must accept: both slots (the active one first), so a rotation never drops traffic."
  value       = [local.origin_verify_values[var.origin_secret_active], local.origin_verify_values[var.origin_secret_active == "a" ? "b" : "a"]]
  sensitive   = true
}

output "origin_secret_arns" {
  description = "Secrets Manager ARNs of the two origin secret slots."
  value       = { for k, s in aws_secretsmanager_secret.origin_verify : k => s.arn }
}

output "origin_secret_active" {
  description = "Slot CloudFront currently sends."
  value       = var.origin_secret_active
}

output "api_path_patterns" {
  description = "Path patterns CloudFront routes to the ALB."
  value       = var.api_path_patterns
}
