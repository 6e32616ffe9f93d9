# One AWS WAF web ACL: AWS managed rule groups plus a per-IP rate limit, logged to CloudWatch Logs
# with secrets redacted. Used twice by the stack: CLOUDFRONT scope (us-east-1) for the distribution and
# REGIONAL scope for the ALB. The caller attaches it: a distribution through its web_acl_id, a
# regional resource with aws_wafv2_web_acl_association next to that resource (so policy checks see
# the ALB and its association together).

locals {
  metric_prefix = replace(var.name, "-", "")
  # Behind CloudFront every request comes from a CloudFront edge address: IP-keyed rules would put
  # unrelated users in one budget and judge CloudFront's reputation, not the client's. Those rules
  # belong to the CloudFront web ACL; the content rule sets still apply here.
  ip_rules = !var.behind_cloudfront
  # Managed groups first evaluated after the IP reputation list and the rate limit (cheapest first).
  managed = { for i, g in var.managed_rule_groups : g => i + 2 }
}

locals {
  rate_rule = {
    Name     = "rate-limit-per-ip"
    Priority = 1
    Action   = var.count_only ? { Count = {} } : { Block = {} }
    Statement = {
      RateBasedStatement = {
        Limit               = var.rate_limit_per_ip
        EvaluationWindowSec = var.rate_limit_window_seconds
        AggregateKeyType    = "IP"
      }
    }
    VisibilityConfig = {
      CloudWatchMetricsEnabled = true
      MetricName               = "${local.metric_prefix}RateLimit"
      SampledRequestsEnabled   = true
    }
  }

  managed_rules = [
    for group, priority in local.managed : {
      Name           = group
      Priority       = priority
      OverrideAction = var.count_only ? { Count = {} } : { None = {} }
      Statement = {
        ManagedRuleGroupStatement = merge(
          { VendorName = "AWS", Name = group },
          group == "AWSManagedRulesCommonRuleSet" && length(var.common_rule_set_count_rules) > 0 ? {
            RuleActionOverrides = [for r in var.common_rule_set_count_rules : { Name = r, ActionToUse = { Count = {} } }]
          } : {},
        )
      }
      VisibilityConfig = {
        CloudWatchMetricsEnabled = true
        MetricName               = "${local.metric_prefix}${replace(group, "AWSManagedRules", "")}"
        SampledRequestsEnabled   = true
      }
    }
  ]

  rules = concat(
    local.ip_rules ? [local.rate_rule] : [],
    [for r in local.managed_rules : r if local.ip_rules || r.Name != "AWSManagedRulesAmazonIpReputationList"],
  )
}

# Rules as API JSON (rule_json): the same rules as nested `rule` blocks, but planned in milliseconds
# instead of tens of seconds (the nested WAF schema is very slow to diff).
resource "aws_wafv2_web_acl" "this" {
  name        = var.name
  description = "${var.name}: AWS managed rules${local.ip_rules ? " and a per-IP rate limit" : " (behind CloudFront: no IP-keyed rules)"} (${var.count_only ? "count" : "block"} mode)"
  scope       = var.scope
  rule_json   = jsonencode(local.rules)
  tags        = var.tags

  default_action {
    allow {}
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = local.metric_prefix
    sampled_requests_enabled   = true
  }
}

# WAF only delivers to log groups whose name starts with aws-waf-logs-.
resource "aws_cloudwatch_log_group" "this" {
  name              = "aws-waf-logs-${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

# Lets the log delivery service write WAF logs into this log group (and only it).
resource "aws_cloudwatch_log_resource_policy" "this" {
  policy_name = "aws-waf-logs-${var.name}"
  policy_document = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "WafLogDelivery"
      Effect    = "Allow"
      Principal = { Service = "delivery.logs.amazonaws.com" }
      Action    = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource  = "${aws_cloudwatch_log_group.this.arn}:*"
      Condition = {
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        ArnLike = {
          "aws:SourceArn" = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:*"
        }
      }
    }]
  })
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  resource_arn            = aws_wafv2_web_acl.this.arn
  log_destination_configs = [aws_cloudwatch_log_group.this.arn]

  dynamic "redacted_fields" {
    for_each = var.redacted_headers
    content {
      single_header {
        name = redacted_fields.value
      }
    }
  }

  depends_on = [aws_cloudwatch_log_resource_policy.this]
}
