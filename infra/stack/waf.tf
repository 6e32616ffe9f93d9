# Two web ACLs: CLOUDFRONT scope (us-east-1) on the distribution, with every rule, and REGIONAL on
# the ALB (defence in depth: the ALB only admits CloudFront, but WAF also sees what CloudFront
# forwards). The ALB sees CloudFront's addresses, not the viewers': its ACL has the content rule sets
# only, the per-IP rate limit and IP reputation are the CloudFront ACL's.

locals {
  edge_redacted_headers = distinct(["x-api-key", "x-service-token", lower(module.edge.origin_verify_header_name)])
}

module "waf_edge" {
  source = "../modules/waf"
  providers = {
    aws = aws.us_east_1
  }

  name               = "${local.name}-edge"
  scope              = "CLOUDFRONT"
  count_only         = var.waf_count_only
  rate_limit_per_ip  = var.waf_rate_limit_per_ip
  redacted_headers   = local.edge_redacted_headers
  log_retention_days = var.waf_log_retention_days
}

module "waf_alb" {
  source = "../modules/waf"

  name               = "${local.name}-alb"
  scope              = "REGIONAL"
  behind_cloudfront  = true
  count_only         = var.waf_count_only
  rate_limit_per_ip  = var.waf_rate_limit_per_ip
  redacted_headers   = local.edge_redacted_headers
  log_retention_days = var.waf_log_retention_days
}

resource "aws_wafv2_web_acl_association" "alb" {
  resource_arn = module.alb.arn
  web_acl_arn  = module.waf_alb.web_acl_arn
}
